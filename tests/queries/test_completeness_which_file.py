"""Which file counts (issue 19): the last good file now, the one that counted at the provisional
deadline, and whether a month's figures are provisional or final — a v1.0 and a v2.0 month side by side."""

from __future__ import annotations

import argparse
import shutil
from datetime import date, datetime

import duckdb
import pytest

from did_model.scope import CENTRAL, Scope
from ingest.store import publish, store_path
from queries import completeness
from queries.connection import get_snapshot
from queries.exports import registry

APR, MAY, JUN = date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)
# (id, provider, period, status, submitted_on)
SUBMISSIONS = [
    (1, "RAA", MAY, "superseded", date(2026, 5, 10)),  # counted at the deadline (20 May)...
    (2, "RAA", MAY, "accepted", date(2026, 6, 2)),  # ...then a late file replaced the month
    (3, "RAA", APR, "accepted", date(2026, 4, 8)),  # a v1.0 month: no final close
    (4, "RBB", MAY, "accepted", date(2026, 5, 12)),
    (5, "RBB", MAY, "rejected", date(2026, 5, 19)),  # rejected whole: changes nothing
    (6, "RBB", JUN, "accepted", date(2026, 6, 25)),  # late, alone: nothing counted at the deadline
]


@pytest.fixture(scope="module")
def snap(tmp_path_factory, empty_store_template):
    store_dir = tmp_path_factory.mktemp("which_file") / "store"
    shutil.copytree(empty_store_template, store_dir)
    con = duckdb.connect(str(store_path(store_dir)))
    con.executemany(
        "INSERT INTO submission (submission_id, provider_code, period, received_at, submitted_on, file_name, sha256, "
        "format, status, timeliness, rows_read, rows_accepted, rows_rejected, rows_with_warnings) "
        "VALUES (?, ?, ?, ?, ?, ?, 'x', 'csv', ?, 'on_time', 1, 1, 0, 0)",
        [
            (sid, p, per, datetime.combine(on, datetime.min.time()), on, f"DID_{p}_{per:%Y%m}_{sid}.csv", st)
            for sid, p, per, st, on in SUBMISSIONS
        ],
    )
    con.execute("DELETE FROM ref_timetable WHERE period = ?", [JUN])  # unlisted: the default rule
    publish(con, store_dir)
    con.close()
    return get_snapshot(store_dir)


def _rows(frame):
    return {
        (r["provider_code"], r["period"]): (r["counts_file"], r["deadline_file"], r["final_closes"], r["period_state"])
        for r in frame.iter_rows(named=True)
    }


def test_before_the_deadline_only_the_file_that_counts_now(snap):
    """The store holds what it holds now; while the deadline is ahead nothing counted at it yet."""
    got = _rows(completeness.files_that_count(snap, CENTRAL, MAY, MAY, as_of=date(2026, 5, 15)))
    assert got == {
        ("RAA", MAY): ("DID_RAA_202605_2.csv", None, date(2026, 11, 20), "provisional"),
        ("RBB", MAY): ("DID_RBB_202605_4.csv", None, date(2026, 11, 20), "provisional"),
    }


def test_after_the_deadline_the_file_that_counted_then_and_now(snap):
    got = _rows(completeness.files_that_count(snap, CENTRAL, APR, JUN, as_of=date(2026, 7, 1)))
    assert got == {
        ("RAA", APR): ("DID_RAA_202604_3.csv", "DID_RAA_202604_3.csv", None, "provisional"),
        ("RAA", MAY): ("DID_RAA_202605_2.csv", "DID_RAA_202605_1.csv", date(2026, 11, 20), "provisional"),
        ("RBB", MAY): ("DID_RBB_202605_4.csv", "DID_RBB_202605_4.csv", date(2026, 11, 20), "provisional"),
        ("RBB", JUN): ("DID_RBB_202606_6.csv", None, date(2026, 12, 20), "provisional"),
    }


def test_after_the_final_close_a_v2_month_is_final_and_a_v1_month_stays_provisional(snap):
    got = _rows(completeness.files_that_count(snap, CENTRAL, APR, MAY, as_of=date(2026, 11, 21)))
    assert got[("RAA", MAY)][3] == got[("RBB", MAY)][3] == "final"
    assert got[("RAA", APR)][2:] == (None, "provisional")


def test_a_provider_sees_its_own_and_the_matrix_carries_the_columns(snap):
    mine = completeness.files_that_count(
        snap, Scope("provider", providers=frozenset({"RBB"}), user="rbb"), APR, JUN, as_of=date(2026, 7, 1)
    )
    assert set(mine["provider_code"]) == {"RBB"}
    matrix = completeness.provider_months(snap, CENTRAL, MAY, MAY, as_of=date(2026, 7, 1))
    assert set(completeness.WHICH_FILE_COLUMNS) <= set(matrix.columns)
    assert matrix.filter(matrix["provider_code"] == "RAA")["deadline_submission_id"].to_list() == [1]


def test_the_pre_publication_check_names_the_file_that_counted_at_the_deadline(snap):
    findings = completeness.pre_publication(snap, CENTRAL, MAY, as_of=date(2026, 7, 1))
    resubmitted = findings.filter(findings["check"] == "resubmitted")
    assert resubmitted["provider_code"].to_list() == ["RAA"]
    assert resubmitted["detail"][0].endswith(
        "is the one that counts (at the provisional deadline DID_RAA_202605_1.csv counted)"
    )


def test_the_completeness_export_carries_which_file_counts(snap):
    args = argparse.Namespace(first=MAY, last=MAY, region=None, provider_type=None, as_of=date(2026, 7, 1))
    exported = registry()["completeness"].build(snap, CENTRAL, args)
    raa = exported.filter(exported["provider_code"] == "RAA").row(0, named=True)
    assert (raa["counts_file"], raa["deadline_file"], raa["period_state"]) == (
        "DID_RAA_202605_2.csv",
        "DID_RAA_202605_1.csv",
        "provisional",
    )
