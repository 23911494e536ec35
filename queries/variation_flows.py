"""Patient flows: which providers image an area's registered patients, and where a provider's
patients are registered (issue #5).

Reads `rollup_variation_flows` (activity by the patient's registered sub-ICB / ICB / region and
the imaging provider). Scope:
- by area: any region or ICB (comparators for every role), sub-ICBs only a commissioner's own
  (`variation.check_area`); central any area.
- by provider: the central team any provider, a provider user its own providers
  (`Scope.check_provider`); nobody else.
Shares carry Wilson intervals. Outside the central team each count is perturbed, and so is the
total a table's shares are of, as a cell of its own (for an area, the same cell as the area's
examinations on the other pages); shares are perturbed part over perturbed total, so the total the
shares give, minus the published parts, leaves a hidden part plus noise from every cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from did_errors import UsageError
from did_model.scope import Scope
from queries.areas import LEVEL_LABELS, Area
from queries.connection import Snapshot
from queries.disclosure import protect
from queries.variation import (
    AREA_RECORDS,
    FLOW_MODALITY_RECORDS,
    FLOW_MODALITY_TOTAL,
    FLOW_RECORDS,
    MEASURE_WHERE,
    ORIGIN_RECORDS,
    PROVIDER_RECORDS,
    Filters,
    check_area,
    perturb_cells,
    shares_of_total,
    with_area,
    with_total,
)

NOT_KNOWN = "Not known"  # patients whose practice is not in the practice map
_SHARE = ["share", "share_lower", "share_upper"]
_PROVIDER_NAME = """
    coalesce(
        (SELECT any_value(o.name) FROM ref_org o WHERE o.org_code = f.provider_code),
        (SELECT any_value(s.provider_name) FROM ref_site s WHERE s.provider_code = f.provider_code),
        f.provider_code)
