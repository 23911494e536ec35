"""The diagnostic waiting list, DM01-style (issue 20): waits from the waiting-list clock start to
the procedure start for DIDS v2.0 activity category 01 (Diagnostic Waiting List).

From the `clock_to_procedure` histograms of `rollup_waits_v2` (the same perturbed buckets as the
"By urgency" tables, queries/urgency.py). Per group: the waits, the median in weeks (the median
day, nearest rank, over 7), how many waited 6 weeks or more (42 days or more: DM01's breach) and
the share, and counts in week bands. Note: DM01 counts the patients still waiting at each month
end; DID holds completed waits (tests done in the month), so these are the waits of those
tested, not the list's size.

By DM01 imaging test (`dm01_waiting_list`, and `by='dm01_test'`): MRI, CT, non-obstetric
ultrasound, barium enema and DEXA, each record's test mapped from its NICIP (or SNOMED CT) code
(ingest/dm01.py) into the rollup's `dm01_test` key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from did_errors import UsageError
from did_model.dm01 import TESTS
from did_model.scope import Scope
from queries import spc, urgency
from queries.connection import Snapshot
from queries.disclosure import protect
from queries.percentiles import summarise_histogram

SIX_WEEKS = 42
# band column -> (first day, last day); None: no upper end (the overflow bucket included)
BANDS: dict[str, tuple[int, int | None]] = {
    "weeks_0_to_1": (0, 6),
    "weeks_1_to_2": (7, 13),
    "weeks_2_to_4": (14, 27),
    "weeks_4_to_6": (28, 41),
    "weeks_6_to_13": (42, 90),
    "weeks_13_plus": (91, None),
}
COUNTS = ["waits", "six_weeks_or_more", *BANDS, "missing_dates", "negative_intervals"]


def _band(first: int, last: int | None) -> pl.Expr:
    days = pl.col("days")
    return days.is_between(first, last) if last is not None else days >= first


def _rows(
    snap: Snapshot, scope: Scope, f: urgency.UrgencyFilter, group: list[str], providers: list[str] | None
) -> pl.DataFrame:
    """The figures per value of the breakdowns in `group` (urgency.BREAKDOWNS keys), unprotected."""
    keys = [urgency.BREAKDOWNS[g][0] for g in group]
    hist = urgency.perturbed(snap, scope, f, group, providers, by_priority=False)  # priorities summed below
    valid = hist.filter(pl.col("days") >= 0)
    aggs = [
        pl.col("records").sum().alias("waits"),
        pl.col("records").filter(pl.col("days") >= SIX_WEEKS).sum().alias("six_weeks_or_more"),
        *[pl.col("records").filter(_band(*span)).sum().alias(name) for name, span in BANDS.items()],
    ]
    odd = [
        pl.col("records").filter(pl.col("days").is_null()).sum().alias("missing_dates"),
        pl.col("records").filter(pl.col("days") == -1).sum().alias("negative_intervals"),
    ]
    medians = summarise_histogram(valid, keys).select(*keys, (pl.col("median_days") / 7).alias("median_weeks"))
    if keys:
        out = (
            valid.group_by(keys)
            .agg(aggs)
            .join(hist.group_by(keys).agg(odd), on=keys, how="full", coalesce=True)
            .join(medians, on=keys, how="left")
            .sort(keys)
        )
    else:
        out = pl.concat([valid.select(aggs), hist.select(odd)], how="horizontal")
        out = (
            pl.concat([out, medians], how="horizontal")
            if medians.height
            else out.with_columns(pl.lit(None, pl.Float64).alias("median_weeks"))
        )
    out = out.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNTS)
    return out.with_columns((pl.col("six_weeks_or_more") / pl.col("waits")).alias("share_six_weeks_or_more")).select(
        [
            *keys,
            "waits",
            "median_weeks",
            "six_weeks_or_more",
            "share_six_weeks_or_more",
            *BANDS,
            "missing_dates",
            "negative_intervals",
        ]
    )


def waiting_list_filter(f: urgency.UrgencyFilter) -> urgency.UrgencyFilter:
    """`f` with the waiting list's interval (clock start → procedure start): what the waiting-list
    tables read."""
    return urgency.UrgencyFilter(f.first_month, f.last_month, INTERVAL, f.modality, f.source, f.provider)


# The tables of "Diagnostic waiting list" (and of `did export waiting-list`): England, a breakdown,
# or the monthly share waiting 6 weeks or more as an XmR chart.
TABLES: tuple[str, ...] = ("england", *urgency.BREAKDOWNS, "spc")
INTERVAL = "clock_to_procedure"


@dataclass(frozen=True)
class WaitingListTable:
    """One waiting-list table: its filter and which table (one of TABLES). The interval is always
    the waiting-list clock start → procedure start, whatever the filter's was, so the page's
    request and the command line's are the same object."""

    filter: urgency.UrgencyFilter
    by: str = "modality"

    def __post_init__(self) -> None:
        if self.by not in TABLES:
            raise UsageError(f"unknown waiting-list table {self.by!r}; choose one of {', '.join(TABLES)}")
        if self.filter.interval != INTERVAL:
            object.__setattr__(self, "filter", waiting_list_filter(self.filter))


