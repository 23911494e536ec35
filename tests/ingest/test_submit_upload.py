"""Uploads go through the same front door, with a safe name, and leave nothing behind."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest

import didfiles
from did_model.scope import CENTRAL
from ingest.submit import safe_file_name, submit_bytes


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("DID_RR8_202602.csv", "DID_RR8_202602.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\DID file (2).CSV", "DID_file_2.CSV"),
        ("a" * 500 + ".csv", "a" * 100 + ".csv"),
        ("", "upload"),
        ("=cmd|' /C calc'!A0.csv", "C_calc_A0.csv"),
    ],
)
def test_file_names_are_sanitised(name, safe):
    assert safe_file_name(name) == safe


def test_submit_bytes_loads_and_cleans_up(store_dir, tmp_path, monkeypatch):
    """The upload's temporary folder is gone afterwards. The test watches its own folder (a private
    temporary root) rather than the machine's /tmp: other test workers upload at the same time."""
    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own_tmp))
    made: list[Path] = []
    mkdtemp = tempfile.mkdtemp

    def watched(*args, **kwargs):
        made.append(Path(mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(tempfile, "mkdtemp", watched)
    data = didfiles.write(tmp_path / "f.csv", didfiles.rows(2)).read_bytes()
    result = submit_bytes(
        data, "../DID_RR8_202602.csv", "RR8", "2026-02", date(2026, 2, 10), scope=CENTRAL, store_dir=store_dir
    )
    assert result.status == "accepted" and result.counts["accepted"] == 2
    assert result.file == "DID_RR8_202602.csv"
    assert [p.parent for p in made if p.name.startswith("did-upload-")] == [own_tmp]  # the upload was written here
    assert not any(own_tmp.glob("did-upload-*"))


def test_the_verdict_is_heard_before_the_publish_starts(store_dir, tmp_path, monkeypatch):
    """The Submit page shows a file's verdict as soon as it is loaded: publishing a national store
    takes seconds more, and the submitter should not wait for it to learn what was wrong."""
    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    heard: list[str] = []
    data = didfiles.write(tmp_path / "f.csv", didfiles.rows(3)).read_bytes()
    result = submit_bytes(
        data,
        "DID_RR8_202602.csv",
        "RR8",
        "2026-02",
        date(2026, 2, 10),
        scope=CENTRAL,
        store_dir=store_dir,
        progress=heard.append,
        verdict=lambda r: heard.append(f"verdict: {r.status}, {r.counts['accepted']} accepted"),
    )
    at = heard.index("verdict: accepted, 3 accepted")
    assert heard[at - 1] == "loading the accepted records"
    assert heard[at + 1 :] and all(not step.startswith("verdict") for step in heard[at + 1 :])  # the publish's steps
    assert result.counts["accepted"] == 3


def test_one_file_into_a_published_store_is_published_within_the_lower_memory_limit(store_dir, tmp_path, monkeypatch):
    """A resubmission into the national store must fit in 2 GB (issue 22): once a store is
    published, a single file's load and publish run under `ONE_FILE_MEMORY_LIMIT`; a first
    publish (every rollup built) keeps the writer's larger limit."""
    from ingest import store, submit

    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    limits: list[str] = []
    publish = store.publish

    def watched(con, *args, **kwargs):
        limits.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        return publish(con, *args, **kwargs)

    monkeypatch.setattr(store, "publish", watched)
    first = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(2))
    submit_bytes(
        first.read_bytes(), first.name, "RR8", "2026-02", date(2026, 3, 10), scope=CENTRAL, store_dir=store_dir
    )
    second = didfiles.write(tmp_path / "DID_RR8_202603.csv", didfiles.rows(2))
    with store.writer(store_dir) as con:
        submit.load_and_publish(con, store_dir, second, "RR8", "2026-03", date(2026, 3, 10))
        after = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    as_bytes = {"1GB": "953.6 MiB", "6GB": "5.5 GiB"}  # how DuckDB reports each limit
    assert limits == [as_bytes[store.WRITER_MEMORY_LIMIT], as_bytes[submit.ONE_FILE_MEMORY_LIMIT]]
    assert after == as_bytes[store.WRITER_MEMORY_LIMIT]  # the connection is given back as it was


def test_oversized_upload_is_refused(store_dir, monkeypatch):
    monkeypatch.setattr("ingest.submit.MAX_UPLOAD_BYTES", 10)
    with pytest.raises(ValueError, match="limit"):
        submit_bytes(b"x" * 11, "f.csv", "RR8", "2026-02", scope=CENTRAL, store_dir=store_dir)


def test_one_file_into_a_published_store_leaves_the_working_store_uncheckpointed_and_whole(
    store_dir, tmp_path, monkeypatch
):
    """The working store's checkpoint after one file (seconds at national scale) is left to DuckDB
    (ADR 0015): the file's changes stay in the write-ahead log when the writer closes, the next
    writer replays them, and nothing of them is lost to the store or its next snapshot. A first
    publish still checkpoints."""
    import duckdb

    from ingest import store, submit

    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    wal = store.store_path(store_dir).with_name(store.STORE_FILE + ".wal")
    first = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(3))
    submit_bytes(
        first.read_bytes(), first.name, "RR8", "2026-02", date(2026, 3, 10), scope=CENTRAL, store_dir=store_dir
    )
    assert not wal.exists()  # the first publish: checkpointed
    second = didfiles.write(tmp_path / "DID_RR8_202603.csv", [didfiles.row(accession_number=f"NEW{i}") for i in (1, 2)])
    with store.writer(store_dir) as con:
        assert (
            submit.load_and_publish(con, store_dir, second, "RR8", "2026-03", date(2026, 3, 11)).counts["accepted"] == 2
        )
    assert wal.exists() and wal.stat().st_size < 16 * 2**20
    with store.writer(store_dir) as con:  # replayed: the file is there, in `record` and its fingerprints
        assert con.execute("SELECT count(*), count(DISTINCT submission_id) FROM record").fetchall() == [(5, 2)]
        assert con.execute("SELECT sum(rows) FROM record_fingerprint").fetchall() == [(5,)]
        store.publish(con, store_dir)  # a publish of its own checkpoints
    assert not wal.exists()
    snap = duckdb.connect()
    try:
        snap.execute("ATTACH ? AS s (READ_ONLY)", [str(store.current_snapshot(store_dir))])
        assert snap.execute("SELECT sum(records) FROM s.main.rollup_activity").fetchall() == [(5,)]
    finally:
        snap.close()
