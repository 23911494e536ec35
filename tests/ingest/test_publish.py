"""Publishing (ADR 0006): small tables copied, `record` a view over per-provider Parquet files.

Only a provider whose records changed gets a new file; a crash before the pointer moves leaves
the current snapshot whole; pruning removes what no kept snapshot names; readers still reach no
file outside the snapshot's own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

import didfiles
import working_store
from did_model.rollups import all_rollups
from ingest import loader, store
from queries.connection import Snapshot
from snapshot_tables import assert_same_tables, snapshot_tables


@pytest.fixture(autouse=True)
def _no_grace(monkeypatch):
    """These tests are about what a publish removes once replaced snapshots are past their grace
    period (tests/ingest/test_reader_hardening.py tests the grace itself)."""
    monkeypatch.setattr(store, "SNAPSHOT_GRACE_SECONDS", 0)


def _load(store_dir, path, provider, period="2026-02", submitted_on=date(2026, 2, 10)):
    with store.writer(store_dir) as con:
        result = loader.load_file(con, path, provider, period, submitted_on)
    assert result.status == "accepted", result.file_errors
    return result


def _file(tmp_path, name, provider, n, start=1, **changes):
    """n valid records of `provider` (its site <provider>01), accession numbers from `start`.

    Each provider's records are of its own patient: one patient's examination on one day at two
    providers would be an outsourced examination submitted twice, counted once (ADR 0010).
    """
    changes.setdefault("nhs_number", didfiles.nhs_number(int.from_bytes(provider.encode()) % 1_000_000))
    recs = [
        didfiles.row(site_code=f"{provider}01", accession_number=f"{provider}{i:05d}", **changes)
        for i in range(start, start + n)
    ]
    return didfiles.write(tmp_path / name, recs)


def _publish(store_dir, timings=None) -> str:
    with store.writer(store_dir) as con:
        return store.publish(con, store_dir, timings)


@contextlib.contextmanager
def _snapshot(store_dir):
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        yield snap
    finally:
        snap.close()


_working = working_store.rows


def _partitions(store_dir) -> dict[str, str]:
    with _snapshot(store_dir) as snap:
        rows = snap.query("SELECT provider_code, file FROM record_partition").rows()
    return dict(rows)


def _parquet_files(store_dir) -> set[str]:
    return {p.relative_to(store_dir).as_posix() for p in (store_dir / store.RECORDS).rglob("*") if p.is_file()}


def _assert_snapshot_equals_working_store(store_dir):
    working = _working(store_dir, "SELECT * FROM record ORDER BY ALL")
    with _snapshot(store_dir) as snap:
        published = snap.query("SELECT * FROM record ORDER BY ALL").rows()
    assert published == working
    return working


@pytest.fixture
def two_providers(store_dir, tmp_path):
    """RR8 with 4 records and RTH with 3, published once."""
    _load(store_dir, _file(tmp_path, "rr8.csv", "RR8", 4), "RR8")
    _load(store_dir, _file(tmp_path, "rth.csv", "RTH", 3), "RTH")
    _publish(store_dir)
    return store_dir


def test_snapshot_holds_every_table_but_record_and_quarantine_and_a_record_view_of_the_same_shape(two_providers):
    store_dir = two_providers
    version = store.current_snapshot(store_dir).stem
    assert _partitions(store_dir) == {p: f"records/{p}/{version}.parquet" for p in ("RR8", "RTH")}
    assert _parquet_files(store_dir) == {f"records/{p}/{version}.parquet" for p in ("RR8", "RTH")}
    working_tables = {
        r[0] for r in _working(store_dir, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
    }
    assert "submission" in working_tables and "ref_site" in working_tables
    assert not any(t.startswith("rollup_") for t in working_tables)  # built straight into the snapshot
    with _snapshot(store_dir) as snap:
        tables = set(snap.query("SELECT table_name FROM duckdb_tables() WHERE database_name = 'snap'")["table_name"])
        views = snap.query("SELECT view_name FROM duckdb_views() WHERE database_name = 'snap' AND NOT internal")
        # quarantine (raw rejected rows, identifiers included) never leaves the working store
        assert "quarantine" in working_tables
        snapshot_only = {"record_partition", "record_month", "issue_submission", "snapshot_content"}
        working_only = {"record", "quarantine", "duplicate_search", "record_fingerprint"}  # the last two: bookkeeping
        assert tables == working_tables - working_only | snapshot_only | set(all_rollups())
        assert views["view_name"].to_list() == ["record"]
        assert snap.query("SELECT sum(records) AS n FROM rollup_activity")["n"][0] == 7
        for table in sorted(working_tables - working_only):
            n = snap.query(f"SELECT count(*) AS n FROM {table}")["n"][0]  # noqa: S608 - catalogue names
            assert n == _working(store_dir, f"SELECT count(*) FROM {table}")[0][0], table  # noqa: S608
        shape = snap.query(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = 'snap' AND table_name = 'record' ORDER BY column_index"
        ).rows()
    assert shape == _working(
        store_dir,
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'record' ORDER BY column_index",
    )
    assert len(shape) > 20 and ("activity_month", "DATE") in shape and ("age_at_test", "SMALLINT") in shape
    assert len(_assert_snapshot_equals_working_store(store_dir)) == 7
    assert not list((store_dir / store.SNAPSHOTS).glob("*.wal"))


def test_an_empty_store_publishes_an_empty_record_view_of_the_same_shape(store_dir):
    _publish(store_dir)
    assert _partitions(store_dir) == {}
    with _snapshot(store_dir) as snap:
        assert snap.query("SELECT count(*) AS n FROM record")["n"][0] == 0
        shape = snap.query(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = 'snap' AND table_name = 'record' ORDER BY column_index"
        ).rows()
    assert shape == _working(
        store_dir,
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'record' ORDER BY column_index",
    )


def test_only_the_changed_provider_gets_a_new_file(two_providers, tmp_path):
    store_dir = two_providers
    first = _partitions(store_dir)
    rr8_stat = os.stat(store_dir / first["RR8"])
    _load(
        store_dir,
        _file(tmp_path, "rth2.csv", "RTH", 2, start=10),
        "RTH",
        period="2026-03",
        submitted_on=date(2026, 3, 5),
    )
    timings: dict = {}
    version = _publish(store_dir, timings)
    second = _partitions(store_dir)
    assert second["RR8"] == first["RR8"]  # reused: the same file
    assert os.stat(store_dir / second["RR8"]).st_mtime_ns == rr8_stat.st_mtime_ns
    assert second["RTH"] == f"records/RTH/{version}.parquet" != first["RTH"]
    assert (timings["partitions_written"], timings["partitions_total"]) == (1, 2)
    assert {"rollups", "partitions", "snapshot", "prune"} <= timings.keys()
    each = timings.pop("rollup_seconds")  # seconds per rollup: those refreshed or built
    assert all(v >= 0 for v in timings.values()) and all(v >= 0 for v in each.values())
    assert len(each) == timings["rollups_refreshed"] + timings["rollups_built"]
    rows = _assert_snapshot_equals_working_store(store_dir)
    assert len(rows) == 9


def test_publishing_with_nothing_changed_reuses_every_file(two_providers):
    store_dir = two_providers
    first = _partitions(store_dir)
    files = _parquet_files(store_dir)
    _publish(store_dir)
    assert _partitions(store_dir) == first
    assert _parquet_files(store_dir) == files


def test_a_superseding_file_and_a_replaced_record_are_reflected(two_providers, tmp_path):
    store_dir = two_providers
    # RR8 sends its February file again with two records: the four earlier ones leave.
    _load(store_dir, _file(tmp_path, "rr8-again.csv", "RR8", 2), "RR8", submitted_on=date(2026, 2, 12))
    _publish(store_dir)
    rows = _assert_snapshot_equals_working_store(store_dir)
    assert sum(1 for r in rows if r[1] == "RR8") == 2
    # RTH corrects one record in its March file: same count, a later submission, new report date.
    before = _partitions(store_dir)
    corrected = didfiles.row(site_code="RTH01", accession_number="RTH00002", report_date="2026-01-09")
    _load(
        store_dir,
        didfiles.write(tmp_path / "rth-mar.csv", [corrected]),
        "RTH",
        period="2026-03",
        submitted_on=date(2026, 3, 5),
    )
    assert _working(store_dir, "SELECT count(*) FROM record WHERE provider_code = 'RTH'") == [(3,)]
    _publish(store_dir)
    after = _partitions(store_dir)
    assert after["RR8"] == before["RR8"] and after["RTH"] != before["RTH"]
    _assert_snapshot_equals_working_store(store_dir)
    with _snapshot(store_dir) as snap:
        got = snap.query("SELECT report_date FROM record WHERE accession_number = 'RTH00002'").rows()
    assert got == [(date(2026, 1, 9),)]


def test_a_provider_without_records_gets_no_file_and_its_old_file_is_pruned(two_providers):
    store_dir = two_providers
    old_rth = _partitions(store_dir)["RTH"]
    with store.writer(store_dir) as con:
        con.execute("DELETE FROM record WHERE provider_code = 'RTH'")
        store.publish(con, store_dir)
    assert set(_partitions(store_dir)) == {"RR8"}
    _assert_snapshot_equals_working_store(store_dir)
    assert (store_dir / old_rth).exists()  # the snapshot before still names it
    _publish(store_dir)
    assert not (store_dir / old_rth).exists()
    assert not (store_dir / "records" / "RTH").exists()


def test_prune_keeps_two_snapshots_and_only_the_files_they_name(two_providers, tmp_path):
    store_dir = two_providers
    rr8 = _partitions(store_dir)["RR8"]
    rth_files = [_partitions(store_dir)["RTH"]]
    stale = [
        store_dir / "records" / "RR8" / ".20200101T000000000000Z.parquet.partial",
        store_dir / "records" / "RR8" / "20200101T000000000000Z.parquet",
        store_dir / "snapshots" / ".20200101T000000000000Z.partial",
    ]
    for path in stale:
        path.write_bytes(b"left over")
    for i in range(2):
        _load(
            store_dir,
            _file(tmp_path, f"rth{i}.csv", "RTH", 1, start=20 + i),
            "RTH",
            period=f"2026-0{3 + i}",
            submitted_on=date(2026, 3 + i, 5),
        )
        _publish(store_dir)
        rth_files.append(_partitions(store_dir)["RTH"])
    assert len(set(rth_files)) == 3
    assert _parquet_files(store_dir) == {rr8, rth_files[1], rth_files[2]}
    assert len(list((store_dir / "snapshots").iterdir())) == 2
    assert not any(p.exists() for p in stale)
    # the snapshot before the current one is still complete
    previous = sorted((store_dir / "snapshots").glob("*.duckdb"))[0]
    snap = Snapshot(previous)
    try:
        assert snap.query("SELECT count(*) AS n FROM record")["n"][0] == 8
    finally:
        snap.close()
    _assert_snapshot_equals_working_store(store_dir)


def _crash_after_the_first_partition(monkeypatch):
    real = store._fsync
    calls = []

    def fsync(path):
        real(path)
        calls.append(path)
        if str(path).endswith(".parquet.partial"):
            raise OSError("power cut")

    monkeypatch.setattr(store, "_fsync", fsync)


def _crash_after_the_partitions(monkeypatch):
    def write_snapshot(*args, **kwargs):
        raise OSError("power cut")

    monkeypatch.setattr(store, "_write_snapshot", write_snapshot)


def _crash_before_the_pointer_moves(monkeypatch):
    real = store._write_snapshot

    def write_snapshot(*args, **kwargs):
        real(*args, **kwargs)  # the new snapshot file is complete ...
        raise OSError("power cut")  # ... and CURRENT still names the old one

    monkeypatch.setattr(store, "_write_snapshot", write_snapshot)


@pytest.mark.parametrize(
    "crash", [_crash_after_the_first_partition, _crash_after_the_partitions, _crash_before_the_pointer_moves]
)
def test_a_crash_before_the_pointer_moves_leaves_the_old_snapshot_current_and_complete(
    two_providers, tmp_path, monkeypatch, crash
):
    store_dir = two_providers
    old_pointer = (store_dir / "CURRENT").read_text()
    with _snapshot(store_dir) as snap:
        old_rows = snap.query("SELECT * FROM record ORDER BY ALL").rows()
    old_files = _parquet_files(store_dir)
    _load(
        store_dir,
        _file(tmp_path, "rr8-mar.csv", "RR8", 2, start=30),
        "RR8",
        period="2026-03",
        submitted_on=date(2026, 3, 5),
    )
    _load(
        store_dir,
        _file(tmp_path, "rth-mar.csv", "RTH", 2, start=30),
        "RTH",
        period="2026-03",
        submitted_on=date(2026, 3, 5),
    )
    crash(monkeypatch)
    with pytest.raises(OSError, match="power cut"):
        _publish(store_dir)
    monkeypatch.undo()
    assert (store_dir / "CURRENT").read_text() == old_pointer
    assert old_files <= _parquet_files(store_dir)
    with _snapshot(store_dir) as snap:
        assert snap.query("SELECT * FROM record ORDER BY ALL").rows() == old_rows
    assert len(old_rows) == 7
    # The next publish completes and clears what the crashed one left behind.
    version = _publish(store_dir)
    assert _parquet_files(store_dir) == old_files | {f"records/{p}/{version}.parquet" for p in ("RR8", "RTH")}
    assert sorted(p.name for p in (store_dir / "snapshots").iterdir()) == [old_pointer.strip(), f"{version}.duckdb"]
    assert len(_assert_snapshot_equals_working_store(store_dir)) == 11


def test_a_snapshot_from_before_partitions_is_followed_by_a_full_write(store_dir, tmp_path):
    """A store published by the full-copy code (ADR 0001): its snapshot's `record` is a table."""
    _load(store_dir, _file(tmp_path, "rr8.csv", "RR8", 2), "RR8")
    with store.writer(store_dir) as con:  # that code built the rollups in the working store
        con.execute("CREATE TABLE rollup_activity AS SELECT 'stale' AS provider_code")
        con.execute("DELETE FROM store_meta WHERE key = 'schema_fingerprint'")  # that code recorded none
    (store_dir / "snapshots").mkdir()
    old = store_dir / "snapshots" / "20200101T000000000000Z.duckdb"
    old.write_bytes(store.store_path(store_dir).read_bytes())
    (store_dir / "CURRENT").write_text(old.name + "\n")
    version = _publish(store_dir)
    assert _partitions(store_dir) == {"RR8": f"records/RR8/{version}.parquet"}
    _assert_snapshot_equals_working_store(store_dir)
    assert _working(store_dir, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'rollup%'") == [(0,)]
    with _snapshot(store_dir) as snap:
        assert snap.query("SELECT sum(records) AS n FROM rollup_activity")["n"][0] == 2


def test_a_store_made_again_in_the_same_directory_reuses_no_file(store_dir, tmp_path):
    """Submission ids start again at 1, so the same file gives the same fingerprint."""
    path = _file(tmp_path, "rr8.csv", "RR8", 2)
    _load(store_dir, path, "RR8")
    first = _publish(store_dir)
    store.store_path(store_dir).unlink()
    store.create_store(store_dir)
    _load(store_dir, path, "RR8")
    second = _publish(store_dir)
    assert _partitions(store_dir) == {"RR8": f"records/RR8/{second}.parquet"} != {"RR8": f"records/RR8/{first}.parquet"}
    _assert_snapshot_equals_working_store(store_dir)


def test_a_provider_code_that_is_not_a_safe_directory_name_is_refused(two_providers):
    store_dir = two_providers
    old_pointer = (store_dir / "CURRENT").read_text()
    with store.writer(store_dir) as con:
        con.execute("""INSERT INTO record (submission_id, provider_code, site_code, accession_number,
                           patient_source, test_date, activity_month)
                       VALUES (999, '../X', 'X01', 'A1', '03', DATE '2026-02-03', DATE '2026-02-01')""")
        with pytest.raises(store.StoreError, match="not 1-16 letters and digits"):
            store.publish(con, store_dir)
    assert (store_dir / "CURRENT").read_text() == old_pointer
    assert not (store_dir / "X").exists()  # where records/../X/<version>.parquet would have gone


def test_readers_reach_the_snapshots_files_and_no_other(two_providers, tmp_path):
    store_dir = two_providers
    outside = tmp_path / "outside.csv"
    outside.write_text("a\n1\n")
    planted = store_dir / "records" / "RR8" / "planted.parquet"
    duckdb.sql(f"COPY (SELECT 1 AS a) TO '{planted}' (FORMAT parquet)")
    published = store_dir / _partitions(store_dir)["RR8"]
    size = published.stat().st_size
    with _snapshot(store_dir) as snap:
        assert snap.query("SELECT count(*) AS n FROM record")["n"][0] == 7
        for sql in ("SELECT * FROM read_csv($p)", "SELECT * FROM read_parquet($p)"):
            path = outside if "csv" in sql else planted
            with pytest.raises(duckdb.Error, match="disabled by configuration"):
                snap.query(sql, {"p": str(path)})
        with pytest.raises(duckdb.Error):
            snap.query(f"COPY (SELECT 1) TO '{published}' (FORMAT csv, USE_TMP_FILE false)")
        with pytest.raises(duckdb.Error):
            snap.query(f"COPY (SELECT 1) TO '{store_dir / 'records' / 'leak.csv'}'")
        with pytest.raises(duckdb.Error):
            snap.query(f"ATTACH '{store_dir / 'records' / 'new.duckdb'}' AS x")
        with pytest.raises(duckdb.Error):
            snap.query("SELECT 1; SELECT 2")
        assert snap.query("DESCRIBE record").height > 20  # DESCRIBE parses as a SELECT
    assert published.stat().st_size == size
    assert not (store_dir / "records" / "leak.csv").exists() and not (store_dir / "records" / "new.duckdb").exists()


def test_the_checking_connection_and_a_plain_attach_read_the_record_view(two_providers):
    store_dir = two_providers
    con = store.checking_connection(store_dir)
    try:
        assert con.execute("SELECT count(*) FROM record").fetchall() == [(7,)]
    finally:
        con.close()
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS snap (READ_ONLY)", [str(store.current_snapshot(store_dir))])
        assert con.execute("SELECT count(DISTINCT provider_code) FROM snap.record").fetchall() == [(2,)]
    finally:
        con.close()


def test_the_view_names_absolute_paths_so_readers_need_not_run_in_the_store(two_providers, monkeypatch):
    store_dir = two_providers
    monkeypatch.chdir("/")
    with _snapshot(store_dir) as snap:
        assert snap.query("SELECT count(*) AS n FROM record")["n"][0] == 7
        paths = snap.query("SELECT path FROM record_partition")["path"].to_list()
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in paths)


