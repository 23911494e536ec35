"""Waits by urgency (DIDS v2.0 priority type): request → procedure start and procedure start →
report issue, routine / urgent / urgent suspected cancer side by side (issue 20).

Read from `rollup_waits_v2` (did_model/rollup_defs/urgency.py): day histograms per activity month ×
provider × site × modality × patient source × priority × DM01 test × interval (and, for every
table not broken down by site, from its sum over sites, `rollup_waits_v2_provider`), April 2026
on (no v1.0 month is mixed in). Every table has one row per priority type — within each modality, patient source group,
provider, site, DM01 test or month when broken down — so urgent suspected cancer and routine sit
side by side.
Medians, 90th percentiles and the shares within 1, 2, 7, 14, 28 and 42 days come from the summed
histograms exactly as on the waits page (`queries.waits.summarise`, nearest rank on whole days).

Scope and disclosure control are the waits page's (queries/waits.py): a provider user sees its
own providers by provider and national figures elsewhere; for every role but central each
(group, priority, day) bucket is perturbed first, named by what it counts, and every count,
median and share is worked out from the perturbed histogram, then counts are suppressed and
rounded and a statistic on a suppressed count is hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import NamedTuple

import polars as pl

from did_errors import UsageError
from did_model.rollup_defs.urgency import V2_FIRST_MONTH
from did_model.scope import Scope
from queries import waits
from queries.connection import Snapshot
from queries.disclosure import SUPPRESSED_COLUMN, perturb, protect
from queries.percentiles import PERCENTILES, share_column

FIRST_MONTH = date.fromisoformat(V2_FIRST_MONTH)
PRIORITIES: dict[str, str] = {"1": "Routine", "2": "Urgent", "3": "Urgent suspected cancer"}
THRESHOLDS: tuple[int, ...] = (1, 2, 7, 14, 28, 42)
STAT_COLUMNS = [*PERCENTILES, *(share_column(t) for t in THRESHOLDS)]

INTERVALS: dict[str, waits.Interval] = {
    "request_to_procedure": waits.Interval(
        "Request → procedure start", "request date", "procedure start (UK local date)"
    ),
    "procedure_to_report": waits.Interval(
        "Procedure start → report issue", "procedure start", "report issue (UK local dates)"
    ),
    "clock_to_procedure": waits.Interval(
        "Waiting-list clock start → procedure start (waiting list only)",
        "waiting-list clock start",
        "procedure start (diagnostic waiting list, activity category 01, only)",
    ),
}
# The waits page's breakdowns (the same rollup columns), and two the v2.0 rollups add: the imaging
# site, and (rollup_waits_v2 only) the DM01 imaging test.
BREAKDOWNS: dict[str, tuple[str, str]] = {
    **waits.BREAKDOWNS,
    "site": ("site_code", "site_code"),
    "dm01_test": ("dm01_test", "dm01_test"),
}


@dataclass(frozen=True)
class UrgencyFilter:
    first_month: date
    last_month: date
    interval: str = "request_to_procedure"
    modality: str | None = None
    source: str | None = None  # None, or a key of waits.SOURCE_GROUPS
    provider: str | None = None

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise UsageError(f"unknown interval {self.interval!r}; one of {', '.join(INTERVALS)}")
        if self.source is not None and self.source not in waits.SOURCE_GROUPS:
            raise UsageError(f"unknown patient source group {self.source!r}; one of {', '.join(waits.SOURCE_GROUPS)}")
        if self.first_month > self.last_month:
            raise UsageError("the first month is after the last month")


# The tables of "By urgency" (and of `did export waits-by-urgency`): one row per priority, per
# breakdown value and priority, or urgent suspected cancer beside routine by modality.
TABLES: tuple[str, ...] = ("priority", *BREAKDOWNS, "usc-vs-routine")


@dataclass(frozen=True)
class UrgencyTable:
    """One table of waits by urgency: its filter and which table (one of TABLES)."""

    filter: UrgencyFilter
    by: str = "priority"

    def __post_init__(self) -> None:
        if self.by not in TABLES:
            raise UsageError(f"unknown waits-by-urgency table {self.by!r}; choose one of {', '.join(TABLES)}")


def urgency_months(snap: Snapshot) -> list[date]:
    """Activity months with v2.0 waits, oldest first (none before April 2026)."""
    return snap.query(f"SELECT DISTINCT activity_month FROM {WAITS_BY_PROVIDER} ORDER BY 1")["activity_month"].to_list()


def clip_months(snap: Snapshot, first: date, last: date) -> tuple[date, date] | None:
    """The part of first … last that holds v2.0 waits (page and export alike), or None."""
    held = [m for m in urgency_months(snap) if first <= m <= last]
    return (held[0], held[-1]) if held else None


def default_months(snap: Snapshot) -> tuple[date, date] | None:
    """The waits page's default period, clipped to the months with v2.0 waits."""
    default = waits.default_months(snap)
    return None if default is None else clip_months(snap, *default)


