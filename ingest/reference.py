"""Reference data: organisations, populations, deprivation, trusts, NICIP — loaded into the store.

Everything is read from data/reference/ (shipped with the project; provenance and licences in
data/reference/SOURCES.md), so the project works offline. The loaders return Polars frames and
are cached: the files never change while a process runs. `load_reference` (re)builds the `ref_*`
tables of a store; `load_nicip_release` swaps in an official NICIP release.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from did_errors import UsageError
from did_model import nicip
from ingest import dm01

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "data" / "reference"
_REG = REFERENCE_DIR / "nhsd-gp-registrations"
_ODS = REFERENCE_DIR / "nhs-ods"
_GEO = REFERENCE_DIR / "geographr-lookups"

# ONS recoded two ICBs on 1 April 2024 (boundary change): the Dec 2024 names file carries the new
# codes, the 2022 trust catchment lookup the old ones. Old codes as in the ONS LSOA11 -> SICBL22
# -> ICB22 lookup (geographr `lookup_lsoa11_sicbl22_icb22_ltla22`). All other ICB22 codes = ICB24.
_ICB22_RECODED = {"QXU": "E54000052", "QNX": "E54000053"}  # Surrey Heartlands, Sussex

_ORG_TYPES_POPULATION = {"Comm Region": "REGION", "ICB": "ICB", "SUB_ICB_LOCATION_CODE": "SUB_ICB", "PCN": "PCN"}

# The 27-column ODS layout (no header); the columns we use, by position.
_ODS_COLUMNS = {
    0: "code",
    1: "name",
    2: "region_code",
    3: "icb_code",
    9: "postcode",
    10: "open_date",
    11: "close_date",
    12: "status",
    14: "commissioner_code",
    25: "setting",
}


def _read_ods(path: Path) -> pl.DataFrame:
    raw = pl.read_csv(path, has_header=False, infer_schema=False)
    frame = raw.select(pl.col(raw.columns[i]).alias(name) for i, name in _ODS_COLUMNS.items())
    return frame.with_columns(
        pl.col(c).replace("", None).str.to_date("%Y%m%d", strict=True) for c in ("open_date", "close_date")
    ).with_columns(pl.col(c).replace("", None) for c in ("status", "commissioner_code", "setting"))


@functools.lru_cache(maxsize=1)
def ods_practices() -> pl.DataFrame:
    """Every organisation in ODS epraccur (~Sep 2025), open or closed, with its dates.

    Wider than practices(): records may name a practice that has since closed, and the
    commissioner column is the practice's sub-ICB in the 2022-2025 (106 sub-ICB) geography.
    `setting` 4 is a GP practice; the rest are other prescribing settings.
    """
    return _read_ods(_ODS / "epraccur.csv").with_columns(pl.col("setting").cast(pl.Int32))


@functools.lru_cache(maxsize=1)
def ods_trusts() -> pl.DataFrame:
    """NHS trusts from ODS etr (~late 2025), open or closed."""
    return _read_ods(_ODS / "etr.csv").select("code", "name", "postcode", "open_date", "close_date")


def _list_sizes_april_2026() -> pl.DataFrame:
    return pl.read_csv(_REG / "gp-reg-pat-prac-all_2026-04.csv", infer_schema=False).select(
        pl.col("CODE").alias("practice_code"), pl.col("NUMBER_OF_PATIENTS").cast(pl.Int64).alias("list_size")
    )


def _practice_imd() -> pl.DataFrame:
    """Fingertips 93553 per practice: the latest year the practice has (2019 when present)."""
    raw = pl.read_csv(
        REFERENCE_DIR / "ohid-fingertips" / "gp_practice_imd_score_fingertips_93553.csv", infer_schema=False
    )
    return (
        raw.filter(pl.col("IndicatorID") == "93553", pl.col("Value") != "")
        .select(
            pl.col("AreaCode").alias("practice_code"),
            pl.col("Year").cast(pl.Int32),
            pl.col("Value").cast(pl.Float64).alias("imd_score"),
        )
        .sort("Year", descending=True)
        .unique("practice_code", keep="first")
        .drop("Year")
    )


def _icb22_by_sub_icb() -> pl.DataFrame:
    """Sub-ICB ODS code (2022 geography) -> E54 code of its ICB in the 42-ICB geography."""
    lookup = pl.read_csv(_REG / "subicb_to_icb_region_lookup_2022-07.csv", infer_schema=False)
    lookup = lookup.rename({c: c.strip() for c in lookup.columns})
    names = pl.read_csv(_ODS / "icb_names_codes_dec2024.csv", infer_schema=False)
    return (
        lookup.select(
            pl.col("Sub ICB Location ODS Code").str.strip_chars().alias("sub_icb22"),
            pl.col("ICB Code").str.strip_chars().alias("icb22_ods"),
        )
        .join(names.select(pl.col("ICB24CDH").alias("icb22_ods"), pl.col("ICB24CD")), on="icb22_ods", how="left")
        .with_columns(pl.col("icb22_ods").replace_strict(_ICB22_RECODED, default=pl.col("ICB24CD")).alias("icb22_ons"))
        .select("sub_icb22", "icb22_ons")
    )


@functools.lru_cache(maxsize=1)
def practices() -> pl.DataFrame:
    """One row per practice in the August 2026 practice map, with its whole hierarchy.

    list_size is the April 2026 registered list (all 6,129 practices have one). imd_score is
    Fingertips 93553 for the latest year the practice has (2019 for nearly all); practices new
    since then have none. imd_quintile: 1 = most deprived fifth of practices with a score.
    icb22_ons is the practice's ICB in the 42-ICB geography, found from its sub-ICB in ODS
    epraccur (Sep 2025, still the 106 sub-ICBs of 2022) — so practices moved between sub-ICBs
    in 2026 (ex-Frimley D4U1Y) keep their 2022 ICB — falling back to the 2026 sub-ICB code.
    """
    raw = pl.read_csv(_REG / "gp-reg-pat-prac-map_2026-08.csv", infer_schema=False)
    frame = raw.select(
        pl.col("PRACTICE_CODE").alias("practice_code"),
        pl.col("PRACTICE_NAME").alias("practice_name"),
        pl.col("PRACTICE_POSTCODE").alias("postcode"),
        pl.col("PCN_CODE").alias("pcn_code"),
        pl.col("PCN_NAME").alias("pcn_name"),
        pl.col("SUB_ICB_LOCATION_CODE").alias("sub_icb_code"),
        pl.col("ONS_SUB_ICB_LOCATION_CODE").alias("sub_icb_ons"),
        pl.col("SUB_ICB_LOCATION_NAME").alias("sub_icb_name"),
        pl.col("ICB_CODE").alias("icb_code"),
        pl.col("ONS_ICB_CODE").alias("icb_ons"),
        pl.col("ICB_NAME").alias("icb_name"),
        pl.col("COMM_REGION_CODE").alias("region_code"),
        pl.col("ONS_COMM_REGION_CODE").alias("region_ons"),
        pl.col("COMM_REGION_NAME").alias("region_name"),
    )
    ods = ods_practices().select(pl.col("code").alias("practice_code"), "commissioner_code", "open_date", "close_date")
    imd = _practice_imd()
    frame = (
        frame.join(_list_sizes_april_2026(), on="practice_code", how="left")
        .join(imd, on="practice_code", how="left")
        .with_columns(_quintile_most_deprived_first(pl.col("imd_score")).alias("imd_quintile"))
        .join(ods, on="practice_code", how="left")
        .with_columns(pl.coalesce("commissioner_code", "sub_icb_code").alias("sub_icb22"))
        .join(_icb22_by_sub_icb(), on="sub_icb22", how="left")
    )
    return frame.select(
        "practice_code",
        "practice_name",
        "postcode",
        "pcn_code",
        "pcn_name",
        "sub_icb_code",
        "sub_icb_ons",
        "sub_icb_name",
        "icb_code",
        "icb_ons",
        "icb_name",
        "region_code",
        "region_ons",
        "region_name",
        "list_size",
        "imd_score",
        "imd_quintile",
        "icb22_ons",
        "open_date",
        "close_date",
    ).sort("practice_code")


def _quintile_most_deprived_first(score: pl.Expr) -> pl.Expr:
    """Quintile of score over the non-null values, each practice weighted equally; 1 = highest."""
    rank = score.rank("ordinal", descending=True)
    n = score.count()
    return (((rank - 1) * 5) // n + 1).cast(pl.Int8)


@functools.lru_cache(maxsize=1)
def population() -> pl.DataFrame:
    """Registered patients (August 2026) by single year of age and sex per region, ICB, sub-ICB, PCN.

    The ALL rows are dropped (sum the rest). age 95 means 95 and over. PCN 'U' is the national
    total of practices not in a PCN; PCNs have no ONS code.
    """
    raw = pl.read_csv(_REG / "gp-reg-pat-prac-sing-age-regions_2026-08.csv.gz", infer_schema=False)
    return (
        raw.filter(pl.col("SEX") != "ALL", pl.col("AGE") != "ALL")
        .select(
            pl.col("ORG_TYPE").replace_strict(_ORG_TYPES_POPULATION).alias("org_type"),
            pl.col("ORG_CODE").alias("org_code"),
            pl.col("ONS_CODE").alias("ons_code"),
            pl.col("SEX").replace_strict({"MALE": "M", "FEMALE": "F"}).alias("sex"),
            pl.col("AGE").str.strip_suffix("+").cast(pl.Int32).alias("age"),
            pl.col("NUMBER_OF_PATIENTS").cast(pl.Int64).alias("patients"),
        )
        .sort("org_type", "org_code", "sex", "age")
    )


@functools.lru_cache(maxsize=1)
def catchment() -> pl.DataFrame:
    """Share of each acute trust's admissions from each ICB (OHID catchments, 2022, 42 ICBs)."""
    return pl.read_csv(_GEO / "lookup_nhs_trusts22_icb22_catchment.csv", infer_schema=False).select(
        pl.col("nhs_trust22_code").alias("provider_code"),
        pl.col("icb22_code").alias("icb22_ons"),
        pl.col("proportion_trust_came_from_icb").cast(pl.Float64).alias("share"),
    )


