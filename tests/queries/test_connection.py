"""queries.connection: the read-only door to the published snapshot."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest.store import SCHEMA_VERSION, publish, store_path
from queries.connection import NoStoreError, QueryMemo, Snapshot, get_snapshot

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


def test_the_dashboards_snapshot_answers_a_repeated_query_from_its_memo(tmp_path):
    """get_snapshot(memo=True) keeps results: the same statement and parameters are answered
    without running again, with the same rows; another parameter value is another question."""
    add_records_and_publish(tmp_path, ["A1", "A2", "A3"])
    snap = get_snapshot(tmp_path, memo=True)
    assert snap is get_snapshot(tmp_path, memo=True) and snap is not get_snapshot(tmp_path)
    assert get_snapshot(tmp_path).memo is None  # benchmarks and commands run every query
    sql = "SELECT accession_number FROM record WHERE accession_number <> $a ORDER BY 1"
    first = snap.query(sql, {"a": "A1"})
    again = snap.query(sql, {"a": "A1"})
    assert snap.memo.hits == 1 and again.to_dicts() == first.to_dicts() == [
        {"accession_number": "A2"},
        {"accession_number": "A3"},
    ]
    assert snap.query(sql, {"a": "A2"})["accession_number"].to_list() == ["A1", "A3"]
    assert snap.memo.hits == 1


def test_a_frame_changed_in_place_does_not_change_what_the_memo_hands_out(tmp_path):
    add_records_and_publish(tmp_path, ["A1", "A2"])
    snap = get_snapshot(tmp_path, memo=True)
    sql = "SELECT accession_number, 1 AS n FROM record ORDER BY 1"
    mine = snap.query(sql)
    mine.insert_column(0, pl.Series("extra", [9, 9]))
    mine[0, "n"] = 5
    theirs = snap.query(sql)
    theirs.columns = ["x", "y"]
    assert snap.memo.hits == 1
    assert snap.query(sql).to_dicts() == [{"accession_number": "A1", "n": 1}, {"accession_number": "A2", "n": 1}]


def test_a_derived_frame_is_worked_out_once_per_snapshot_and_key(tmp_path):
    """Snapshot.remember: with the dashboard's memo the frame is worked out once for a key and
    handed out as a copy; another key is worked out again; without a memo, every time."""
    add_records_and_publish(tmp_path, ["A1", "A2"])
    calls = []

    def compute() -> pl.DataFrame:
        calls.append(1)
        return pl.DataFrame({"n": [len(calls)]})

    snap = get_snapshot(tmp_path, memo=True)
    first = snap.remember(("f", 1), compute)
    first[0, "n"] = 99  # a caller's change stays its own
    assert snap.remember(("f", 1), compute)["n"].to_list() == [1] and len(calls) == 1
    assert snap.remember(("f", 2), compute)["n"].to_list() == [2]
    plain = get_snapshot(tmp_path)
    plain.remember(("f", 1), compute)
    plain.remember(("f", 1), compute)
    assert len(calls) == 4


def test_the_memo_tells_parameter_types_apart_and_keeps_no_refused_statement(tmp_path):
    add_records_and_publish(tmp_path, ["A1"])
    snap = get_snapshot(tmp_path, memo=True)
    assert snap.query("SELECT $x AS x", {"x": True})["x"].dtype == pl.Boolean
    assert snap.query("SELECT $x AS x", {"x": 1})["x"].dtype == pl.Int32  # not the kept True
    assert snap.query("SELECT list_contains($xs, 2) AS x", {"xs": [1, 2]})["x"].item() is True
    assert snap.query("SELECT list_contains($xs, 2) AS x", {"xs": [1, 3]})["x"].item() is False
    for _ in range(2):  # refused each time: only statements that ran are kept
        with pytest.raises(duckdb.PermissionException):
            snap.query("CREATE TABLE t AS SELECT 1")
    assert snap.memo.hits == 0


def test_the_memo_keeps_at_most_its_budget_dropping_the_least_recently_used():
    memo = QueryMemo(budget=3_000, entry_limit=1_500)
    frames = {i: pl.DataFrame({"v": list(range(100))}) for i in range(4)}  # 800 bytes each
    for i in range(3):
        memo.put(("q", i), frames[i])
    assert memo.get(("q", 0)) is not None  # 0 used again: 1 is now the least recently used
    memo.put(("q", 3), frames[3])
    assert memo.get(("q", 1)) is None and memo.get(("q", 0)) is not None and memo.get(("q", 3)) is not None
    assert memo.held <= memo.budget and len(memo) == 3
    memo.put(("big",), pl.DataFrame({"v": list(range(1_000))}))  # 8,000 bytes: over the entry limit
    assert memo.get(("big",)) is None and len(memo) == 3
    assert QueryMemo.key("SELECT 1", {"x": {1: [1]}}) is not None and QueryMemo.key("SELECT 1", {"x": [{1}, []]})
    assert QueryMemo.key("SELECT 1", {"x": bytearray(b"1")}) is None  # cannot be hashed: not kept
