"""Benchmark: `did submit` on a national-size provider-month against DuckDB simply reading the CSV.

    .venv/bin/python bench/ingest.py [--scale 1.0] [--month 2026-03] [--extracts DIR] [--repeat 3]

Generates one activity month of synthetic extracts at --scale (1.0 = England) unless --extracts
names a folder `did synth` already wrote, takes the largest provider's file, and measures in
the same run, on the same file:

- baseline: a fresh DuckDB database file, `CREATE TABLE t AS SELECT * FROM read_csv(file)`;
- load: reader + every DIDS rule + pseudonymisation + the load transaction, in-process, into a
  store holding the reference data (what `did submit` does before publishing);
- submit: the whole `did submit` command in a new process, including Python start-up and
  publishing the snapshot; peak memory (max RSS) of that process.

Prints a Markdown table (the README quotes it) and writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest import loader, store, synth  # noqa: E402


def _largest_file(folder: Path) -> tuple[Path, dict]:
    manifest = synth.Manifest.read(folder)
    regular = [f for f in manifest.files if f.kind in ("regular", "late")]
    best = max(regular, key=lambda f: f.records)
    return folder / best.path, {"provider": best.provider_code, "period": best.period,
                                "submitted_on": best.submitted_on, "records": best.records}


def _time(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--month", default="2026-03", help="activity month to generate")
    p.add_argument("--extracts", help="reuse a folder written by did synth")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="did-bench-"))
    os.environ.setdefault("DID_KEY_FILE", str(work / "bench.key"))
    try:
        folder = Path(args.extracts) if args.extracts else work / "extracts"
        gen_seconds = None
        if not args.extracts:
            gen_seconds = _time(lambda: synth.generate(args.month, args.month, args.scale, folder, seed=0))
        path, info = _largest_file(folder)
        size_mb = path.stat().st_size / 1e6
        print(f"file: {path.name}, {info['records']:,} records, {size_mb:.1f} MB", file=sys.stderr)

        template = work / "template"
        store.create_store(template)
        submitted_on = date.fromisoformat(info["submitted_on"])

        baseline, load, submit, rss = [], [], [], []
        for i in range(args.repeat):
            db = work / f"baseline{i}.duckdb"
            con = duckdb.connect(str(db))
            baseline.append(_time(lambda: con.execute(
                "CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(path)])))
            con.close()
            db.unlink()

            st = work / f"store{i}"
            shutil.copytree(template, st)
            with store.writer(st) as con:
                load.append(_time(lambda: loader.load_file(con, path, info["provider"], info["period"],
                                                           submitted_on)))
            shutil.rmtree(st)

            st = work / f"cli{i}"
            shutil.copytree(template, st)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "did_cli", "submit", str(path), "--provider", info["provider"],
                            "--period", info["period"], "--submitted-on", info["submitted_on"], "--store", str(st)],
                           cwd=ROOT, check=True, capture_output=True)
            submit.append(time.perf_counter() - started)
            rss.append(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024)
            shutil.rmtree(st)

        med = statistics.median
        result = {
            "date": date.today().isoformat(),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
                       f"DuckDB {duckdb.__version__}",
            "scale": args.scale, "file": path.name, "records": info["records"], "file_mb": round(size_mb, 1),
            "generate_month_s": round(gen_seconds, 1) if gen_seconds else None,
            "baseline_s": round(med(baseline), 2), "load_s": round(med(load), 2), "submit_s": round(med(submit), 2),
            "load_ratio": round(med(load) / med(baseline), 2), "submit_ratio": round(med(submit) / med(baseline), 2),
            "load_records_per_s": round(info["records"] / med(load)),
            "submit_peak_rss_mb": round(max(rss)),
        }
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "ingest.json").write_text(json.dumps(result, indent=1) + "\n")
        print(f"| measure ({result['records']:,} records, {result['file_mb']} MB, median of {args.repeat}) "
              f"| seconds | × baseline |")
        print("|---|---|---|")
        print(f"| DuckDB reads the CSV into a table (baseline) | {result['baseline_s']} | 1.0 |")
        print(f"| validate + pseudonymise + load (in-process) | {result['load_s']} | {result['load_ratio']} |")
        print(f"| `did submit` end to end (new process, publish) | {result['submit_s']} | {result['submit_ratio']} |")
        print(f"\nload rate {result['load_records_per_s']:,} records/s; `did submit` peak memory "
              f"{result['submit_peak_rss_mb']} MB; {result['machine']}; {result['date']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
