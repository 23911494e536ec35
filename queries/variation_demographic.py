"""Who is imaged: rates by age and sex, by deprivation, and the ethnic mix of activity (issue #5).

Reads the variation rollups only. Conventions (areas, scope, annualised rates per 1,000
registered patients, disclosure control) are in `queries.variation`; statistics in
`queries.dsr`. Deprivation:

- **Practice IMD quintile** (Fingertips 93553, 1 = most deprived fifth of practices): rates use
  registered patients by quintile, whose age-sex structure is each practice's PCN structure
  scaled to its list size (the register has no age-sex split per practice; architecture §5).
  List sizes are April 2026, the PCN structure August 2026.
- **Gradient**: the *standardised rate ratio* of the most deprived quintile (1) to the least
  deprived (5), both directly age-sex standardised to ESP2013, with a 95% interval by the delta
  method on the log scale (Rothman, Greenland & Lash, Modern Epidemiology, 3rd ed., ch. 15).
- **LSOA IMD decile** (IMD 2025) where a record carries an LSOA (only once a postcode lookup is
  loaded). There is no registered population by LSOA here, so these are shares of activity,
  not rates.
- **Ethnicity**: the register has no ethnicity, so there is no denominator and no rate — the mix
  of activity by ethnic group, with "Not stated" (Z), "Not known" (99) and missing shown as
  they are.

Outside the central team every count is perturbed first (`queries.variation.perturb_cells`, the
same cell keyed the same way as in the all-areas view) and every rate, DSR, interval, share and
ratio is computed from the perturbed counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from did_errors import UsageError
from did_model.demography import AGE_BAND_LABELS
from did_model.scope import Scope
from did_model.spec import ETHNIC_GROUP
from queries import dsr
from queries.areas import Area
from queries.connection import Snapshot
from queries.disclosure import protect
from queries.variation import (
    AREA_AGE_SEX,
    AREA_RECORDS,
    AREA_UNKNOWN_AGE_SEX,
    ETHNIC_GROUP_RECORDS,
    IMD_AGE_SEX,
    IMD_RECORDS,
    LSOA_DECILE,
    LSOA_DECILE_TOTAL,
    LSOA_RECORDS,
    MEASURE_WHERE,
    Filters,
    check_area,
    perturb_cells,
    population_by_age_sex,
    shares_of_total,
    with_area,
    with_total,
)

ETHNIC_GROUPS: tuple[str, ...] = tuple(dict.fromkeys(ETHNIC_GROUP.values())) + ("Not recorded", "Invalid code")
NOT_STATED_OR_KNOWN = ("Not stated", "Not known", "Not recorded", "Invalid code")
QUINTILE_LABELS = {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}
_RATE_COLUMNS = ["rate", "rate_lower", "rate_upper"]
_DSR_COLUMNS = ["dsr", "dsr_lower", "dsr_upper", "dsr_var"]
_SHARE_COLUMNS = ["share", "share_lower", "share_upper"]


def _params(filters: Filters, area: Area) -> dict[str, object]:
    return {**filters.params(), "area": area.code}


def _age_sex_counts(snap: Snapshot, filters: Filters, area: Area) -> pl.DataFrame:
    """Exact records by age band and sex (Int32 band), with the area's code."""
    counts = snap.query(
        f"""
        SELECT age_band, sex, sum(records)::BIGINT AS records
        FROM rollup_variation_area
        WHERE {area.where()} AND sex IN ('M', 'F') AND age_band IS NOT NULL AND {MEASURE_WHERE}
        GROUP BY ALL
        """,
        _params(filters, area),
    )
    return with_area(counts.with_columns(pl.col("age_band").cast(pl.Int32)), area)


def _perturbed_age_sex(
    snap: Snapshot, scope: Scope, filters: Filters, area: Area, counts: pl.DataFrame
) -> pl.DataFrame:
    """The age-sex cells as the user gets them (keyed as `area_rates` keys them), without `code`."""
    return perturb_cells(snap, counts, scope, AREA_AGE_SEX, filters, area.level, ["code", "age_band", "sex"]).drop(
        "code"
    )


