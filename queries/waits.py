"""Waiting times: request → test, request received → test and test → report (did-dataset.md §2.4).

Everything is read from `rollup_waits` (did_model/rollup_defs/waits.py): day-count histograms per
activity month × provider × modality × patient source × interval. Medians, 90th percentiles and
the shares within 1, 7, 14 and 42 days are worked out exactly from the summed histograms
(`queries.percentiles`: nearest rank on whole days; waits over 365 days sit in one overflow
bucket, 366 = "more than 365 days").

Every table counts three kinds of record separately, so that nothing is dropped silently:
- `records`: the interval can be worked out and is ≥ 0 days — the distribution and every
  percentile and share are over these;
- `missing_dates`: one of the two dates is blank (a report not yet issued, say);
- `negative_intervals`: the second date is before the first (a date-order error).

Scope: central users see every provider. A provider user sees its own providers in the
by-provider table and national figures (every other table, and the "England" row) as
comparators; a commissioner or GP user sees national figures only.

Disclosure control (every role but central; queries/disclosure.py): each histogram bucket — a
(group, day) cell, the missing-date and negative-interval buckets included — is perturbed first,
named by what it counts whatever output reaches it (interval, months, modality, patient source,
provider, day), so a provider's row in the by-provider table, the same provider picked as a
filter, and the distribution all get the same noise. Record counts, medians, percentiles, shares
and cumulative counts are then worked out from the perturbed histogram, never the exact one, so
no share times a count gives a true count back; a group whose count is suppressed shows no
median, percentile or share.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import NamedTuple, Protocol

import polars as pl

from did_errors import UsageError
from did_model.rollup_defs.waits import NEGATIVE_DAY, OVERFLOW_DAY
from did_model.scope import Scope
from did_months import add_months
from queries import spc
from queries.connection import Snapshot
from queries.disclosure import perturb, protect
from queries.headline import GP_DIRECT_ACCESS
from queries.percentiles import PERCENTILES, SHARE_THRESHOLDS, cumulative_shares, share_column, summarise_histogram

CAP_DAYS = OVERFLOW_DAY - 1
ENGLAND = "England"


class Interval(NamedTuple):
    label: str
    start: str
    end: str


INTERVALS: dict[str, Interval] = {
    "request_to_test": Interval("Request → test", "request date", "test date"),
    "received_to_test": Interval("Request received → test", "request received date", "test date"),
    "test_to_report": Interval("Test → report", "test date", "report issue date"),
}

SOURCE_GROUPS: dict[str, str] = {
    "gp_direct_access": f"GP direct access ({GP_DIRECT_ACCESS})",
    "other": "Other patient sources",
}
_SOURCE_GROUP_SQL = "CASE WHEN patient_source = $gpda THEN 'gp_direct_access' ELSE 'other' END"

# breakdown name -> (output column, SQL expression over rollup_waits). Code constants only.
BREAKDOWNS: dict[str, tuple[str, str]] = {
    "modality": ("modality", "modality"),
    "source": ("source_group", _SOURCE_GROUP_SQL),
    "provider": ("provider_code", "provider_code"),
    "month": ("activity_month", "activity_month"),
}

# breakdown -> the WaitFilter field it ignores (a breakdown always compares across its own dimension)
_OWN_FILTER = {"modality": "modality", "source": "source", "provider": "provider"}

STAT_COLUMNS = [*PERCENTILES, *(share_column(t) for t in SHARE_THRESHOLDS)]
COUNT_COLUMNS = ["records", "missing_dates", "negative_intervals"]


@dataclass(frozen=True)
class WaitFilter:
    first_month: date
    last_month: date
    interval: str = "request_to_test"
    modality: str | None = None  # None: every modality
    source: str | None = None  # None, or a key of SOURCE_GROUPS
    provider: str | None = None  # None: every provider the scope allows

    def __post_init__(self) -> None:
        if self.interval not in INTERVALS:
            raise UsageError(f"unknown interval {self.interval!r}; one of {', '.join(INTERVALS)}")
        if self.source is not None and self.source not in SOURCE_GROUPS:
            raise UsageError(f"unknown patient source group {self.source!r}; one of {', '.join(SOURCE_GROUPS)}")
        if self.first_month > self.last_month:
            raise UsageError("the first month is after the last month")


# The tables of the page (and of `did export waiting-times`): a breakdown, the day-by-day
# distribution, the records with a date missing per interval, or the monthly median as an XmR chart.
TABLES: tuple[str, ...] = (*BREAKDOWNS, "distribution", "missing", "spc")


@dataclass(frozen=True)
class WaitTable:
    """One table of the waiting-times page: its filter and which table (one of TABLES)."""

    filter: WaitFilter
    by: str = "modality"

    def __post_init__(self) -> None:
        if self.by not in TABLES:
            raise UsageError(f"unknown waiting-times table {self.by!r}; choose one of {', '.join(TABLES)}")


def wait_table(snap: Snapshot, scope: Scope, t: WaitTable) -> pl.DataFrame:
    """The table `t` names, as the page shows and offers it (and `did export waiting-times` writes)."""
    if t.by == "distribution":
        return wait_distribution(snap, scope, t.filter)
    if t.by == "missing":
        return missing_dates_by_interval(snap, scope, t.filter)
    if t.by == "spc":
        return spc.with_xmr(wait_summary(snap, scope, t.filter, "month"), "median_days")
    return wait_summary(snap, scope, t.filter, t.by)


def wait_months(snap: Snapshot) -> list[date]:
    """Activity months present in the wait rollup, oldest first."""
    df = snap.query("SELECT DISTINCT activity_month FROM rollup_waits ORDER BY activity_month")
    return df["activity_month"].to_list()


def wait_modalities(snap: Snapshot) -> list[str]:
    """Modalities in the wait rollup, busiest first."""
    df = snap.query(
        "SELECT modality FROM rollup_waits WHERE interval_kind = 'request_to_test' "
        "GROUP BY modality ORDER BY sum(records) DESC, modality"
    )
    return df["modality"].to_list()


def wait_providers(snap: Snapshot, scope: Scope) -> list[str]:
    """Provider codes the user may pick (all for central; its own for a provider user)."""
    visible = scope.visible_providers()
    if visible is not None:
        return visible
    return snap.query("SELECT DISTINCT provider_code FROM rollup_waits ORDER BY 1")["provider_code"].to_list()


# The filter every waits histogram is read with (here and queries/urgency.py): months, modality,
# patient source group, one provider, the providers a user may see; `filter_params` binds it.
FILTER_SQL = f"""activity_month BETWEEN $first AND $last
          AND ($modality IS NULL OR modality = $modality)
          AND ($source IS NULL OR {_SOURCE_GROUP_SQL} = $source)
          AND ($provider IS NULL OR provider_code = $provider)
          AND ($providers IS NULL OR list_contains($providers, provider_code))"""


class Filtered(Protocol):
    """What FILTER_SQL reads of a filter (WaitFilter, urgency.UrgencyFilter)."""

    @property
    def first_month(self) -> date: ...
    @property
    def last_month(self) -> date: ...
    @property
    def modality(self) -> str | None: ...
    @property
    def source(self) -> str | None: ...
    @property
    def provider(self) -> str | None: ...


def filter_params(f: Filtered, providers: list[str] | None) -> dict:
    """FILTER_SQL's parameters."""
    return {
        "first": f.first_month,
        "last": f.last_month,
        "modality": f.modality,
        "source": f.source,
        "provider": f.provider,
        "providers": providers,
        "gpda": GP_DIRECT_ACCESS,
    }


