"""Local procedure codes: refused until notified, then loaded as the national code they mean."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

import did_cli
import didfiles
from ingest import loader, local_codes, store


def _load(store_dir, path):
    with store.writer(store_dir) as con:
        return loader.load_file(con, path, "RR8", "2026-02", date(2026, 2, 10))


def test_an_unnotified_local_code_is_rejected_with_how_to_notify(store_dir, tmp_path):
    result = _load(store_dir, didfiles.write(tmp_path / "f.csv", didfiles.rows(2, nicip_code="RR8CXR")))
    assert result.counts["rejected"] == 2
    issue = result.issues[0]
    assert issue["code"] == "DIDS057"
    assert "did local-codes add --provider RR8 --code <local code> --maps-to <NICIP code>" in issue["message"]
    assert "RR8CXR" not in issue["message"]  # a value from the file is never quoted (ingest/validation.py)


def test_a_notified_local_code_loads_as_its_national_code_and_is_kept(store_dir, tmp_path, capsys):
    assert (
        did_cli.main(
            [
                "local-codes",
                "add",
                "--provider",
                "RR8",
                "--code",
                "rr8cxr",
                "--maps-to",
                "XCHES",
                "--store",
                str(store_dir),
            ]
        )
        == 0
    )
    result = _load(store_dir, didfiles.write(tmp_path / "f.csv", didfiles.rows(2, nicip_code="RR8CXR")))
    assert result.counts["accepted"] == 2
    con = duckdb.connect(str(store.store_path(store_dir)), read_only=True)
    assert con.execute("SELECT DISTINCT nicip_code, local_code, modality, test_group FROM record").fetchall() == [
        ("XCHES", "RR8CXR", "Plain radiography", "chest_xray")
    ]
    con.close()
    assert did_cli.main(["local-codes", "list", "--provider", "RR8", "--store", str(store_dir)]) == 0
    assert "RR8,RR8CXR,XCHES" in capsys.readouterr().out


def test_another_providers_notification_does_not_count(store_dir, tmp_path):
    with store.writer(store_dir) as con:
        local_codes.add(con, "RTH", "RR8CXR", "XCHES")
    result = _load(store_dir, didfiles.write(tmp_path / "f.csv", didfiles.rows(1, nicip_code="RR8CXR")))
    assert result.counts["rejected"] == 1


@pytest.mark.parametrize(
    ("code", "maps_to", "words"),
    [
        ("XCHES", "XCHES", "already a national"),
        ("LOCAL1", "NOPE1", "not a national NICIP code"),
        ("x", "XCHES", "2-18 letters"),
    ],
)
def test_bad_notifications_are_refused_with_a_reason(store_dir, code, maps_to, words, capsys):
    rc = did_cli.main(
        ["local-codes", "add", "--provider", "RR8", "--code", code, "--maps-to", maps_to, "--store", str(store_dir)]
    )
    assert rc == 1
    assert words in capsys.readouterr().err


def test_removing_a_code_that_was_never_notified_says_so(store_dir, capsys):
    rc = did_cli.main(["local-codes", "remove", "--provider", "RR8", "--code", "ZZZ1", "--store", str(store_dir)])
    assert rc == 1 and "has not notified" in capsys.readouterr().err
