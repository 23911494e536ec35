"""Outsourced examinations submitted by two providers (ADR 0010), as the Outsourced imaging page,
`did export duplicates` and the central team's notes on Home and Completeness read them.

The pairs are found at publish (`ingest.duplicates`, table `duplicate_pair`). The central team
sees every pair; a provider sees the pairs it is a party to, its counts perturbed and protected
like every other page's; nobody else sees them.
"""

from __future__ import annotations

import polars as pl

from queries.connection import Snapshot
from queries.disclosure import perturb, protect
from queries.scope import Scope, ScopeError

COUNTS = ("pairs", "copies_removed")
KEYS = ("activity_month", "provider_a", "provider_b", "match")


def check_may_see(scope: Scope) -> None:
    """Providers are parties to outsourcing; commissioners and GPs are not (their figures count
    each examination once already)."""
    if not (scope.is_central or scope.role == "provider"):
        raise ScopeError(f"{scope.user} ({scope.role}) may not see outsourced duplicates; "
                         "they are for the central team and the providers involved")


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
    if snap.query("SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = current_database() "
                  "AND table_name = 'duplicate_pair'")["n"][0] == 0:
        return None
    once = snap.meta.get("count_duplicates", "once") != "every"
    pairs, removed = snap.query(
        "SELECT count(*) AS p, count(*) FILTER (WHERE removed) AS r FROM duplicate_pair").row(0)
    return once, pairs, removed


def counting_note(snap: Snapshot) -> str:
    """One line: how outsourced duplicates count in the figures shown ('' before they were looked for)."""
    found = counting(snap)
    if found is None:
        return ""
    once, pairs, removed = found
    if once:
        return (f"Outsourced examinations submitted by two providers count once: {removed:,} submitted "
                f"copies are left out of these figures ({pairs:,} pairs found; see Outsourced imaging).")
    return (f"Every submitted copy counts: {pairs:,} pairs of outsourced examinations submitted by two "
            "providers are counted twice (`did publish --count-duplicates once` counts them once).")