BLOCK_BYTES = 256 * 1024  # DuckDB's block


def _assert_same_as_built_from_scratch(store_dir, tmp_path):
    """The naive way: the same working store published with no snapshot before it.

    A rollup refreshed in place (ADR 0011) may hold two blocks more than one built afresh (its
    rows for the changed keys in a row group of their own, the deleted rows' space kept free).
    """
    fresh = tmp_path / f"fresh{len(list(tmp_path.glob('fresh*')))}"
    shutil.copytree(store_dir, fresh, ignore=shutil.ignore_patterns("snapshots", "records", "CURRENT"))
    timings: dict = {}
    _publish(fresh, timings)
    assert timings["tables_kept"] == 0 and timings["rollups_refreshed"] == 0
    # The copy does not grow with every publish: dropped tables' space is reused.
    assert (
        store.current_snapshot(store_dir).stat().st_size
        <= 1.25 * store.current_snapshot(fresh).stat().st_size + len(all_rollups()) * 2 * BLOCK_BYTES
    )
    built_on_previous = snapshot_tables(store.current_snapshot(store_dir))
    assert_same_tables(built_on_previous, snapshot_tables(store.current_snapshot(fresh)))
    return built_on_previous


def test_a_snapshot_built_on_the_previous_one_equals_one_built_from_scratch(two_providers, tmp_path):
    store_dir = two_providers
    # A load changes records, submissions and issues, not reference data: the reference tables
    # and the rollup built from reference data alone are kept from the previous snapshot.
    _load(
        store_dir,
        _file(tmp_path, "rth-mar.csv", "RTH", 2, start=30),
        "RTH",
        period="2026-03",
        submitted_on=date(2026, 3, 5),
    )
    timings: dict = {}
    _publish(store_dir, timings)
    reference = _working(store_dir, "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'ref_%'")[0][0]
    assert timings["tables_kept"] >= reference + 1  # + rollup_variation_imd_population
    first = _assert_same_as_built_from_scratch(store_dir, tmp_path)
    # A reference change (a practice's list size) is published, with the rollups that read it.
    with store.writer(store_dir) as con:
        con.execute(
            "UPDATE ref_practice SET list_size = list_size + 5000 "
            "WHERE practice_code = (SELECT min(practice_code) FROM ref_practice WHERE list_size > 0)"
        )
    _publish(store_dir, timings)
    second = _assert_same_as_built_from_scratch(store_dir, tmp_path)
    assert second["ref_practice"] != first["ref_practice"]
    assert second["rollup_variation_imd_population"] != first["rollup_variation_imd_population"]
    assert second["rollup_activity"] == first["rollup_activity"]  # no record changed
    # Nothing changed at all: every table and rollup is kept, and the file does not grow.
    size = store.current_snapshot(store_dir).stat().st_size
    for _ in range(3):
        _publish(store_dir, timings)
    assert _assert_same_as_built_from_scratch(store_dir, tmp_path) == second
    assert store.current_snapshot(store_dir).stat().st_size <= size * 1.5


def test_the_writer_holds_duckdb_to_a_memory_limit(store_dir):
    """DuckDB's default is 80% of the machine; at national scale the duplicate search at publish
    then took 20 GB of 24. The writer's connection is held to WRITER_MEMORY_LIMIT, so it spills."""
    with store.writer(store_dir) as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        spill = con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
    assert Path(spill) == store_dir / store.SPILL_DIR  # beside the store, not wherever `did` ran
    number, unit = limit.split()
    assert unit in ("GiB", "GB") and 5 <= float(number) <= 6, limit
