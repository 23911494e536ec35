"""Outsourced examinations submitted by two providers (ADR 0010), as the Outsourced imaging page,
`did export duplicates` and the central team's notes on Home and Completeness read them.

The pairs are found at publish (`ingest.duplicates`, table `duplicate_pair`). The central team
sees every pair; a provider sees the pairs it is a party to, its counts perturbed and protected
like every other page's; nobody else sees them.
"""

from __future__ import annotations

import polars as pl

from did_errors import UsageError
from did_model.scope import Scope, ScopeError
from queries.connection import Snapshot, has_tables
from queries.disclosure import perturb, protect

COUNTS = ("pairs", "copies_removed")
KEYS = ("activity_month", "provider_a", "provider_b", "match")


def check_may_see(scope: Scope) -> None:
    """Providers are parties to outsourcing; commissioners and GPs are not (their figures count
    each examination once already)."""
    if not (scope.is_central or scope.role == "provider"):
        raise ScopeError(
            f"{scope.user} ({scope.role}) may not see outsourced duplicates; "
            "they are for the central team and the providers involved"
        )


def pairs_by_month(snap: Snapshot, scope: Scope) -> pl.DataFrame:
    """Pairs per activity month, provider pair and match (exact / near), with the copies left out
    of the figures. A provider gets the rows of pairs it is a party to."""
    check_may_see(scope)
    providers = scope.visible_providers()
    frame = snap.query(
        """
        SELECT activity_month, a_provider_code AS provider_a, b_provider_code AS provider_b, match,
               count(*)::BIGINT AS pairs, count(*) FILTER (WHERE removed)::BIGINT AS copies_removed
        FROM duplicate_pair
        WHERE $all OR list_contains($providers, a_provider_code) OR list_contains($providers, b_provider_code)
        GROUP BY ALL ORDER BY activity_month, provider_a, provider_b, match
        """,
        {"all": providers is None, "providers": providers or []},
    )
    frame = perturb(snap, frame, scope, COUNTS, KEYS, context=["duplicate_pair"])
    return protect(frame, scope, COUNTS)


def counting(snap: Snapshot) -> tuple[bool, int, int] | None:
    """(counted once?, pairs found, copies left out) for the central team's notes; None for a
    snapshot published before pairs were looked for."""
    if (
        snap.query(
            "SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = current_database() "
            "AND table_name = 'duplicate_pair'"
        )["n"][0]
        == 0
    ):
        return None
    once = snap.meta.get("count_duplicates", "once") != "every"
    pairs, removed = snap.query("SELECT count(*) AS p, count(*) FILTER (WHERE removed) AS r FROM duplicate_pair").row(0)
    return once, pairs, removed


def counting_note(snap: Snapshot) -> str:
    """One line: how outsourced duplicates count in the figures shown ('' before they were looked for)."""
    found = counting(snap)
    if found is None:
        return ""
    once, pairs, removed = found
    if once:
        return (
            f"Outsourced examinations submitted by two providers count once: {removed:,} submitted "
            f"copies are left out of these figures ({pairs:,} pairs found; see Outsourced imaging)."
        )
    return (
        f"Every submitted copy counts: {pairs:,} pairs of outsourced examinations submitted by two "
        "providers are counted twice (`did publish --count-duplicates once` counts them once)."
    )


# An arrangement's month is a gap when its activity fell to zero or below this share of the
# median of the previous HISTORY_MONTHS months it was in force (at least MIN_HISTORY of them).
GAP_SHARE = 0.5
HISTORY_MONTHS = 6
MIN_HISTORY = 3


def arrangement_months(snap: Snapshot, scope: Scope) -> pl.DataFrame:
    """Each outsourcing arrangement's work per month it was in force, within the months the store
    holds, the examinations both parties sent, and whether the month is a gap.

    `examinations` is the arrangement's work as either party submitted it
    (`rollup_outsourced_activity`: the performer's records the provider referred, and the
    provider's records at the performer's sites); `pairs` the examinations both sent (exact or
    near, either way round), which the counting rule counts once. A gap — none, or under half the
    median of the previous six months — is a month neither party sent the work, or the work
    stopped; a month the double submissions stop is no gap, since one copy is what the DID asks
    for. A provider gets the arrangements it is a party to; counts outside the central team are
    perturbed and protected, and a hidden count hides its gap flag too.
    """
    check_may_see(scope)
    if not has_tables(snap, "rollup_outsourced_activity"):
        raise UsageError(
            "This copy of the data was published before arrangements' work was counted: the central data team "
            "needs to publish again (did publish)."
        )
    providers = scope.visible_providers()
    frame = snap.query(
        """
        WITH bounds AS (SELECT min(activity_month) AS first, max(activity_month) AS last FROM rollup_activity),
        arrangement AS (
            SELECT DISTINCT o.provider_code, o.performing_org_code, m.month::DATE AS activity_month
            FROM ref_outsourcing o, bounds,
                 range(greatest(o.from_month, bounds.first), least(coalesce(o.to_month, bounds.last), bounds.last)
                       + INTERVAL 1 MONTH, INTERVAL 1 MONTH) m(month)
            WHERE $all OR list_contains($providers, o.provider_code)
               OR list_contains($providers, o.performing_org_code)
        ),
        both_sent AS (
            SELECT a.provider_code, a.performing_org_code, a.activity_month, count(d.match)::BIGINT AS pairs
            FROM arrangement a LEFT JOIN duplicate_pair d ON d.activity_month = a.activity_month
             AND least(a.provider_code, a.performing_org_code) = d.a_provider_code
             AND greatest(a.provider_code, a.performing_org_code) = d.b_provider_code
            GROUP BY ALL
        )
        SELECT b.provider_code, b.performing_org_code, b.activity_month,
               coalesce(w.examinations, 0)::BIGINT AS examinations, b.pairs
        FROM both_sent b LEFT JOIN rollup_outsourced_activity w USING (provider_code, performing_org_code,
                                                                      activity_month)
        ORDER BY provider_code, performing_org_code, activity_month
        """,
        {"all": providers is None, "providers": providers or []},
    )
    arrangement = ["provider_code", "performing_org_code"]
    # Perturbed first, then the gap worked out from the perturbed counts (ADR 7: nothing shown
    # is derived from an exact count); a hidden count hides its gap flag too.
    frame = perturb(
        snap, frame, scope, ["examinations", "pairs"], [*arrangement, "activity_month"], context=["ref_outsourcing"]
    )
    history = (
        pl.col("examinations")
        .shift(1)
        .rolling_median(HISTORY_MONTHS, min_samples=MIN_HISTORY)
        .over(arrangement, order_by="activity_month")
    )
    frame = frame.with_columns(gap=((history > 0) & (pl.col("examinations") < GAP_SHARE * history)).fill_null(False))
    return protect(frame, scope, ["examinations", "pairs"], derived={"examinations": ["gap"]})
