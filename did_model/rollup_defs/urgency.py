"""Waits by urgency and report turnaround from the DIDS v2.0 items (issue 20; queries/urgency.py).

Only activity from `V2_FIRST_MONTH` (April 2026, the first month collected under v2.0) with a
priority type is counted: a v1.0 month has no priority, and the few v2.0-format records of an
earlier month would stand for a sliver of it, so no v1.0 month is mixed in.

`rollup_waits_v2`: day histograms, as `rollup_waits` (same day coding: 0 … 365, 366 over 365
days, -1 dates out of order, NULL a date missing), one row per activity month × provider ×
site × modality × patient source × priority × DM01 test (ingest/dm01.py; NULL: not one of
DM01's five imaging tests) × interval × days → records; `rollup_waits_v2_provider` the same
without the site. The intervals use UK local
calendar dates (Europe/London) of the UTC timestamps:
- request_to_procedure: request date → the procedure start's local date;
- procedure_to_report: the procedure start's local date → the report issue's local date;
- clock_to_procedure: waiting-list clock start → the procedure start's local date, for the
  diagnostic waiting list (activity category 01) only.
(The local dates are the record's test and report dates, ADR 0009; worked out here from the
timestamps so that the rollup says what it measures.)

`rollup_unreported_v2`: examinations with no report issued, per the same keys (without the DM01
test), and those whose
procedure started 28 or more days before the as-of date — the last day of the latest activity
month held (the snapshot's data cannot know of reports issued after its last extract). It is
added up from `rollup_unreported_v2_by_day` (the same counts by procedure day, split by provider
and month), so a resubmission never re-reads other providers' records for it.
"""

from did_model.dm01 import TEST_JOIN, TEST_SQL
from did_model.rollup_defs.waits import NEGATIVE_DAY, OVERFLOW_DAY
from did_model.rollups import BY_PROVIDER_MONTH, FULL
from did_model.spec import local_date_sql

V2_FIRST_MONTH = "2026-04-01"
REPORT_STANDARD_DAYS = 28
WAITING_LIST_CATEGORY = "01"  # DIAGNOSTIC IMAGING ACTIVITY CATEGORY: Diagnostic Waiting List (project code)

_PROCEDURE = local_date_sql("procedure_start_utc")
# interval -> (start, end, which records): the waiting-list wait only for the waiting-list category
_INTERVALS = {
    "request_to_procedure": ("request_date", _PROCEDURE, "TRUE"),
    "procedure_to_report": (_PROCEDURE, local_date_sql("report_issue_utc"), "TRUE"),
    "clock_to_procedure": ("waiting_list_clock_start", _PROCEDURE, f"activity_category = '{WAITING_LIST_CATEGORY}'"),
}
_V2 = f"activity_month >= DATE '{V2_FIRST_MONTH}' AND priority IS NOT NULL"
_KEYS = "activity_month, provider_code, site_code, coalesce(modality, 'Unknown') AS modality, patient_source, priority"

_UNPIVOT = "\n            UNION ALL\n".join(
    f"            SELECT {_KEYS}, {TEST_SQL} AS dm01_test, '{name}' AS interval_kind, "
    f"date_diff('day', {start}, {end}) AS d FROM record {TEST_JOIN} WHERE {_V2} AND {which}"
    for name, (start, end, which) in _INTERVALS.items()
)


def _histograms(keys: str) -> str:
    """Day histograms of the three intervals per `keys` (output columns of `_UNPIVOT`)."""
    return f"""
        WITH intervals AS (
{_UNPIVOT}
        )
        SELECT {keys}, interval_kind,
               (CASE WHEN d IS NULL THEN NULL WHEN d < 0 THEN {NEGATIVE_DAY}
                     WHEN d > {OVERFLOW_DAY} - 1 THEN {OVERFLOW_DAY} ELSE d END)::SMALLINT AS days,
               count(*)::BIGINT AS records
        FROM intervals
        GROUP BY ALL
        ORDER BY interval_kind, modality, activity_month, provider_code
    """


ROLLUPS = {
    "rollup_waits_v2": _histograms(
        "activity_month, provider_code, site_code, modality, patient_source, priority, dm01_test"
    ),
    # The same histograms summed over sites, for every table not broken down by site: a fifth of
    # the rows at national scale (providers have several sites), so the waits by provider and the
    # DM01 waiting list read a fifth as much (bench/urgency.py). Added up from the histograms by
    # site, not from the records again: a resubmission's refresh reads the changed provider's
    # month of `rollup_waits_v2` (thousands of rows) rather than its records (0.28 → 0.02 s a
    # resubmission at national scale).
    "rollup_waits_v2_provider": """
        SELECT activity_month, provider_code, modality, patient_source, priority, dm01_test, interval_kind, days,
               sum(records)::BIGINT AS records
        FROM rollup_waits_v2
        GROUP BY ALL
        ORDER BY interval_kind, modality, activity_month, provider_code
    """,
    # Unreported examinations by the day their procedure started (split by provider and month:
    # a resubmission refreshes its own rows) ...
    "rollup_unreported_v2_by_day": f"""
        SELECT {_KEYS}, {_PROCEDURE} AS procedure_day, count(*)::BIGINT AS unreported
        FROM record
        WHERE {_V2} AND report_issue_utc IS NULL
        GROUP BY ALL
    """,
    # ... and counted against the as-of date, the last day of the latest activity month held by
    # any provider (`rollup_activity` has every counted record's month), which any load may move.
    "rollup_unreported_v2": f"""
        WITH as_of AS (SELECT last_day(max(activity_month)) AS as_of FROM rollup_activity)
        SELECT activity_month, provider_code, site_code, modality, patient_source, priority,
               any_value(as_of) AS as_of,
               sum(unreported)::BIGINT AS unreported,
               coalesce(sum(unreported) FILTER (WHERE procedure_day <= as_of - {REPORT_STANDARD_DAYS}), 0)::BIGINT
                   AS unreported_28d
        FROM rollup_unreported_v2_by_day, as_of
        GROUP BY ALL
        ORDER BY modality, activity_month, provider_code
    """,
}

# The unreported counts depend on the latest month held by any provider (their as-of date): that
# table is built again in full whenever records change, from the small table by day (ADR 0013).
REFRESH = {
    "rollup_waits_v2": BY_PROVIDER_MONTH,
    "rollup_waits_v2_provider": BY_PROVIDER_MONTH,
    "rollup_unreported_v2_by_day": BY_PROVIDER_MONTH,
    "rollup_unreported_v2": FULL,
}
