"""Data quality scores in the style of NHS England's Data Quality Maturity Index (DQMI), per
provider, period (submission month) and DID data item; issue counts by DIDS code.

The method — what counts as valid, complete and a default value for each of the 18 items, the
tolerances, and which items are scored — is in docs/dqmi-method.md and defined once in code in
`did_model.rollup_defs.quality.ITEMS`. In short, for one provider's current file for a period:

    item score = (records − invalid − incomplete − max(0, defaults − tolerance × held)) / records

where `records` is every record in the file (accepted or rejected), `invalid` the records with
a rejection or warning on the item (the `issue` table, each rule naming its field),
`incomplete` the held records without the item and `defaults` the held records with a "not
known" default value. The overall score is the mean of the 18 item scores. As in the DQMI's
suppression rules for the DID (did-dataset.md §5.3), no score is given for fewer than 25
records. Everything reads the `rollup_quality_*` tables, never `record`.

Scope: a provider sees its own providers' scores, files and issues; peer comparison is given to
everyone as quartiles of providers' scores (no counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from did_errors import UsageError
from did_model import spec, spec_pack
from did_model.rollup_defs.quality import ITEMS
from did_model.scope import Scope
from did_months import add_months
from queries.connection import Snapshot

MIN_RECORDS = 25  # DQMI: items with fewer than 25 records at organisation level are excluded
PEER_MIN_PROVIDERS = 5  # quartiles of fewer providers would all but name them


@dataclass(frozen=True)
class FallRule:
    """When a provider's quality is said to have fallen: the overall score at least `points`
    percentage points below the median of its previous `window` periods (at least
    `min_history` of them)."""

    points: float = 2.0
    window: int = 6
    min_history: int = 3


DEFAULT_FALL = FallRule()

_ITEM_FRAME = pl.DataFrame(
    {
        "item": [i.field for i in ITEMS],
        "item_name": [spec.BY_FIELD[i.field].name for i in ITEMS],
        "tolerance": [i.tolerance for i in ITEMS],
        "completeness_scored": [i.missing is not None for i in ITEMS],
    }
)


def _filters(scope: Scope, provider: str | None, first: date | None, last: date | None) -> dict:
    if provider is not None:
        scope.check_provider(provider)
    visible = scope.visible_providers()
    return {
        "all": visible is None,
        "codes": visible or [],
        "provider": provider.upper() if provider else None,
        "first": first,
        "last": last,
    }


_WHERE = """($all OR list_contains($codes, provider_code))
            AND ($provider IS NULL OR provider_code = $provider)
            AND ($first IS NULL OR period >= $first) AND ($last IS NULL OR period <= $last)"""


LEVELS: tuple[str, ...] = ("item", "provider")


@dataclass(frozen=True)
class QualityTable:
    """The data-quality scores asked for: periods first … last, one provider or all, and per data
    item ('item': provider × period × item) or overall ('provider': provider × period)."""

    first: date
    last: date
    provider: str | None = None
    level: str = "item"

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise UsageError(f"unknown data-quality level {self.level!r}; choose one of {', '.join(LEVELS)}")
        if self.first > self.last:
            raise UsageError("the first period is after the last: choose a first period no later than the last")


def quality_table(snap: Snapshot, scope: Scope, t: QualityTable) -> pl.DataFrame:
    """The scores `t` asks for, as the data-quality page shows them (and `did export data-quality` writes)."""
    if t.level == "provider":
        return provider_scores(snap, scope, t.first, t.last, t.provider)
    return item_scores(snap, scope, t.first, t.last, t.provider)


def item_scores(
    snap: Snapshot, scope: Scope, first: date | None = None, last: date | None = None, provider: str | None = None
) -> pl.DataFrame:
    """One row per provider × period × item (the provider's current file for the period).

    Columns: provider_code, period, position, item, item_name, records, held, invalid,
    incomplete, defaults, tolerance, default_excess, valid_pct, complete_pct (null where
    completeness is not scored), default_pct, score (0-100; null under 25 records).
    """
    frame = snap.query(
        f"""
        SELECT provider_code, period, position, item, records, held, invalid, incomplete, defaults
        FROM rollup_quality_item WHERE {_WHERE}
        """,
        _filters(scope, provider, first, last),
    )
    excess = (pl.col("defaults") - pl.col("tolerance") * pl.col("held")).clip(lower_bound=0).floor().cast(pl.Int64)
    good = (pl.col("records") - pl.col("invalid") - pl.col("incomplete") - pl.col("default_excess")).clip(lower_bound=0)
    enough = pl.col("records") >= MIN_RECORDS
    return (
        frame.join(_ITEM_FRAME, on="item", how="left")
        .with_columns(excess.alias("default_excess"))
        .with_columns(
            pl.when(pl.col("records") > 0).then(100 * (1 - pl.col("invalid") / pl.col("records"))).alias("valid_pct"),
            pl.when(pl.col("completeness_scored") & (pl.col("held") > 0))
            .then(100 * (1 - pl.col("incomplete") / pl.col("held")))
            .alias("complete_pct"),
            pl.when(pl.col("held") > 0).then(100 * pl.col("defaults") / pl.col("held")).alias("default_pct"),
            pl.when(enough).then(100 * good / pl.col("records")).alias("score"),
        )
        .select(
            "provider_code",
            "period",
            "position",
            "item",
            "item_name",
            "records",
            "held",
            "invalid",
            "incomplete",
            "defaults",
            "tolerance",
            "default_excess",
            "valid_pct",
            "complete_pct",
            "default_pct",
            "score",
        )
        .sort("provider_code", "period", "position")
    )


def provider_scores(
    snap: Snapshot, scope: Scope, first: date | None = None, last: date | None = None, provider: str | None = None
) -> pl.DataFrame:
    """The overall score per provider × period: the mean of its 18 item scores.

    Columns: provider_code, period, records, score (null under 25 records), lowest_item,
    lowest_score.
    """
    items = item_scores(snap, scope, first, last, provider)
    return (
        items.sort("score", "position", nulls_last=True)
        .group_by("provider_code", "period")
        .agg(
            pl.col("records").first(),
            pl.col("score").mean().alias("score"),
            pl.col("item_name").first().alias("lowest_item"),
            pl.col("score").first().alias("lowest_score"),
        )
        .sort("provider_code", "period")
    )


def peer_item_scores(snap: Snapshot, scope: Scope, first: date | None = None, last: date | None = None) -> pl.DataFrame:
    """Peer comparison: per period and item, quartiles of the providers' item scores.

    Everyone may see this (scores, no counts); a period-item with fewer than 5 scored providers
    is left out. Columns: period, position, item, item_name, providers, p25, median, p75.
    """
    from did_model.scope import CENTRAL

    items = item_scores(snap, CENTRAL, first, last).filter(pl.col("score").is_not_null())
    return (
        items.group_by("period", "position", "item", "item_name")
        .agg(
            pl.len().alias("providers"),
            pl.col("score").quantile(0.25, "linear").alias("p25"),
            pl.col("score").median().alias("median"),
            pl.col("score").quantile(0.75, "linear").alias("p75"),
        )
        .filter(pl.col("providers") >= PEER_MIN_PROVIDERS)
        .sort("period", "position")
    )


def peer_overall_scores(
    snap: Snapshot, scope: Scope, first: date | None = None, last: date | None = None
) -> pl.DataFrame:
    """Per period: quartiles of providers' overall scores. Columns: period, providers, p25, median, p75."""
    from did_model.scope import CENTRAL

    scores = provider_scores(snap, CENTRAL, first, last).filter(pl.col("score").is_not_null())
    return (
        scores.group_by("period")
        .agg(
            pl.len().alias("providers"),
            pl.col("score").quantile(0.25, "linear").alias("p25"),
            pl.col("score").median().alias("median"),
            pl.col("score").quantile(0.75, "linear").alias("p75"),
        )
        .filter(pl.col("providers") >= PEER_MIN_PROVIDERS)
        .sort("period")
    )


def quality_falls(snap: Snapshot, scope: Scope, period: date, rule: FallRule = DEFAULT_FALL) -> pl.DataFrame:
    """Providers whose overall score for `period` fell `rule.points` or more below their own
    baseline (median of the previous `rule.window` periods with a score).

    Columns: provider_code, period, score, baseline, change (points), lowest_item, lowest_score.
    """

    scores = provider_scores(snap, scope, add_months(period, -rule.window), period).filter(
        pl.col("score").is_not_null()
    )
    history = (
        scores.filter(pl.col("period") < period)
        .group_by("provider_code")
        .agg(pl.col("score").median().alias("baseline"), pl.len().alias("history"))
    )
    return (
        scores.filter(pl.col("period") == period)
        .join(history, on="provider_code", how="inner")
        .filter(pl.col("history") >= rule.min_history)
        .with_columns((pl.col("score") - pl.col("baseline")).alias("change"))
        .filter(pl.col("change") <= -rule.points)
        .select("provider_code", "period", "score", "baseline", "change", "lowest_item", "lowest_score")
        .sort("change")
    )


def issue_summary(
    snap: Snapshot,
    scope: Scope,
    first: date | None = None,
    last: date | None = None,
    provider: str | None = None,
    current_only: bool = True,
) -> pl.DataFrame:
    """Rejections and warnings by DIDS code (file-level rejects included).

    `current_only`: only the files that count now (accepted, not superseded); otherwise every
    file received. Columns: code, severity, field, item_name, issues, lines, providers, files.
    """
    params = _filters(scope, provider, first, last)
    params["current_only"] = current_only
    frame = snap.query(
        f"""
        SELECT code, severity, field, sum(issues)::BIGINT AS issues, sum(lines)::BIGINT AS lines,
               count(DISTINCT provider_code)::BIGINT AS providers,
               count(DISTINCT submission_id)::BIGINT AS files
        FROM rollup_quality_issue
        WHERE {_WHERE} AND (NOT $current_only OR status = 'accepted')
        GROUP BY ALL
        ORDER BY issues DESC, code
        """,
        params,
    )
    item_names: dict[str, str] = {}  # v1.0 names, then the items DIDS v2.0 added
    for version in spec_pack.VERSIONS:
        for item in spec_pack.default_catalogue(version).items:
            item_names.setdefault(item.field, item.name)
    names = pl.DataFrame({"field": list(item_names), "item_name": list(item_names.values())})
    return frame.join(names, on="field", how="left").select(
        "code", "severity", "field", "item_name", "issues", "lines", "providers", "files"
    )


def file_issue_counts(
    snap: Snapshot, scope: Scope, first: date | None = None, last: date | None = None, provider: str | None = None
) -> pl.DataFrame:
    """Issues per file and DIDS code, every file received (accepted, superseded or rejected).

    Columns: submission_id, provider_code, period, status, code, severity, field, issues, lines.
    """
    return snap.query(
        f"""
        SELECT submission_id, provider_code, period, status, code, severity, field, issues, lines
        FROM rollup_quality_issue WHERE {_WHERE}
        ORDER BY submission_id, code
        """,
        _filters(scope, provider, first, last),
    )


def submission_issue_summary(snap: Snapshot, scope: Scope, submission_id: int) -> pl.DataFrame:
    """One file's issue report by code: code, severity, field, issues, lines."""
    _check_submission(snap, scope, submission_id)
    return snap.query(
        """
        SELECT code, severity, field, issues, lines FROM rollup_quality_issue
        WHERE submission_id = $id ORDER BY severity, issues DESC, code
        """,
        {"id": submission_id},
    )


def submission_issues(snap: Snapshot, scope: Scope, submission_id: int, limit: int = 1000) -> pl.DataFrame:
    """One file's issues line by line (the first `limit`): line, code, severity, field, message.

    Messages never echo a patient identifier (ingest.validation). A narrow scan of `issue` by
    submission. Raises ScopeError when the file is not the user's provider's.
    """
    _check_submission(snap, scope, submission_id)
    return snap.query(
        """
        SELECT line, code, severity, field, message FROM issue
        WHERE submission_id = $id ORDER BY line NULLS FIRST, code LIMIT $limit
        """,
        {"id": submission_id, "limit": limit},
    )


def _check_submission(snap: Snapshot, scope: Scope, submission_id: int) -> None:
    from queries.completeness import submission_provider

    provider = submission_provider(snap, submission_id)
    if provider is None:
        raise LookupError(f"there is no submission {submission_id}")
    scope.check_provider(provider)
