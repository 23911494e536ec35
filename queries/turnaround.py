"""Report turnaround against the 4-week standard (issue 20), from the DIDS v2.0 times.

NHS England's guidance (August 2023): no examination should wait longer than 4 weeks (28 days)
to be reported. For each group: examinations reported, how many within 28 days (procedure start
→ report issue, UK local dates, as on the "By urgency" tables: `rollup_waits_v2`), the share, how
many took longer, and — from `rollup_unreported_v2` — examinations with no report issued, and of
those the ones still unreported 28 or more days after the procedure as of the as-of date: the
last day of the latest activity month held (the snapshot knows of no report issued after its
last extract, so a later date would count reports merely not yet sent as missing).

Disclosure control as on the urgency tables (`queries.urgency.perturbed`): every (group,
priority, day) bucket and every unreported cell is perturbed first and each figure is worked out
from the perturbed counts; the counts are then suppressed and rounded, and the share hides with
a hidden reported count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import polars as pl

from did_errors import UsageError
from did_model.rollup_defs.urgency import REPORT_STANDARD_DAYS
from did_model.scope import Scope
from queries import spc, urgency
from queries.connection import Snapshot
from queries.disclosure import protect

BREAKDOWNS = ["priority", *(b for b in urgency.BREAKDOWNS if b != "dm01_test")]  # unreported: no DM01 test
COUNTS = ["reported", "reported_within_28d", "reported_over_28d", "dates_out_of_order", "unreported", "unreported_28d"]


# The tables of "Report turnaround" (and of `did export report-turnaround`): a breakdown, or the
# monthly share reported within 28 days as an XmR chart.
TABLES: tuple[str, ...] = (*BREAKDOWNS, "spc")
INTERVAL = "procedure_to_report"


@dataclass(frozen=True)
class TurnaroundTable:
    """One report-turnaround table: its filter and which table (one of TABLES). The interval is
    always procedure start → report issue, whatever the filter's was, so the page's request and
    the command line's are the same object."""

    filter: urgency.UrgencyFilter
    by: str = "priority"

    def __post_init__(self) -> None:
        if self.by not in TABLES:
            raise UsageError(f"unknown report-turnaround table {self.by!r}; choose one of {', '.join(TABLES)}")
        if self.filter.interval != INTERVAL:
            object.__setattr__(self, "filter", replace(self.filter, interval=INTERVAL))


def turnaround_table(snap: Snapshot, scope: Scope, t: TurnaroundTable) -> pl.DataFrame:
    """The table `t` names, as the waiting-times page shows it (and `did export report-turnaround` writes)."""
    if t.by == "spc":
        return spc.with_xmr(turnaround(snap, scope, t.filter, "month"), "share_within_28d")
    return turnaround(snap, scope, t.filter, t.by)


def as_of(snap: Snapshot) -> date | None:
    """The date "still unreported" is counted to: the last day of the latest activity month."""
    return snap.query("SELECT last_day(max(activity_month)) AS d FROM rollup_waits_v2_provider")["d"][0]


def _grouped(frame: pl.DataFrame, keys: list[str], aggs: list[pl.Expr]) -> pl.DataFrame:
    return frame.group_by(keys, maintain_order=True).agg(aggs) if keys else frame.select(aggs)


def turnaround(snap: Snapshot, scope: Scope, f: urgency.UrgencyFilter, by: str | None = None) -> pl.DataFrame:
    """One row per value of `by` (None: one row; 'priority', or a key of urgency.BREAKDOWNS):
    reported, reported within / over 28 days, the share within, dates out of order, unreported and
    unreported 28+ days. `f.interval` is ignored (always procedure start → report issue)."""
    f = urgency.UrgencyFilter(f.first_month, f.last_month, "procedure_to_report", f.modality, f.source, f.provider)
    days = pl.col("days")

    def rows(f: urgency.UrgencyFilter, group: list[str], providers: list[str] | None) -> pl.DataFrame:
        keys = [urgency.BREAKDOWNS[g][0] for g in group] + (["priority"] if by == "priority" else [])
        hist = urgency.perturbed(snap, scope, f, group, providers)
        reported = _grouped(
            hist,
            keys,
            [
                pl.col("records").filter(days >= 0).sum().alias("reported"),
                pl.col("records").filter(days.is_between(0, REPORT_STANDARD_DAYS)).sum().alias("reported_within_28d"),
                pl.col("records").filter(days > REPORT_STANDARD_DAYS).sum().alias("reported_over_28d"),
                pl.col("records").filter(days == -1).sum().alias("dates_out_of_order"),
            ],
        )
        waiting = _grouped(
            urgency.perturbed(snap, scope, f, group, providers, urgency.UNREPORTED),
            keys,
            [pl.col("unreported").sum(), pl.col("unreported_28d").sum()],
        )
        out = (
            reported.join(waiting, on=keys, how="full", coalesce=True)
            if keys
            else pl.concat([reported, waiting], how="horizontal")
        )
        out = out.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNTS).with_columns(
            (pl.col("reported_within_28d") / pl.col("reported")).alias("share_within_28d"),
            # the two are perturbed apart; a part never shows larger than its whole
            pl.min_horizontal("unreported_28d", "unreported").alias("unreported_28d"),
        )
        if "priority" in keys:
            out = out.sort("priority").with_columns(
                pl.col("priority").replace_strict(urgency.PRIORITIES, default="Unknown")
            )
        elif keys:
            out = out.sort(keys)
        return out.select([*keys, "reported", "reported_within_28d", "share_within_28d", *COUNTS[2:]])

    table = urgency.by_breakdown(scope, f, None if by == "priority" else by, rows)
    table = protect(table, scope, counts=COUNTS, derived={"reported": ["share_within_28d"]})
    return urgency.with_site_names(snap, table) if by == "site" else table
