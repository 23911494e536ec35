"""Boundaries for maps: NHS regions, ICBs (current 36) and sub-ICB locations, as GeoDataFrames.

ONS publishes no polygons yet for the April 2026 ICBs, so they are built here from the April
2023 sub-ICB location polygons (architecture §5): each sub-ICB goes, whole, to the 2026 ICB that
holds most of its registered patients, and the pieces are dissolved. DuckDB's spatial extension
is not available where this runs, hence GeoPandas. Everything is EPSG:4326 and cached.
"""

from __future__ import annotations

import functools

import geopandas as gpd
import polars as pl

from ingest.reference import REFERENCE_DIR, ods_practices, practices

_BOUNDARIES = REFERENCE_DIR / "ons-boundaries"
LEVELS = ("region", "icb", "sub_icb")
_COLUMNS = ["code", "ons_code", "name", "geometry"]

ICB_CAPTION = (
    "ICB boundaries (April 2026, 36 ICBs) are approximate: each ONS April 2023 sub-ICB location "
    "polygon is given whole to the ICB that holds most of its registered patients (NHS England, "
    "April 2026) and the polygons are merged, so Frimley, split three ways in 2026, is drawn in "
    "Thames Valley."
)


def boundaries(level: str) -> gpd.GeoDataFrame:
    """Polygons for 'region', 'icb' or 'sub_icb': columns code (ODS), ons_code, name, geometry.

    Returns a copy, so callers may add columns (values to colour by) freely.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown boundary level {level!r}: use one of {', '.join(LEVELS)}")
    return _cached(level).copy()


@functools.lru_cache(maxsize=len(LEVELS))
def _cached(level: str) -> gpd.GeoDataFrame:
    return {"region": _regions, "icb": _icbs, "sub_icb": _sub_icbs}[level]()


def _read(name: str) -> gpd.GeoDataFrame:
    frame = gpd.read_file(_BOUNDARIES / name, engine="pyogrio").to_crs(4326)
    frame["geometry"] = frame.geometry.make_valid()
    return frame


@functools.lru_cache(maxsize=1)
def _sub_icbs() -> gpd.GeoDataFrame:
    # SICBL23NM ends in the ODS code: "NHS South Yorkshire ICB - 02P".
    frame = _read("sicbl_apr2023_en_bsc.geojson")
    frame["code"] = frame["SICBL23NM"].str.rsplit(" - ", n=1).str[-1].str.strip()
    frame = frame.rename(columns={"SICBL23CD": "ons_code", "SICBL23NM": "name"})
    return frame[_COLUMNS].sort_values("code").reset_index(drop=True)


def sub_icb_to_icb() -> pl.DataFrame:
    """Each 2023 sub-ICB polygon's 2026 ICB: the one holding most of its registered patients.

    A practice counts towards the polygon of its sub-ICB in ODS epraccur (Sep 2025, the 2023
    geography) when that is a polygon, else of its 2026 sub-ICB: Frimley (D4U1Y) has no 2026
    code, its practices moved to U2G6B, D9Y0V and 92A.
    """
    polygons = pl.DataFrame({"polygon_code": _sub_icbs()["code"].tolist()})
    known = polygons["polygon_code"].implode()
    weights = (
        practices()
        .select("practice_code", "sub_icb_code", "icb_code", "list_size")
        .join(
            ods_practices().select(pl.col("code").alias("practice_code"), "commissioner_code"),
            on="practice_code",
            how="left",
        )
        .with_columns(
            pl.when(pl.col("commissioner_code").is_in(known))
            .then(pl.col("commissioner_code"))
            .otherwise(pl.col("sub_icb_code"))
            .alias("polygon_code")
        )
        .group_by("polygon_code", "icb_code")
        .agg(pl.col("list_size").fill_null(0).sum().alias("patients"))
        .sort(["polygon_code", "patients", "icb_code"], descending=[False, True, False])
        .unique("polygon_code", keep="first")
    )
    return polygons.join(weights, on="polygon_code", how="left").sort("polygon_code")


@functools.lru_cache(maxsize=1)
def _icbs() -> gpd.GeoDataFrame:
    assignment = sub_icb_to_icb()
    missing = assignment.filter(pl.col("icb_code").is_null())["polygon_code"].to_list()
    if missing:
        raise ValueError(f"sub-ICB polygons with no registered patients to place them: {missing}")
    sub = _sub_icbs().merge(assignment.select(pl.col("polygon_code").alias("code"), "icb_code").to_pandas(), on="code")
    icbs = sub[["icb_code", "geometry"]].dissolve(by="icb_code", as_index=False)
    icbs["geometry"] = icbs.geometry.make_valid()
    names = (
        practices()
        .select(pl.col("icb_code").alias("code"), pl.col("icb_ons").alias("ons_code"), pl.col("icb_name").alias("name"))
        .unique()
        .to_pandas()
    )
    icbs = icbs.rename(columns={"icb_code": "code"}).merge(names, on="code", how="left")
    return gpd.GeoDataFrame(icbs[_COLUMNS], geometry="geometry", crs=4326).sort_values("code").reset_index(drop=True)


@functools.lru_cache(maxsize=1)
def _regions() -> gpd.GeoDataFrame:
    frame = _read("nhser_jan2024_en_bsc.geojson").rename(columns={"NHSER24CD": "ons_code", "NHSER24NM": "name"})
    codes = practices().select(pl.col("region_ons").alias("ons_code"), pl.col("region_code").alias("code")).unique()
    frame = frame.merge(codes.to_pandas(), on="ons_code", how="left")
    return frame[_COLUMNS].sort_values("code").reset_index(drop=True)
