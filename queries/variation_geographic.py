"""Where: directly age-sex standardised rates for every region, ICB or sub-ICB (issue #5).

Each area's rate is standardised to the European Standard Population 2013 with a Dobson
interval (`queries.dsr`), and compared with England's rate the way Fingertips does: an area is
"higher" or "lower" when its 95% interval excludes England's rate, else "similar". The spread is
summarised as the NHS Atlas of Variation does, as an *n-fold variation*; here the 2nd highest
rate over the 2nd lowest (`dsr.fold_variation`), so a single outlier at either end does not make
the figure. Areas are the 2026 geography of the practice map (36 ICBs, 106 sub-ICBs, 7 regions).
Conventions (scope, annualised rates, disclosure control) are in `queries.variation`. For users
other than the central team, the age-sex cells and each area's records are perturbed first, and the
DSR, its interval, the crude rate, the comparison with England (England's DSR from its own
perturbed cells, as on every page) and the rank are computed from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from did_errors import UsageError
from did_model.scope import Scope
from queries import dsr
from queries.areas import ENGLAND_AREA, column
from queries.connection import Snapshot
from queries.disclosure import SUPPRESSED_COLUMN, protect, rank_published, suppressed_last
from queries.variation import (
    AREA_AGE_SEX,
    AREA_RECORDS,
    MAP_LEVELS,
    MEASURE_WHERE,
    Filters,
    area_names,
    codes_in_scope,
    perturb_cells,
    population_by_age_sex,
)
from queries.variation_demographic import area_summary

_DERIVED = ["rate", "rate_lower", "rate_upper", "dsr", "dsr_lower", "dsr_upper", "compared"]
COLUMNS = [
    "code",
    "name",
    "records",
    "population",
    "rate",
    "rate_lower",
    "rate_upper",
    "dsr",
    "dsr_lower",
    "dsr_upper",
    "compared",
    "rank",
]


@dataclass(frozen=True)
class MapTable:
    """The map's table: what is counted and when, and which areas (a key of MAP_LEVELS)."""

    filters: Filters
    level: str = "icb"

    def __post_init__(self) -> None:
        if self.level not in MAP_LEVELS:
            raise UsageError(f"unknown map level {self.level!r}; choose one of {', '.join(MAP_LEVELS)}")


def map_table(snap: Snapshot, scope: Scope, t: MapTable) -> pl.DataFrame:
    """`area_rates` for the request `t`: the page's table (and `did export variation-geographic`'s)."""
    return area_rates(snap, scope, t.filters, t.level)


def area_rates(snap: Snapshot, scope: Scope, filters: Filters, level: str) -> pl.DataFrame:
    """One row per area at `level` the user may see: code, name, records (every record of its
    registered patients), population, crude rate and DSR (per 1,000 a year) with intervals,
    compared ('higher' / 'similar' / 'lower' than England, or null when there is no DSR) and
    rank (1 = highest DSR). Ordered by DSR, highest first."""
    if level not in MAP_LEVELS:
        raise UsageError(f"unknown map level {level!r}; one of {', '.join(MAP_LEVELS)}")
    col = column(level)
    allowed = codes_in_scope(snap, scope, level)
    codes = None if allowed is None else sorted(allowed)
    params = {**filters.params(), "all": codes is None, "codes": codes or []}
    counts = snap.query(
        f"""
        SELECT {col} AS code, age_band::INTEGER AS age_band, sex, sum(records)::BIGINT AS records
        FROM rollup_variation_area
        WHERE {col} IS NOT NULL AND sex IN ('M', 'F') AND age_band IS NOT NULL
              AND ($all OR list_contains($codes, {col})) AND {MEASURE_WHERE}
        GROUP BY ALL
        """,
        params,
    )
    totals = snap.query(
        f"""
        SELECT {col} AS code, sum(records)::BIGINT AS records
        FROM rollup_variation_area
        WHERE {col} IS NOT NULL AND ($all OR list_contains($codes, {col})) AND {MEASURE_WHERE}
        GROUP BY ALL
        """,
        params,
    )
    counts = perturb_cells(snap, counts, scope, AREA_AGE_SEX, filters, level, ["code", "age_band", "sex"])
    totals = perturb_cells(snap, totals, scope, AREA_RECORDS, filters, level, ["code"])
    population = population_by_age_sex(snap, level, codes).with_columns(pl.col("age_band").cast(pl.Int32))
    strata = population.join(counts, on=["code", "age_band", "sex"], how="left").with_columns(
        pl.col("records").fill_null(0)
    )
    std = dsr.directly_standardised(strata, ["code"], multiplier=filters.annualise).drop("records")
    names = area_names(snap, level)
    if codes is not None:
        names = names.filter(pl.col("code").is_in(codes))
    frame = (
        names.join(std, on="code", how="inner")
        .join(totals, on="code", how="left")
        .with_columns(pl.col("records").fill_null(0).cast(pl.Int64))
    )
    frame = dsr.crude_rate(frame, multiplier=filters.annualise)
    england = england_dsr(snap, scope, filters)
    frame = (
        frame.with_columns(
            pl.when(pl.col("dsr").is_null() | pl.lit(england is None))
            .then(None)
            .when(pl.col("dsr_lower") > pl.lit(england))
            .then(pl.lit("higher"))
            .when(pl.col("dsr_upper") < pl.lit(england))
            .then(pl.lit("lower"))
            .otherwise(pl.lit("similar"))
            .alias("compared"),
        )
        .sort(["dsr", "name"], descending=[True, False], nulls_last=True)
        .select(COLUMNS[:-1])
    )
    frame = rank_published(protect(frame, scope, ["records"], {"records": _DERIVED}), "dsr", "rank")
    return suppressed_last(frame).select(*COLUMNS, *[c for c in frame.columns if c == SUPPRESSED_COLUMN])


def england_dsr(snap: Snapshot, scope: Scope, filters: Filters) -> float | None:
    """England's DSR for the filters: a national comparator every role may see, computed for the
    user as their other figures are (from England's perturbed age-sex cells outside central)."""
    return area_summary(snap, scope, filters, ENGLAND_AREA).dsr


def fold_variation(rates: pl.DataFrame) -> float | None:
    """The n-fold variation of the areas' DSRs: 2nd highest / 2nd lowest (see the module notes)."""
    return dsr.fold_variation(rates["dsr"].to_list())
