"""Shared pieces of the variation views (issue #5): filters, areas, scope, denominators.

Conventions every variation query follows:

- **Commissioner = the patient's registered practice**, as in the official DID tables: the
  rollups (did_model/rollup_defs/variation.py) join record.practice_code to ref_practice. Records
  without a practice in the practice map have no area and are left out of every rate (counted
  by `unassigned_records`); "England" means patients registered with an English practice.
- **Denominators** are registered patients (NHS England, August 2026) by single year of age and
  sex per region / ICB / sub-ICB (ref_population); England is the sum of the REGION rows. The
  same register is used for every period.
- **Rates are annualised**: per 1,000 registered patients a year, i.e. count x 12 / months in
  the period / population x 1,000, so a three-month and a twelve-month period read alike.
- **Scope**: England, the seven regions and the ICBs are comparators every role may see (an
  ICB's aggregates cover about a million patients and are perturbed like every other figure
  outside central, so they disclose no one); sub-ICBs are finer, so a commissioner sees only its
  own (and those inside its ICBs) and other roles none; central sees everything. Rows outside
  scope are never returned.
- **Disclosure control** (non-central): each count is perturbed (`perturb_cells`) as soon as the
  query has it, and every rate, interval, DSR, share, comparison and rank is computed from the
  perturbed counts; then `queries.disclosure.protect` suppresses and rounds. A kind of cell (an
  area's age-sex cells, an area's records, ...) has one name here, so it gets the same noise on
  every page and export that shows it: an area's examinations, and the total its shares are
  of, read the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from did_errors import UsageError
from did_model.demography import age_band_sql
from did_model.nicip import TEST_GROUPS
from did_model.scope import Scope, ScopeError
from did_months import add_months, count_months
from queries import dsr
from queries.areas import ENGLAND, LEVEL_LABELS, Area, column
from queries.connection import Snapshot
from queries.disclosure import perturb
from queries.headline import latest_complete_month

ALL = "*"  # "no filter" for a measure part, bound as a parameter like any other value
# The areas (queries.areas) these views show: by the patient's registered practice.
LEVELS = ("england", "region", "icb", "sub_icb")
MAP_LEVELS = ("region", "icb", "sub_icb")
COMPARATOR_LEVELS = ("england", "region", "icb")  # every role sees every area at these levels
# org_type in ref_population for each level (constants, never input).
_POPULATION_TYPE = {"england": "REGION", "region": "REGION", "icb": "ICB", "sub_icb": "SUB_ICB"}
RATE_UNIT = "per 1,000 registered patients a year"


@dataclass(frozen=True)
class Filters:
    """What is counted (test group / modality / patient source; None = all) and when."""

    first_month: date
    last_month: date
    test_group: str | None = None
    modality: str | None = None
    patient_source: str | None = None

    def __post_init__(self) -> None:
        if self.first_month > self.last_month:
            raise UsageError(f"the period starts ({self.first_month:%Y-%m}) after it ends ({self.last_month:%Y-%m})")
        if self.test_group is not None and self.test_group not in TEST_GROUPS:
            raise UsageError(f"unknown test group {self.test_group!r}; one of {', '.join(TEST_GROUPS)}")

    @property
    def months(self) -> int:
        return count_months(self.first_month, self.last_month)

    @property
    def annualise(self) -> float:
        """Multiplier from a count over the period to a rate per 1,000 a year (divide by population)."""
        return 1000.0 * 12 / self.months

    def context(self) -> tuple[object, ...]:
        """What the filters count, for `queries.disclosure.perturb` (never how they are shown)."""
        return self.first_month, self.last_month, self.test_group, self.modality, self.patient_source

    def params(self) -> dict[str, object]:
        return {
            "first": self.first_month,
            "last": self.last_month,
            "tg": self.test_group or ALL,
            "modality": self.modality or ALL,
            "source": self.patient_source or ALL,
        }

    def describe(self) -> str:
        parts = [TEST_GROUPS[self.test_group].label if self.test_group else (self.modality or "All imaging")]
        if self.test_group and self.modality:
            parts.append(self.modality)
        if self.patient_source:
            from did_model.spec import PATIENT_SOURCE_SETTING

            parts.append(PATIENT_SOURCE_SETTING.get(self.patient_source, self.patient_source))
        return ", ".join(parts) + f", {self.first_month:%b %Y} to {self.last_month:%b %Y}"


# The WHERE clause for Filters over a rollup with activity_month, test_group, modality, patient_source.
MEASURE_WHERE = """
    activity_month BETWEEN $first AND $last
    AND ($tg = '*' OR test_group = $tg)
    AND ($modality = '*' OR modality = $modality)
    AND ($source = '*' OR patient_source = $source)
