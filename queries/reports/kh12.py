"""`did report kh12 --year 2025-26`: examinations by modality per provider in the KH12 layout.

KH12 ("Imaging and Radiological Examinations or Tests in any Part of a Hospital") was the annual
aggregate return until 2013-14 (did-dataset.md §6.1). Its Part 2 counted examinations by imaging
modality per organisation; this table fills that layout from the DID. The query is
`queries.official.kh12`.
"""

from __future__ import annotations

import argparse

from did_model.scope import Scope
from queries.connection import Snapshot
from queries.headline import UNKNOWN_MODALITY
from queries.official import ENGLAND_CODE, KH12_COLUMNS, FinancialYear, kh12, months_held, year_argument
from queries.reports import Report, ReportOutput
from queries.reports.monthly import disclosure_notes, snapshot_line

_LABELS = {
    "xray_radiographs": "X-ray (radiographs)",
    "ultrasound": "Ultrasound",
    "ct": "CT",
    "mri": "MRI",
    "fluoroscopy": "Fluoroscopy",
    "radio_isotopes": "Radio-isotopes",
    "other": "Other",
}


def kh12_notes(snap: Snapshot, year: FinancialYear) -> str:
    held = months_held(snap, year.first_month, year.last_month)
    coverage = f"The store holds activity for {len(held)} of the 12 months" + (
        f" ({held[0]:%B %Y} to {held[-1]:%B %Y})." if held else "."
    )
    columns = "\n".join(
        f"- {col} ({_LABELS[col]}): "
        f"{', '.join(m if m != UNKNOWN_MODALITY else 'no modality (unknown code)' for m in mods)}"
        for col, mods in KH12_COLUMNS.items()
    )
    return "\n".join(
        [
            f"Financial year {year.label}: activity months {year.first_month:%B %Y} to {year.last_month:%B %Y} "
            "(by test date). " + coverage,
            "",
            snapshot_line(snap),
            "",
            "## Layout",
            "One row per provider (the organisation that submitted the examinations), after a first row for "
            f"England ({ENGLAND_CODE}); one column per KH12 Part 2 modality row, then total:",
            columns,
            "",
            "## How this differs from the KH12 return",
            "- KH12 Part 1 (departments at 31 March) and the split of Part 2 by department type (imaging "
            "department or another department) cannot be derived from the DID and are left out.",
            "- KH12 counted interventional imaging in a part of its own; here interventional and endoscopic "
            "procedures are under 'other'.",
            "- Modality is derived from the NICIP code (did_model/nicip.py), not reported by the provider.",
            "- Radio-isotopes = nuclear medicine and PET-CT.",
            "",
            *disclosure_notes(),
        ]
    )


def build_kh12(snap: Snapshot, scope: Scope, year: FinancialYear) -> ReportOutput:
    return ReportOutput(
        title=f"KH12-style imaging examinations by provider, {year.label}",
        tables={"kh12": kh12(snap, year)},
        notes=kh12_notes(snap, year),
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--year", required=True, type=year_argument, help="financial year, e.g. 2025-26")


def _build(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> ReportOutput:
    return build_kh12(snap, scope, FinancialYear.parse(args.year))


REPORTS = [
    Report(
        "kh12",
        "KH12-style annual table: examinations by modality per provider for a financial year",
        _add_arguments,
        _build,
    )
]
