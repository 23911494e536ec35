"""queries.connection: the read-only door to the published snapshot."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingest.store import SCHEMA_VERSION, publish, store_path
from queries.connection import NoStoreError, Snapshot, get_snapshot

SCHEMA = Path(__file__).resolve().parents[2] / "ingest" / "schema.sql"


def add_records_and_publish(store_dir: Path, accession_numbers: list[str]) -> str:
    """Write records to the working store (creating it if needed) and publish a snapshot."""
    store_dir.mkdir(parents=True, exist_ok=True)
    new = not store_path(store_dir).exists()
    con = duckdb.connect(str(store_path(store_dir)))
    try:
        if new:
            from ingest.reference import load_reference

            con.execute(SCHEMA.read_text())
            con.execute("INSERT INTO store_meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
            load_reference(con)  # the rollups built at publish join the reference tables
        for acc in accession_numbers:
            con.execute(
                """INSERT INTO record (submission_id, provider_code, site_code, accession_number,
                       patient_source, test_date, activity_month)
                   VALUES (1, 'RAJ', 'RAJ01', ?, '03', DATE '2026-02-03', DATE '2026-02-01')""",
                [acc],
            )
        return publish(con, store_dir)
    finally:
        con.close()


def test_no_store_raises_a_clear_error(tmp_path):
    with pytest.raises(NoStoreError) as err:
        get_snapshot(tmp_path)
    assert str(err.value) == (
        f"No published store at {tmp_path}. Run `did demo` to build the demo store, "
        "or `did submit FILE` to load a provider file."
    )


def test_a_working_store_that_was_never_published_is_no_store(tmp_path):
    con = duckdb.connect(str(store_path(tmp_path)))
    con.execute(SCHEMA.read_text())
    con.close()
    with pytest.raises(NoStoreError):
        get_snapshot(tmp_path)


def test_pointer_to_a_missing_snapshot_is_no_store(tmp_path):
    (tmp_path / "CURRENT").write_text("20990101T000000000000Z.duckdb\n")
    with pytest.raises(NoStoreError):
        get_snapshot(tmp_path)


def test_default_store_dir_comes_from_the_environment(tmp_path, monkeypatch):
    version = add_records_and_publish(tmp_path, ["A1"])
    monkeypatch.setenv("DID_STORE_DIR", str(tmp_path))
    assert get_snapshot().version == version


def test_get_snapshot_switches_to_a_newer_snapshot(tmp_path):
    first_version = add_records_and_publish(tmp_path, ["A1"])
    first = get_snapshot(tmp_path)
    assert first.version == first_version
    assert get_snapshot(tmp_path) is first  # unchanged pointer: the same shared Snapshot

    second_version = add_records_and_publish(tmp_path, ["A2", "A3"])
    second = get_snapshot(tmp_path)
    assert second.version == second_version != first_version
    assert second.query("SELECT count(*) AS n FROM record")["n"][0] == 3
    assert second.meta["snapshot_version"] == second_version
    # A reader still holding the old snapshot keeps a consistent view of it.
    assert first.query("SELECT count(*) AS n FROM record")["n"][0] == 1


def test_parameters_are_bound_not_formatted(tmp_path):
    add_records_and_publish(tmp_path, ["A1", "A2"])
    snap = get_snapshot(tmp_path)
    injection = "A1' OR '1'='1"
    got = snap.query("SELECT accession_number FROM record WHERE accession_number = $acc", {"acc": injection})
    assert got.height == 0
    got = snap.query("SELECT $acc AS value", {"acc": injection})
    assert got["value"].to_list() == [injection]
    got = snap.query("SELECT accession_number FROM record WHERE accession_number = $acc", {"acc": "A1"})
    assert got["accession_number"].to_list() == ["A1"]


def test_the_snapshot_cannot_be_written(tmp_path):
    add_records_and_publish(tmp_path, ["A1"])
    snap = get_snapshot(tmp_path)
    with pytest.raises(duckdb.Error):
        snap.query("DELETE FROM record")
    with pytest.raises(duckdb.Error):
        snap.query("CREATE TABLE t AS SELECT 1")
    assert snap.query("SELECT count(*) AS n FROM record")["n"][0] == 1


def test_external_access_is_off(tmp_path):
    add_records_and_publish(tmp_path, ["A1"])
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    snap = get_snapshot(tmp_path)
    with pytest.raises(duckdb.Error, match="disabled by configuration"):
        snap.query("SELECT * FROM read_csv($p)", {"p": str(outside)})
    with pytest.raises(duckdb.Error):
        snap.query(f"COPY (SELECT 1) TO '{tmp_path / 'leak.csv'}'")
    assert not (tmp_path / "leak.csv").exists()


def test_queries_from_many_threads_each_get_their_own_cursor(tmp_path):
    add_records_and_publish(tmp_path, [f"A{i}" for i in range(50)])
    snap = get_snapshot(tmp_path)
    results: list[int] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(20):
                df = snap.query("SELECT count(*) AS n FROM record WHERE accession_number <> $a", {"a": f"A{i}"})
                results.append(int(df["n"][0]))
        except BaseException as e:  # noqa: BLE001 - collected and re-raised below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [49] * 160


def test_snapshot_reports_its_version_and_publish_time(tmp_path):
    version = add_records_and_publish(tmp_path, ["A1"])
    snap = get_snapshot(tmp_path)
    assert isinstance(snap, Snapshot)
    assert snap.version == version
    assert snap.path.name == f"{version}.duckdb"
    assert datetime.fromisoformat(snap.published_at).tzinfo is not None
