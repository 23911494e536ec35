"""The diagnostic waiting list, DM01-style (issue 20): waits from the waiting-list clock start to
the procedure start for DIDS v2.0 activity category 01 (Diagnostic Waiting List).

From the `clock_to_procedure` histograms of `rollup_waits_v2` (the same perturbed buckets as the
"By urgency" tables, queries/urgency.py). Per group: the waits, the median in weeks (the median
day, nearest rank, over 7), how many waited 6 weeks or more (42 days or more: DM01's breach) and
the share, and counts in week bands. Note: DM01 counts the patients still waiting at each month
end; DID holds completed waits (tests done in the month), so these are the waits of those
tested, not the list's size.
"""

from __future__ import annotations

import polars as pl

from queries import urgency
from queries.connection import Snapshot
from queries.disclosure import protect
from queries.percentiles import summarise_histogram
from queries.scope import Scope

SIX_WEEKS = 42
# band column -> (first day, last day); None: no upper end (the overflow bucket included)
BANDS: dict[str, tuple[int, int | None]] = {
    "weeks_0_to_1": (0, 6), "weeks_1_to_2": (7, 13), "weeks_2_to_4": (14, 27), "weeks_4_to_6": (28, 41),
    "weeks_6_to_13": (42, 90), "weeks_13_plus": (91, None),
}
COUNTS = ["waits", "six_weeks_or_more", *BANDS, "missing_dates", "negative_intervals"]


def _band(first: int, last: int | None) -> pl.Expr:
    days = pl.col("days")
    return days.is_between(first, last) if last is not None else days >= first


def waiting_list(snap: Snapshot, scope: Scope, f: urgency.UrgencyFilter, by: str | None = None) -> pl.DataFrame:
    """One row per value of `by` (None, or 'modality', 'source', 'provider', 'month'): waits,
    median weeks, 6 weeks or more (count and share), week bands, and the records left out (clock
    start or procedure missing, or the clock start after the procedure). `f.interval` is ignored."""
    f = urgency.UrgencyFilter(f.first_month, f.last_month, "clock_to_procedure", f.modality, f.source, f.provider)

    def rows(f: urgency.UrgencyFilter, group: list[str], providers: list[str] | None) -> pl.DataFrame:
        keys = [urgency.BREAKDOWNS[g][0] for g in group]
        hist = urgency.perturbed(snap, scope, f, group, providers)
        valid = hist.filter(pl.col("days") >= 0)
        aggs = [
            pl.col("records").sum().alias("waits"),
            pl.col("records").filter(pl.col("days") >= SIX_WEEKS).sum().alias("six_weeks_or_more"),
            *[pl.col("records").filter(_band(*span)).sum().alias(name) for name, span in BANDS.items()],
        ]
        odd = [pl.col("records").filter(pl.col("days").is_null()).sum().alias("missing_dates"),
               pl.col("records").filter(pl.col("days") == -1).sum().alias("negative_intervals")]
        medians = summarise_histogram(valid, keys).select(*keys, (pl.col("median_days") / 7).alias("median_weeks"))
        if keys:
            out = (valid.group_by(keys).agg(aggs).join(hist.group_by(keys).agg(odd), on=keys, how="full",
                                                          coalesce=True)
                   .join(medians, on=keys, how="left").sort(keys))
        else:
            out = pl.concat([valid.select(aggs), hist.select(odd)], how="horizontal")
            out = pl.concat([out, medians], how="horizontal") if medians.height else out.with_columns(
                pl.lit(None, pl.Float64).alias("median_weeks"))
        out = out.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNTS)
        return out.with_columns((pl.col("six_weeks_or_more") / pl.col("waits")).alias("share_six_weeks_or_more")
                                ).select([*keys, "waits", "median_weeks", "six_weeks_or_more",
                                          "share_six_weeks_or_more", *BANDS, "missing_dates", "negative_intervals"])

    table = urgency.by_breakdown(scope, f, by, rows)
    return protect(table, scope, counts=COUNTS, derived={"waits": ["median_weeks", "share_six_weeks_or_more"]})
