"""Benchmark: the scanner-utilisation and waiting-times queries over realistic filter choices.

    .venv/bin/python bench/equipment_waits.py [--store data/store] [--repeat 3] [--json FILE]

Attaches the store's published snapshot read-only (it writes nothing to the store) and runs,
uncached, every query the two pages make for a set of filter choices a user would make:
modalities (MRI, CT, all), intervals, patient-source groups, England vs one provider, the
default 12 months and the latest 3 months, and for utilisation the provider and site
drill-downs. Each page render is also timed as the sum of its queries ("page" rows): the
pages call nothing else that touches the store.

Prints p50 / p95 / max per query kind in milliseconds, and the rollup sizes, as a Markdown table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from did_model.scope import CENTRAL, Scope  # noqa: E402
from did_months import add_months  # noqa: E402
from ingest.store import current_snapshot  # noqa: E402
from queries import equipment, waits  # noqa: E402
from queries.connection import Snapshot  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default=str(ROOT / "data" / "store"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the timings here")
    args = ap.parse_args(argv)
    path = current_snapshot(Path(args.store))
    if path is None:
        print(f"no published snapshot in {args.store}", file=sys.stderr)
        return 2
    snap = Snapshot(path)
    times: dict[str, list[float]] = defaultdict(list)

    def timed(kind: str, fn, *a) -> object:
        started = time.perf_counter()
        out = fn(*a)
        times[kind].append((time.perf_counter() - started) * 1000)
        return out

    default = waits.default_months(snap)
    periods = [default, (add_months(default[1], -2), default[1])]
    providers = waits.wait_providers(snap, CENTRAL)
    busiest = snap.query("SELECT provider_code FROM rollup_waits GROUP BY 1 ORDER BY sum(records) DESC LIMIT 1")[
        "provider_code"
    ][0]
    scopes = [CENTRAL, Scope("provider", providers=frozenset({busiest}))]
    for _ in range(args.repeat):
        for (first, last), modality, interval, source, provider, scope in itertools.product(
            periods,
            ("MRI", "CT", None),
            ("request_to_test", "test_to_report"),
            (None, "gp_direct_access"),
            (None, busiest),
            scopes,
        ):
            f = waits.WaitFilter(first, last, interval, modality, source, provider)
            started = time.perf_counter()
            timed("waits: headline", waits.wait_summary, snap, scope, f)
            timed("waits: distribution", waits.wait_distribution, snap, scope, f)
            for by in waits.BREAKDOWNS:
                timed(f"waits: by {by}", waits.wait_summary, snap, scope, f, by)
            timed("waits: missing dates", waits.missing_dates_by_interval, snap, scope, f)
            times["waits: page (all queries)"].append((time.perf_counter() - started) * 1000)
        for (first, last), modality, scope in itertools.product(periods, ("MRI", "CT", "Plain radiography"), scopes):
            f = equipment.UtilisationFilter(modality, first, last)
            started = time.perf_counter()
            timed("equipment: inventory", equipment.inventory_status, snap)
            timed("equipment: providers", equipment.provider_utilisation, snap, scope, f)
            timed("equipment: sites", equipment.site_utilisation, snap, scope, f)
            timed("equipment: weekday", equipment.weekday_profile, snap, scope, f)
            timed("equipment: monthly", equipment.monthly_utilisation, snap, scope, f)
            times["equipment: page (all queries)"].append((time.perf_counter() - started) * 1000)
            provider = busiest
            site = equipment.site_utilisation(snap, CENTRAL, f, provider)["site_code"][0]
            timed("equipment: drill-down sites", equipment.site_utilisation, snap, scope, f, provider)
            timed("equipment: site weekday", equipment.weekday_profile, snap, scope, f, provider, site)
            timed("equipment: site monthly", equipment.monthly_utilisation, snap, scope, f, provider, site)

    sizes = {
        t: snap.query(f"SELECT count(*) AS n FROM {t}")["n"][0]  # names are constants
        for t in ("record", "rollup_waits", "rollup_equipment_daily", "rollup_equipment_mix")
    }
    print(f"snapshot {snap.version}: " + ", ".join(f"{k} {v:,} rows" for k, v in sizes.items()))
    print(f"{len(providers)} providers; drill-down provider {busiest}; {args.repeat} repeats\n")
    print("| query | runs | p50 ms | p95 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    summary = {}
    for kind, values in times.items():
        summary[kind] = {
            "runs": len(values),
            "p50": statistics.median(values),
            "p95": percentile(values, 95),
            "max": max(values),
        }
        s = summary[kind]
        print(f"| {kind} | {s['runs']} | {s['p50']:.1f} | {s['p95']:.1f} | {s['max']:.1f} |")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"snapshot": snap.version, "sizes": sizes, "timings": summary}, indent=2, default=int)
        )
    snap.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
