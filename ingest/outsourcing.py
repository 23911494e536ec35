"""Outsourcing arrangements: which provider sends which of its examinations to which organisation
(ADR 0010). The central team loads them with `did reference load-outsourcing FILE`.

File format (CSV with a header row, UTF-8), one arrangement a row:
    provider_code, performing_org_code, from_month [, to_month]
The commissioning provider's and the performing organisation's ODS codes, and the first and last
activity months (YYYY-MM) the arrangement covers; no to_month: still in force. The file replaces
every arrangement loaded before; a bad file changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from did_errors import UsageError
from ingest.sites import _read, _replace

COLUMNS = ["provider_code", "performing_org_code", "from_month"]


def _month(col: str, frame: pl.DataFrame) -> pl.Expr:
    if col not in frame.columns:
        return pl.lit(None, dtype=pl.Date).alias(col)
    text = pl.col(col).str.strip_chars()
    return (
        pl.when(text.is_null() | (text == ""))
        .then(None)
        .otherwise((text + "-01").str.to_date("%Y-%m-%d", strict=False))
        .alias(col)
    )


def load_outsourcing(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Replace ref_outsourcing with the file's arrangements; returns the row count. ValueError (one
    line naming the first bad row) on a bad file."""
    name = Path(path).name
    frame = _read(path, COLUMNS)
    rows = frame.select(
        pl.col("provider_code").str.strip_chars().str.to_uppercase(),
        pl.col("performing_org_code").str.strip_chars().str.to_uppercase(),
        _month("from_month", frame),
        _month("to_month", frame),
        pl.Series(
            "raw_to", frame["to_month"] if "to_month" in frame.columns else [None] * frame.height, dtype=pl.String
        ).str.strip_chars(),
    ).with_row_index("line", offset=2)
    code = r"^[A-Z0-9]{3,5}$"
    bad = rows.filter(
        ~pl.col("provider_code").fill_null("").str.contains(code)
        | ~pl.col("performing_org_code").fill_null("").str.contains(code)
        | (pl.col("provider_code") == pl.col("performing_org_code"))
        | pl.col("from_month").is_null()
        | (pl.col("to_month").is_null() & (pl.col("raw_to").fill_null("") != ""))
        | (pl.col("to_month") < pl.col("from_month"))
    )
    if bad.height:
        raise UsageError(
            f"{name} line {bad['line'][0]}: expected two different ODS codes (3-5 letters and digits) "
            "and months YYYY-MM, to_month blank or not before from_month"
        )
    arrangements = rows.drop("line", "raw_to").unique(maintain_order=True)
    _replace(con, "ref_outsourcing", arrangements)
    return arrangements.height