@functools.lru_cache(maxsize=1)
def trusts() -> pl.DataFrame:
    """The 138 acute trusts of the catchment lookup, with HQ location and NHS region (Feb 2022)."""
    points = pl.read_csv(_GEO / "points_nhs_trusts22.csv", infer_schema=False).select(
        pl.col("nhs_trust22_code").alias("provider_code"),
        pl.col("nhs_trust22_name").alias("provider_name"),
        pl.col("latitude").cast(pl.Float64),
        pl.col("longitude").cast(pl.Float64),
        "status",
    )
    regions = pl.read_csv(_GEO / "lookup_nhs_trusts22_nhs_region21.csv", infer_schema=False).select(
        pl.col("nhs_trust22_code").alias("provider_code"),
        pl.col("nhs_region21_nhs_code").alias("region_code"),
        pl.col("nhs_region21_name").alias("region_name"),
    )
    codes = catchment().select("provider_code").unique()
    return (
        codes.join(points, on="provider_code", how="left")
        .join(regions, on="provider_code", how="left")
        .select("provider_code", "provider_name", "region_code", "region_name", "latitude", "longitude", "status")
        .sort("provider_code")
    )


@functools.lru_cache(maxsize=1)
def lsoa() -> pl.DataFrame:
    """LSOA 2021 -> sub-ICB (2024, ODS code) and ICB (2024, E54), with IMD 2025 score and decile."""
    lookup = pl.read_csv(_GEO / "lookup_lsoa21_sicbl24_icb24.csv", infer_schema=False)
    imd = pl.read_csv(REFERENCE_DIR / "imd" / "imd2025_england_lsoa21.csv", infer_schema=False)
    return (
        lookup.select(
            pl.col("lsoa21_code").alias("lsoa_code"),
            pl.col("lsoa21_name").alias("lsoa_name"),
            pl.col("sicbl24_code_nhs").alias("sub_icb_code"),
            pl.col("icb24_code").alias("icb24_ons"),
        )
        .join(
            imd.select(
                pl.col("lsoa21_code").alias("lsoa_code"),
                pl.col("IMD_score").cast(pl.Float64).alias("imd_score"),
                pl.col("IMD_decile").cast(pl.Int8).alias("imd_decile"),
            ),
            on="lsoa_code",
            how="left",
        )
        .sort("lsoa_code")
    )


