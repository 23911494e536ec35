"""Submission history and issue reports: right numbers, and only for whoever may see them."""

from __future__ import annotations

from datetime import date

import pytest

import didfiles
from did_model.scope import CENTRAL, Scope, ScopeError
from ingest import loader, store
from queries import submissions
from queries.connection import Snapshot


@pytest.fixture
def snap(store_dir, tmp_path):
    bad = didfiles.rows(3)
    bad[0]["gender"] = "7"
    with store.writer(store_dir) as con:
        loader.load_file(con, didfiles.write(tmp_path / "a.csv", bad), "RR8", "2026-02", date(2026, 2, 10))
        loader.load_file(con, didfiles.write(tmp_path / "b.csv", didfiles.rows(2)), "RR8", "2026-02", date(2026, 2, 25))
        store.publish(con, store_dir)
    s = Snapshot(store.current_snapshot(store_dir))
    yield s
    s.close()


def test_history_newest_first_with_verdicts(snap):
    h = submissions.history(snap, CENTRAL, "rr8")
    assert h.select("status", "timeliness", "rows_read", "rows_rejected").rows() == [
        ("accepted", "late", 2, 0),
        ("superseded", "on_time", 3, 1),
    ]


def test_issue_report_and_summary(snap):
    first = submissions.history(snap, CENTRAL, "RR8")["submission_id"][-1]
    assert submissions.issues(snap, CENTRAL, first).select("line", "code").rows() == [(2, "DIDS014")]
    assert submissions.issue_summary(snap, CENTRAL, first).rows() == [("DIDS014", "reject", "gender", 1)]


def test_another_provider_may_not_see_them(snap):
    other = Scope("provider", providers=frozenset({"RTH"}), user="rth")
    with pytest.raises(ScopeError, match="RR8"):
        submissions.history(snap, other, "RR8")
    first = submissions.history(snap, CENTRAL, "RR8")["submission_id"][0]
    with pytest.raises(ScopeError):
        submissions.issues(snap, other, first)
    assert submissions.providers(snap, other)["provider_code"].to_list() == ["RTH"]
    own = Scope("provider", providers=frozenset({"RR8"}), user="rr8")
    assert submissions.history(snap, own, "RR8").height == 2
