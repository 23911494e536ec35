"""Imaging sites and their scanners: reference files a provider network or the central team loads.

No official per-site inventory is in our sources. The synthetic generator writes a plausible
one (`sites.csv`, `equipment.csv`, every row flagged synthetic) and `did load` takes it in with
the extracts; a real ODS site file or equipment census replaces it with
`did reference load-sites FILE` / `did reference load-equipment FILE`.

File formats (CSV with a header row, UTF-8):
- sites: site_code, provider_code, site_name, provider_name, provider_type
  [, synthetic, latitude, longitude, open_date, close_date]
- equipment: site_code, modality, scanners, scheduled_hours_per_week [, synthetic]
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from did_errors import UsageError

SITE_COLUMNS = ["site_code", "provider_code", "site_name", "provider_name", "provider_type"]
EQUIPMENT_COLUMNS = ["site_code", "modality", "scanners", "scheduled_hours_per_week"]


def _read(path: Path, required: list[str]) -> pl.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path} does not exist")
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise UsageError(f"{path.name} is not a readable CSV file ({exc})") from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise UsageError(
            f"{path.name} lacks the column(s) {', '.join(missing)}; expected at least {', '.join(required)}"
        )
    if frame.height == 0:
        raise UsageError(f"{path.name} has no rows")
    return frame


def _bool(col: str, frame: pl.DataFrame) -> pl.Expr:
    if col not in frame.columns:
        return pl.lit(False)
    return pl.col(col).str.to_lowercase().is_in(["true", "1", "yes", "y"])


def load_sites(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Replace ref_site with the file's sites; returns the row count. ValueError on a bad file."""
    frame = _read(path, SITE_COLUMNS)

    def opt(c: str, dtype: type[pl.DataType]) -> pl.Expr:
        """An optional column: cast when the file has it, else all null."""
        return (pl.col(c).cast(dtype, strict=False) if c in frame.columns else pl.lit(None, dtype=dtype)).alias(c)

    sites = frame.select(
        pl.col("site_code").str.strip_chars().str.to_uppercase(),
        pl.col("provider_code").str.strip_chars().str.to_uppercase(),
        "site_name",
        "provider_name",
        "provider_type",
        _bool("synthetic", frame).alias("synthetic"),
        opt("latitude", pl.Float64),
        opt("longitude", pl.Float64),
        opt("open_date", pl.Date),
        opt("close_date", pl.Date),
    )
    dupes = sites.filter(pl.col("site_code").is_duplicated())["site_code"].unique().to_list()
    if dupes:
        raise UsageError(f"{Path(path).name} lists site code(s) more than once: {', '.join(sorted(dupes)[:5])}")
    _replace(con, "ref_site", sites)
    return sites.height


def load_equipment(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Replace ref_equipment with the file's scanners; returns the row count."""
    frame = _read(path, EQUIPMENT_COLUMNS)
    equipment = frame.select(
        pl.col("site_code").str.strip_chars().str.to_uppercase(),
        pl.col("modality").str.strip_chars(),
        pl.col("scanners").cast(pl.Int32, strict=False),
        pl.col("scheduled_hours_per_week").cast(pl.Float64, strict=False),
        _bool("synthetic", frame).alias("synthetic"),
    )
    bad = equipment.filter(pl.col("scanners").is_null() | (pl.col("scanners") < 0))
    if bad.height:
        raise UsageError(f"{Path(path).name}: scanners must be a whole number ≥ 0 (site {bad['site_code'][0]})")
    _replace(con, "ref_equipment", equipment)
    return equipment.height


def _replace(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    # `table` is one of this module's constants; rows travel as an Arrow table.
    con.register("_incoming", frame.to_arrow())
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM {table}")
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_incoming")
