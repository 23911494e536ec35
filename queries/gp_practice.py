"""One practice across every measure (the practice page): values, comparators, spine, trend.

Built on `queries.gp_benchmark` — the same England tables the measure page shows, so a
practice's value, interval and verdict are identical on both pages. Scope: the practice must be
one this user may see named (`gp_benchmark.check_practice`); counts and what is computed from
them pass through `queries.disclosure.protect` for everyone but the central team.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from queries import deciles as dec
from queries import gp_benchmark as gb
from queries.connection import Snapshot
from queries.disclosure import protect
from queries.scope import Scope

PROFILE_COLUMNS = [
    "measure_id", "title", "short_title", "units", "polarity", "is_ratio", "numerator", "denominator",
    "value", "value_lower", "value_upper", "ratio", "ratio_lower", "ratio_upper", "funnel_value",
    "comparison", "note", "percentile_rank", "england", "pcn", "sub_icb", "icb", "pcn_rank",
    "sub_icb_rank", "icb_rank", "england_rank", "spine_min", "spine_p25", "spine_p75", "spine_max",
]
_DERIVED = ["value", "value_lower", "value_upper", "ratio", "ratio_lower", "ratio_upper", "funnel_value",
            "comparison", "percentile_rank", "pcn_rank", "sub_icb_rank", "icb_rank", "england_rank"]


def practice_profile(snap: Snapshot, scope: Scope, practice_code: str, start: date, end: date,
                     method: str = gb.DEFAULT_METHOD) -> pl.DataFrame:
    """One row per measure for one benchmarked practice (PROFILE_COLUMNS).

    value/ratio/funnel_value as in the measure table; england/pcn/sub_icb/icb: those areas'
    values in the funnel's units (standardised rate, or percentage); *_rank: "3 of 8" (1 =
    highest); spine_*: England's practices' minimum, quartiles and maximum of funnel_value,
    for the spine chart. Empty when the practice has fewer than 750 registered patients.
    """
    practice = gb.check_practice(snap, scope, practice_code)
    if not practice["benchmarked"]:
        return pl.DataFrame(schema={c: pl.String for c in PROFILE_COLUMNS})
    measures = gb.measures()
    months = gb.count_months(start, end)
    inputs = gb._inputs(snap, start, end, list(measures))
    rows = []
    for m in measures.values():
        table, target, _ = gb.compute_table(
            m, inputs.practices, inputs.counts.filter(pl.col("measure_id") == m.id),
            inputs.age_sex.filter(pl.col("measure_id") == m.id).drop("measure_id"),
            inputs.structure, months, method, limits_for=practice_code)
        mine = table.filter(pl.col("practice_code") == practice_code).row(0, named=True)
        comparators = {r["level"]: r for r in gb.area_values(table, m, target, practice).iter_rows(named=True)}
        spread = table["funnel_value"].drop_nulls()
        rows.append({
            **{k: mine[k] for k in ("measure_id", "numerator", "denominator", "value", "value_lower", "value_upper",
                                    "ratio", "ratio_lower", "ratio_upper", "funnel_value", "comparison", "note",
                                    "percentile_rank")},
            "title": m.title, "short_title": m.short_title, "units": m.units, "polarity": m.polarity,
            "is_ratio": m.is_ratio,
            **{key: comparators.get(label, {}).get("value") for key, label in
               (("england", "England"), ("pcn", "PCN"), ("sub_icb", "Sub-ICB"), ("icb", "ICB"))},
            **{f"{key}_rank": comparators.get(label, {}).get("practice_rank") for key, label in
               (("england", "England"), ("pcn", "PCN"), ("sub_icb", "Sub-ICB"), ("icb", "ICB"))},
            "spine_min": spread.min(), "spine_p25": spread.quantile(0.25, "linear"),
            "spine_p75": spread.quantile(0.75, "linear"), "spine_max": spread.max(),
        })
    frame = pl.DataFrame(rows, infer_schema_length=None).select(PROFILE_COLUMNS)
    return protect(frame, scope, counts=["numerator", "denominator"],
                   derived={"numerator": _DERIVED, "denominator": _DERIVED})


def monthly_values(snap: Snapshot, measure_id: str, start: date, end: date) -> pl.DataFrame:
    """Every benchmarked practice x month: activity_month, practice and area codes, numerator,
    denominator (person-years for a rate measure: list size / 12 a month; the count for a
    ratio), zero-filled."""
    m = gb.get_measure(measure_id)
    counts = snap.query(
        """
        SELECT practice_code, activity_month, numerator, denominator
        FROM rollup_gp_measure
        WHERE measure_id = $m AND activity_month BETWEEN $start AND $end
        """,
        {"m": m.id, "start": start, "end": end},
    )
    practices = gb._practices(snap).filter(pl.col("list_size") >= gb.MIN_LIST_SIZE).select(
        "practice_code", "pcn_code", "sub_icb_code", "icb_code", "list_size")
    months = pl.DataFrame({"activity_month": pl.date_range(start, end, "1mo", eager=True)})
    grid = practices.join(months, how="cross").join(counts, on=["practice_code", "activity_month"], how="left")
    denominator = (pl.col("denominator").fill_null(0).cast(pl.Float64) if m.is_ratio
                   else pl.col("list_size") / 12)
    return grid.with_columns(pl.col("numerator").fill_null(0), denominator.alias("denominator"))


def practice_trend(snap: Snapshot, scope: Scope, measure_id: str, practice_code: str, start: date,
                   end: date, level: str = "practice") -> tuple[pl.DataFrame, pl.DataFrame]:
    """(series, deciles) for the trend chart, by month, at `level` (practice, pcn, sub_icb, icb).

    series: activity_month, org_code, numerator, value, percentile_rank (among England's
    organisations at that level that month) — the practice (or its PCN / sub-ICB / ICB) month
    by month, crude (not standardised: deciles compare like with like). deciles:
    activity_month, percentile (10..90), value — across every organisation at that level in
    England (queries.deciles). Rate measures are annualised (a month's events x 12 per list).
    """
    practice = gb.check_practice(snap, scope, practice_code)
    m = gb.get_measure(measure_id)
    values = dec.values_by_level(monthly_values(snap, measure_id, start, end), level, m.multiplier)
    org = practice[dec.LEVEL_COLUMNS[level]]
    series = (dec.percentile_rank(values).filter(pl.col("org_code") == org)
              .select("activity_month", "org_code", "numerator", "value", "percentile_rank"))
    series = protect(series, scope, counts=["numerator"], derived={"numerator": ["value", "percentile_rank"]})
    return series, dec.deciles(values)