def waiting_list_table(snap: Snapshot, scope: Scope, t: WaitingListTable) -> pl.DataFrame:
    """The table `t` names, as the waiting-times page shows it (and `did export waiting-list` writes)."""
    if t.by == "spc":
        return spc.with_xmr(waiting_list(snap, scope, t.filter, "month"), "share_six_weeks_or_more")
    return waiting_list(snap, scope, t.filter, None if t.by == "england" else t.by)


def _protect(table: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    return protect(table, scope, counts=COUNTS, derived={"waits": ["median_weeks", "share_six_weeks_or_more"]})


def waiting_list(snap: Snapshot, scope: Scope, f: urgency.UrgencyFilter, by: str | None = None) -> pl.DataFrame:
    """One row per value of `by` (None, or a key of urgency.BREAKDOWNS: 'modality', 'source',
    'provider', 'site', 'dm01_test' (DM01's five tests only), 'month'): waits, median weeks, 6
    weeks or more (count and share), week bands, and the records left out (clock start or
    procedure missing, or the clock start after the procedure). `f.interval` is ignored."""
    table = urgency.by_breakdown(
        scope, waiting_list_filter(f), by, lambda f, group, providers: _rows(snap, scope, f, group, providers)
    )
    if by == "dm01_test":
        table = _dm01_order(table)
    table = _protect(table, scope)
    return urgency.with_site_names(snap, table) if by == "site" else table


def _dm01_order(table: pl.DataFrame) -> pl.DataFrame:
    """DM01's tests only (a record of another test has no DM01 test), in DM01's order."""
    order = pl.col("dm01_test").replace_strict({t: i for i, t in enumerate(TESTS)}, default=None)
    within = [c for c in ("provider_code",) if c in table.columns]
    return table.filter(pl.col("dm01_test").is_not_null()).sort([*within, order], maintain_order=True)


def dm01_filter(f: urgency.UrgencyFilter) -> urgency.UrgencyFilter:
    """The request of the DM01 waiting list (`dm01_waiting_list`; `did export dm01-waiting-list`):
    `f` with the waiting list's interval and no modality (the DM01 test decides it)."""
    return replace(waiting_list_filter(f), modality=None)


def dm01_waiting_list(snap: Snapshot, scope: Scope, f: urgency.UrgencyFilter) -> pl.DataFrame:
    """DM01-style: one row per provider (England first, then those the user may see in detail)
    and DM01 imaging test — waits, median weeks, 6 weeks or more, week bands. The test decides
    the modality, so `f.modality` is ignored; the patient source and provider filters apply."""
    f = dm01_filter(f)

    def rows(f: urgency.UrgencyFilter, group: list[str], providers: list[str] | None) -> pl.DataFrame:
        return _dm01_order(_rows(snap, scope, f, [*group, "dm01_test"], providers))

    table = urgency.by_breakdown(scope, f, "provider" if f.provider is None else None, rows)
    if f.provider is not None:
        table = table.select(pl.lit(f.provider).alias("provider_code"), pl.all())
    return _protect(table, scope)