def several_providers(providers: list[str], group: list[str]) -> bool:
    """Whether a histogram grouped by `group` for `providers` is better read for every provider and
    filtered afterwards: a list of several providers (a provider profile's peers, a different
    list for each provider) would be a new statement each time, while every provider's rows are
    one statement the dashboard's memo (ADR 16) answers from then on. The rows kept are the same.
    One provider (a provider's own view) is read alone: 7 ms against 50-70 ms at national scale."""
    return len(providers) > 1 and "provider" in group


def _histogram(snap: Snapshot, f: WaitFilter, group: list[str], providers: list[str] | None) -> pl.DataFrame:
    """The summed histogram for the filter, grouped by breakdown names (see BREAKDOWNS)."""
    if providers is not None and several_providers(providers, group):
        return _histogram(snap, f, group, None).filter(pl.col(BREAKDOWNS["provider"][0]).is_in(providers))
    cols = [f"{BREAKDOWNS[g][1]} AS {BREAKDOWNS[g][0]}" for g in group]
    select = ", ".join([*cols, "days"])
    return snap.query(
        f"""
        SELECT {select}, sum(records)::BIGINT AS records
        FROM rollup_waits
        WHERE interval_kind = $interval
          AND {FILTER_SQL}
        GROUP BY ALL
        """,
        {"interval": f.interval, **filter_params(f, providers)},
    )


