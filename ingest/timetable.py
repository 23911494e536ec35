"""When a submission is on time, and which provider-months are missing.

The real DID submission timetable is not in our sources (did-dataset.md §3.2, UNVERIFIED). We
ship a default as a data file, `data/reference/timetable/did_submission_timetable.csv`
(period, window_opens, window_closes, final_closes): the window for a period (submission month)
opens on its first day and its provisional deadline (`window_closes`) is the end of its 20th day.
The central team replaces it with the published timetable by `did reference load-timetable FILE`
(same columns; `final_closes` may be left out or blank, and the default rule below fills it).
A file received after the provisional deadline is late; a provider-month with no accepted
submission once it has passed is missing. The synthetic generator plants its late files against
the same rule.

**Final close** (`final_closes`, the day a period closes for good; did-v2.md "Submission
semantics"): NHS England uses the *last good file* for a period, and "in the first year" of DIDS
v2.0 gives six months for each final submission. So a DIDS v2.0 period (submission month
2026-05 onwards) closes six months after its provisional deadline: 2026-05 on 2026-11-20,
2027-04 on 2027-10-20. The sources say nothing of later v2.0 years, so the project keeps six
months until the published timetable says otherwise. For DIDS v1.0 periods the sources give no
final close, so there is none (null): a late v1.0 file is accepted as today. A file received
after its period's final close is refused whole, before it is read (`check_open`); one between
the two deadlines is late and, being the last good file, replaces the month.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from did_errors import UsageError
from did_model.timetable import final_closes, window_closes

if TYPE_CHECKING:
    import polars as pl

DEFAULT_FILE = (
    Path(__file__).resolve().parent.parent / "data" / "reference" / "timetable" / "did_submission_timetable.csv"
)


def read_timetable(path: Path) -> pl.DataFrame:
    """Parse and check a timetable CSV; ValueError naming the first bad row."""
    import polars as pl  # here, not at the top: `did submit` imports this module and never parses a timetable

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path} does not exist")
    frame = pl.read_csv(path, infer_schema=False)
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    missing = {"period", "window_opens", "window_closes"} - set(frame.columns)
    if missing:
        raise UsageError(f"{path.name} lacks the column(s) {', '.join(sorted(missing))}")
    if "final_closes" not in frame.columns:  # optional: older timetables have no final close
        frame = frame.with_columns(pl.lit(None, pl.String).alias("final_closes"))
    final_text = pl.col("final_closes").str.strip_chars()
    out = frame.select(
        pl.col("period").str.strip_chars().str.to_date("%Y-%m", strict=False).alias("period"),
        pl.col("window_opens").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
        pl.col("window_closes").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
        final_text.str.to_date("%Y-%m-%d", strict=False).alias("final_closes"),
        (final_text.fill_null("") != "").alias("_final_given"),
    )
    finals = []
    for i, row in enumerate(out.iter_rows(named=True), start=2):
        if None in (row["period"], row["window_opens"], row["window_closes"]) or (
            row["_final_given"] and row["final_closes"] is None
        ):
            raise UsageError(f"{path.name} line {i}: period must be YYYY-MM and windows YYYY-MM-DD")
        if row["window_closes"] < row["window_opens"]:
            raise UsageError(f"{path.name} line {i}: the window closes before it opens")
        final = row["final_closes"] if row["_final_given"] else final_closes(row["period"], row["window_closes"])
        if final is not None and final < row["window_closes"]:
            raise UsageError(
                f"{path.name} line {i}: the final close ({final}) is before the provisional "
                f"deadline ({row['window_closes']}); final_closes must be on or after window_closes"
            )
        finals.append(final)
    if out["period"].is_duplicated().any():
        raise UsageError(f"{path.name} lists a period more than once")
    return out.drop("_final_given").with_columns(pl.Series("final_closes", finals, pl.Date))


def load_timetable(con: duckdb.DuckDBPyConnection, path: Path = DEFAULT_FILE) -> int:
    """Replace ref_timetable with the file's windows (one transaction); returns the row count."""
    frame = read_timetable(path)
    con.register("_timetable", frame.to_arrow())
    try:
        con.execute("CREATE OR REPLACE TABLE ref_timetable AS SELECT * FROM _timetable")
    finally:
        con.unregister("_timetable")
    return frame.height


def add_final_closes(con: duckdb.DuckDBPyConnection) -> None:
    """Give a store's timetable from before final closes its `final_closes` column, by the default
    rule from each period's own provisional deadline (the central team's windows are kept)."""
    columns = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'ref_timetable'"
        ).fetchall()
    }
    if "final_closes" in columns:
        return
    rows = con.execute("SELECT period, window_closes FROM ref_timetable").fetchall()
    con.execute("ALTER TABLE ref_timetable ADD COLUMN final_closes DATE")
    con.executemany(
        "UPDATE ref_timetable SET final_closes = ? WHERE period = ?",
        [(final_closes(p, w), p) for p, w in rows if final_closes(p, w) is not None],
    )


def deadlines(con: duckdb.DuckDBPyConnection, period: date) -> tuple[date, date | None]:
    """(provisional deadline, final close or None) of `period`: the store's timetable, else the defaults."""
    rows = con.execute("SELECT window_closes, final_closes FROM ref_timetable WHERE period = ?", [period]).fetchall()
    if rows:
        return rows[0]
    return window_closes(period), final_closes(period)


def check_open(con: duckdb.DuckDBPyConnection, period: date, submitted_on: date) -> None:
    """SubmissionRefused for a file received after its period's final close (nothing is read or written)."""
    from ingest.ownership import SubmissionRefused

    final = deadlines(con, period)[1]
    if final is not None and submitted_on > final:
        raise SubmissionRefused(
            f"period {period:%Y-%m} closed for good on {final}, so a file received on "
            f"{submitted_on} cannot replace it; the file that counts stays as it was "
            "(ask the central data team if this month must be corrected)"
        )


def timeliness(con: duckdb.DuckDBPyConnection, period: date, submitted_on: date) -> str:
    """'on_time' or 'late' against the store's timetable (the default rule where it is silent)."""
    return "on_time" if submitted_on <= deadlines(con, period)[0] else "late"
