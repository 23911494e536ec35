"""Patient flows: which providers image an area's registered patients, and where a provider's
patients are registered (issue #5).

Reads `rollup_variation_flows` (activity by the patient's registered sub-ICB / ICB / region and
the imaging provider). Scope:
- by area: a commissioner chooses among its own ICBs and sub-ICBs (`variation.check_area`);
  central any area.
- by provider: the central team any provider, a provider user its own providers
  (`Scope.check_provider`); nobody else.
Shares carry Wilson intervals; counts are disclosure-controlled, with secondary suppression
because each table is shown with its total.
"""

from __future__ import annotations

import polars as pl

from queries import dsr
from queries.connection import Snapshot
from queries.scope import Scope
from queries.variation import LEVEL_LABELS, MEASURE_WHERE, Area, Filters, check_area, protect_table

NOT_KNOWN = "Not known"  # patients whose practice is not in the practice map
_SHARE = ["share", "share_lower", "share_upper"]
_PROVIDER_NAME = """
    coalesce(
        (SELECT any_value(o.name) FROM ref_org o WHERE o.org_code = f.provider_code),
        (SELECT any_value(s.provider_name) FROM ref_site s WHERE s.provider_code = f.provider_code),
        f.provider_code)
"""


def _shares(frame: pl.DataFrame, by: list[str] | None = None) -> pl.DataFrame:
    total = pl.col("records").sum().over(by) if by else pl.col("records").sum()
    return dsr.wilson(frame.with_columns(total.alias("total")), "records", "total").drop("total")


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
        ORDER BY records DESC, f.provider_code
        """, {**filters.params(), "area": area.code})
    return protect_table(_shares(frame), scope, ["records"], {"records": _SHARE})


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
        ORDER BY modality, records DESC, f.provider_code
        """, {**filters.params(), "area": area.code})
    frame = _shares(frame, ["modality"])
    if not scope.needs_disclosure_control:
        return frame
    from queries.disclosure import protect

    return protect(frame, scope, ["records"], {"records": _SHARE})


def provider_origins(snap: Snapshot, scope: Scope, filters: Filters, provider: str,
                     level: str = "icb") -> pl.DataFrame:
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
        ORDER BY records DESC, code
        """, {**filters.params(), "provider": provider.upper(), "unknown": NOT_KNOWN})
    return protect_table(_shares(frame), scope, ["records"], {"records": _SHARE})


def providers(snap: Snapshot, scope: Scope) -> pl.DataFrame:
    """Providers the user may choose for the origin view: provider_code, provider_name."""
    visible = scope.visible_providers()
    return snap.query(
        f"""
        SELECT DISTINCT f.provider_code, {_PROVIDER_NAME} AS provider_name
        FROM (SELECT DISTINCT provider_code FROM rollup_variation_flows) f
        WHERE $all OR list_contains($codes, f.provider_code)
        ORDER BY provider_name, f.provider_code
        """, {"all": visible is None, "codes": visible or []})


def describe_area(area: Area, name: str) -> str:
    return name if area.level == "england" else f"{name} ({LEVEL_LABELS[area.level]})"
