"""Benchmark: the GP benchmarking pages' queries and first render, on a published store.

    .venv/bin/python bench/gp.py [--store data/store] [--samples 60] [--renders 5] [--seed 0]

Read-only: opens the store's current snapshot and never writes to it.

Query times (p50 / p95 over --samples draws of realistic filter choices, no caching):
- measure page: `gp_benchmark.benchmark` — a random measure, area (England, or a random ICB,
  sub-ICB or PCN), period (the last 12, 6 or 3 months) and over-dispersion method, for the
  central role and for a GP role (disclosure control and masking on);
- practice page: `gp_practice.practice_profile` (every measure for a random benchmarked
  practice) and `gp_practice.practice_trend` (a random measure and level). The profile twice:
  cold — nothing cached, what the first visitor of a period waits for — and with England's
  tables for the period cached (`gp_practice.england_for`, which the dashboard caches per
  snapshot and period and unpickles on every hit, as timed here): a practice nobody has opened
  yet, after some other practice was opened for the same period.

First render: each page run in Streamlit's AppTest with its caches cleared before every run
(--renders times; the first run of the process, which pays Python imports, is reported apart):
the measure page for one ICB over 12 months, and the practice page by deep link — cold, and for
another practice after one practice page was opened (England's tables cached).

Prints a Markdown table and writes bench/results/gp.json, with the load average before and
after (the numbers are only as quiet as the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from did_model.scope import CENTRAL, Scope  # noqa: E402
from did_months import add_months  # noqa: E402
from queries import gp_benchmark as gb  # noqa: E402
from queries import gp_practice  # noqa: E402
from queries.areas import Area  # noqa: E402
from queries.connection import get_snapshot  # noqa: E402


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def query_times(snap, samples: int, rng: random.Random) -> dict[str, dict[str, float]]:
    start, end = gb.default_period(snap)
    areas = gb.areas(snap)
    practices = gb._practices(snap).filter(pl.col("list_size") >= gb.MIN_LIST_SIZE)
    codes = practices["practice_code"].to_list()
    measures = list(gb.measures())
    times: dict[str, list[float]] = {
        "measure page (central)": [],
        "measure page (GP role)": [],
        "practice profile (all measures)": [],
        "practice profile, England cached": [],
        "practice trend": [],
    }
    england: dict[tuple, bytes] = {}  # (start, end) -> pickled England, as st.cache_data holds it
    for _ in range(samples):
        level = rng.choice(["england", "icb", "icb", "sub_icb", "pcn"])
        area = (
            Area()
            if level == "england"
            else Area(level, rng.choice(areas.filter(pl.col("level") == level)["code"].to_list()))
        )
        months = rng.choice([12, 12, 6, 3])
        first = max(start, add_months(end, -(months - 1)))
        measure = rng.choice(measures)
        method = rng.choice(["additive", "additive", "multiplicative", "none"])
        practice = rng.choice(codes)
        times["measure page (central)"].append(
            _timed(lambda: gb.benchmark(snap, CENTRAL, measure, first, end, area, method))
        )
        times["measure page (GP role)"].append(
            _timed(lambda: gb.benchmark(snap, Scope("gp", practice=practice), measure, first, end, area, method))
        )
        times["practice profile (all measures)"].append(
            _timed(lambda: gp_practice.practice_profile(snap, CENTRAL, practice, first, end, method))
        )
        if (first, end) not in england:
            england[first, end] = pickle.dumps(gp_practice.england_for(snap, first, end))
        times["practice profile, England cached"].append(
            _timed(
                lambda: gp_practice.practice_profile(
                    snap, CENTRAL, practice, first, end, method, england=pickle.loads(england[first, end])
                )
            )
        )
        level = rng.choice(["practice", "pcn", "sub_icb", "icb"])
        times["practice trend"].append(
            _timed(lambda: gp_practice.practice_trend(snap, CENTRAL, measure, practice, start, end, level))
        )
    return {name: _percentiles(values) for name, values in times.items()}


def render_times(store: Path, snap, renders: int) -> dict[str, dict[str, float]]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["DID_STORE_DIR"] = str(store)
    app = str(ROOT / "dashboard" / "app.py")
    icb = gb.areas(snap).filter(pl.col("level") == "icb")["code"][0]
    table = gb.benchmark(snap, CENTRAL, "gpda_all", *gb.default_period(snap)).table
    ranked = table.sort("numerator", descending=True)["practice_code"]
    practice = ranked[0]
    pages = {
        "measure page, one ICB, 12 months": (
            "views/gp_measure.py",
            {"measure": "gpda_chest_xray", "level": "icb", "area": icb},
            None,
        ),
        "practice page, deep link": ("views/gp_practice.py", {"practice": practice}, None),
        # A practice not opened before, after the busiest was: England's tables come from the cache.
        "practice page, deep link, England cached": ("views/gp_practice.py", None, {"practice": practice}),
    }

    def page_run(page, params):
        at = AppTest.from_file(app, default_timeout=120)
        at.session_state["scope"] = CENTRAL
        at.run()
        at.switch_page(page)
        at.query_params.update(params)
        return at

    def checked(at, page):
        if at.exception:
            raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")

    out: dict[str, dict[str, float]] = {}
    for name, (page, params, before) in pages.items():
        seconds, first = [], None
        for i in range(renders + 1):
            st.cache_data.clear()
            if before is not None:
                warm = page_run(page, before)
                warm.run()
                checked(warm, page)
                params = {"practice": ranked[1 + i]}
            at = page_run(page, params)
            if before is None:
                st.cache_data.clear()
            elapsed = _timed(at.run)
            checked(at, page)
            if i == 0 and first is None:
                first = elapsed
            else:
                seconds.append(elapsed)
        out[name] = {**_percentiles(seconds), "first_in_process_ms": first * 1000}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=str(ROOT / "data" / "store"))
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--renders", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    store = Path(args.store)
    snap = get_snapshot(store)
    records = snap.query("SELECT count(*) AS n FROM record")["n"][0]
    rollup = snap.query("SELECT count(*) AS n FROM rollup_gp_measure")["n"][0]
    rng = random.Random(args.seed)
    load_before = os.getloadavg()
    gb.benchmark(snap, CENTRAL, "gpda_all", *gb.default_period(snap))  # warm imports and file cache
    queries = query_times(snap, args.samples, rng)
    renders = render_times(store, snap, args.renders)
    result = {
        "store": str(store),
        "snapshot": snap.version,
        "records": records,
        "rollup_gp_measure_rows": rollup,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "queries": queries,
        "renders": renders,
    }
    print(
        f"GP benchmarking on {store} (snapshot {snap.version}; {records:,} records, "
        f"{rollup:,} rollup rows; {os.cpu_count()} CPUs; load average {load_before[0]:.1f} before, "
        f"{result['load_average_after'][0]:.1f} after)\n"
    )
    print("| what | n | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|")
    for name, r in {**queries, **renders}.items():
        print(f"| {name} | {r['n']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['max_ms']:.0f} |")
    for name, r in renders.items():
        print(f"\nFirst render in a fresh process ({name}, includes imports): {r['first_in_process_ms']:.0f} ms")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "gp.json").write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