class _Rollup(NamedTuple):
    """A v2.0 rollup read the same way: its counts, and the columns besides the breakdown and
    the priority that name one of its cells."""

    table: str
    counts: tuple[str, ...]
    cell: tuple[str, ...]
    context: str


WAITS = _Rollup("rollup_waits_v2", ("records",), ("days",), "waits_v2")
WAITS_BY_PROVIDER = "rollup_waits_v2_provider"  # WAITS summed over sites
UNREPORTED = _Rollup("rollup_unreported_v2", ("unreported", "unreported_28d"), (), "unreported_v2")


def _histogram(
    snap: Snapshot,
    f: UrgencyFilter,
    group: list[str],
    providers: list[str] | None,
    rollup: _Rollup,
    by_priority: bool = True,
) -> pl.DataFrame:
    if providers is not None and waits.several_providers(providers, group):
        every = _histogram(snap, f, group, None, rollup, by_priority)
        return every.filter(pl.col(BREAKDOWNS["provider"][0]).is_in(providers))
    cols = [f"{BREAKDOWNS[g][1]} AS {BREAKDOWNS[g][0]}" for g in group] + (["priority"] if by_priority else [])
    sums = [f"sum({c})::BIGINT AS {c}" for c in rollup.counts]
    waits_only = "interval_kind = $interval AND" if rollup is WAITS else ""
    # Without a breakdown by site, the histograms summed over sites are the same figures read
    # from a fifth of the rows.
    table = WAITS_BY_PROVIDER if rollup is WAITS and "site" not in group else rollup.table
    # Table and column names come from the constants above, never from input.
    return snap.query(
        f"""
        SELECT {", ".join([*cols, *rollup.cell, *sums])}
        FROM {table}
        WHERE {waits_only} {waits.FILTER_SQL}
        GROUP BY ALL
        """,
        {**waits.filter_params(f, providers), **({"interval": f.interval} if rollup is WAITS else {})},
    )


def perturbed(
    snap: Snapshot,
    scope: Scope,
    f: UrgencyFilter,
    group: list[str],
    providers: list[str] | None = None,
    rollup: _Rollup = WAITS,
    by_priority: bool = True,
) -> pl.DataFrame:
    """The rollup's counts summed per (group, priority, cell), each bucket perturbed for
    non-central scopes, named by the filter's values with the breakdown's own value in place of
    its filter (as waits), so a bucket gets the same noise from every table that reaches it.
    `by_priority=False` (a caller that sums the priorities): the central team's exact counts are
    summed over priorities in the query, a third of the rows; anyone else's are still perturbed
    per priority, so a bucket's noise does not depend on the table asking for it."""
    if not scope.needs_disclosure_control:
        return _histogram(snap, f, group, providers, rollup, by_priority)
    hist = _histogram(snap, f, group, providers, rollup)
    own = {"modality": "modality", "source": "source_group", "provider": "provider_code"}
    cell = {d: pl.col(own[d]) if d in group else pl.lit(getattr(f, d), pl.String) for d in own}
    month = [pl.col("activity_month")] * 2 if "month" in group else [pl.lit(f.first_month), pl.lit(f.last_month)]
    keyed = hist.with_columns(
        *[c.alias(f"__{d}") for d, c in cell.items()], month[0].alias("__first"), month[1].alias("__last")
    )
    named = ["__first", "__last", *(f"__{d}" for d in cell)]
    finer = [BREAKDOWNS[g][0] for g in group if g in ("site", "dm01_test")]  # within a provider / modality
    context = (rollup.context, f.interval) if rollup is WAITS else (rollup.context,)
    return perturb(
        snap, keyed, scope, counts=list(rollup.counts), keys=[*named, *finer, "priority", *rollup.cell], context=context
    ).drop(named)


