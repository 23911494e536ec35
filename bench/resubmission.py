"""Benchmark: a provider resubmits one month into a published store — `did submit` end to end.

    .venv/bin/python bench/resubmission.py --store /work/national/store [--extracts DIR]
        [--file FILE --provider P --period YYYY-MM --submitted-on YYYY-MM-DD]
        [--repeat 3] [--in-place] [--code DIR] [--name resubmission]

Takes the largest file of the newest submission month in the extracts' manifest (`--extracts`,
by default the `extracts` folder beside the store; or the file given) and submits it again,
`--repeat` times, each time:

- `did submit` in a new process (start-up, check, load, publish), wall clock, its peak memory
  (max RSS of that process) and the publish's own step timings (rollups refreshed and built,
  partitions written; ADR 0011);
- then, in this process, the dashboard's way in: open the current snapshot and read the
  provider's month from `rollup_activity` and `record` (the file is published and readable);
- DuckDB plainly reading the same file in a new process (`CREATE TABLE t AS SELECT * FROM
  read_csv(file)` into a new database file, closed), and the ratio of the two.

Works on a copy of the store directory (removed afterwards; written out to disk before the first
run, as a store in service is) unless `--in-place`: a resubmission of the same file changes no
figure, but it does add submissions. `--code DIR` times another checkout's `did` (an earlier
commit, for a before/after) against the same store and file. Writes bench/results/<name>.json
and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from ingest import store  # noqa: E402

# `did submit` in a new process, reporting its peak memory and the publish's step timings.
_SUBMIT = """
import json, resource, sys
import did_cli
from ingest import store
steps = {}
publish = store.publish
def timed(con, store_dir, timings=None, **kwargs):
    return publish(con, store_dir, steps, **kwargs)