def organisations() -> pl.DataFrame:
    """Every organisation code a record may name: ODS practices and prescribing settings, trusts."""
    ods = ods_practices().select(
        pl.col("code").alias("org_code"),
        pl.when(pl.col("setting") == 4)
        .then(pl.lit("GP_PRACTICE"))
        .otherwise(pl.lit("OTHER_PRESCRIBER"))
        .alias("org_type"),
        "name",
        "open_date",
        "close_date",
    )
    etr = ods_trusts().select(
        pl.col("code").alias("org_code"), pl.lit("TRUST").alias("org_type"), "name", "open_date", "close_date"
    )
    # Belt and braces: anything in practices()/trusts() that ODS lacks, without dates.
    extra_practices = practices().select(
        pl.col("practice_code").alias("org_code"),
        pl.lit("GP_PRACTICE").alias("org_type"),
        pl.col("practice_name").alias("name"),
    )
    extra_trusts = trusts().select(
        pl.col("provider_code").alias("org_code"),
        pl.lit("TRUST").alias("org_type"),
        pl.col("provider_name").alias("name"),
    )
    frame = pl.concat([ods, etr], how="vertical")
    extra = pl.concat([extra_practices, extra_trusts]).join(frame, on="org_code", how="anti")
    return (
        pl.concat([frame, extra], how="diagonal").unique("org_code", keep="first", maintain_order=True).sort("org_code")
    )


