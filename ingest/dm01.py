"""DM01, NHS England's monthly diagnostics waiting times and activity return: its five imaging
tests, which NICIP codes are which, and a DM01 file loaded to reconcile DID activity against.

The test of each NICIP code comes from data/reference/dm01/ (a dated, project-made mapping; its
rules and provenance are in data/reference/SOURCES.md) into `ref_dm01_test`. The rollups map a
record by its NICIP code, or — when it has none — by its SNOMED CT code through the NICIP list's
SNOMED column (`TEST_SQL`).

A DM01 file (`did reference load-dm01 FILE`) is a CSV with a header row, UTF-8, one row per
month, provider and test:
    period, provider_code, test, activity, waiting_total, waiting_6wk_plus
period YYYY-MM; provider_code an ODS code; test one of TESTS (any case) or DM01's own name for
it ("Magnetic Resonance Imaging", "Computed Tomography", "Non-obstetric Ultrasound", "Barium
Enema", "DEXA Scan"); activity the tests done in the month; waiting_total the patients waiting
at the month end and waiting_6wk_plus those of them waiting 6 weeks or more (whole numbers,
waiting_6wk_plus not above waiting_total). The file replaces the DM01 figures loaded before; a
bad file changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # polars is imported where used: `did submit` loads no statistics stack
    import polars as pl

from did_errors import UsageError
from did_model.dm01 import TESTS

TEST_MAP_CSV = Path(__file__).resolve().parent.parent / "data" / "reference" / "dm01" / "dm01_tests_2026-12.csv"
# DM01's published names (and ours) -> ours, compared case-insensitively
_NAMES = {
    **{t.casefold(): t for t in TESTS},
    "magnetic resonance imaging": "MRI",
    "computed tomography": "CT",
    "non-obstetric ultrasound": "Non-obstetric ultrasound",
    "dexa scan": "DEXA",
}
FILE_COLUMNS = ["period", "provider_code", "test", "activity", "waiting_total", "waiting_6wk_plus"]
_COUNTS = FILE_COLUMNS[3:]


def test_map() -> pl.DataFrame:
    """The shipped mapping, checked: every test one of TESTS and no code listed twice."""
    import polars as pl

    frame = pl.read_csv(TEST_MAP_CSV, schema={"nicip_code": pl.String, "dm01_test": pl.String})
    unknown = set(frame["dm01_test"]) - set(TESTS)
    if unknown or frame["nicip_code"].is_duplicated().any():
        raise UsageError(f"{TEST_MAP_CSV.name}: tests must be one of {', '.join(TESTS)} and codes listed once")
    return frame


def ensure_test_map(con: duckdb.DuckDBPyConnection) -> None:
    """Fill an empty ref_dm01_test from the shipped mapping (a store made before it existed)."""
    if con.execute("SELECT count(*) FROM ref_dm01_test").fetchall()[0][0]:
        return
    con.register("_dm01_tests", test_map().to_arrow())
    try:
        con.execute("INSERT INTO ref_dm01_test BY NAME SELECT * FROM _dm01_tests")
    finally:
        con.unregister("_dm01_tests")


def _test_name(text: str | None) -> str | None:
    return None if text is None else _NAMES.get(" ".join(text.split()).casefold())


def read_dm01(path: Path) -> pl.DataFrame:
    """A DM01 file as ref_dm01's rows. UsageError (one line naming the first bad row) on a bad file."""
    import polars as pl

    from did_model.frames import each
    from ingest.sites import _read

    name = Path(path).name
    frame = _read(path, FILE_COLUMNS)
    text = {c: pl.col(c).str.strip_chars() for c in FILE_COLUMNS}
    rows = frame.select(
        (text["period"] + "-01").str.to_date("%Y-%m-%d", strict=False).alias("period"),
        text["provider_code"].str.to_uppercase().alias("provider_code"),
        pl.lit(each(frame["test"], _test_name)).alias("dm01_test"),
        *[text[c].str.replace_all(",", "").cast(pl.Int64, strict=False).alias(c) for c in _COUNTS],
    ).with_row_index("line", offset=2)
    bad = rows.filter(
        pl.col("period").is_null()
        | ~pl.col("provider_code").fill_null("").str.contains(r"^[A-Z0-9]{3,5}$")
        | pl.col("dm01_test").is_null()
        | pl.any_horizontal(pl.col(c).is_null() | (pl.col(c) < 0) for c in _COUNTS)
        | (pl.col("waiting_6wk_plus") > pl.col("waiting_total"))
    )
    if bad.height:
        raise UsageError(
            f"{name} line {bad['line'][0]}: expected period YYYY-MM, an ODS provider code, a test "
            f"({', '.join(TESTS)}) and whole numbers of 0 or more, waiting_6wk_plus not above "
            "waiting_total"
        )
    repeated = rows.filter(pl.struct("period", "provider_code", "dm01_test").is_duplicated())
    if repeated.height:
        r = repeated.row(1, named=True)
        raise UsageError(
            f"{name} line {r['line']}: {r['period']:%Y-%m} {r['provider_code']} {r['dm01_test']} "
            "is listed twice; keep one row per month, provider and test"
        )
    return rows.drop("line")


def load_dm01(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Replace ref_dm01 with the file's figures; returns the row count. The file is checked whole
    before the table is touched, and the swap is one transaction."""
    rows = read_dm01(path)
    from ingest.sites import _replace

    _replace(con, "ref_dm01", rows)
    return rows.height
