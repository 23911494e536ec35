"""Uploads go through the same front door, with a safe name, and leave nothing behind."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest

import didfiles
from ingest.submit import safe_file_name, submit_bytes
from queries.scope import CENTRAL


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
    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    before = set(Path(tempfile.gettempdir()).glob("did-upload-*"))
    data = didfiles.write(tmp_path / "f.csv", didfiles.rows(2)).read_bytes()
    result = submit_bytes(
        data, "../DID_RR8_202602.csv", "RR8", "2026-02", date(2026, 2, 10), scope=CENTRAL, store_dir=store_dir
    )
    assert result.status == "accepted" and result.counts["accepted"] == 2
    assert result.file == "DID_RR8_202602.csv"
    assert set(Path(tempfile.gettempdir()).glob("did-upload-*")) == before


def test_oversized_upload_is_refused(store_dir, monkeypatch):
    monkeypatch.setattr("ingest.submit.MAX_UPLOAD_BYTES", 10)
    with pytest.raises(ValueError, match="limit"):
        submit_bytes(b"x" * 11, "f.csv", "RR8", "2026-02", scope=CENTRAL, store_dir=store_dir)
