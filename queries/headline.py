"""National headline figures for the home page, read from the rollups and the submission table.

Every activity count is by **activity month** — the month of the test date (architecture §4) —
and comes from `rollup_activity`, never from a scan of `record`.

"Latest complete month": the newest activity month we can show without it being visibly
incomplete. Providers send month M's activity in period M+1, so the rule is: the month before
the newest period for which most providers — more than half of those expected, as the
Completeness page counts them — have an accepted file (`COMPLETE_SHARE`). One early file for a
new period does not move it; records for that month may still arrive late (they are counted
when they do). When no period reaches a majority (a young or partial store), it is the month
before the period with the most providers in, the newest of any tie.

Disclosure control: these are national figures, but every role sees this page, so for everyone
but the central team each (activity month, modality) count and each month's total are perturbed
and then suppressed or rounded (`queries.disclosure`), named exactly as the monthly statistics'
activity-by-month table names them (`ACTIVITY_BY_MONTH`), so the two give the same figures.
Twelve-month totals are sums of the perturbed months, and the change on a year is worked out
from the perturbed counts.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import polars as pl

from did_model.nicip import TEST_GROUPS
from did_model.scope import Scope
from did_model.spec import PATIENT_SOURCE_SETTING
from did_months import add_months
from queries.connection import Snapshot
from queries.disclosure import perturb, protect, suppressed_last

# What the activity-by-month counts count, for `queries.disclosure.perturb`: the home page and the
# official activity-by-month table name a month's cells alike, so they get the same noise.
ACTIVITY_BY_MONTH = ("official activity by month",)
ENGLAND_CODE = "E92000001"  # ONS code for England: the national row of the official tables
GP_DIRECT_ACCESS_CONTEXT = ("official GP direct access",)  # + the activity month

# Records whose NICIP code did not resolve to a modality are shown under this label.
UNKNOWN_MODALITY = "Unknown"

# The patient source setting code for GP direct access ('04'), taken from the spec's code list.
GP_DIRECT_ACCESS = next(code for code, meaning in PATIENT_SOURCE_SETTING.items() if meaning == "GP direct access")

# Submission statuses that mean "this file was accepted" (a superseded file was accepted, then
# replaced by the provider's newer file for the same period).
_ACCEPTED = ("accepted", "superseded")
# "Most providers": a period is complete once more than this share of expected providers are in.
COMPLETE_SHARE = 0.5


class ActivityTotals(NamedTuple):
    this_month: int
    same_month_last_year: int | None  # None when the store holds nothing for that month
    last_12_months: int  # the 12 activity months ending with (and including) this month


class ProvidersSubmitting(NamedTuple):
    submitted: int
    expected: int


def latest_period(snap: Snapshot) -> date | None:
    """The newest submission period (first day of the month) with an accepted file, if any."""
    df = snap.query(
        "SELECT max(period) AS period FROM submission WHERE status IN ($s1, $s2)",
        {"s1": _ACCEPTED[0], "s2": _ACCEPTED[1]},
    )
    return df["period"][0]


def complete_period(snap: Snapshot) -> date | None:
    """The newest submission period most providers have sent an accepted file for (module notes).

    Periods are tried newest first, over the 13 newest with an accepted file; None when nothing
    has been accepted yet.
    """
    from queries.completeness import providers_included  # completeness imports this module

    periods = snap.query(
        "SELECT DISTINCT period FROM submission WHERE status IN ($s1, $s2) ORDER BY period DESC LIMIT 13",
        {"s1": _ACCEPTED[0], "s2": _ACCEPTED[1]},
    )["period"].to_list()
    best, most = None, -1
    for period in periods:
        included, expected = providers_included(snap, period)
        if included > COMPLETE_SHARE * expected:
            return period
        if included > most:
            best, most = period, included
    return best


def latest_complete_month(snap: Snapshot) -> date | None:
    """The month before `complete_period`: the newest activity month most providers have sent.

    None when nothing has been accepted yet.
    """
    period = complete_period(snap)
    return None if period is None else add_months(period, -1)


def _monthly_cells(snap: Snapshot, scope: Scope, first: date, last: date) -> pl.DataFrame:
    """(activity_month, modality, records) for the months held between first and last, each
    count perturbed for non-central scopes (see the module notes)."""
    return perturb(
        snap,
        _monthly_counts(snap, first, last),
        scope,
        counts=["records"],
        keys=["activity_month", "modality"],
        context=ACTIVITY_BY_MONTH,
    )


def _monthly_counts(snap: Snapshot, first: date, last: date) -> pl.DataFrame:
    """`_monthly_cells`, exact."""
    return snap.query(
        """
        SELECT activity_month, coalesce(modality, $unknown) AS modality, sum(records)::BIGINT AS records
        FROM rollup_activity WHERE activity_month BETWEEN $first AND $last
        GROUP BY ALL
        """,
        {"unknown": UNKNOWN_MODALITY, "first": first, "last": last},
    )


def modality_totals(snap: Snapshot, scope: Scope, month: date) -> pl.DataFrame:
    """Examinations by modality: in `month`, in the same month a year earlier, and in the 12
    months ending with `month`.

    Columns: modality, this_month, same_month_last_year (null for every modality when the store
    holds no records at all for that month), last_12_months, and for non-central scopes
    `suppressed`. Modalities are those with records in any of those 13 months, largest 12-month
    total first.
    """
    year_ago = add_months(month, -12)
    cells = _monthly_cells(snap, scope, year_ago, month)
    has_year_ago = bool((cells["activity_month"] == year_ago).any())
    records = pl.col("records")
    out = (
        cells.group_by("modality")
        .agg(
            records.filter(pl.col("activity_month") == month).sum().cast(pl.Int64).alias("this_month"),
            (records.filter(pl.col("activity_month") == year_ago).sum() if has_year_ago else pl.lit(None))
            .cast(pl.Int64)
            .alias("same_month_last_year"),
            records.filter(pl.col("activity_month") > year_ago).sum().cast(pl.Int64).alias("last_12_months"),
        )
        .sort(["last_12_months", "modality"], descending=[True, False])
    )
    return suppressed_last(protect(out, scope, counts=["this_month", "same_month_last_year", "last_12_months"]))


def activity_totals(snap: Snapshot, scope: Scope, month: date) -> ActivityTotals:
    """All examinations (every modality) for the same three figures as `modality_totals`: each
    month's total is a cell of its own (perturbed and protected as the official table's total)."""
    year_ago = add_months(month, -12)
    cells = _monthly_counts(snap, year_ago, month)
    months = cells.group_by("activity_month").agg(pl.col("records").sum().alias("total"))
    months = perturb(snap, months, scope, counts=["total"], keys=["activity_month"], context=ACTIVITY_BY_MONTH)
    total = lambda m: months.filter(pl.col("activity_month") == m)["total"].sum()  # noqa: E731
    recent = months.filter(pl.col("activity_month") > year_ago)["total"].sum()
    last_year = None if months.filter(pl.col("activity_month") == year_ago).is_empty() else total(year_ago)
    figures = protect(
        pl.DataFrame(
            {"this_month": [total(month)], "same_month_last_year": [last_year], "last_12_months": [recent]},
            schema={c: pl.Int64 for c in ActivityTotals._fields},
        ),
        scope,
        counts=list(ActivityTotals._fields),
    )
    return ActivityTotals(*figures.select(ActivityTotals._fields).row(0))


def monthly_trend(snap: Snapshot, scope: Scope, months: int = 24, end: date | None = None) -> pl.DataFrame:
    """Examinations by activity month and modality, for the `months` months ending with `end`
    (default: the latest complete month), zero-filled so every modality has every month.

    Columns: activity_month, modality, records (perturbed and protected as the official
    activity-by-month cells for non-central scopes, with `suppressed`). The series starts no earlier than the store's
    first activity month, so a young store is not padded with months it never covered.
    """
    end = end or latest_complete_month(snap)
    if end is None:
        return pl.DataFrame(schema={"activity_month": pl.Date, "modality": pl.String, "records": pl.Int64})
    trend = snap.query(
        """
        WITH bounds AS (
            SELECT greatest(min(activity_month), $start) AS first_month, $end AS last_month
            FROM rollup_activity
            WHERE activity_month <= $end
        ),
        in_range AS (
            SELECT r.* FROM rollup_activity r, bounds b
            WHERE r.activity_month BETWEEN b.first_month AND b.last_month
        ),
        month_list AS (
            SELECT unnest(generate_series(first_month, last_month, INTERVAL 1 MONTH))::DATE
                   AS activity_month
            FROM bounds WHERE first_month IS NOT NULL
        ),
        modality_list AS (
            SELECT DISTINCT coalesce(modality, $unknown) AS modality FROM in_range
        ),
        counts AS (
            SELECT activity_month, coalesce(modality, $unknown) AS modality,
                   sum(records) AS records
            FROM in_range GROUP BY ALL
        )
        SELECT m.activity_month, d.modality, coalesce(c.records, 0)::BIGINT AS records
        FROM month_list m
        CROSS JOIN modality_list d
        LEFT JOIN counts c USING (activity_month, modality)
        ORDER BY m.activity_month, d.modality
        """,
        {"unknown": UNKNOWN_MODALITY, "start": add_months(end, -(months - 1)), "end": end},
    )
    trend = perturb(
        snap, trend, scope, counts=["records"], keys=["activity_month", "modality"], context=ACTIVITY_BY_MONTH
    )
    return protect(trend, scope, counts=["records"])


def providers_submitting(snap: Snapshot, period: date) -> ProvidersSubmitting:
    """How many providers have an accepted file for `period`, out of how many are expected.

    Expected and included are the Completeness page's (`queries.completeness.providers_included`):
    every provider with an imaging site open in the activity month, an accepted file in any of the
    12 periods before, or any file for `period` — so this figure and that page never disagree.
    """
    from queries.completeness import providers_included  # completeness imports this module

    return ProvidersSubmitting(*providers_included(snap, period))


def gp_direct_access_tests(snap: Snapshot, scope: Scope, month: date) -> pl.DataFrame:
    """GP-direct-access examinations in `month` for each of the five cancer test groups.

    Counts records with a test group and patient source '04' (GP direct access). Columns:
    test_group (the id the store holds), label, records. Every group in
    `did_model.nicip.TEST_GROUPS` is listed, in its declared order, with zero when it has no
    records; a group id found in the data but not declared there is appended, labelled by its id.
    For non-central scopes each count is perturbed as the official table's England cell for the
    group and month, then protected (`suppressed` added).
    """
    counts = snap.query(
        """
        SELECT test_group, sum(records)::BIGINT AS records
        FROM rollup_activity
        WHERE test_group IS NOT NULL AND patient_source = $gpda AND activity_month = $month
        GROUP BY test_group
        ORDER BY test_group
        """,
        {"gpda": GP_DIRECT_ACCESS, "month": month},
    )
    declared = pl.DataFrame(
        {"test_group": list(TEST_GROUPS), "label": [g.label for g in TEST_GROUPS.values()]},
        schema={"test_group": pl.String, "label": pl.String},
    )
    out = declared.join(counts, on="test_group", how="full", coalesce=True, maintain_order="left_right").select(
        "test_group",
        pl.coalesce("label", "test_group").alias("label"),
        pl.col("records").fill_null(0).cast(pl.Int64),
    )
    out = perturb(
        snap,
        out.with_columns(pl.lit(ENGLAND_CODE).alias("area")),
        scope,
        counts=["records"],
        keys=["area", "test_group"],
        context=GP_DIRECT_ACCESS_CONTEXT + (month,),
    ).drop("area")
    return protect(out, scope, counts=["records"])


def registered_patients(snap: Snapshot) -> int | None:
    """Patients registered with a GP practice in England (the REGION rows of ref_population; in a
    synthetic slice of England, the area's own — ingest/synth/world.py). None when the store
    holds no population (small test stores)."""
    from queries.connection import has_tables

    if not has_tables(snap, "ref_population"):
        return None
    n = snap.query("SELECT sum(patients)::BIGINT AS n FROM ref_population WHERE org_type = 'REGION'")["n"][0]
    return int(n) if n else None


def months_held(snap: Snapshot, first: date, last: date) -> int:
    """Activity months between first and last (inclusive) with any records."""
    return int(
        snap.query(
            "SELECT count(DISTINCT activity_month) AS n FROM rollup_activity "
            "WHERE activity_month BETWEEN $first AND $last",
            {"first": first, "last": last},
        )["n"][0]
    )


def annual_rate_per_1000(snap: Snapshot, totals: ActivityTotals, month: date) -> float | None:
    """Examinations a year per 1,000 registered patients: the 12-month total (as shown, so
    perturbed and rounded for non-central roles) over the registered population. None unless all
    12 months are held, the total is shown and the population is known: a part year would read
    as a low rate."""
    population = registered_patients(snap)
    if totals.last_12_months is None or not population or months_held(snap, add_months(month, -11), month) < 12:
        return None
    return totals.last_12_months * 1000 / population