_NICIP_COLUMNS = ["nicip_code", "modality", "body_area", "test_group", "dose_msv", "description", "snomed_code"]


def _nicip_table(frame: pl.DataFrame) -> pl.DataFrame:
    if "snomed_code" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("snomed_code"))
    return frame.select(_NICIP_COLUMNS)


def _replace_table(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    # Table names are constants of this module, never user input; values travel as a frame.
    view = f"_incoming_{table}"
    con.register(view, frame.to_arrow())
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {view}")
    finally:
        con.unregister(view)


def _atomically(con: duckdb.DuckDBPyConnection, work: Callable[[], None]) -> None:
    """Run work in one transaction — or inside the caller's, when one is already open."""
    try:
        con.begin()
    except duckdb.TransactionException:
        work()
        return
    try:
        work()
        con.commit()
    except BaseException:
        con.rollback()
        raise


def load_reference(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the ref_* tables from the shipped reference files, in one transaction."""
    tables = {
        "ref_practice": practices(),
        "ref_population": population(),
        "ref_trust": trusts(),
        "ref_catchment": catchment(),
        "ref_lsoa": lsoa(),
        "ref_nicip": _nicip_table(nicip.nicip_catalogue()),
        "ref_org": organisations(),
        "ref_dm01_test": dm01.test_map(),
    }

    def work() -> None:
        for table, frame in tables.items():
            _replace_table(con, table, frame)

    _atomically(con, work)


def _read_release(path: Path) -> pl.DataFrame:
    """Parse and check an official NICIP release CSV; raise ValueError naming the first bad line."""
    modalities = {m.lower(): m for m in (*nicip.MODALITIES.values(), nicip.PET_MODALITY)}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [h.strip().lower() for h in next(reader, [])]

        def column(*names: str) -> int | None:
            return next((header.index(n) for n in names if n in header), None)

        i_code = column("code", "nicip_code")
        if i_code is None:
            raise UsageError(
                f"{path}: line 1 must be a header with a 'code' or 'nicip_code' column "
                f"(found: {', '.join(header) or 'nothing'})"
            )
        i_desc, i_snomed, i_mod = column("description"), column("snomed", "snomed_code"), column("modality")
        rows: dict[str, tuple[int, str | None, str | None, str | None]] = {}
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue

            def cell(i: int | None, row: list[str] = row) -> str | None:
                value = row[i].strip() if i is not None and i < len(row) else ""
                return value or None

            code = cell(i_code) or ""
            if not nicip.CODE_PATTERN.match(code):
                raise UsageError(
                    f"{path}, line {line}: {code!r} is not a NICIP code "
                    "(4 to 6 upper-case letters or digits); fix the line and load again"
                )
            if code in rows:
                raise UsageError(f"{path}, line {line}: code {code} repeats line {rows[code][0]}")
            mod = cell(i_mod)
            if mod is not None and mod.lower() not in modalities:
                raise UsageError(
                    f"{path}, line {line}: modality {mod!r} is not one of "
                    f"{', '.join(sorted(modalities.values()))} (leave it empty to derive it)"
                )
            rows[code] = (line, cell(i_desc), cell(i_snomed), modalities[mod.lower()] if mod else None)
    if not rows:
        raise UsageError(f"{path}: no NICIP codes found")
    codes = list(rows)
    given = pl.DataFrame(
        {
            "nicip_code": codes,
            "given_description": [rows[c][1] for c in codes],
            "snomed_code": [rows[c][2] for c in codes],
            "given_modality": [rows[c][3] for c in codes],
        },
        schema={
            "nicip_code": pl.String,
            "given_description": pl.String,
            "snomed_code": pl.String,
            "given_modality": pl.String,
        },
    )
    return (
        nicip.catalogue_for(codes)
        .join(given, on="nicip_code", how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("given_modality", "modality").alias("modality"),
            pl.coalesce("given_description", "description").alias("description"),
        )
    )


def load_nicip_release(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Replace ref_nicip with an official NICIP release file; returns the number of codes.

    The file is a CSV with a header: a code column ('code' or 'nicip_code'), and optionally
    'description', 'snomed'/'snomed_code' and 'modality' (one of our modality names; empty =
    derived). Body area, test group and dose are derived as for the shipped list. The whole file
    is checked before the table is touched, and the swap is one transaction.
    """
    frame = _nicip_table(_read_release(Path(path)))
    _atomically(con, lambda: _replace_table(con, "ref_nicip", frame))
    return frame.height
