"""Every `did export` and `did report` output, built in-process as the commands build them, for
tests that look through all of them (the identifier scans)."""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from did_model.scope import CENTRAL
from queries import exports, reports
from queries.connection import Snapshot

# The arguments an export or report cannot run without; the rest keep their defaults.
EXPORT_ARGS = {"gp-benchmark": ["--measure", "gpda_chest_xray"], "variation-flows": ["--icb", "QWO"]}
YEARLY_REPORTS = ("kh12", "dose")
PROVIDER_REPORTS = ("provider-profile",)


def every_output(snap: Snapshot, period: str, year: str = "2025-26") -> Iterator[tuple[str, pl.DataFrame]]:
    """(name, table) for every export, every report table and each report's title and notes (as
    a one-column table), for the central team. Monthly reports are for `period` (YYYY-MM),
    yearly ones for `year`."""
    for name, export in exports.registry().items():
        parser = argparse.ArgumentParser()
        export.add_arguments(parser)
        yield name, export.build(snap, CENTRAL, parser.parse_args(EXPORT_ARGS.get(name, [])))
    for name, report in reports.registry().items():
        parser = argparse.ArgumentParser()
        report.add_arguments(parser)
        argv = ["--year", year] if name in YEARLY_REPORTS else ["--period", period]
        if name in PROVIDER_REPORTS:  # one provider's pack, to its latest activity month
            provider, last = snap.query(
                "SELECT provider_code, max(activity_month) AS m FROM rollup_activity GROUP BY 1 ORDER BY 1 LIMIT 1"
            ).row(0)
            argv = ["--provider", provider, "--period", f"{last:%Y-%m}"]
        output = report.build(snap, CENTRAL, parser.parse_args(argv))
        for table_name, table in output.tables.items():
            yield f"{name} {table_name}", table
        yield f"{name} notes", pl.DataFrame({"notes": [output.title, output.notes]})
        # whole documents: the HTML as text, the PDF as `pdftotext` reads it (make test installs it)
        for suffix, content in output.documents.items():
            text = content.decode("utf-8") if suffix == "html" else _pdf_text(content)
            yield f"{name} {suffix}", pl.DataFrame({suffix: text.splitlines()})


def _pdf_text(content: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "output.pdf"
        path.write_bytes(content)
        return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
