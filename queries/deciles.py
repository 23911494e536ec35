"""Deciles and percentile ranks over time, at any organisational level, from one definition.

The definition (OpenPrescribing's, https://openprescribing.net/docs/analyse#measures, "how the
deciles are calculated"): for each month, the measure's value for every organisation at the
level (practice, PCN, sub-ICB, ICB) is its numerator over its denominator, both summed over the
organisation's benchmarked practices; organisations with a zero denominator are left out. The
deciles are the 10th..90th percentiles of those values with linear interpolation between order
statistics (Hyndman & Fan 1996, definition 7 — numpy's and polars' default, Excel's
PERCENTILE.INC). An organisation's percentile rank is (rank - 1) / (n - 1) x 100, with ties
taking the lowest rank (SQL PERCENT_RANK), so the lowest value is 0 and the highest 100.
"""

from __future__ import annotations

import polars as pl

LEVEL_COLUMNS = {"practice": "practice_code", "pcn": "pcn_code", "sub_icb": "sub_icb_code", "icb": "icb_code"}
DECILES = tuple(range(10, 100, 10))


def values_by_level(monthly: pl.DataFrame, level: str, multiplier: float) -> pl.DataFrame:
    """One value per organisation and month at `level`.

    monthly: one row per practice and month with activity_month, numerator, denominator and the
    organisation columns. Returns activity_month, org_code, numerator, denominator, value
    (numerator / denominator x multiplier).
    """
    col = LEVEL_COLUMNS[level]
    return (
        monthly.group_by("activity_month", pl.col(col).alias("org_code"))
        .agg(pl.col("numerator").sum(), pl.col("denominator").sum())
        .filter(pl.col("denominator") > 0, pl.col("org_code").is_not_null())
        .with_columns((pl.col("numerator") / pl.col("denominator") * multiplier).alias("value"))
        .sort("activity_month", "org_code")
    )


def deciles(values: pl.DataFrame, by: str = "activity_month") -> pl.DataFrame:
    """The 10th..90th percentiles of `value` per `by`: columns by, percentile, value."""
    return (
        values.group_by(by)
        .agg(pl.col("value").quantile(p / 100, interpolation="linear").alias(f"p{p}") for p in DECILES)
        .unpivot(index=by, variable_name="percentile", value_name="value")
        .with_columns(pl.col("percentile").str.strip_prefix("p").cast(pl.Int32))
        .sort(by, "percentile")
    )


def percentile_rank(
    values: pl.DataFrame, by: str | list[str] | None = "activity_month", column: str = "value"
) -> pl.DataFrame:
    """values plus percentile_rank = (rank - 1) / (n - 1) x 100 of `column` within `by` (None:
    over the whole frame); 0 when alone, null where the value is null."""
    n = pl.col(column).count()
    rank = pl.col(column).rank("min")
    if by:
        n, rank = n.over(by), rank.over(by)
    return values.with_columns(pl.when(n > 1).then((rank - 1) / (n - 1) * 100).otherwise(0.0).alias("percentile_rank"))
