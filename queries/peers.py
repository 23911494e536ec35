"""Peer groups for the provider profile: the providers most like one provider in size and case mix.

Method (docs/adr/0012-provider-peers.md):
1. Every provider with examinations in the activity months `first` … `last` (rollup_activity,
   exact counts: the central selection, never shown as counts) is described by
   - its size: the natural log of its examinations in the months, and
   - its case mix: the share of those examinations in each modality (every modality any provider
     has in the months, "Unknown" for a record without one).
2. Each feature is standardised over those providers: z = (x − mean) / standard deviation (the
   population one, dividing by n). A feature that is the same for every provider tells providers
   nothing apart and is left out.
3. A provider's distance to another is the Euclidean distance between their z vectors.
4. Its peers are the `k` (default 10) nearest other providers, ties broken by provider code; a
   store with fewer than k other providers gives all of them.

The log makes size act by ratio (a provider twice another's size is as far from it as one half
its size); standardising puts size and each modality share on the same scale, so no feature
counts for more because of its units. The method is the nearest-neighbour comparator of NHS
England's Model Hospital ("similar organisations", by size and activity mix) reduced to what the
DID holds.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from queries.connection import Snapshot
from queries.headline import UNKNOWN_MODALITY

K = 10


def activity_mix(snap: Snapshot, first: date, last: date) -> pl.DataFrame:
    """Examinations per provider and modality in the months (provider_code, modality, records),
    exact: peer selection only, never shown."""
    return snap.query(
        """
        SELECT provider_code, coalesce(modality, $unknown) AS modality, sum(records)::BIGINT AS records
        FROM rollup_activity WHERE activity_month BETWEEN $first AND $last
        GROUP BY ALL ORDER BY ALL
        """,
        {"unknown": UNKNOWN_MODALITY, "first": first, "last": last},
    )


def features(mix: pl.DataFrame) -> pl.DataFrame:
    """One row per provider: provider_code, then the standardised features (`size`, then one
    `share:<modality>` per modality), constant features left out (module notes)."""
    if mix.is_empty():
        return pl.DataFrame(schema={"provider_code": pl.String})
    wide = (
        mix.pivot(on="modality", index="provider_code", values="records", aggregate_function="sum")
        .fill_null(0)
        .sort("provider_code")
    )
    modalities = sorted(c for c in wide.columns if c != "provider_code")
    total = pl.sum_horizontal(modalities)
    raw = wide.filter(total > 0).select(
        "provider_code",
        pl.sum_horizontal(modalities).log().alias("size"),
        *[(pl.col(m) / pl.sum_horizontal(modalities)).alias(f"share:{m}") for m in modalities],
    )
    kept = []
    for name in raw.columns[1:]:
        sd = raw[name].std(ddof=0)
        if sd is not None and isinstance(sd, float) and sd > 1e-12:
            kept.append(((pl.col(name) - raw[name].mean()) / sd).alias(name))
    return raw.select("provider_code", *kept)


def nearest(table: pl.DataFrame, provider: str, k: int = K) -> pl.DataFrame:
    """The k providers nearest `provider` in a `features` table: provider_code, distance, nearest
    first (ties by code). Empty when `provider` is not in the table."""
    names = table.columns[1:]
    own = table.filter(pl.col("provider_code") == provider)
    if own.is_empty():
        return pl.DataFrame(schema={"provider_code": pl.String, "distance": pl.Float64})
    centre = own.row(0, named=True)
    distance = pl.sum_horizontal([(pl.col(n) - centre[n]) ** 2 for n in names]).sqrt() if names else pl.lit(0.0)
    return (
        table.filter(pl.col("provider_code") != provider)
        .select("provider_code", distance.cast(pl.Float64).alias("distance"))
        .sort("distance", "provider_code")
        .head(k)
    )


def peer_group(snap: Snapshot, provider: str, first: date, last: date, k: int = K) -> pl.DataFrame:
    """`provider`'s peers over the months (module notes): provider_code, distance, nearest first."""
    return nearest(features(activity_mix(snap, first, last)), provider, k)


def describe(k: int = K) -> str:
    """The method in one sentence, for the pack's notes."""
    return (
        f"Peers: the {k} providers nearest in size and case mix over the same months — the natural log of "
        "examinations and the share in each modality, each standardised across every provider with "
        "examinations (z-scores), Euclidean distance, ties broken by provider code."
    )
