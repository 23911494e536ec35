"""`did report linkage --period YYYY-MM`: the cancer-registry linkage extract (central team only).

Record-level: one row per examination received in the period, keyed by the pseudonymised
patient id (a keyed hash of the NHS number made at load; the key never enters the store), with
the items a cancer registry needs to link and use the record. No raw identifier is read or
written — the store holds none outside quarantine, and this never reads quarantine.

Which records: every current record whose accepted submission is for the period (the files
received that month). Taken period by period, the extracts cover every record once; a record
sent again later (a correction) moves to the later period's extract.

Access: `build` raises ScopeError for anyone but the central team, and the Report is audited, so
`did report` writes an audit line for every extract.
"""

from __future__ import annotations

import argparse
from datetime import date

import polars as pl

from did_model.scope import Scope, ScopeError
from did_model.spec import PERSON_GENDER
from queries.connection import Snapshot
from queries.official import period_argument
from queries.reports import Report, ReportOutput
from queries.reports.monthly import snapshot_line

COLUMNS = (
    "patient_pseudo_id",
    "nhs_number_status",
    "request_date",
    "request_received_date",
    "test_date",
    "report_date",
    "activity_month",
    "test_group",
    "modality",
    "body_area",
    "nicip_code",
    "provider_code",
    "site_code",
    "practice_code",
    "age_at_test",
    "sex",
    "submission_id",
)


def require_central(scope: Scope) -> None:
    if not scope.is_central:
        raise ScopeError(
            f"{scope.user} ({scope.role}) may not build the cancer-registry linkage extract: "
            "it is record-level data for the central team only"
        )


def linkage_extract(snap: Snapshot, scope: Scope, period: date) -> tuple[pl.DataFrame, int]:
    """(extract, records left out because they carry no pseudonymised id) for `period`."""
    require_central(scope)
    frame = snap.query(
        f"""
        SELECT {", ".join("r." + c for c in COLUMNS)}
        FROM record r JOIN submission s USING (submission_id)
        WHERE s.period = $period AND s.status = 'accepted'
        ORDER BY r.patient_pseudo_id, r.test_date, r.provider_code, r.site_code, r.nicip_code, r.accession_number
        """,
        {"period": period},
    )
    missing = frame.filter(pl.col("patient_pseudo_id").is_null()).height
    return frame.filter(pl.col("patient_pseudo_id").is_not_null()), missing


def linkage_notes(snap: Snapshot, period: date, frame: pl.DataFrame, missing: int) -> str:
    sexes = ", ".join(f"{k} = {v}" for k, v in PERSON_GENDER.items())
    return "\n".join(
        [
            f"Records received in period {period:%B %Y}: every current record of a provider's accepted file for "
            f"that period. {frame.height} records, {frame['patient_pseudo_id'].n_unique()} patients.",
            "",
            snapshot_line(snap),
            "",
            "**Record-level, pseudonymised data for the central team and an authorised cancer registry only.** "
            "Every extract is written to the audit log. Do not publish.",
            "",
            "## Method",
            "- Key: patient_pseudo_id, a keyed hash of the NHS number made when the file was loaded. No NHS "
            "number, date of birth or full postcode is held in the store (outside quarantine, which is not read), "
            "and the postcode district is not in the extract.",
            f"- {missing} records of the period have no NHS number and so no pseudonymised id; they cannot be "
            "linked and are left out.",
            "- A record corrected in a later period is in that period's extract (with its newer values), not here.",
            "- nhs_number_status: the provider's NHS NUMBER STATUS INDICATOR code (how the number was verified).",
            "- Dates: request, request received, test and report issue (report_date is empty until reported). "
            "activity_month is the month of the test date.",
            "- modality, body_area and test_group are derived from the NICIP code (did_model/nicip.py); test_group "
            "is one of the five early-diagnosis-of-cancer groups, or empty.",
            "- practice_code: the patient's registered GP practice as submitted. age_at_test in whole years. "
            f"sex: person gender code ({sexes}).",
            "- submission_id: the file the record came from, to trace it in the store.",
        ]
    )


def build_linkage(snap: Snapshot, scope: Scope, period: date) -> ReportOutput:
    frame, missing = linkage_extract(snap, scope, period)
    return ReportOutput(
        title=f"Cancer-registry linkage extract, period {period:%B %Y}",
        tables={"records": frame},
        notes=linkage_notes(snap, period, frame, missing),
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--period",
        required=True,
        type=period_argument,
        help="submission period YYYY-MM: the records received that month",
    )


def _build(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> ReportOutput:
    from did_months import parse_period

    return build_linkage(snap, scope, parse_period(args.period))


REPORTS = [
    Report(
        "linkage",
        "cancer-registry linkage extract (record-level, pseudonymised; central team, audited)",
        _add_arguments,
        _build,
        audited=True,
    )
]
