"""`did report NAME`: official outputs written as files (CSV, an .xlsx workbook with notes).

Each module in this package defines `REPORTS: list[Report]`. `build(snap, scope, args)` returns
named tables plus a notes text; `did report` writes them into --out DIR (one CSV per table, a
workbook with a Notes sheet first) and the report's page shows the same tables.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from did_model.scope import Scope
from queries.connection import Snapshot
from queries.disclosure import for_csv
from queries.exports import neutralise_formulas
from queries.plugins import discover


@dataclass
class ReportOutput:
    title: str
    tables: dict[str, pl.DataFrame]  # sheet/file name -> table
    notes: str  # method, sources, disclosure rules, caveats (Markdown)
    files: list[Path] = field(default_factory=list)
    # whole documents beside the tables, by file suffix (the provider profile's "html" and "pdf")
    documents: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    build: Callable[[Snapshot, Scope, argparse.Namespace], ReportOutput]
    audited: bool = False  # record-level output: every run is written to the audit log


def registry() -> dict[str, Report]:
    return discover(sys.modules[__name__], "REPORTS")


def workbook_bytes(output: ReportOutput, stem: str) -> bytes:
    """The .xlsx workbook `write` makes for `output` (Notes sheet first), as bytes: a page's download."""
    with tempfile.TemporaryDirectory(prefix="did-report-") as tmp:
        write(output, Path(tmp), stem)
        return (Path(tmp) / f"{stem}.xlsx").read_bytes()


def write(output: ReportOutput, out_dir: Path, stem: str, xlsx: bool = True) -> list[Path]:
    """One CSV per table, any whole documents, the notes, and (optionally) a workbook with a Notes
    sheet; returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, table in output.tables.items():
        path = out_dir / f"{stem}_{name}.csv"
        tmp = path.with_name(f".{path.name}.partial")
        for_csv(neutralise_formulas(table)).write_csv(tmp)
        tmp.replace(path)
        written.append(path)
    for suffix, content in output.documents.items():
        path = out_dir / f"{stem}.{suffix}"
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_bytes(content)
        tmp.replace(path)
        written.append(path)
    notes = out_dir / f"{stem}_notes.md"
    notes.write_text(f"# {output.title}\n\n{output.notes}\n", encoding="utf-8")
    written.append(notes)
    if xlsx:
        import xlsxwriter

        path = out_dir / f"{stem}.xlsx"
        tmp = path.with_name(f".{stem}.partial.xlsx")
        with xlsxwriter.Workbook(str(tmp)) as wb:
            sheet = wb.add_worksheet("Notes")
            sheet.set_column(0, 0, 120)
            for i, line in enumerate([output.title, "", *output.notes.splitlines()]):
                sheet.write_string(i, 0, line)
            for name, table in output.tables.items():
                # Autofit measures every cell: fine for statistics tables, minutes for a
                # record-level extract.
                neutralise_formulas(table).write_excel(wb, worksheet=name[:31], autofit=table.height <= 5_000)
        tmp.replace(path)
        written.append(path)
    output.files = written
    return written
