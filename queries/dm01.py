"""DID activity lined up with a loaded DM01 file (`did reference load-dm01`, ingest/dm01.py).

One row per month × provider × DM01 imaging test, for the months the DM01 file holds: the DID
examinations of the test (`rollup_dm01_activity`: every activity category, as DM01's activity
counts), DM01's activity, the difference and its share of DM01's figure, and a flag where they
differ by more than ±10% — or where one side has the test and the other has none. DM01's
month-end waiting list and its share waiting 6 weeks or more sit alongside for reference (a
count of patients still waiting, which DID does not hold: not reconciled).

Who sees it: the central team every provider; a provider user its own providers' rows. For
them the DID count is perturbed and suppressed or rounded as on every page, and the difference,
its share and the flag hide with a hidden count; DM01's figures are NHS England's published
statistics and show as loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from did_errors import UsageError
from did_model.dm01 import TESTS
from did_model.scope import Scope, ScopeError
from queries.connection import Snapshot
from queries.disclosure import SUPPRESSED_COLUMN, perturb, protect

TOLERANCE = 0.10
COLUMNS = [
    "activity_month",
    "provider_code",
    "dm01_test",
    "did_activity",
    "dm01_activity",
    "difference",
    "difference_share",
    "flagged",
    "dm01_waiting_total",
    "dm01_waiting_6wk_plus",
    "dm01_share_6wk_plus",
]


@dataclass(frozen=True)
class Reconciliation:
    """The DM01 reconciliation asked for: DM01's months first … last, one provider or every one
    the user may see, and all rows or only those flagged."""

    first_month: date
    last_month: date
    provider: str | None = None
    flagged_only: bool = False

    def __post_init__(self) -> None:
        if self.first_month > self.last_month:
            raise UsageError("the first month is after the last month: choose a first month no later than the last")


def reconciliation_table(snap: Snapshot, scope: Scope, r: Reconciliation) -> pl.DataFrame:
    """`reconciliation` for the request `r`: the waiting-times page's table (and `did export dm01-reconciliation`'s)."""
    return reconciliation(snap, scope, r.first_month, r.last_month, r.provider, flagged_only=r.flagged_only)


def loaded_months(snap: Snapshot) -> list[date]:
    """Months the loaded DM01 file covers, oldest first (none: no file loaded)."""
    return snap.query("SELECT DISTINCT period FROM ref_dm01 ORDER BY 1")["period"].to_list()


def _providers(scope: Scope, provider: str | None) -> list[str] | None:
    if scope.role not in ("central", "provider"):
        raise ScopeError(f"{scope.user} ({scope.role}) may not see the DM01 reconciliation: it is provider detail")
    if provider is not None:
        scope.check_provider(provider)
        return [provider]
    return scope.visible_providers()


def reconciliation(
    snap: Snapshot, scope: Scope, first: date, last: date, provider: str | None = None, flagged_only: bool = False
) -> pl.DataFrame:
    """The rows (COLUMNS, and `suppressed` outside central) for DM01's months first … last, by
    month, provider and DM01's order of tests."""
    providers = _providers(scope, provider)
    frame = snap.query(
        """
        WITH did AS (
            SELECT activity_month, provider_code, dm01_test, sum(activity)::BIGINT AS did_activity
            FROM rollup_dm01_activity
            WHERE activity_month BETWEEN $first AND $last
              AND activity_month IN (SELECT period FROM ref_dm01)
            GROUP BY ALL
        ), dm01 AS (
            SELECT period AS activity_month, provider_code, dm01_test, activity AS dm01_activity,
                   waiting_total AS dm01_waiting_total, waiting_6wk_plus AS dm01_waiting_6wk_plus
            FROM ref_dm01 WHERE period BETWEEN $first AND $last
        )
        SELECT * FROM did FULL JOIN dm01 USING (activity_month, provider_code, dm01_test)
        WHERE $providers IS NULL OR list_contains($providers, provider_code)
        """,
        {"first": first, "last": last, "providers": providers},
    )
    frame = perturb(
        snap,
        frame,
        scope,
        counts=["did_activity"],
        keys=["activity_month", "provider_code", "dm01_test"],
        context=("dm01_activity",),
    )
    # Outside central the differences are worked out from the DID count as shown (perturbed, then
    # rounded or suppressed): DM01's figure is public, so a difference from the unrounded count
    # would give that count back to the unit.
    frame = protect(frame.with_columns(pl.col("did_activity").fill_null(0)), scope, counts=["did_activity"])
    did, dm01 = pl.col("did_activity"), pl.col("dm01_activity").fill_null(0)
    order = pl.col("dm01_test").replace_strict({t: i for i, t in enumerate(TESTS)}, default=len(TESTS))
    out = frame.with_columns(
        (did - dm01).alias("difference"),
        pl.when(dm01 > 0).then((did - dm01) / dm01).alias("difference_share"),
        pl.when(dm01 > 0).then(((did - dm01) / dm01).abs() > TOLERANCE).otherwise(did > 0).alias("flagged"),
        pl.when(pl.col("dm01_waiting_total") > 0)
        .then(pl.col("dm01_waiting_6wk_plus") / pl.col("dm01_waiting_total"))
        .alias("dm01_share_6wk_plus"),
    ).sort([pl.col("activity_month"), pl.col("provider_code"), order])
    out = out.select(COLUMNS + [c for c in (SUPPRESSED_COLUMN,) if c in out.columns])
    return out.filter(pl.col("flagged").fill_null(False)) if flagged_only else out
