"""When a submission is on time, and which provider-months are missing.

The real DID submission timetable is not in our sources (did-dataset.md §3.2, UNVERIFIED). We
ship a default as a data file, `data/reference/timetable/did_submission_timetable.csv`
(period, window_opens, window_closes): the window for a period (submission month) opens on
its first day and closes at the end of its 20th day. The central team replaces it with the
published timetable by `did reference load-timetable FILE` (same columns). A file received
after its window closes is late; a provider-month with no accepted submission once its window
has closed is missing. The synthetic generator plants its late files against the same rule.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import polars as pl

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "reference" / "timetable" / \
    "did_submission_timetable.csv"
DEFAULT_CLOSE_DAY = 20


def window_closes(period: date) -> date:
    """The default rule, for periods the timetable does not list."""
    return period.replace(day=DEFAULT_CLOSE_DAY)


def read_timetable(path: Path) -> pl.DataFrame:
    """Parse and check a timetable CSV; ValueError naming the first bad row."""
    import polars as pl  # here, not at the top: `did submit` imports this module and never parses a timetable

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist")
    frame = pl.read_csv(path, infer_schema=False)
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = {"period", "window_opens", "window_closes"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path.name} lacks the column(s) {', '.join(sorted(missing))}")
    out = frame.select(
        pl.col("period").str.strip_chars().str.to_date("%Y-%m", strict=False).alias("period"),
        pl.col("window_opens").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
        pl.col("window_closes").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
    )
    for i, row in enumerate(out.iter_rows(named=True), start=2):
        if None in row.values():
            raise ValueError(f"{path.name} line {i}: period must be YYYY-MM and windows YYYY-MM-DD")
        if row["window_closes"] < row["window_opens"]:
            raise ValueError(f"{path.name} line {i}: the window closes before it opens")
    if out["period"].is_duplicated().any():
        raise ValueError(f"{path.name} lists a period more than once")
    return out


def load_timetable(con: duckdb.DuckDBPyConnection, path: Path = DEFAULT_FILE) -> int:
    """Replace ref_timetable with the file's windows (one transaction); returns the row count."""
    frame = read_timetable(path)
    con.register("_timetable", frame.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TABLE ref_timetable AS SELECT * FROM _timetable")
    finally:
        con.unregister("_timetable")
    return frame.height


def timeliness(con: duckdb.DuckDBPyConnection, period: date, submitted_on: date) -> str:
    """'on_time' or 'late' against the store's timetable (the default rule where it is silent)."""
    rows = con.execute("SELECT window_closes FROM ref_timetable WHERE period = ?", [period]).fetchall()
    closes = rows[0][0] if rows else window_closes(period)
    return "on_time" if submitted_on <= closes else "late"
