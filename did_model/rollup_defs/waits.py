"""Day-count histograms of the waiting intervals (dashboard/views/waiting_times.py).

One row per activity month × provider × modality × patient source × interval × days → records.
Medians, 90th percentiles and the shares within 1/7/14/42 days are then worked out exactly from
the histogram (queries/percentiles.py), at any level of aggregation, without touching `record`.

`days` (whole days between the two dates):
- 0 .. 365      the interval itself;
- 366           the overflow bucket: more than 365 days (a percentile that lands here reads
                "more than 365 days"; the shares within 1/7/14/42 days are unaffected);
- -1            the second date is before the first (a date-order error): counted and shown,
                kept out of the distribution;
- NULL          one of the two dates is missing: counted and shown, kept out of the distribution.

The interval names and their dates are `queries.waits.INTERVALS`; keep the two in step.
"""

from did_model.rollups import BY_PROVIDER_MONTH

OVERFLOW_DAY = 366
NEGATIVE_DAY = -1

_INTERVALS = {
    "request_to_test": ("request_date", "test_date"),
    "received_to_test": ("request_received_date", "test_date"),
    "test_to_report": ("test_date", "report_date"),
}

_DAYS = """
    CASE WHEN d IS NULL THEN NULL
         WHEN d < 0 THEN {negative}
         WHEN d > {overflow} - 1 THEN {overflow}
         ELSE d END
"""

_UNPIVOT = "\n            UNION ALL\n".join(
    f"            SELECT activity_month, provider_code, modality, patient_source, "
    f"'{name}' AS interval_kind, date_diff('day', {start}, {end}) AS d FROM record"
    for name, (start, end) in _INTERVALS.items()
)

ROLLUPS = {
    "rollup_waits": f"""
        WITH intervals AS (
{_UNPIVOT}
        )
        SELECT activity_month, provider_code, coalesce(modality, 'Unknown') AS modality,
               patient_source, interval_kind,
               ({_DAYS.format(negative=NEGATIVE_DAY, overflow=OVERFLOW_DAY)})::SMALLINT AS days,
               count(*)::BIGINT AS records
        FROM intervals
        GROUP BY ALL
        ORDER BY interval_kind, modality, activity_month, provider_code
    """,
}

REFRESH = {"rollup_waits": BY_PROVIDER_MONTH}
