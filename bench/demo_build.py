"""Benchmark: build the default demo store from nothing (what `make demo` does after the install).

    .venv/bin/python bench/demo_build.py [--out /tmp/did-demo-bench] [--area QT1,QJ2] [--scale 1.0]

Times generation, load and publish of `did demo`'s world (did_cli.build_demo, the function the
command runs) in a scratch folder, so the real demo store is left alone, and reads back from the
published store the figures a newcomer sees first: examinations a year per 1,000 registered
patients and the typical practice's list size. Writes bench/results/demo_build.json, with the
load average before and after (the machine is shared: the time is only as quiet as it was).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import did_cli  # noqa: E402
import did_settings  # noqa: E402
from ingest import store  # noqa: E402

LIMIT_S = 300  # the bound: at most 5 minutes on 2 cores


def _figures(store_dir: Path) -> dict:
    """Records, registered population, rate per 1,000 a year and the median list size, read from
    the published snapshot."""
    con = duckdb.connect(str(store.current_snapshot(store_dir)), read_only=True)
    try:
        records = con.execute("SELECT count(*) FROM record").fetchone()[0]
        population = con.execute("SELECT sum(patients) FROM ref_population WHERE org_type = 'REGION'").fetchone()[0]
        median = con.execute("SELECT quantile_disc(list_size, 0.5) FROM ref_practice").fetchone()[0]
        world = con.execute("SELECT value FROM store_meta WHERE key = 'synthetic_world'").fetchone()
    finally:
        con.close()
    return {
        "records": records,
        "population": int(population),
        "per_1000_a_year": round(records * 1000 / population),
        "median_list_size": int(median),
        "synthetic_world": world[0] if world else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/did-demo-bench")
    p.add_argument("--area", default=did_cli.DEMO_AREA)
    p.add_argument("--scale", type=float, default=did_cli.DEMO_SCALE)
    args = p.parse_args()

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    os.environ.setdefault("DID_KEY_FILE", str(out / "bench.key"))
    did_settings.activate(did_settings.Settings.from_env())  # this script is an entry point
    timings: dict = {}
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    did_cli.build_demo(out / "store", out / "extracts", args.scale, args.area or None, timings)
    total = time.perf_counter() - started
    result = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}",
        "area": args.area,
        "scale": args.scale,
        "months": f"{did_cli.DEMO_FROM}..{did_cli.DEMO_TO}",
        **{k: round(v, 1) for k, v in timings.items()},
        "total_s": round(total, 1),
        "within_limit": total <= LIMIT_S,
        "load_average_before": round(load_before, 1),
        "load_average_after": round(os.getloadavg()[0], 1),
        **_figures(out / "store"),
    }
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "demo_build.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