"""


# --- periods ------------------------------------------------------------------------------------


def has_rollups(snap: Snapshot) -> bool:
    """Whether the snapshot was published with the variation rollups (older ones were not)."""
    df = snap.query(
        "SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = current_database() "
        "AND table_name = 'rollup_variation_area'"
    )
    return int(df["n"][0]) > 0


def modalities(snap: Snapshot) -> list[str]:
    """The modalities in the variation rollup, alphabetically."""
    df = snap.query("SELECT DISTINCT modality FROM rollup_variation_area WHERE modality IS NOT NULL ORDER BY 1")
    return df["modality"].to_list()


def activity_months(snap: Snapshot) -> list[date]:
    """Activity months present in the variation rollup, oldest first."""
    df = snap.query("SELECT DISTINCT activity_month FROM rollup_variation_area ORDER BY 1")
    return df["activity_month"].to_list()


def default_period(snap: Snapshot, months: int = 12) -> tuple[date, date] | None:
    """The `months` months ending with the latest complete month (fewer if the store is younger)."""
    available = activity_months(snap)
    if not available:
        return None
    last = latest_complete_month(snap) or available[-1]
    last = min(max(last, available[0]), available[-1])
    first = max(add_months(last, -(months - 1)), available[0])
    return first, last


# --- areas and scope ----------------------------------------------------------------------------


def area_names(snap: Snapshot, level: str) -> pl.DataFrame:
    """Every area at `level` in the practice map: code, name (2026 geography)."""
    if level == "england":
        return pl.DataFrame({"code": [ENGLAND], "name": ["England"]})
    col = column(level)
    name = col.replace("_code", "_name")
    return snap.query(
        f"SELECT DISTINCT {col} AS code, {name} AS name FROM ref_practice WHERE {col} IS NOT NULL ORDER BY name, code"
    )


def _sub_icbs_of(snap: Snapshot, icbs: frozenset[str]) -> set[str]:
    if not icbs:
        return set()
    df = snap.query(
        "SELECT DISTINCT sub_icb_code FROM ref_practice WHERE list_contains($icbs, icb_code)", {"icbs": sorted(icbs)}
    )
    return set(df["sub_icb_code"].to_list())


def codes_in_scope(snap: Snapshot, scope: Scope, level: str) -> set[str] | None:
    """Area codes at `level` the user may see in detail; None means every area. England, the
    regions and the ICBs are comparators for everyone (see the module notes); sub-ICBs only
    for the commissioner whose they are."""
    if scope.is_central or level in COMPARATOR_LEVELS:
        return None
    return own_codes(snap, scope, level)


def map_levels(scope: Scope) -> tuple[str, ...]:
    """The map levels with something to show the user: sub-ICBs only to central and commissioners."""
    return MAP_LEVELS if scope.is_central or scope.role == "commissioner" else COMPARATOR_LEVELS[1:]


def own_codes(snap: Snapshot, scope: Scope, level: str) -> set[str]:
    """The commissioner's own areas at `level` (its ICBs; its sub-ICBs and those inside its ICBs),
    to highlight among the comparators; empty for every other role."""
    if scope.role != "commissioner" or level not in MAP_LEVELS:
        return set()
    if level == "sub_icb":
        return set(scope.sub_icbs) | _sub_icbs_of(snap, scope.icbs)
    col = column(level)  # the ICBs and regions its own ICBs and sub-ICBs lie in
    df = snap.query(
        f"SELECT DISTINCT {col} AS code FROM ref_practice "
        "WHERE list_contains($icbs, icb_code) OR list_contains($subs, sub_icb_code)",
        {"icbs": sorted(scope.icbs), "subs": sorted(scope.sub_icbs)},
    )
    return set(df["code"].to_list()) | (set(scope.icbs) if level == "icb" else set())


def check_area(snap: Snapshot, scope: Scope, area: Area) -> None:
    """Raise ScopeError when the user may not see `area` in detail (UsageError: not a level
    these views show)."""
    area.require(LEVELS)
    allowed = codes_in_scope(snap, scope, area.level)
    if allowed is not None and area.code not in allowed:
        raise ScopeError(
            f"{scope.user} ({scope.describe()}) may not see {LEVEL_LABELS[area.level]} {area.code} in detail; "
            "England, the NHS regions and the ICBs are available as comparators"
        )


def selectable_areas(snap: Snapshot, scope: Scope) -> pl.DataFrame:
    """Areas the user may pick: level, code, name, label — England, regions, then what scope allows."""
    frames = [pl.DataFrame({"level": ["england"], "code": [ENGLAND], "name": ["England"]})]
    for level in MAP_LEVELS:
        names = area_names(snap, level)
        allowed = codes_in_scope(snap, scope, level)
        if allowed is not None:
            names = names.filter(pl.col("code").is_in(sorted(allowed)))
        frames.append(names.select(pl.lit(level).alias("level"), "code", "name"))
    out = pl.concat(frames)
    return out.with_columns(
        pl.when(pl.col("level") == "england")
        .then(pl.col("name"))
        .otherwise(pl.col("name") + " (" + pl.col("level").replace_strict(LEVEL_LABELS) + ")")
        .alias("label")
    )


# --- denominators -------------------------------------------------------------------------------


def population_by_age_sex(snap: Snapshot, level: str, codes: list[str] | None = None) -> pl.DataFrame:
    """Registered patients by area code, age band (did_model.demography) and sex (M/F) at `level`.

    England: the REGION rows summed, code 'ENG'. `codes` restricts the areas (None = all).
    """
    org_type = _POPULATION_TYPE[level]
    code = "'ENG'" if level == "england" else "org_code"
    return snap.query(
        f"""
        SELECT {code} AS code, {age_band_sql("age")} AS age_band, sex,
               sum(patients)::DOUBLE AS population
        FROM ref_population
        WHERE org_type = $org_type AND ($all OR list_contains($codes, org_code))
        GROUP BY ALL ORDER BY code, sex, age_band
        """,
        {"org_type": org_type, "all": codes is None, "codes": codes or []},
    )


def unassigned_records(snap: Snapshot, filters: Filters) -> int:
    """Records in the filters with no registered practice in the practice map (no area, no rate)."""
    df = snap.query(
        f"SELECT coalesce(sum(records), 0)::BIGINT AS n FROM rollup_variation_area "
        f"WHERE region_code IS NULL AND {MEASURE_WHERE}",
        filters.params(),
    )
    return int(df["n"][0])


# --- disclosure control ---------------------------------------------------------------------------

# The kinds of count the variation views show. Each names one set of cells (what is counted; the
# cell within it is named by the keys), whichever query reaches it.
AREA_AGE_SEX = "variation: area records by age band and sex"  # keys code, age_band, sex
AREA_RECORDS = "variation: area records"  # keys code (also the total of ethnic and flow shares)
AREA_UNKNOWN_AGE_SEX = "variation: area records with sex or age not known"  # keys code
IMD_AGE_SEX = "variation: records by practice IMD quintile, age band and sex"  # code, imd_quintile, age_band, sex
IMD_RECORDS = "variation: records by practice IMD quintile"  # keys code, imd_quintile
LSOA_DECILE = "variation: records by LSOA IMD decile"  # keys code, imd_decile
LSOA_DECILE_TOTAL = "variation: records with an LSOA IMD decile"  # keys code
LSOA_RECORDS = "variation: records with an LSOA"  # keys code
ETHNIC_GROUP_RECORDS = "variation: records by ethnic group"  # keys code, ethnic_group
FLOW_RECORDS = "variation: records by provider"  # keys code, provider_code
FLOW_MODALITY_RECORDS = "variation: records by provider and modality"  # keys code, provider_code, modality
FLOW_MODALITY_TOTAL = "variation: records by modality"  # keys code, modality
ORIGIN_RECORDS = "variation: a provider's records by registered area"  # keys provider_code, code
PROVIDER_RECORDS = "variation: a provider's records"  # keys provider_code


def perturb_cells(
    snap: Snapshot, frame: pl.DataFrame, scope: Scope, kind: str, filters: Filters, level: str, keys: list[str]
) -> pl.DataFrame:
    """`perturb` the `records` column of a variation count of `kind` at area `level` (the
    column name is part of the cell key, so every kind is perturbed under the one name)."""
    return perturb(snap, frame, scope, ["records"], keys, (kind, *filters.context(), level))


def with_area(frame: pl.DataFrame, area: Area) -> pl.DataFrame:
    """The frame with the area's `code`, so one area's cells are keyed as in the all-areas views."""
    return frame.with_columns(pl.lit(area.code).alias("code"))


def with_total(
    snap: Snapshot, scope: Scope, frame: pl.DataFrame, kind: str, filters: Filters, level: str, by: list[str]
) -> pl.DataFrame:
    """Add `total`: the exact `records` summed over `by`, perturbed as a cell of its own of `kind`
    (not the sum of the perturbed parts, so a total minus the published parts leaves a hidden part
    plus noise from every cell). Call it before the parts are perturbed."""
    totals = frame.group_by(by, maintain_order=True).agg(pl.col("records").sum())
    totals = perturb_cells(snap, totals, scope, kind, filters, level, by).rename({"records": "total"})
    return frame.join(totals, on=by, how="left")


def shares_of_total(frame: pl.DataFrame) -> pl.DataFrame:
    """Wilson shares of `records` in `total` (both perturbed for non-central users), dropping
    `total`. A perturbed part can exceed its perturbed total by a little: such a share reads 1."""
    frame = frame.with_columns(pl.max_horizontal("total", "records").alias("total"))
    return dsr.wilson(frame, "records", "total").drop("total")
