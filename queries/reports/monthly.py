"""`did report monthly --period YYYY-MM`: the monthly DID statistics tables (did-dataset.md §5.1).

The tables and their method are `queries.official`; this module adds the notes and the Report.
The "Official statistics" page calls `build_monthly` too, so page and files hold the same numbers.
"""

from __future__ import annotations

import argparse
from datetime import date

from did_model.nicip import TEST_GROUPS
from did_model.scope import Scope
from did_months import add_months
from queries.connection import Snapshot
from queries.disclosure import DisclosureRule
from queries.headline import GP_DIRECT_ACCESS
from queries.official import (
    ENGLAND_CODE,
    MODALITY_COLUMNS,
    NOT_KNOWN,
    ROLLING_MONTHS,
    monthly_tables,
    period_argument,
    reporting_month,
)
from queries.reports import Report, ReportOutput


def snapshot_line(snap: Snapshot) -> str:
    return (
        f"Source: DID store snapshot `{snap.version}` (published {snap.published_at or 'unknown'}). "
        "Rebuilding from the same snapshot gives the same files."
    )


def disclosure_notes() -> list[str]:
    rule = DisclosureRule.from_settings()
    return [
        "## Disclosure control",
        f"- Each count first has a small amount of noise added (at most {rule.noise} either way; the same cell "
        "always gets the same noise), so no hidden count can be worked out from a total and the other cells.",
        f"- Counts of 1 to {rule.suppress_up_to} are then suppressed (an empty cell); every other count is "
        f"rounded to the nearest {rule.round_to}. Zero is shown as 0.",
        "- A median whose count is suppressed is suppressed too.",
        "- Totals are cells of their own, given their own noise, so rounded cells need not add up to them.",
        "- These rules apply whoever builds the tables: they are publication-safe.",
    ]


def monthly_notes(snap: Snapshot, period: date) -> str:
    month = reporting_month(period)
    first = add_months(month, -(ROLLING_MONTHS - 1))
    groups = "; ".join(f"{gid} = {g.label} ({', '.join(g.codes)})" for gid, g in TEST_GROUPS.items())
    return "\n".join(
        [
            f"Period {period:%B %Y} (submission month): activity in **{month:%B %Y}** — the month the period's "
            "files mostly report — and, in activity_by_month, the 13 activity months "
            f"{first:%B %Y} to {month:%B %Y} (months before the store's first activity month are left out).",
            "",
            snapshot_line(snap),
            "Provisional: late records for these months, sent in later periods, are added when they arrive.",
            "",
            "## Method",
            "- Examinations are counted by activity month, the month of the test date. Each examination is counted "
            "once: the latest accepted version of each (site, accession number).",
            "- Modality is derived from the NICIP code's first character (did_model/nicip.py; PET-CT for NPET codes). "
            f"Columns: {', '.join(MODALITY_COLUMNS)}. Unknown = a record whose procedure code has no modality.",
            "- % of organisations included (activity_by_month): providers with an accepted file for the period that "
            "carries the month (the month after it), out of the providers expected for that period — those with an "
            "imaging site open in the month (site reference data), an accepted file in any of the previous 12 "
            "periods, or any file for the period. The same figures as the Completeness page and the home page's "
            '"Providers submitting".',
            f"- Provider tables: the submitting provider. The first row ({ENGLAND_CODE}, England) totals every "
            "provider.",
            "- Commissioner tables: the sub-ICB and ICB of the patient's registered GP practice (NHS Digital "
            "practice map, 2026 geography), as in the official DID tables — not the patient's residence. Records "
            f"with no practice, or one not in the map, are the '{NOT_KNOWN}' row.",
            "- waiting_times: median days from request to test and from test to report, by modality, over records "
            "with both dates in order (nearest rank on whole days; 366 = more than 365 days). *_records counts "
            "them; records with a date missing or dates out of order are left out (the waiting-times page counts "
            "them).",
            f"- gp_direct_access_by_sub_icb: examinations with patient source {GP_DIRECT_ACCESS} (GP direct access) "
            f"in the five early-diagnosis-of-cancer test groups, by NICIP code: {groups}.",
            "",
            *disclosure_notes(),
            "",
            "## Tables",
            "- activity_by_month: activity_month, modalities, total, organisations_included, organisations_expected, "
            "pct_organisations_included.",
            "- activity_by_provider, activity_by_sub_icb, activity_by_icb: the reporting month by modality.",
            "- waiting_times: modality, request_to_test_records, request_to_test_median_days, test_to_report_records, "
            "test_to_report_median_days.",
            "- gp_direct_access_by_sub_icb: the reporting month, one column per test group, total.",
        ]
    )


def build_monthly(snap: Snapshot, scope: Scope, period: date) -> ReportOutput:
    """The monthly release for `period` (tables are publication-safe for any scope)."""
    month = reporting_month(period)
    return ReportOutput(
        title=f"Diagnostic Imaging Dataset monthly statistics: {month:%B %Y} (period {period:%B %Y})",
        tables=monthly_tables(snap, period),
        notes=monthly_notes(snap, period),
    )


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--period",
        required=True,
        type=period_argument,
        help="submission period YYYY-MM; the tables report the month before it",
    )


def _build(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> ReportOutput:
    from did_months import parse_period

    return build_monthly(snap, scope, parse_period(args.period))


REPORTS = [
    Report(
        "monthly",
        "monthly statistics tables: activity, providers, commissioners, waits, GP direct access",
        _add_arguments,
        _build,
    )
]