def _table(hist: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Summary rows per (by…, priority), priorities in code order and named."""
    out = waits.summarise(hist, [*by, "priority"], THRESHOLDS).sort([*by, "priority"])
    return out.with_columns(pl.col("priority").replace_strict(PRIORITIES, default="Unknown"))


def _protect(frame: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    return protect(frame, scope, counts=waits.COUNT_COLUMNS, derived={"records": STAT_COLUMNS})


def by_breakdown(
    scope: Scope,
    f: UrgencyFilter,
    by: str | None,
    rows: Callable[[UrgencyFilter, list[str], list[str] | None], pl.DataFrame],
) -> pl.DataFrame:
    """The rows for `by` (None, or a key of BREAKDOWNS), unprotected. `rows(filter, group,
    providers)` makes one table keyed by the group's output columns. A breakdown ignores its own
    filter, so it always compares; by provider, an England row set (every provider, the national
    comparator) comes before the providers the user may see in detail."""
    if f.provider is not None:
        scope.check_provider(f.provider)
    if by is None:
        return rows(f, [], None)
    if by not in BREAKDOWNS:
        raise UsageError(f"unknown breakdown {by!r}; one of {', '.join(BREAKDOWNS)}")
    if by in ("modality", "source", "provider"):
        f = replace(f, **{by: None})  # type: ignore[arg-type]  # an optional filter only
    column = BREAKDOWNS[by][0]
    if by not in ("provider", "site"):
        table = rows(f, [by], None)
        return table.with_columns(pl.col(column).replace_strict(waits.SOURCE_GROUPS)) if by == "source" else table
    england = rows(f, [], None).with_columns(pl.lit(waits.ENGLAND).alias(column))
    detail = rows(f, [by], scope.visible_providers())  # a site's figures are its provider's detail
    return pl.concat([england.select(detail.columns), detail])


def with_site_names(snap: Snapshot, frame: pl.DataFrame) -> pl.DataFrame:
    """A by-site table with each site's name and provider after its code, as the scanner page
    names sites (ref_site; blank for a site it does not list, and for the England row)."""
    names = snap.query("SELECT site_code, site_name, provider_code AS site_provider FROM ref_site")
    out = frame.join(names, on="site_code", how="left", maintain_order="left")
    at = out.columns.index("site_code") + 1
    order = [*out.columns[:at], "site_name", "site_provider"]
    return out.select(*order, *[c for c in out.columns if c not in order])


def urgency_summary(snap: Snapshot, scope: Scope, f: UrgencyFilter, by: str | None = None) -> pl.DataFrame:
    """One row per priority (per breakdown value and priority when `by` is a key of BREAKDOWNS):
    records, missing dates, dates out of order, median, P90 and shares within THRESHOLDS days."""

    def rows(f: UrgencyFilter, group: list[str], providers: list[str] | None) -> pl.DataFrame:
        return _table(perturbed(snap, scope, f, group, providers), [BREAKDOWNS[g][0] for g in group])

    table = _protect(by_breakdown(scope, f, by, rows), scope)
    return with_site_names(snap, table) if by == "site" else table


def urgency_table(snap: Snapshot, scope: Scope, t: UrgencyTable) -> pl.DataFrame:
    """The table `t` names, as the waiting-times page shows it (and `did export waits-by-urgency` writes)."""
    if t.by == "usc-vs-routine":
        return usc_vs_routine(urgency_summary(snap, scope, t.filter, "modality"), "modality")
    return urgency_summary(snap, scope, t.filter, None if t.by == "priority" else t.by)


def usc_vs_routine(summary: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Median, P90 and share within 14 days for urgent suspected cancer beside routine, one row
    per breakdown value, read from an `urgency_summary` table (so it shows the same figures)."""
    keys = [BREAKDOWNS[by][0]] if by else []
    picks = {"Urgent suspected cancer": "usc", "Routine": "routine"}
    flag = [SUPPRESSED_COLUMN] if SUPPRESSED_COLUMN in summary.columns else []
    parts = [
        summary.filter(pl.col("priority") == name).select(
            *keys,
            *[pl.col(c).alias(f"{tag}_{c}") for c in ("records", "median_days", "p90_days", share_column(14))],
            *[pl.col(c).alias(f"__{tag}_{c}") for c in flag],
        )
        for name, tag in picks.items()
    ]
    if keys:
        out = parts[0].join(parts[1], on=keys, how="full", coalesce=True, maintain_order="left")
    else:
        out = pl.concat(parts, how="horizontal") if all(p.height for p in parts) else pl.DataFrame()
    if flag and out.height:
        hidden = [f"__{tag}_{SUPPRESSED_COLUMN}" for tag in picks.values()]
        out = out.with_columns(pl.any_horizontal(pl.col(hidden).fill_null(False)).alias(SUPPRESSED_COLUMN)).drop(hidden)
    return out