store.publish = timed
rc = did_cli.main(sys.argv[1:])
print(json.dumps({"rc": rc, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "publish": steps}), file=sys.stderr)
sys.exit(rc)
"""
_PLAIN_READ = (
    "import sys, duckdb\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "con.execute('CREATE TABLE t AS SELECT * FROM read_csv(?)', [sys.argv[2]])\n"
    "con.close()\n"
)


def _choose_file(extracts: Path) -> dict:
    """The largest file of the newest submission month in the manifest (a big provider's month)."""
    manifest = extracts / "manifest.csv"
    if not manifest.exists():
        raise SystemExit(f"{extracts} has no manifest.csv: give --extracts, or --file with --provider and --period")
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    newest = max(r["period"] for r in rows)
    candidates = [r for r in rows if r["period"] == newest and (extracts / r["path"]).exists()]
    row = max(candidates, key=lambda r: (extracts / r["path"]).stat().st_size)
    return {
        "file": extracts / row["path"],
        "provider": row["provider_code"],
        "period": row["period"],
        "submitted_on": row["submitted_on"],
    }


def _readable(store_dir: Path, provider: str, version_before: str) -> tuple[float, int]:
    """Seconds to open the current snapshot as the dashboard does and read the provider's
    figures; and its records. Fails if the submit did not publish a new snapshot."""
    from queries.connection import Snapshot

    started = time.perf_counter()
    path = store.current_snapshot(store_dir)
    if path is None or path.name == version_before:
        raise SystemExit("the submit published no new snapshot")
    snap = Snapshot(path)
    try:
        snap.query(
            "SELECT activity_month, sum(records) AS n FROM rollup_activity WHERE provider_code = $p GROUP BY ALL",
            {"p": provider},
        )
        records = snap.query("SELECT count(*) AS n FROM record WHERE provider_code = $p", {"p": provider})["n"][0]
    finally:
        snap.close()
    return time.perf_counter() - started, int(records)


def _plain_read(path: Path, work: Path) -> float:
    db = work / "plain.duckdb"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _PLAIN_READ, str(db), str(path)], check=True)
    seconds = time.perf_counter() - started
    db.unlink()
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", required=True, type=Path)
    p.add_argument("--extracts", type=Path, help="a `did synth` folder (default: STORE/../extracts)")
    p.add_argument("--file", type=Path)
    p.add_argument("--provider")
    p.add_argument("--period")
    p.add_argument("--submitted-on")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--in-place", action="store_true", help="submit into --store itself, not a copy")
    p.add_argument("--code", type=Path, default=ROOT, help="the checkout whose `did` is timed")
    p.add_argument("--name", default="resubmission", help="bench/results/NAME.json")
    args = p.parse_args()

    if args.file:
        if not (args.provider and args.period):
            raise SystemExit("--file needs --provider and --period")
        chosen = {
            "file": args.file,
            "provider": args.provider,
            "period": args.period,
            "submitted_on": args.submitted_on or date.today().isoformat(),
        }
    else:
        chosen = _choose_file(args.extracts or args.store.resolve().parent / "extracts")
    path = Path(chosen["file"]).resolve()
    os.environ.setdefault("DID_KEY_FILE", str(args.store.resolve().parent / "bench.key"))

    with tempfile.TemporaryDirectory(prefix="did-resubmit-", dir=args.store.resolve().parent) as tmp:
        work = Path(tmp)
        store_dir = args.store.resolve()
        if not args.in_place:
            started = time.perf_counter()
            shutil.copytree(store_dir, work / "store", ignore=shutil.ignore_patterns(".lock"))
            store_dir = work / "store"
            print(f"copied the store in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            # The copy's gigabytes are written back to disk before the first run, not during it
            # (a store in service is not copied afresh before each submission).
            started = time.perf_counter()
            os.sync()
            print(f"and wrote it to disk in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        runs = []
        for _ in range(args.repeat):
            version_before = store.current_snapshot(store_dir).name
            started = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _SUBMIT,
                    "submit",
                    str(path),
                    "--provider",
                    chosen["provider"],
                    "--period",
                    chosen["period"],
                    "--submitted-on",
                    chosen["submitted_on"],
                    "--store",
                    str(store_dir),
                ],
                cwd=args.code,
                env=dict(os.environ, PYTHONPATH=str(args.code)),
                capture_output=True,
                text=True,
            )
            submit_s = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"did submit failed: {done.stderr.strip().splitlines()[-1:]}")
            report = json.loads(done.stderr.strip().splitlines()[-1])
            readable_s, records = _readable(store_dir, chosen["provider"], version_before)
            runs.append(
                {
                    "submit_s": round(submit_s, 2),
                    "readable_s": round(readable_s, 3),
                    "rss_mb": round(report["rss_mb"]),
                    "provider_records": records,
                    "publish": {k: v if isinstance(v, dict) else round(v, 2) for k, v in report["publish"].items()},
                    "plain_read_s": round(_plain_read(path, work), 2),
                }
            )
            print(json.dumps(runs[-1]), file=sys.stderr)

    med = statistics.median
    submit, plain = med(r["submit_s"] + r["readable_s"] for r in runs), med(r["plain_read_s"] for r in runs)
    with open(path, newline="") as f:
        rows_in_file = sum(1 for _ in f) - 1
    result = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}",
        "store": str(args.store),
        "code": str(args.code),
        "file": path.name,
        "provider": chosen["provider"],
        "period": chosen["period"],
        "file_rows": rows_in_file,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "submit_and_readable_s": round(submit, 2),
        "plain_read_s": round(plain, 2),
        "ratio": round(submit / plain, 1),
        "peak_rss_mb": max(r["rss_mb"] for r in runs),
        "runs": runs,
    }
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    print(
        f"\n| measure | result |\n|---|---|\n"
        f"| `did submit` {path.name} ({rows_in_file:,} rows) end to end, published and readable (median of "
        f"{len(runs)}) | {result['submit_and_readable_s']} s |\n"
        f"| DuckDB reading the same file (new process, CREATE TABLE AS read_csv) | {result['plain_read_s']} s |\n"
        f"| ratio | {result['ratio']}× |\n| peak memory of `did submit` | {result['peak_rss_mb']:,} MB |"
    )


if __name__ == "__main__":
    main()
