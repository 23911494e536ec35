"""A tiny published store, written by hand, whose headline figures are worked out below.

Used by the dashboard and browser tests (loaded by file path from their conftest.py, so it
works whatever pytest's import mode). It builds the working store from ingest/schema.sql
directly and publishes it with ingest.store.publish, which builds the rollups.

Hand-worked figures (latest accepted period March 2026, so latest complete month Feb 2026):

    activity month   Plain rad.  Ultrasound  CT  MRI  Fluoro  Unknown  total
    2025-01              4                                               4   (outside 12 months)
    2025-02              3                        2                      5   (same month last year)
    2025-06                                  2          1                3
    2025-12              2                        1                      3   (December dip)
    2026-01              4           2       1                           7
    2026-02              7           3       2    1              1      14   (this month)
    2026-03              1                                               1   (after the latest complete month)

    last 12 months (2025-03 .. 2026-02): 27 = Plain radiography 13, CT 5, Ultrasound 5, MRI 2,
    Fluoroscopy 1, Unknown 1.

GP direct access (source 04) by test group in Feb 2026: chest_xray 2, ct_chest 1,
us_abdo_pelvis 1, mri_brain 0 (its only record is an outpatient one), ct_abdo_pelvis 0 (its
record is in Jan 2026).

Providers for period 2026-03: RAJ and RBK accepted, RCF rejected (but accepted in 2025-07),
RDE last accepted 2025-01 (more than 12 periods back) -> 2 of 3.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

from ingest.store import publish, store_path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "ingest" / "schema.sql"

LATEST_PERIOD = date(2026, 3, 1)
LATEST_COMPLETE_MONTH = date(2026, 2, 1)
THIS_MONTH_TOTAL = 14
SAME_MONTH_LAST_YEAR_TOTAL = 5
LAST_12_MONTHS_TOTAL = 27
MODALITY_THIS_MONTH = {"Plain radiography": 7, "Ultrasound": 3, "CT": 2, "MRI": 1, "Unknown": 1, "Fluoroscopy": 0}
MODALITY_LAST_YEAR = {"Plain radiography": 3, "MRI": 2, "Ultrasound": 0, "CT": 0, "Fluoroscopy": 0, "Unknown": 0}
MODALITY_LAST_12 = {"Plain radiography": 13, "CT": 5, "Ultrasound": 5, "MRI": 2, "Fluoroscopy": 1, "Unknown": 1}
# by test group id, in did_model.nicip.TEST_GROUPS order
GPDA_THIS_MONTH = {"chest_xray": 2, "ct_chest": 1, "ct_abdo_pelvis": 0, "us_abdo_pelvis": 1, "mri_brain": 0}
PROVIDERS_SUBMITTING = (2, 3)

# (test date, provider, modality, patient source, test group, how many records)
RECORDS: list[tuple[date, str, str | None, str, str | None, int]] = [
    (date(2025, 1, 14), "RDE", "Plain radiography", "05", None, 4),
    (date(2025, 2, 3), "RAJ", "Plain radiography", "04", "chest_xray", 3),
    (date(2025, 2, 20), "RAJ", "MRI", "03", None, 2),
    (date(2025, 6, 11), "RCF", "CT", "01", None, 2),
    (date(2025, 6, 12), "RCF", "Fluoroscopy", "03", None, 1),
    (date(2025, 12, 8), "RBK", "Plain radiography", "05", None, 2),
    (date(2025, 12, 9), "RBK", "MRI", "03", None, 1),
    (date(2026, 1, 5), "RAJ", "Plain radiography", "05", None, 4),
    (date(2026, 1, 6), "RBK", "Ultrasound", "03", None, 2),
    (date(2026, 1, 7), "RAJ", "CT", "04", "ct_abdo_pelvis", 1),
    (date(2026, 2, 2), "RAJ", "Plain radiography", "04", "chest_xray", 2),
    (date(2026, 2, 3), "RAJ", "Plain radiography", "05", None, 3),
    (date(2026, 2, 4), "RAJ", "CT", "04", "ct_chest", 1),
    (date(2026, 2, 5), "RAJ", "CT", "01", None, 1),
    (date(2026, 2, 6), "RAJ", "MRI", "03", "mri_brain", 1),
    (date(2026, 2, 9), "RBK", "Ultrasound", "04", "us_abdo_pelvis", 1),
    (date(2026, 2, 10), "RBK", "Ultrasound", "03", None, 2),
    (date(2026, 2, 11), "RBK", "Plain radiography", "05", None, 2),
    (date(2026, 2, 12), "RBK", None, "03", None, 1),
    (date(2026, 3, 2), "RAJ", "Plain radiography", "05", None, 1),
]

# (submission id, provider, period, status, timeliness)
SUBMISSIONS: list[tuple[int, str, date, str, str]] = [
    (1, "RDE", date(2025, 2, 1), "accepted", "on_time"),
    (2, "RAJ", date(2025, 3, 1), "accepted", "on_time"),
    (3, "RCF", date(2025, 7, 1), "accepted", "on_time"),
    (4, "RBK", date(2026, 1, 1), "accepted", "on_time"),
    (5, "RAJ", date(2026, 2, 1), "accepted", "on_time"),
    (6, "RBK", date(2026, 3, 1), "superseded", "on_time"),
    (7, "RBK", date(2026, 3, 1), "accepted", "late"),
    (8, "RAJ", date(2026, 3, 1), "accepted", "on_time"),
    (9, "RCF", date(2026, 3, 1), "rejected", "on_time"),
]


def open_working_store(store_dir: Path, synthetic: bool = False) -> duckdb.DuckDBPyConnection:
    """An empty working store (schema and the shipped reference tables) at `store_dir`."""
    from ingest.reference import load_reference
    from ingest.timetable import load_timetable

    store_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(store_path(store_dir)))
    con.execute(SCHEMA.read_text())
    load_reference(con)
    load_timetable(con)
    con.execute("INSERT INTO store_meta VALUES ('schema_version', '1')")
    if synthetic:
        con.execute("INSERT INTO store_meta VALUES ('synthetic', 'true')")
    return con


def insert_submissions(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, str, date, str, str]]) -> None:
    con.executemany(
        """
        INSERT INTO submission (submission_id, provider_code, period, received_at, submitted_on,
            file_name, sha256, format, status, timeliness, rows_read, rows_accepted,
            rows_rejected, rows_with_warnings)
        VALUES (?, ?, ?, ?, ?, ?, ?, 'csv', ?, ?, 0, 0, 0, 0)
        """,
        [
            (
                sid,
                provider,
                period,
                datetime(period.year, period.month, 5, 9),
                period,
                f"DID_{provider}_{period:%Y%m}.csv",
                f"{sid:064x}",
                status,
                timeliness,
            )
            for sid, provider, period, status, timeliness in rows
        ],
    )


def insert_records(
    con: duckdb.DuckDBPyConnection,
    rows: list[tuple[date, str, str | None, str, str | None, int]],
    submission_id: int = 1,
) -> None:
    """Insert `count` records for each row, with unique accession numbers."""
    values = []
    for test_date, provider, modality, source, test_group, count in rows:
        for _ in range(count):
            n = len(values) + 1
            values.append(
                (
                    submission_id,
                    provider,
                    f"{provider}01",
                    f"ACC{n:06d}",
                    source,
                    test_date,
                    modality,
                    test_group,
                    test_date.replace(day=1),
                )
            )
    if not values:
        return
    con.executemany(
        """
        INSERT INTO record (submission_id, provider_code, site_code, accession_number,
            patient_source, test_date, modality, test_group, activity_month)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        values,
    )


def build_tiny_store(store_dir: Path, synthetic: bool = True) -> str:
    """Build and publish the hand-worked store above at `store_dir`; returns the version."""
    con = open_working_store(store_dir, synthetic=synthetic)
    try:
        insert_submissions(con, SUBMISSIONS)
        insert_records(con, RECORDS)
        return publish(con, store_dir)
    finally:
        con.close()
