"""One store across the DIDS v2.0 boundary: an older store gains the v2.0 columns, and the
timestamps (finer than any date a page shows) are read by no page, export or report."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb

import didfiles
from ingest import loader, store

ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP_COLUMNS = ("procedure_start_utc", "procedure_end_utc", "report_issue_utc")


def test_a_store_made_before_v2_gains_the_v2_columns_and_keeps_its_records(store_dir, tmp_path):
    path = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(2))
    with store.writer(store_dir) as con:
        loader.load_file(con, path, "RR8", "2026-02", date(2026, 2, 10))
    con = duckdb.connect(str(store.store_path(store_dir)))  # as a store from before v2.0 was
    for column, _ in store.V2_RECORD_COLUMNS:
        con.execute(f"ALTER TABLE record DROP COLUMN {column}")
    con.execute("DROP TABLE ref_spec_pack")
    con.execute("UPDATE store_meta SET value = 'older' WHERE key = 'schema_fingerprint'")
    con.close()
    v2 = didfiles.write_v2(tmp_path / "DID_RR8_202605.csv", [didfiles.row_v2(accession_number="V2")])
    with store.writer(store_dir) as con:
        assert loader.load_file(con, v2, "RR8", "2026-05", date(2026, 5, 10)).status == "accepted"
        rows = con.execute(
            "SELECT accession_number, test_date, priority, procedure_start_utc FROM record ORDER BY accession_number"
        ).fetchall()
    assert [r[0] for r in rows] == ["ACC00001", "ACC00002", "V2"]
    assert rows[0][2:] == (None, None)  # v1.0 records: the v2.0 items are empty
    assert rows[2][1] == date(2026, 4, 5) and rows[2][2] == "1" and rows[2][3].hour == 9


def test_no_page_export_or_report_reads_the_v2_timestamps():
    """Outside ingest, only the dates derived from them (test_date, report_date) are read: a
    timestamp to the second, with the site, would single out a patient."""
    pattern = re.compile("|".join(TIMESTAMP_COLUMNS))
    readers = [
        p for d in ("queries", "dashboard") for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".sql", ".yaml")
    ]
    assert readers
    assert [str(p.relative_to(ROOT)) for p in readers if pattern.search(p.read_text(encoding="utf-8"))] == []


def test_for_a_v2_month_the_last_good_file_is_the_month_and_a_rejected_one_changes_nothing(store_dir, tmp_path):
    def send(name, records, writer=didfiles.write_v2):
        with store.writer(store_dir) as con:
            result = loader.load_file(
                con, writer(tmp_path / name / "DID_RR8_202605.csv", records), "RR8", "2026-05", date(2026, 5, 10)
            )
            held = sorted(r[0] for r in con.execute("SELECT accession_number FROM record").fetchall())
        return result, held

    first = [didfiles.row_v2(accession_number=f"A{i}") for i in range(3)]
    assert send("1", first)[1] == ["A0", "A1", "A2"]
    result, held = send("2", [didfiles.row_v2(accession_number="A1")])
    assert result.status == "accepted" and held == ["A1"]  # the month is the new file's
    result, held = send("3", [didfiles.row(accession_number="B1")], didfiles.write)  # a v1.0 file: rejected
    assert result.status == "rejected" and held == ["A1"]
