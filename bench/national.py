"""National scale: a year of England's imaging generated, loaded and published on this machine.

    .venv/bin/python bench/national.py [--out /work/national] [--scale 1.0] [--from 2025-11 --to 2026-10]
                                       [--skip-synth] [--skip-load]

Measures, in one run: generating the extracts (`did synth`), loading every file through
`did load`'s path (check + one transaction per file, checking overlapped with loading),
publishing (rollups, then the Parquet partitions and the snapshot of the small tables,
each step timed), peak memory of this process, store size per million
records, then each page's first render through Streamlit's AppTest against the national
snapshot. The per-page query benchmarks (bench/gp.py, bench/variation.py,
bench/equipment_waits.py, bench/quality.py) take `--store OUT/store` afterwards.

Writes bench/results/national.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

import did_cli  # noqa: E402
import did_settings  # noqa: E402
from ingest import store, synth  # noqa: E402

PAGES = [
    "home.py",
    "gp_practice.py",
    "gp_measure.py",
    "variation_demographic.py",
    "variation_geographic.py",
    "variation_flows.py",
    "equipment.py",
    "waiting_times.py",
    "completeness.py",
    "data_quality.py",
    "provider_drilldown.py",
    "official_outputs.py",
    "radiation_dose.py",
    "submit.py",
]

_RENDER = """
import sys, time, json
from streamlit.testing.v1 import AppTest
from did_model.scope import CENTRAL
out = {}
for page in sys.argv[1:]:
    at = AppTest.from_file("dashboard/app.py", default_timeout=300)
    at.session_state["scope"] = CENTRAL
    t = time.perf_counter(); at.run(); first = time.perf_counter() - t  # the router and the home page
    if page == "home.py":  # the landing page: its first render is the router's first run
        out[page] = {"seconds": round(first, 2), "exception": bool(at.exception)}
        continue
    t = time.perf_counter(); at.switch_page("views/" + page).run(); dt = time.perf_counter() - t
    out[page] = {"seconds": round(dt, 2), "exception": bool(at.exception)}
print(json.dumps(out))
"""


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/work/national")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--from", dest="first", default="2025-11")
    p.add_argument("--to", dest="last", default="2026-10")
    p.add_argument("--skip-synth", action="store_true", help="reuse OUT/extracts")
    p.add_argument("--skip-load", action="store_true", help="reuse OUT/store (only render pages)")
    args = p.parse_args()

    out = Path(args.out)
    extracts, store_dir = out / "extracts", out / "store"
    os.environ.setdefault("DID_KEY_FILE", str(out / "bench.key"))
    did_settings.activate(did_settings.Settings.from_env())  # this script is an entry point
    result: dict = {
        "date": date.today().isoformat(),
        "scale": args.scale,
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}",
    }
    if not args.skip_synth and not args.skip_load:
        t = time.perf_counter()
        synth.generate(
            args.first,
            args.last,
            args.scale,
            extracts,
            seed=0,
            progress=lambda m: print(m, file=sys.stderr, flush=True),
        )
        result["synth_s"] = round(time.perf_counter() - t, 1)
    if not args.skip_load:
        shutil.rmtree(store_dir, ignore_errors=True)
        t = time.perf_counter()
        with store.writer(store_dir, create=True) as con:
            totals = did_cli.load_manifest(con, extracts)
            result["load_s"] = round(time.perf_counter() - t, 1)
            did_cli._mark_synthetic(con, extracts)
            t = time.perf_counter()
            steps: dict = {}
            store.publish(con, store_dir, steps)
            result["publish_s"] = round(time.perf_counter() - t, 1)
            # seconds and counts (a step's own breakdown, seconds per rollup, as it is)
            result["publish_steps"] = {k: round(v, 1) if isinstance(v, float) else v for k, v in steps.items()}
        result.update(
            files=totals["files"],
            records=totals["records"],
            accepted=totals["accepted"],
            load_records_per_s=round(totals["records"] / result["load_s"]),
            peak_rss_mb=round(_rss_mb()),
        )
        size = store.store_path(store_dir).stat().st_size
        result["store_gb"] = round(size / 1e9, 2)
        result["store_mb_per_million_records"] = round(size / 1e6 / (totals["accepted"] / 1e6), 1)
    env = dict(os.environ, DID_STORE_DIR=str(store_dir))
    proc = subprocess.run(
        [sys.executable, "-c", _RENDER, *[pg for pg in PAGES if (ROOT / "dashboard" / "views" / pg).exists()]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    result["first_render"] = (
        json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else proc.stderr[-2000:]
    )

    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    prev = results / "national.json"
    merged = {**(json.loads(prev.read_text()) if prev.exists() and args.skip_load else {}), **result}
    prev.write_text(json.dumps(merged, indent=1) + "\n")
    print(json.dumps(merged, indent=1))


if __name__ == "__main__":
    main()