def _perturbed(
    snap: Snapshot, scope: Scope, f: WaitFilter, group: list[str], providers: list[str] | None = None
) -> pl.DataFrame:
    """`_histogram`, each (group, day) bucket perturbed for non-central scopes.

    A bucket is named by every dimension that defines it — the filter's values, with the
    breakdown's own value in place of its filter (a month row is the one-month filter) — so the
    same bucket gets the same noise from whichever table or filter it is reached.
    """
    hist = _histogram(snap, f, group, providers)
    if not scope.needs_disclosure_control:
        return hist
    own = {"modality": "modality", "source": "source_group", "provider": "provider_code"}
    cell = {dim: pl.col(own[dim]) if dim in group else pl.lit(getattr(f, dim), pl.String) for dim in own}
    month = (
        [pl.col("activity_month"), pl.col("activity_month")]
        if "month" in group
        else [pl.lit(f.first_month), pl.lit(f.last_month)]
    )
    keyed = hist.with_columns(
        *[c.alias(f"__{d}") for d, c in cell.items()], month[0].alias("__first"), month[1].alias("__last")
    )
    keys = ["__first", "__last", *(f"__{d}" for d in cell), "days"]
    return perturb(snap, keyed, scope, counts=["records"], keys=keys, context=("waits", f.interval)).drop(keys[:-1])


def summarise(hist: pl.DataFrame, by: list[str], thresholds: tuple[int, ...] = SHARE_THRESHOLDS) -> pl.DataFrame:
    """Counts, percentiles and shares within `thresholds` per group, from a (perturbed) histogram
    that still holds its missing-date (NULL) and negative-interval days."""
    valid = hist.filter(pl.col("days") >= 0)
    stats = summarise_histogram(valid, by, thresholds=thresholds)
    odd = hist.filter(pl.col("days").is_null() | (pl.col("days") == NEGATIVE_DAY))
    other = (
        odd.group_by(by).agg(
            pl.col("records").filter(pl.col("days").is_null()).sum().alias("missing_dates"),
            pl.col("records").filter(pl.col("days") == NEGATIVE_DAY).sum().alias("negative_intervals"),
        )
        if by
        else odd.select(
            pl.col("records").filter(pl.col("days").is_null()).sum().alias("missing_dates"),
            pl.col("records").filter(pl.col("days") == NEGATIVE_DAY).sum().alias("negative_intervals"),
        )
    )
    if by:
        out = stats.join(other, on=by, how="full", coalesce=True)
    else:
        out = (
            pl.concat([stats, other], how="horizontal")
            if stats.height
            else other.with_columns(
                *[pl.lit(None, pl.Int64).alias(c) for c in ["records", *PERCENTILES]],
                *[pl.lit(None, pl.Float64).alias(share_column(t)) for t in thresholds],
            )
        )
    return out.with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in COUNT_COLUMNS]).select(
        [*by, *COUNT_COLUMNS, *PERCENTILES, *(share_column(t) for t in thresholds)]
    )


