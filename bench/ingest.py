"""Benchmark: `did submit` on a national-size provider-month against DuckDB simply reading the CSV.

    .venv/bin/python bench/ingest.py [--scale 1.0] [--month 2026-03] [--extracts DIR] [--repeat 3]

Generates one activity month of synthetic extracts at --scale (1.0 = England) unless --extracts
names a folder `did synth` already wrote, takes the largest provider's file, and measures in
the same run, on the same file, two like-for-like pairs:

- in-process baseline: open a new DuckDB database file, `CREATE TABLE t AS SELECT * FROM
  read_csv(file)`, close it (closing writes the table into the file; until then it is only in
  the write-ahead log);
- in-process load: open the store (writer lock; a store holding the reference data, published
  once), reader + every DIDS rule + pseudonymisation +
  the load transaction, close it: what `did submit` does before publishing. Its commit writes
  the records into the database file;
- process baseline: the in-process baseline as a new Python process (start-up, `import duckdb`);
- `did submit`: the whole command in a new process, including start-up and publishing the
  snapshot; and its peak memory (max RSS).

Also reported, for continuity with earlier runs, the baseline's CREATE TABLE statement alone.
Prints a Markdown table (the README quotes it) and writes bench/results/ingest.json, or
ingest-v2.json when the file is DIDS v2.0 (`--month 2026-04` or later: the generator writes
v2.0 from April 2026 activity), against the same baseline.
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

import did_settings  # noqa: E402
from ingest import loader, store, synth  # noqa: E402
from ingest.synth.writer import version_of  # noqa: E402


def _largest_file(folder: Path) -> tuple[Path, dict]:
    manifest = synth.Manifest.read(folder)
    regular = [f for f in manifest.files if f.kind in ("regular", "late")]
    best = max(regular, key=lambda f: f.records)
    return folder / best.path, {
        "provider": best.provider_code,
        "period": best.period,
        "submitted_on": best.submitted_on,
        "records": best.records,
    }


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
    did_settings.activate(did_settings.Settings.from_env())  # this script is an entry point
    try:
        folder = Path(args.extracts) if args.extracts else work / "extracts"
        gen_seconds = None
        if not args.extracts:
            gen_seconds = _time(lambda: synth.generate(args.month, args.month, args.scale, folder, seed=0))
        path, info = _largest_file(folder)
        size_mb = path.stat().st_size / 1e6
        print(f"file: {path.name}, {info['records']:,} records, {size_mb:.1f} MB", file=sys.stderr)

        # A store in service: reference data loaded and published once (the first publish of a
        # new store has no snapshot to build on and copies every reference table).
        template = work / "template"
        store.create_store(template)
        with store.writer(template) as con:
            store.publish(con, template)
        submitted_on = date.fromisoformat(info["submitted_on"])

        create, baseline, load, process, submit, rss = [], [], [], [], [], []
        baseline_code = (
            "import sys, duckdb\n"
            "con = duckdb.connect(sys.argv[1])\n"
            "con.execute('CREATE TABLE t AS SELECT * FROM read_csv(?)', [sys.argv[2]])\n"
            "con.close()\n"
        )
        for i in range(args.repeat):
            db = work / f"baseline{i}.duckdb"
            started = time.perf_counter()
            con = duckdb.connect(str(db))
            create.append(_time(lambda: con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(path)])))
            con.close()
            baseline.append(time.perf_counter() - started)
            db.unlink()

            st = work / f"store{i}"
            shutil.copytree(template, st)
            started = time.perf_counter()
            with store.writer(st) as con:
                loader.load_file(con, path, info["provider"], info["period"], submitted_on)
            load.append(time.perf_counter() - started)
            shutil.rmtree(st)

            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", baseline_code, str(db), str(path)], check=True)
            process.append(time.perf_counter() - started)
            db.unlink()

            st = work / f"cli{i}"
            shutil.copytree(template, st)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "did_cli",
                    "submit",
                    str(path),
                    "--provider",
                    info["provider"],
                    "--period",
                    info["period"],
                    "--submitted-on",
                    info["submitted_on"],
                    "--store",
                    str(st),
                ],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            submit.append(time.perf_counter() - started)
            rss.append(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024)
            shutil.rmtree(st)

        med = statistics.median
        result = {
            "date": date.today().isoformat(),
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
            f"DuckDB {duckdb.__version__}",
            "scale": args.scale,
            "file": path.name,
            "dids_version": version_of(path),
            "records": info["records"],
            "file_mb": round(size_mb, 1),
            "generate_month_s": round(gen_seconds, 1) if gen_seconds else None,
            "create_statement_s": round(med(create), 3),
            "baseline_s": round(med(baseline), 3),
            "load_s": round(med(load), 3),
            "load_ratio": round(med(load) / med(baseline), 2),
            "process_baseline_s": round(med(process), 3),
            "submit_s": round(med(submit), 3),
            "submit_ratio": round(med(submit) / med(process), 2),
            "load_ratios_each_run": [round(a / b, 2) for a, b in zip(load, baseline, strict=True)],
            "submit_ratios_each_run": [round(a / b, 2) for a, b in zip(submit, process, strict=True)],
            "load_records_per_s": round(info["records"] / med(load)),
            "submit_peak_rss_mb": round(max(rss)),
        }
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        name = "ingest-v2.json" if result["dids_version"] == "2.0" else "ingest.json"
        (out / name).write_text(json.dumps(result, indent=1) + "\n")
        r = result
        print(
            f"| step (DIDS v{r['dids_version']}: {r['records']:,} records, {r['file_mb']} MB, median of "
            f"{args.repeat}) | seconds | × its baseline |"
        )
        print("|---|---|---|")
        print(
            "| in-process baseline: DuckDB opens a new database, reads the CSV into a table, closes "
            f"| {r['baseline_s']} | 1.0 |"
        )
        print(f"| in-process: open the store, check + pseudonymise + load, close | {r['load_s']} | {r['load_ratio']} |")
        print(f"| process baseline: the same in a new Python process | {r['process_baseline_s']} | 1.0 |")
        print(
            f"| `did submit` end to end (new process: check, load, publish) | {r['submit_s']} | {r['submit_ratio']} |"
        )
        print(
            f"\nbaseline CREATE TABLE statement alone {r['create_statement_s']} s; load rate "
            f"{r['load_records_per_s']:,} records/s; `did submit` peak memory {r['submit_peak_rss_mb']} MB; "
            f"{r['machine']}; {r['date']}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
