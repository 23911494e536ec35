"""Completeness, volume checks and quality scores on a few hand-written submissions, with the
figures worked out by hand in the comments; and scope."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import duckdb
import polars as pl
import pytest

from did_model.scope import CENTRAL, Scope, ScopeError
from ingest.store import publish, store_path
from queries import completeness, quality, volumes
from queries.connection import get_snapshot

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)

# (id, provider, period, status, timeliness, rows_read, superseded_by)
SUBMISSIONS = [
    (1, "RAA", JAN, "accepted", "on_time", 10, None),
    (2, "RAA", FEB, "accepted", "late", 10, None),
    (3, "RAA", MAR, "superseded", "on_time", 20, 4),
    (4, "RAA", MAR, "accepted", "on_time", 40, None),
    (5, "RBB", JAN, "accepted", "on_time", 10, None),
    (6, "RBB", FEB, "rejected", "on_time", 0, None),
    (7, "RCC", FEB, "rejected", "on_time", 0, None),
    (8, "RCC", FEB, "accepted", "late", 10, None),
    (9, "RDD", date(2025, 12, 1), "accepted", "on_time", 10, None),
    (10, "RFF", MAR, "accepted", "on_time", 10, None),
    (11, "RFF", MAR, "rejected", "on_time", 0, None),  # a later file, rejected whole: the first still counts
]
# Volume series for REE: accepted files for periods Aug 2025 .. Jan 2026 (activity Jul .. Dec).
REE_VOLUMES = {
    date(2025, 7, 1): 100,
    date(2025, 8, 1): 110,
    date(2025, 9, 1): 90,
    date(2025, 10, 1): 100,
    date(2025, 11, 1): 40,
    date(2025, 12, 1): 160,
}


def _record_sql(sid: int, provider: str, n: int, month: date, offset: int, **override) -> str:
    cols = {
        "patient_pseudo_id": "'p'",
        "nhs_number_status": "'01'",
        "age_at_test": "40",
        "sex": "'1'",
        "ethnic_category": "'A'",
        "postcode_district": "'LS1'",
        "practice_code": "'B82007'",
        "patient_source": "'03'",
        "referrer_code": "'C1234567'",
        "referring_org_code": "'B82007'",
        "request_date": f"DATE '{month}'",
        "request_received_date": f"DATE '{month}'",
        "test_date": f"DATE '{month}' + 1",
        "report_date": f"DATE '{month}' + 2",
        "nicip_code": "'XCHES'",
        "snomed_code": "NULL",
        "local_code": "NULL",
        "modality": "'Plain radiography'",
        "body_area": "NULL",
        "test_group": "NULL",
        "activity_month": f"DATE '{month}'",
    }
    cols.update(override)
    names = "submission_id, provider_code, site_code, accession_number, " + ", ".join(cols)
    return (
        f"INSERT INTO record ({names}) SELECT {sid}, '{provider}', '{provider}01', 'A' || (i + {offset}), "
        + ", ".join(cols.values())
        + f" FROM range({n}) t(i)"
    )


@pytest.fixture(scope="module")
def snap(tmp_path_factory, empty_store_template):
    store_dir = tmp_path_factory.mktemp("handworked") / "store"
    shutil.copytree(empty_store_template, store_dir)
    con = duckdb.connect(str(store_path(store_dir)))
    rows = list(SUBMISSIONS)
    for k, month in enumerate(REE_VOLUMES, start=20):
        period = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        rows.append((k, "REE", period, "accepted", "on_time", REE_VOLUMES[month], None))
    con.executemany(
        "INSERT INTO submission (submission_id, provider_code, period, received_at, submitted_on, file_name, sha256, "
        "format, status, timeliness, rows_read, rows_accepted, rows_rejected, rows_with_warnings, superseded_by) "
        "VALUES (?, ?, ?, ?, ?, ?, 'x', 'csv', ?, ?, ?, ?, 0, 0, ?)",
        [
            (
                sid,
                p,
                per,
                datetime(per.year, per.month, 5),
                per.replace(day=5),
                f"DID_{p}_{per:%Y%m}.csv",
                st,
                tl,
                n,
                n,
                sup,
            )
            for sid, p, per, st, tl, n, sup in rows
        ],
    )
    con.executemany(
        "INSERT INTO ref_site (site_code, provider_code, provider_name, provider_type) VALUES (?, ?, ?, ?)",
        [
            ("RAA01", "RAA", "Trust A", "NHS trust"),
            ("RBB01", "RBB", "Trust B", "NHS trust"),
            ("RCC01", "RCC", "Clinic C", "Independent sector"),
        ],
    )
    # Submission 4 (RAA, March): 40 records read, 30 held. 3 held without an NHS number, 10 held
    # with ethnic category Z; lines 2-11 rejected DIDS057, line 12 warned DIDS023, line 13 has two
    # request-date issues (DIDS034 reject, DIDS028 warning).
    con.execute(_record_sql(4, "RAA", 3, FEB, 0, patient_pseudo_id="NULL"))
    con.execute(_record_sql(4, "RAA", 10, FEB, 100, ethnic_category="'Z'"))
    con.execute(_record_sql(4, "RAA", 17, FEB, 200))
    issues = [(4, line, "DIDS057", "reject", "nicip_code") for line in range(2, 12)]
    issues += [
        (4, 12, "DIDS023", "warning", "referrer_code"),
        (4, 13, "DIDS034", "reject", "request_date"),
        (4, 13, "DIDS028", "warning", "request_date"),
        (6, None, "DIDS075", "file", None),
    ]
    con.executemany("INSERT INTO issue VALUES (?, ?, ?, ?, ?, 'm')", issues)
    for k, (month, n) in enumerate(REE_VOLUMES.items(), start=20):
        con.execute(_record_sql(k, "REE", n, month, 1000 * k))
    publish(con, store_dir)
    con.close()
    return get_snapshot(store_dir)


def _statuses(matrix: pl.DataFrame) -> dict[tuple[str, date], str]:
    return {(r["provider_code"], r["period"]): r["status"] for r in matrix.iter_rows(named=True)}


def test_matrix_statuses_while_march_is_open(snap):
    matrix = completeness.provider_months(snap, CENTRAL, JAN, MAR, as_of=date(2026, 3, 10))
    got = {k: v for k, v in _statuses(matrix).items() if k[0] != "REE"}
    assert got == {
        ("RAA", JAN): "on_time",
        ("RAA", FEB): "late",
        ("RAA", MAR): "resubmitted",
        ("RBB", JAN): "on_time",
        ("RBB", FEB): "rejected",
        ("RBB", MAR): "not_due",
        ("RCC", JAN): "missing",  # expected through ref_site
        ("RCC", FEB): "resubmitted",  # rejected, then accepted
        ("RCC", MAR): "not_due",
        ("RDD", JAN): "missing",
        ("RDD", FEB): "missing",  # expected through its Dec 2025 file
        ("RDD", MAR): "not_due",
        ("RFF", MAR): "on_time",  # accepted on time; the file after it was rejected whole
    }
    coverage = completeness.coverage_by_period(matrix.filter(pl.col("provider_code") != "REE"))
    # Jan: RAA, RBB of RAA-RDD; Feb: RAA, RCC; Mar: RAA and RFF so far, of RAA-RDD and RFF.
    assert coverage.select("period", "expected", "included").rows() == [(JAN, 4, 2), (FEB, 4, 2), (MAR, 5, 2)]
    assert coverage.filter(pl.col("period") == MAR)["resubmitted"].to_list() == [1]  # RAA only


def test_march_is_missing_once_its_window_closes(snap):
    matrix = completeness.provider_months(snap, CENTRAL, MAR, MAR, as_of=date(2026, 3, 21))
    got = _statuses(matrix)
    assert got[("RBB", MAR)] == got[("RCC", MAR)] == got[("RDD", MAR)] == "missing"
    assert got[("REE", MAR)] == "missing"  # expected: an accepted file in the previous 12 periods


def test_filters_by_provider_type(snap):
    matrix = completeness.provider_months(
        snap, CENTRAL, JAN, MAR, as_of=date(2026, 3, 10), provider_type="Independent sector"
    )
    assert set(matrix["provider_code"]) == {"RCC"}


def test_item_scores_are_the_hand_worked_ones(snap):
    items = quality.item_scores(snap, CENTRAL, MAR, MAR, provider="RAA")
    score = dict(zip(items["item"], items["score"], strict=True))
    assert score["nhs_number"] == pytest.approx(100 * 37 / 40)  # 3 incomplete
    assert score["ethnic_category"] == pytest.approx(100 * 38 / 40)  # 10 Z, 25% of 30 tolerated -> 2 over
    assert score["nicip_code"] == pytest.approx(100 * 30 / 40)  # 10 invalid (DIDS057)
    assert score["referrer_code"] == pytest.approx(100 * 39 / 40)  # 1 warning
    assert score["request_date"] == pytest.approx(100 * 39 / 40)  # 2 issues on one line
    assert all(
        score[i] == 100
        for i in score
        if i not in {"nhs_number", "ethnic_category", "nicip_code", "referrer_code", "request_date"}
    )
    overall = quality.provider_scores(snap, CENTRAL, MAR, MAR, provider="RAA")
    assert overall["score"][0] == pytest.approx((92.5 + 95 + 75 + 97.5 + 97.5 + 13 * 100) / 18)
    assert overall["lowest_item"][0] == "IMAGING CODE (NICIP)"


def test_no_score_under_25_records(snap):
    items = quality.item_scores(snap, CENTRAL, JAN, JAN, provider="RAA")  # a 10-record file
    assert items["score"].null_count() == items.height


def test_issue_counts_by_code(snap):
    current = quality.issue_summary(snap, CENTRAL, provider="RAA")
    assert dict(zip(current["code"], current["lines"], strict=True)) == {
        "DIDS057": 10,
        "DIDS023": 1,
        "DIDS034": 1,
        "DIDS028": 1,
    }
    every = quality.issue_summary(snap, CENTRAL, current_only=False)
    assert "DIDS075" in every["code"].to_list()


def test_volume_drop_and_spike_against_the_trailing_median(snap):
    checks = volumes.volume_checks(snap, CENTRAL, provider="REE")
    by_month = {r["activity_month"]: r for r in checks.iter_rows(named=True)}
    nov, dec = by_month[date(2025, 11, 1)], by_month[date(2025, 12, 1)]
    # Nov: median(100, 110, 90, 100) = 100 -> 40 is -60%, |60| > 5 * sqrt(100)
    assert (nov["baseline"], nov["change"], nov["flag"]) == (100, pytest.approx(-0.6), "drop")
    # Dec: median(100, 110, 90, 100, 40) = 100 -> 160 is +60%
    assert (dec["baseline"], dec["change"], dec["flag"]) == (100, pytest.approx(0.6), "spike")
    assert by_month[date(2025, 10, 1)]["flag"] is None  # 100 against median(100, 110, 90)
    assert by_month[date(2025, 9, 1)]["baseline"] is None  # two months of history only
    # a stricter threshold leaves the drop alone
    strict = volumes.volume_checks(snap, CENTRAL, volumes.VolumeRule(drop=-0.7, spike=0.7), provider="REE")
    assert strict["flag"].null_count() == strict.height


def test_pre_publication_lists_march(snap):
    found = completeness.pre_publication(snap, CENTRAL, MAR, as_of=date(2026, 3, 25))
    assert {(r["check"], r["provider_code"]) for r in found.iter_rows(named=True)} == {
        ("missing", "RBB"),
        ("missing", "RCC"),
        ("missing", "RDD"),
        ("missing", "REE"),
        ("resubmitted", "RAA"),
    }
    text = completeness.pre_publication_markdown(found, MAR)
    assert "Trust B (RBB)" in text and "**Late**: none" in text


PROVIDER = Scope("provider", providers=frozenset({"RAA"}), user="raa")


def test_a_provider_sees_only_its_own(snap):
    with pytest.raises(ScopeError):
        completeness.provider_months(snap, PROVIDER, JAN, MAR)
    with pytest.raises(ScopeError):
        completeness.pre_publication(snap, PROVIDER, MAR)
    with pytest.raises(ScopeError):
        completeness.submission_history(snap, PROVIDER, "RBB")
    with pytest.raises(ScopeError):
        quality.submission_issues(snap, PROVIDER, 6)  # RBB's file
    with pytest.raises(ScopeError):
        volumes.volume_checks(snap, PROVIDER, provider="REE")
    assert set(completeness.submission_history(snap, PROVIDER, "RAA")["submission_id"]) == {1, 2, 3, 4}
    assert quality.submission_issues(snap, PROVIDER, 4).height == 13
    assert set(quality.item_scores(snap, PROVIDER)["provider_code"]) == {"RAA"}
    assert set(quality.issue_summary(snap, PROVIDER, current_only=False)["code"]) == {
        "DIDS057",
        "DIDS023",
        "DIDS034",
        "DIDS028",
    }
    assert set(volumes.volume_checks(snap, PROVIDER)["provider_code"]) <= {"RAA"}
    assert set(completeness.providers(snap, PROVIDER)["provider_code"]) == {"RAA"}


def test_a_rejected_later_file_leaves_the_export_on_time(snap):
    from argparse import Namespace

    from queries.exports import registry

    args = Namespace(first=MAR, last=MAR, region=None, provider_type=None, as_of=date(2026, 3, 10))
    rff = (
        registry()["completeness"]
        .build(snap, CENTRAL, args)
        .filter(pl.col("provider_code") == "RFF")
        .row(0, named=True)
    )
    assert (rff["status"], rff["status_label"], rff["files"], rff["submission_id"]) == ("on_time", "On time", 2, 10)