"""


@dataclass(frozen=True)
class FlowsTable:
    """One flows table: what is counted and when, and either an area (the providers imaging its
    patients; split by modality when `by_modality`) or a provider (the ICBs its patients come from)."""

    filters: Filters
    area: Area | None = None
    provider: str | None = None
    by_modality: bool = False

    def __post_init__(self) -> None:
        if (self.area is None) == (self.provider is None):
            raise UsageError("flows are for an area or for a provider: give one of the two")
        if self.by_modality and self.area is None:
            raise UsageError("the split by modality is of an area's flows: give an area, not a provider")


def flows_table(snap: Snapshot, scope: Scope, t: FlowsTable) -> pl.DataFrame:
    """The table `t` asks for, as the page shows and offers it (and `did export variation-flows` writes)."""
    if t.provider is not None:
        return provider_origins(snap, scope, t.filters, t.provider)
    assert t.area is not None  # __post_init__: an area or a provider
    if t.by_modality:
        return area_provider_modalities(snap, scope, t.filters, t.area)
    return area_providers(snap, scope, t.filters, t.area)


def _protected_shares(
    snap: Snapshot,
    scope: Scope,
    frame: pl.DataFrame,
    filters: Filters,
    level: str,
    kind: str,
    keys: list[str],
    order: list[str],
    descending: list[bool],
) -> pl.DataFrame:
    """Perturb the parts (a frame that has its perturbed `total`, from `with_total`) as cells of
    `kind` named by `keys`, take shares, protect, and only then order by the published counts:
    rows that read alike once rounded follow their codes, and suppressed rows come after the
    published ones (of their modality), by code, keeping no place in the order."""
    frame = perturb_cells(snap, frame, scope, kind, filters, level, keys)
    frame = protect(shares_of_total(frame), scope, ["records"], {"records": _SHARE})
    return frame.sort(order, descending=descending, nulls_last=True)


def area_providers(snap: Snapshot, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    """Providers that imaged the area's registered patients: provider_code, provider_name,
    records, share (of the area's records) with a Wilson interval. Largest first."""
    check_area(snap, scope, area)
    frame = snap.query(
        f"""
        SELECT f.provider_code, {_PROVIDER_NAME} AS provider_name, sum(f.records)::BIGINT AS records
        FROM rollup_variation_flows f
        WHERE {area.where()} AND {MEASURE_WHERE}
        GROUP BY f.provider_code
        """,
        {**filters.params(), "area": area.code},
    )
    frame = with_total(snap, scope, with_area(frame, area), AREA_RECORDS, filters, area.level, ["code"])
    frame = _protected_shares(
        snap,
        scope,
        frame,
        filters,
        area.level,
        FLOW_RECORDS,
        ["code", "provider_code"],
        ["records", "provider_code"],
        [True, False],
    )
    return frame.drop("code")


def area_provider_modalities(snap: Snapshot, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    """The same by modality: provider_code, provider_name, modality, records, share (of the area's
    records of that modality) with a Wilson interval."""
    check_area(snap, scope, area)
    frame = snap.query(
        f"""
        SELECT f.provider_code, {_PROVIDER_NAME} AS provider_name,
               coalesce(f.modality, 'Unknown') AS modality, sum(f.records)::BIGINT AS records
        FROM rollup_variation_flows f
        WHERE {area.where()} AND {MEASURE_WHERE}
        GROUP BY ALL
        """,
        {**filters.params(), "area": area.code},
    )
    frame = with_total(
        snap, scope, with_area(frame, area), FLOW_MODALITY_TOTAL, filters, area.level, ["code", "modality"]
    )
    frame = _protected_shares(
        snap,
        scope,
        frame,
        filters,
        area.level,
        FLOW_MODALITY_RECORDS,
        ["code", "provider_code", "modality"],
        ["modality", "records", "provider_code"],
        [False, True, False],
    )
    return frame.drop("code")


def provider_origins(snap: Snapshot, scope: Scope, filters: Filters, provider: str, level: str = "icb") -> pl.DataFrame:
    """Where a provider's patients are registered: code, name (ICB or sub-ICB; 'Not known' for
    practices not in the map), records, share with a Wilson interval. Largest first."""
    scope.check_provider(provider)
    if level not in ("region", "icb", "sub_icb"):
        raise ValueError(f"unknown level {level!r}")
    col = {"region": "region_code", "icb": "icb_code", "sub_icb": "sub_icb_code"}[level]
    name = col.replace("_code", "_name")
    frame = snap.query(
        f"""
        WITH names AS (SELECT DISTINCT {col} AS code, {name} AS name FROM ref_practice)
        SELECT coalesce(f.{col}, $unknown) AS code, coalesce(n.name, $unknown) AS name,
               sum(f.records)::BIGINT AS records
        FROM rollup_variation_flows f LEFT JOIN names n ON n.code = f.{col}
        WHERE f.provider_code = $provider AND {MEASURE_WHERE}
        GROUP BY ALL
        """,
        {**filters.params(), "provider": provider.upper(), "unknown": NOT_KNOWN},
    )
    frame = frame.with_columns(pl.lit(provider.upper()).alias("provider_code"))
    # The provider's total does not depend on the level its patients are split by.
    frame = with_total(snap, scope, frame, PROVIDER_RECORDS, filters, "provider", ["provider_code"])
    frame = _protected_shares(
        snap,
        scope,
        frame,
        filters,
        level,
        ORIGIN_RECORDS,
        ["provider_code", "code"],
        ["records", "code"],
        [True, False],
    )
    return frame.drop("provider_code")


def providers(snap: Snapshot, scope: Scope) -> pl.DataFrame:
    """Providers the user may choose for the origin view: provider_code, provider_name."""
    visible = scope.visible_providers()
    return snap.query(
        f"""
        SELECT DISTINCT f.provider_code, {_PROVIDER_NAME} AS provider_name
        FROM (SELECT DISTINCT provider_code FROM rollup_variation_flows) f
        WHERE $all OR list_contains($codes, f.provider_code)
        ORDER BY provider_name, f.provider_code
        """,
        {"all": visible is None, "codes": visible or []},
    )


def describe_area(area: Area, name: str) -> str:
    return name if area.level == "england" else f"{name} ({LEVEL_LABELS[area.level]})"
