"""Every `did export` and `did report` output, built in-process as the commands build them, for
tests that look through all of them (the identifier scans)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import polars as pl

from queries import exports, reports
from queries.connection import Snapshot
from queries.scope import CENTRAL

# The arguments an export or report cannot run without; the rest keep their defaults.
EXPORT_ARGS = {"gp-benchmark": ["--measure", "gpda_chest_xray"], "variation-flows": ["--icb", "QWO"]}
YEARLY_REPORTS = ("kh12", "dose")


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
        output = report.build(snap, CENTRAL, parser.parse_args(argv))
        for table_name, table in output.tables.items():
            yield f"{name} {table_name}", table
        yield f"{name} notes", pl.DataFrame({"notes": [output.title, output.notes]})
