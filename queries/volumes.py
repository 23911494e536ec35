"""Volume checks: each provider-month (and provider-month-modality) against the provider's own
recent history, read from `rollup_quality_volume` and the `submission` table.

Method:
- The series is the provider's current records by **activity month**, for the months it has an
  accepted file for (period = activity month + 1). A month with no accepted file is reported as
  missing on the completeness matrix, not as a volume drop.
- The **baseline** is the median of the same provider's (and modality's) previous `window`
  months in the series (default 6), when at least `min_history` of them exist (default 3);
  the median, not the mean, so one odd month does not move it.
- A month is **flagged** when its change from the baseline is at or beyond the threshold
  (default −30% for a drop, +30% for a spike) *and* the difference is more than `z` standard
  deviations of a Poisson count of that size (|records − baseline| > z·√baseline, default
  z = 5), *and* the larger of the two counts is at least `min_records` (default 30). Monthly
  activity varies more than a Poisson count does (case mix, staffing, routing), and a national
  run makes tens of thousands of checks a year, so z = 5 rather than the textbook 2 or 3; the
  floor keeps a modality that does one or two examinations a month from being "+500%". A −30%
  drop is still flagged for any provider doing more than about 300 examinations a month.

Scope: a provider sees only its own providers' series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from did_errors import UsageError
from did_model.scope import Scope
from queries.connection import Snapshot


@dataclass(frozen=True)
class VolumeRule:
    drop: float = -0.30
    spike: float = 0.30
    window: int = 6
    min_history: int = 3
    z: float = 5.0
    min_records: int = 30

    def __post_init__(self) -> None:
        if not (-1 < self.drop < 0 < self.spike):
            raise UsageError(
                f"volume thresholds must be a drop below 0 (above -100%) and a spike above 0; "
                f"got {self.drop:+.0%} / {self.spike:+.0%}"
            )
        if not (1 <= self.min_history <= self.window <= 36):
            raise UsageError("volume window must be 1-36 months and at least min_history")


DEFAULT_RULE = VolumeRule()


@dataclass(frozen=True)
class VolumeTable:
    """The volume checks asked for: the rule, one row per provider-month or per provider-month-modality,
    one provider or all, every checked month or only the flagged ones."""

    rule: VolumeRule = DEFAULT_RULE
    by_modality: bool = False
    provider: str | None = None
    flagged_only: bool = False


def volume_table(snap: Snapshot, scope: Scope, t: VolumeTable) -> pl.DataFrame:
    """The checks `t` asks for, as the completeness page shows them (and `did export volume-checks` writes)."""
    checks = volume_checks(snap, scope, t.rule, by_modality=t.by_modality, provider=t.provider)
    return flagged(checks) if t.flagged_only else checks


def _scope_filter(scope: Scope) -> dict:
    visible = scope.visible_providers()
    return {"all": visible is None, "codes": visible or []}


def volume_checks(
    snap: Snapshot,
    scope: Scope,
    rule: VolumeRule = DEFAULT_RULE,
    by_modality: bool = False,
    provider: str | None = None,
    first: date | None = None,
    last: date | None = None,
) -> pl.DataFrame:
    """Every checked provider-month (or provider-month-modality) with its baseline and flag.

    Columns: provider_code, activity_month, [modality,] records, baseline (null without enough
    history), history (months behind the baseline), change (records / baseline − 1), flag
    ('drop' / 'spike' / null). `first` / `last` bound the activity months returned (the
    baseline still looks back before `first`).
    """
    if provider is not None:
        scope.check_provider(provider)
    keys = "provider_code, modality" if by_modality else "provider_code"
    # `window` is a checked int in a frozen dataclass; everything else is a bound parameter.
    window = int(rule.window)
    frame = snap.query(
        f"""
        WITH submitted AS (
            SELECT DISTINCT provider_code, (period - INTERVAL 1 MONTH)::DATE AS activity_month
            FROM submission
            WHERE status = 'accepted' AND ($all OR list_contains($codes, provider_code))
              AND ($provider IS NULL OR provider_code = $provider)
        ),
        vol AS (
            SELECT provider_code, activity_month, {"modality," if by_modality else ""} sum(records) AS records
            FROM rollup_quality_volume
            WHERE provider_code IN (SELECT provider_code FROM submitted)
            GROUP BY ALL
        ),
        grid AS (
            SELECT s.provider_code, s.activity_month {", m.modality" if by_modality else ""}
            FROM submitted s
            {"JOIN (SELECT DISTINCT provider_code, modality FROM vol) m USING (provider_code)" if by_modality else ""}
        ),
        series AS (
            SELECT g.*, coalesce(v.records, 0)::BIGINT AS records
            FROM grid g LEFT JOIN vol v USING ({keys}, activity_month)
        ),
        scored AS (
            SELECT *,
                   median(records) OVER w AS baseline,
                   count(*) OVER w AS history
            FROM series
            WINDOW w AS (PARTITION BY {keys} ORDER BY activity_month
                         RANGE BETWEEN INTERVAL {window} MONTH PRECEDING AND INTERVAL 1 MONTH PRECEDING)
        )
        SELECT {keys}, activity_month, records,
               CASE WHEN history >= $min_history THEN baseline END::DOUBLE AS baseline,
               history::BIGINT AS history
        FROM scored
        WHERE ($first IS NULL OR activity_month >= $first) AND ($last IS NULL OR activity_month <= $last)
        """,
        {
            "all": _scope_filter(scope)["all"],
            "codes": _scope_filter(scope)["codes"],
            "provider": provider.upper() if provider else None,
            "min_history": rule.min_history,
            "first": first,
            "last": last,
        },
    )
    change = pl.when(pl.col("baseline") > 0).then(pl.col("records") / pl.col("baseline") - 1)
    beyond_chance = ((pl.col("records") - pl.col("baseline")).abs() > rule.z * pl.col("baseline").sqrt()) & (
        pl.max_horizontal("records", "baseline") >= rule.min_records
    )
    order = ["provider_code", "modality", "activity_month"] if by_modality else ["provider_code", "activity_month"]
    return (
        frame.with_columns(change.alias("change"))
        .with_columns(
            pl.when((pl.col("change") <= rule.drop) & beyond_chance)
            .then(pl.lit("drop"))
            .when((pl.col("change") >= rule.spike) & beyond_chance)
            .then(pl.lit("spike"))
            .otherwise(None)
            .alias("flag")
        )
        .select(*order[:-1], "activity_month", "records", "baseline", "history", "change", "flag")
        .sort(order)
    )


def flagged(checks: pl.DataFrame) -> pl.DataFrame:
    """Only the flagged rows of `volume_checks`, largest change first."""
    return checks.filter(pl.col("flag").is_not_null()).sort(pl.col("change").abs(), descending=True)