def _area_cell(snap: Snapshot, scope: Scope, filters: Filters, area: Area, kind: str, n: int) -> int:
    """One count of the area, perturbed as a cell of `kind` keyed by the area's code."""
    frame = with_area(pl.DataFrame({"records": [n]}, schema={"records": pl.Int64}), area)
    return int(perturb_cells(snap, frame, scope, kind, filters, area.level, ["code"])["records"][0])


def _with_population(counts: pl.DataFrame, population: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Every stratum with a population, its count (zero when none)."""
    return population.join(counts, on=keys, how="left").with_columns(pl.col("records").fill_null(0).cast(pl.Int64))


def age_sex_rates(snap: Snapshot, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    """Rates per 1,000 registered patients a year by ESP2013 age band and sex, with exact
    Poisson intervals. Columns: age_band, age_group, sex, records, population, rate,
    rate_lower, rate_upper. Records with sex or age not known are not in this table."""
    check_area(snap, scope, area)
    counts = _perturbed_age_sex(snap, scope, filters, area, _age_sex_counts(snap, filters, area))
    population = population_by_age_sex(snap, area.level, None if area.level == "england" else [area.code])
    frame = _with_population(
        counts, population.drop("code").with_columns(pl.col("age_band").cast(pl.Int32)), ["age_band", "sex"]
    )
    frame = (
        dsr.crude_rate(frame, multiplier=filters.annualise)
        .with_columns(
            pl.col("age_band")
            .replace_strict(dict(enumerate(AGE_BAND_LABELS)), return_dtype=pl.String)
            .alias("age_group"),
        )
        .select("age_band", "age_group", "sex", "records", "population", *_RATE_COLUMNS)
        .sort("sex", "age_band")
    )
    return protect(frame, scope, ["records"], {"records": _RATE_COLUMNS})


class AreaSummary(NamedTuple):
    records: int | None  # every record of the area's registered patients (protected)
    unknown_age_sex: int | None  # of which sex or age not known: not in the standardised rate
    population: float
    dsr: float | None
    dsr_lower: float | None
    dsr_upper: float | None


def area_summary(snap: Snapshot, scope: Scope, filters: Filters, area: Area) -> AreaSummary:
    """The area's directly age-sex standardised rate (ESP2013, Dobson interval) and its counts."""
    check_area(snap, scope, area)
    exact = _age_sex_counts(snap, filters, area)
    counts = _perturbed_age_sex(snap, scope, filters, area, exact)
    population = population_by_age_sex(snap, area.level, None if area.level == "england" else [area.code])
    strata = _with_population(counts, population.with_columns(pl.col("age_band").cast(pl.Int32)), ["age_band", "sex"])
    std = dsr.directly_standardised(strata, ["code"], multiplier=filters.annualise)
    total = snap.query(
        f"SELECT coalesce(sum(records), 0)::BIGINT AS records FROM rollup_variation_area "
        f"WHERE {area.where()} AND {MEASURE_WHERE}",
        _params(filters, area),
    )
    n_all = int(total["records"][0])
    n_unknown = n_all - int(exact["records"].sum())
    frame = std.with_columns(
        pl.lit(_area_cell(snap, scope, filters, area, AREA_RECORDS, n_all)).alias("all_records"),
        pl.lit(_area_cell(snap, scope, filters, area, AREA_UNKNOWN_AGE_SEX, n_unknown)).alias("unknown_age_sex"),
    )
    frame = protect(
        frame,
        scope,
        ["all_records", "unknown_age_sex", "records"],
        {"records": _DSR_COLUMNS, "all_records": _DSR_COLUMNS},
    )
    if frame.is_empty():
        return AreaSummary(0, 0, 0.0, None, None, None)
    row = frame.row(0, named=True)
    return AreaSummary(
        row["all_records"], row["unknown_age_sex"], row["population"], row["dsr"], row["dsr_lower"], row["dsr_upper"]
    )


def deprivation_rates(snap: Snapshot, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    """Rates by practice IMD quintile: crude and directly age-sex standardised (ESP2013), each
    with its interval. Columns: imd_quintile, quintile, records, population, rate, rate_lower,
    rate_upper, dsr, dsr_lower, dsr_upper, dsr_var."""
    check_area(snap, scope, area)
    params = _params(filters, area)
    counts = snap.query(
        f"""
        SELECT imd_quintile, age_band, sex, sum(records)::BIGINT AS records
        FROM rollup_variation_imd
        WHERE {area.where()} AND imd_quintile IS NOT NULL AND sex IN ('M', 'F')
              AND age_band IS NOT NULL AND {MEASURE_WHERE}
        GROUP BY ALL
        """,
        params,
    )
    all_counts = snap.query(
        f"""
        SELECT imd_quintile, sum(records)::BIGINT AS records
        FROM rollup_variation_imd
        WHERE {area.where()} AND imd_quintile IS NOT NULL AND {MEASURE_WHERE}
        GROUP BY ALL
        """,
        params,
    )
    population = snap.query(
        f"""
        SELECT imd_quintile, age_band, sex, sum(population) AS population
        FROM rollup_variation_imd_population
        WHERE {area.where()} AND imd_quintile IS NOT NULL
        GROUP BY ALL
        """,
        {"area": area.code},
    )
    keys = ["imd_quintile", "age_band", "sex"]
    cast = [pl.col("imd_quintile").cast(pl.Int32), pl.col("age_band").cast(pl.Int32)]
    counts = perturb_cells(
        snap, with_area(counts.with_columns(cast), area), scope, IMD_AGE_SEX, filters, area.level, ["code", *keys]
    ).drop("code")
    all_counts = perturb_cells(
        snap,
        with_area(all_counts.with_columns(cast[0]), area),
        scope,
        IMD_RECORDS,
        filters,
        area.level,
        ["code", "imd_quintile"],
    ).drop("code")
    strata = _with_population(counts, population.with_columns(cast), keys)
    std = dsr.directly_standardised(strata, ["imd_quintile"], multiplier=filters.annualise).drop("records")
    frame = (
        std.join(all_counts, on="imd_quintile", how="left")
        .with_columns(pl.col("records").fill_null(0))
        .sort("imd_quintile")
    )
    frame = dsr.crude_rate(frame, multiplier=filters.annualise).with_columns(
        pl.col("imd_quintile").replace_strict(QUINTILE_LABELS, return_dtype=pl.String).alias("quintile")
    )
    frame = frame.select("imd_quintile", "quintile", "records", "population", *_RATE_COLUMNS, *_DSR_COLUMNS)
    return protect(frame, scope, ["records"], {"records": _RATE_COLUMNS + _DSR_COLUMNS})


class Gradient(NamedTuple):
    ratio: float
    lower: float
    upper: float


def deprivation_gradient(rates: pl.DataFrame) -> Gradient | None:
    """Standardised rate ratio, most deprived quintile (1) over least deprived (5), with its
    95% interval; None when either DSR is missing (too few events, or suppressed)."""
    by_q = {r["imd_quintile"]: r for r in rates.iter_rows(named=True)}
    q1, q5 = by_q.get(1), by_q.get(5)
    if not q1 or not q5 or q1["dsr"] is None or q5["dsr"] is None:
        return None
    found = dsr.rate_ratio(q1["dsr"], q1["dsr_var"], q5["dsr"], q5["dsr_var"])
    return Gradient(*found) if found else None


def lsoa_deprivation(snap: Snapshot, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    """Activity by the IMD 2025 decile of the patient's LSOA (1 = most deprived tenth), as shares of
    the records that carry an LSOA, with Wilson intervals. Columns: imd_decile, records, share,
    share_lower, share_upper. Empty when no record has an LSOA (no postcode lookup loaded)."""
    check_area(snap, scope, area)
    counts = snap.query(
        f"""
        SELECT imd_decile::INTEGER AS imd_decile, sum(records)::BIGINT AS records
        FROM rollup_variation_lsoa
        WHERE {area.where()} AND has_lsoa AND imd_decile IS NOT NULL AND {MEASURE_WHERE}
        GROUP BY ALL ORDER BY imd_decile
        """,
        _params(filters, area),
    )
    frame = with_total(snap, scope, with_area(counts, area), LSOA_DECILE_TOTAL, filters, area.level, ["code"])
    frame = perturb_cells(snap, frame, scope, LSOA_DECILE, filters, area.level, ["code", "imd_decile"])
    return protect(shares_of_total(frame).drop("code"), scope, ["records"], {"records": _SHARE_COLUMNS})


def lsoa_coverage(snap: Snapshot, scope: Scope, filters: Filters, area: Area) -> tuple[int, int]:
    """(records carrying an LSOA, all records) for the area and filters — unprotected totals are
    not returned to non-central users: both are rounded like any count."""
    check_area(snap, scope, area)
    df = snap.query(
        f"""
        SELECT coalesce(sum(records) FILTER (WHERE has_lsoa), 0)::BIGINT AS with_lsoa,
               coalesce(sum(records), 0)::BIGINT AS records
        FROM rollup_variation_lsoa WHERE {area.where()} AND {MEASURE_WHERE}
        """,
        _params(filters, area),
    )
    with_lsoa = _area_cell(snap, scope, filters, area, LSOA_RECORDS, int(df["with_lsoa"][0]))
    records = _area_cell(snap, scope, filters, area, AREA_RECORDS, int(df["records"][0]))
    df = protect(pl.DataFrame({"with_lsoa": [with_lsoa], "records": [records]}), scope, ["with_lsoa", "records"])
    return df["with_lsoa"][0], df["records"][0]


def ethnic_mix(snap: Snapshot, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    """Activity by ethnic group (the spec's groups; Not stated, Not known, Not recorded and Invalid
    code kept apart), as shares of all the area's records with Wilson intervals. No rates: there
    is no ethnicity denominator. Columns: ethnic_group, records, share, share_lower, share_upper."""
    check_area(snap, scope, area)
    counts = snap.query(
        f"""
        SELECT ethnic_category, sum(records)::BIGINT AS records
        FROM rollup_variation_ethnicity
        WHERE {area.where()} AND {MEASURE_WHERE}
        GROUP BY ALL
        """,
        _params(filters, area),
    )
    grouped = (
        counts.with_columns(
            pl.when(pl.col("ethnic_category").is_null())
            .then(pl.lit("Not recorded"))
            .otherwise(pl.col("ethnic_category").replace_strict(ETHNIC_GROUP, default="Invalid code"))
            .alias("ethnic_group")
        )
        .group_by("ethnic_group")
        .agg(pl.col("records").sum())
    )
    frame = pl.DataFrame({"ethnic_group": list(ETHNIC_GROUPS)}).join(grouped, on="ethnic_group", how="left")
    frame = frame.with_columns(pl.col("records").fill_null(0).cast(pl.Int64))
    frame = frame.filter((pl.col("records") > 0) | ~pl.col("ethnic_group").is_in(["Not recorded", "Invalid code"]))
    # The total is the area's records, the same cell as the area's examinations on every page.
    frame = with_total(snap, scope, with_area(frame, area), AREA_RECORDS, filters, area.level, ["code"])
    frame = perturb_cells(snap, frame, scope, ETHNIC_GROUP_RECORDS, filters, area.level, ["code", "ethnic_group"])
    return protect(shares_of_total(frame).drop("code"), scope, ["records"], {"records": _SHARE_COLUMNS})


def not_stated_share(mix: pl.DataFrame) -> float | None:
    """Share of activity whose ethnic group is not stated, not known, not recorded or invalid."""
    part = mix.filter(pl.col("ethnic_group").is_in(NOT_STATED_OR_KNOWN))["share"]
    return None if part.null_count() == part.len() else float(part.fill_null(0).sum())


# The tables of the page (and of `did export variation-demographic`), by name.
TABLES: dict[str, Callable[[Snapshot, Scope, Filters, Area], pl.DataFrame]] = {
    "age-sex": age_sex_rates,
    "deprivation": deprivation_rates,
    "lsoa-deprivation": lsoa_deprivation,
    "ethnicity": ethnic_mix,
}


@dataclass(frozen=True)
class DemographicTable:
    """One table of "Who is imaged": what is counted and when, the area, and which table (a key of TABLES)."""

    filters: Filters
    area: Area
    table: str = "age-sex"

    def __post_init__(self) -> None:
        if self.table not in TABLES:
            raise UsageError(f"unknown demographic table {self.table!r}; choose one of {', '.join(TABLES)}")


def demographic_table(snap: Snapshot, scope: Scope, t: DemographicTable) -> pl.DataFrame:
    """The table `t` names, as the page shows and offers it (and `did export variation-demographic` writes)."""
    return TABLES[t.table](snap, scope, t.filters, t.area)
