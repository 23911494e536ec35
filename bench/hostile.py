"""Benchmark: peak memory of `did validate` on hostile files within the upload limit.

    .venv/bin/python bench/hostile.py [--limit-mb N]

Writes each hostile shape at (or near) the file-size limit (`ingest.reader.MAX_FILE_BYTES`, or
--limit-mb), runs `did validate` on it in a new process, and records that process's peak
resident memory (getrusage of the children, read in a fresh parent per run so that one run's
peak does not hide the next), its exit code, its seconds and the first line it printed. The
bar (issue #16): under 1 GB for every file the limit lets in. Prints a Markdown table and writes
bench/results/hostile.json.

Shapes: deeply nested XML (the 35 MB file that took 1.5 GB); huge element counts (the most
minimal records the XML structure allows, and unknown elements under the root); an entity
expansion; a CSV of the most rows the limit allows; a CSV of lines just under the line limit
(very long fields); one huge line, first or after a valid one.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest import reader  # noqa: E402

_VALID = (
    "9434765919,01,1950-03-15,A,2,TS18 1HU,A81001,04,G1234567,A81001,2026-01-02,2026-01-03,"
    "2026-01-05,XCHES,,2026-01-06,RR801,ACC{n}"
)
_ACTIVITY = (
    "<ImagingActivity><DiagnosticTestDate>2026-01-05</DiagnosticTestDate><ImagingSiteCode>RR801"
    "</ImagingSiteCode><RadiologicalAccessionNumber>A{n}</RadiologicalAccessionNumber></ImagingActivity>"
)
_RECORD = (
    "<DIDSRecord><PersonalAndDemographics/><Referrals><PatientSourceSetting>03</PatientSourceSetting>"
    "</Referrals>" + _ACTIVITY + "</DIDSRecord>\n"
)
# The peak of one child process, measured in a fresh parent so earlier runs do not count.
_MEASURE = """
import resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - started
first = (done.stdout.strip() or done.stderr.strip()).splitlines()[:1]
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode, round(seconds, 2),
      first[0][:200] if first else "", sep="\\t")
"""


def _fill(path: Path, head: str, unit, tail: str, limit: int) -> Path:
    """`head`, then `unit(n)` for n = 0, 1, … while the file stays within `limit` bytes, then `tail`."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(head)
        size, n, chunk = len(head) + len(tail), 0, []
        while True:
            piece = unit(n)
            if size + len(piece) > limit:
                break
            chunk.append(piece)
            size += len(piece)
            n += 1
            if len(chunk) == 10_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk) + tail)
    return path


def shapes(folder: Path, limit: int) -> dict[str, Path]:
    """The hostile files, each within `limit` bytes, named by shape."""
    long_field = "x" * (reader.MAX_LINE_BYTES - 400)
    out = {
        "xml_deeply_nested": _fill(
            folder / "DID_RR8_202601_nested.xml",
            "<DIDS><DIDSRecord><PersonalAndDemographics><Address>",
            lambda n: "<Postcode>",
            "",
            limit,
        ),
        "xml_max_records": _fill(
            folder / "DID_RR8_202601_records.xml", "<DIDS>\n", lambda n: _RECORD.format(n=n), "</DIDS>\n", limit
        ),
        "xml_unknown_elements": _fill(folder / "DID_RR8_202601_junk.xml", "<DIDS>", lambda n: "<J/>", "</DIDS>", limit),
        "xml_entity_expansion": _entities(folder / "DID_RR8_202601_laughs.xml"),
        "csv_max_rows": _fill(folder / "DID_RR8_202601_rows.csv", "", lambda n: _VALID.format(n=n) + "\n", "", limit),
        "csv_long_fields": _fill(
            folder / "DID_RR8_202601_long.csv",
            "",
            lambda n: _VALID.format(n=n).replace("G1234567", long_field) + "\n",
            "",
            limit,
        ),
        "csv_one_huge_line": _fill(folder / "DID_RR8_202601_line.csv", "", lambda n: "x" * 65536, "\n", limit),
        "csv_huge_second_line": _fill(
            folder / "DID_RR8_202601_line2.csv", _VALID.format(n=0) + "\n", lambda n: "x," * 32768, "\n", limit
        ),
    }
    return out


def _entities(path: Path) -> Path:
    lol = "".join(f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(10))}">' for i in range(1, 10))
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE DIDS [<!ENTITY l0 "lol">{lol}]>'
        f"<DIDS><DIDSRecord><PersonalAndDemographics><Address>&l9;</Address>"
        "</PersonalAndDemographics></DIDSRecord></DIDS>"
    )
    return path


def measure(path: Path, store_dir: Path) -> dict:
    cmd = [
        sys.executable,
        "-c",
        _MEASURE,
        sys.executable,
        str(ROOT / "did_cli.py"),
        "validate",
        str(path),
        "--store",
        str(store_dir),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip().split("\t")
    return {
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "peak_rss_mb": round(int(out[0]) / 1024),
        "exit_code": int(out[1]),
        "seconds": float(out[2]),
        "said": out[3] if len(out) > 3 else "",
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit-mb", type=float, help="file size to build up to (default: the reader's limit)")
    args = p.parse_args()
    limit = int(args.limit_mb * 1024**2) if args.limit_mb else reader.MAX_FILE_BYTES
    work = Path(tempfile.mkdtemp(prefix="did-hostile-"))
    try:
        results = {}
        for name, path in shapes(work, limit).items():
            results[name] = measure(path, work / "no-store")
            print(f"{name}: {results[name]}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| shape | file MB | peak RSS MB | exit | seconds | first line |\n|---|---:|---:|---:|---:|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['file_mb']} | {r['peak_rss_mb']} | {r['exit_code']} | {r['seconds']} | {r['said'][:80]} |"
        )
    out = ROOT / "bench" / "results" / "hostile.json"
    out.write_text(
        json.dumps(
            {
                "limit_bytes": limit,
                "bar_mb": 1024,
                "machine": platform.machine(),
                "measured_at": time.strftime("%Y-%m-%d"),
                "shapes": results,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