def _protect(frame: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    return protect(frame, scope, counts=COUNT_COLUMNS, derived={"records": STAT_COLUMNS})


def _check(scope: Scope, f: WaitFilter) -> None:
    if f.provider is not None:
        scope.check_provider(f.provider)


def wait_summary(snap: Snapshot, scope: Scope, f: WaitFilter, by: str | None = None) -> pl.DataFrame:
    """Records, missing/negative counts, median, P90 and shares within 1/7/14/42 days.

    `by`: None for one row over the whole filter, or a key of BREAKDOWNS. A breakdown ignores
    its own filter (by modality lists every modality whatever modality is chosen; likewise
    patient source and provider), so it always compares. By provider, the rows are the
    providers the user may see in detail, after an "England" row (every provider, the national
    comparator).
    """
    _check(scope, f)
    if by is None:
        return _protect(summarise(_perturbed(snap, scope, f, []), []), scope)
    if by not in BREAKDOWNS:
        raise UsageError(f"unknown breakdown {by!r}; one of {', '.join(BREAKDOWNS)}")
    if by in _OWN_FILTER:
        f = replace(f, **{_OWN_FILTER[by]: None})  # type: ignore[arg-type]  # an optional filter only
    column = BREAKDOWNS[by][0]
    if by != "provider":
        table = summarise(_perturbed(snap, scope, f, [by]), [column]).sort(column)
        if by == "source":
            table = table.with_columns(pl.col(column).replace_strict(SOURCE_GROUPS))
        elif by == "modality":
            table = table.sort("records", column, descending=[True, False])
        return _protect(table, scope)
    visible = scope.visible_providers()
    national_filter = WaitFilter(f.first_month, f.last_month, f.interval, f.modality, f.source)
    england = summarise(_perturbed(snap, scope, national_filter, []), []).with_columns(pl.lit(ENGLAND).alias(column))
    providers = summarise(_perturbed(snap, scope, f, [by], visible), [column]).sort(column)
    table = pl.concat([england.select(providers.columns), providers])
    return _protect(table, scope)


def wait_distribution(snap: Snapshot, scope: Scope, f: WaitFilter) -> pl.DataFrame:
    """The distribution of the interval in whole days (0 … 365, and 366 = more than 365):
    days, records, cumulative_records, cumulative_share. For non-central users the daily counts
    are perturbed first (the same buckets as `wait_summary`'s), the cumulative counts and shares
    are worked out from them, and then the counts are suppressed and rounded."""
    _check(scope, f)
    hist = _perturbed(snap, scope, f, []).filter(pl.col("days") >= 0)
    if hist.is_empty():
        return pl.DataFrame(
            schema={
                "days": pl.Int64,
                "records": pl.Int64,
                "cumulative_records": pl.Int64,
                "cumulative_share": pl.Float64,
            }
        )
    dist = cumulative_shares(hist).with_columns(pl.col("days").cast(pl.Int64))
    return protect(
        dist, scope, counts=["records", "cumulative_records"], derived={"cumulative_records": ["cumulative_share"]}
    )


def missing_dates_by_interval(snap: Snapshot, scope: Scope, f: WaitFilter) -> pl.DataFrame:
    """For each of the three intervals, under the same filter: records with the interval,
    records with a date missing, records with a negative interval, and the share missing.
    Counted from the (perturbed) histograms behind `wait_summary`, so the two agree."""
    _check(scope, f)
    rows = []
    for kind, interval in INTERVALS.items():
        hist = _perturbed(snap, scope, replace(f, interval=kind), [])
        rows.append(
            pl.DataFrame({"interval_kind": [kind], "interval": [interval.label]}).hstack(
                summarise(hist, []).select(COUNT_COLUMNS).with_columns(pl.col(c).fill_null(0) for c in COUNT_COLUMNS)
            )
        )
    out = pl.concat(rows).with_columns(
        (pl.col("missing_dates") / (pl.sum_horizontal(COUNT_COLUMNS))).alias("share_missing")
    )
    return protect(out, scope, counts=COUNT_COLUMNS, derived={"missing_dates": ["share_missing"]})


def default_months(snap: Snapshot, months: int = 12) -> tuple[date, date] | None:
    """The default period (page and export alike): the 12 activity months ending with the latest
    complete month (`queries.headline.latest_complete_month`), clipped to the months held."""
    from queries.headline import latest_complete_month

    held = wait_months(snap)
    if not held:
        return None
    last = latest_complete_month(snap) or held[-1]
    last = min(max(last, held[0]), held[-1])
    first = max(add_months(last, -(months - 1)), held[0])
    return first, last
