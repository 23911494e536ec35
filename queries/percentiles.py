"""Percentiles and shares from day-count histograms, and Tukey's fences for outliers.

Why histograms: the dashboard never scans `record` per rerun, and a median cannot be added up
from medians. The wait rollup therefore keeps, for each cell, how many records waited 0, 1, 2,
… days; any grouping of cells is a sum of histograms, and the percentiles of the sum are exact.

Percentile method — nearest rank on whole days (the inverse of the empirical distribution
function; Hyndman & Fan 1996, "Sample quantiles in statistical packages", The American
Statistician 50(4):361–365, definition 1; numpy's `method="inverted_cdf"`): the p-th percentile
of N values is the smallest day d such that at least ceil(p × N) values are ≤ d. For an even N
the median is therefore the lower of the two middle values, and every percentile is a day that
actually occurs in the data — no fractional days. (Floating point is kept out of the ceiling:
p is given in per cent and ceil(p × N / 100) is worked out in integers.)

Overflow: the histogram's last bucket (`overflow_day`, 366 in the wait rollup) holds every wait
longer than the cap (365 days). A percentile that lands in it is returned as `overflow_day` and
means "more than 365 days"; shares within thresholds below the cap are exact regardless.

"Within N days" means a wait of N days or fewer (days ≤ N). NHS England's DM01 six-week
standard counts a patient waiting "6 weeks or more" (≥ 42 days) as a breach, so DM01's
"within six weeks" is days ≤ 41; our `within_42d` includes day 42. The thresholds are listed
in `SHARE_THRESHOLDS` and named in every column header.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

SHARE_THRESHOLDS: tuple[int, ...] = (1, 7, 14, 42)
PERCENTILES: dict[str, int] = {"median_days": 50, "p90_days": 90}


def share_column(threshold: int) -> str:
    return f"within_{threshold}d"


def summarise_histogram(
    hist: pl.DataFrame,
    by: Sequence[str] = (),
    *,
    days: str = "days",
    count: str = "records",
    thresholds: Sequence[int] = SHARE_THRESHOLDS,
) -> pl.DataFrame:
    """Records, median, 90th percentile and the shares within each threshold, per group.

    `hist` holds one row per (group…, day) with a count; days must be ≥ 0 (missing and
    negative intervals are counted separately by the caller). Several rows for the same day
    are added up. Returns columns `by…, records, median_days, p90_days, within_1d, …` with one
    row per group that has at least one record; shares are fractions (0–1).
    """
    by = list(by)
    grouped = (
        hist.filter(pl.col(count) > 0)
        .group_by([*by, days])
        .agg(pl.col(count).sum().cast(pl.Int64).alias("_n"))
        .sort([*by, days])
    )
    grouped = grouped.with_columns(
        (pl.col("_n").cum_sum().over(by) if by else pl.col("_n").cum_sum()).alias("_cum"),
        (pl.col("_n").sum().over(by) if by else pl.col("_n").sum()).alias("_total"),
    )
    aggs = [pl.col("_total").first().cast(pl.Int64).alias(count)]
    for name, p in PERCENTILES.items():
        # smallest day with cum ≥ ceil(p·N/100), in integers: cum·100 ≥ p·N  ⇔  cum ≥ p·N/100
        aggs.append(pl.col(days).filter(pl.col("_cum") * 100 >= pl.col("_total") * p).min().alias(name))
    for t in thresholds:
        aggs.append((pl.col("_n").filter(pl.col(days) <= t).sum() / pl.col("_total").first()).alias(share_column(t)))
    if by:
        out = grouped.group_by(by, maintain_order=True).agg(aggs)
    else:
        out = (
            grouped.select(aggs)
            if grouped.height
            else pl.DataFrame(
                schema={
                    count: pl.Int64,
                    **{k: pl.Int64 for k in PERCENTILES},
                    **{share_column(t): pl.Float64 for t in thresholds},
                }
            )
        )
    return out.with_columns([pl.col(k).cast(pl.Int64) for k in PERCENTILES])


def cumulative_shares(hist: pl.DataFrame, *, days: str = "days", count: str = "records") -> pl.DataFrame:
    """The empirical distribution function over one histogram: days, records, cumulative
    records and the cumulative share (fraction of records waiting that many days or fewer)."""
    out = (
        hist.group_by(days)
        .agg(pl.col(count).sum().cast(pl.Int64))
        .sort(days)
        .with_columns(pl.col(count).cum_sum().alias("cumulative_records"))
    )
    total = out[count].sum()
    return out.with_columns(
        (pl.col("cumulative_records") / total if total else pl.lit(None, pl.Float64)).alias("cumulative_share")
    )


def tukey_fences(values: pl.Series, k: float = 1.5) -> tuple[float, float] | None:
    """(lower, upper) fences Q1 − k·IQR and Q3 + k·IQR (Tukey 1977, Exploratory Data Analysis).

    Quartiles by linear interpolation between order statistics (Hyndman & Fan definition 7,
    numpy's default). None when fewer than four values are given.
    """
    v = values.drop_nulls().drop_nans() if values.dtype.is_float() else values.drop_nulls()
    if v.len() < 4:
        return None
    q1, q3 = v.quantile(0.25, interpolation="linear"), v.quantile(0.75, interpolation="linear")
    assert q1 is not None and q3 is not None  # four or more values
    iqr = q3 - q1
    return q1 - k * iqr, q3 + k * iqr
