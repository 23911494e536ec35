"""Waiting times on a hand-made store: percentiles and shares from the rollup histograms against
numpy on the raw day lists; missing and out-of-order dates counted; scope and disclosure."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from did_model.scope import CENTRAL, Scope, ScopeError
from ingest import store
from queries import waits
from queries.connection import Snapshot
from queries.percentiles import summarise_histogram, tukey_fences

MONTHS = (date(2026, 1, 1), date(2026, 2, 1))
CAP = waits.CAP_DAYS


def _raw_records() -> list[dict]:
    """Request→test and test→report waits drawn at random, with long tails, blanks and a few
    dates out of order; every record is listed so the test can recompute from the raw days."""
    rng = np.random.default_rng(7)
    rows = []
    for provider, n in (("RAJ", 400), ("RBK", 150), ("RCF", 5)):
        for i in range(n):
            test = MONTHS[0] + timedelta(days=int(rng.integers(0, 59)))
            modality = ("MRI", "CT")[i % 2]
            wait = int(rng.lognormal(3.0, 1.2)) if i % 17 else int(rng.integers(366, 500))
            request = None if i % 23 == 0 else test - timedelta(days=wait)
            received = None if request is None else request + timedelta(days=min(wait, int(rng.integers(0, 3))))
            report_gap = int(rng.integers(0, 10))
            report = None if i % 11 == 0 else test + timedelta(days=report_gap if i % 41 else -2)
            rows.append(
                dict(
                    provider=provider,
                    modality=modality,
                    source="04" if i % 3 == 0 else "03",
                    request=request,
                    received=received,
                    test=test,
                    report=report,
                )
            )
    return rows


RAW = _raw_records()


@pytest.fixture(scope="module")
def snap(tmp_path_factory, empty_store_template) -> Snapshot:
    store_dir = tmp_path_factory.mktemp("waits") / "store"
    shutil.copytree(empty_store_template, store_dir)
    with store.writer(store_dir) as con:
        con.executemany(
            """INSERT INTO record (submission_id, provider_code, site_code, accession_number, patient_source,
                   request_date, request_received_date, test_date, report_date, modality, activity_month)
               VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                (
                    r["provider"],
                    r["provider"] + "01",
                    f"A{i:06d}",
                    r["source"],
                    r["request"],
                    r["received"],
                    r["test"],
                    r["report"],
                    r["modality"],
                    r["test"].replace(day=1),
                )
                for i, r in enumerate(RAW)
            ],
        )
        store.publish(con, store_dir)
    s = Snapshot(store.current_snapshot(store_dir))
    yield s
    s.close()


def _expected(rows: list[dict], start: str, end: str) -> dict:
    days = np.array([(r[end] - r[start]).days for r in rows if r[start] and r[end]])
    valid = np.minimum(days[days >= 0], CAP + 1)  # the overflow bucket
    return {
        "records": len(valid),
        "missing_dates": sum(1 for r in rows if not (r[start] and r[end])),
        "negative_intervals": int((days < 0).sum()),
        "median_days": int(np.percentile(valid, 50, method="inverted_cdf")),
        "p90_days": int(np.percentile(valid, 90, method="inverted_cdf")),
        **{f"within_{t}d": float((valid <= t).mean()) for t in (1, 7, 14, 42)},
    }


def _check(row: dict, expected: dict) -> None:
    for key, value in expected.items():
        assert row[key] == pytest.approx(value), key


@pytest.mark.parametrize(
    "interval,start,end",
    [
        ("request_to_test", "request", "test"),
        ("received_to_test", "received", "test"),
        ("test_to_report", "test", "report"),
    ],
)
def test_percentiles_and_shares_match_numpy_on_the_raw_days(snap, interval, start, end):
    f = waits.WaitFilter(*MONTHS, interval=interval)
    _check(waits.wait_summary(snap, CENTRAL, f).row(0, named=True), _expected(RAW, start, end))
    by_modality = waits.wait_summary(snap, CENTRAL, f, "modality")
    for row in by_modality.iter_rows(named=True):
        _check(row, _expected([r for r in RAW if r["modality"] == row["modality"]], start, end))
    by_source = {r["source_group"]: r for r in waits.wait_summary(snap, CENTRAL, f, "source").iter_rows(named=True)}
    _check(
        by_source[waits.SOURCE_GROUPS["gp_direct_access"]],
        _expected([r for r in RAW if r["source"] == "04"], start, end),
    )
    by_month = waits.wait_summary(snap, CENTRAL, f, "month")
    for row in by_month.iter_rows(named=True):
        _check(row, _expected([r for r in RAW if r["test"].replace(day=1) == row["activity_month"]], start, end))


def test_filters_narrow_the_histogram(snap):
    f = waits.WaitFilter(*MONTHS, modality="MRI", source="other", provider="RBK")
    rows = [r for r in RAW if r["modality"] == "MRI" and r["source"] != "04" and r["provider"] == "RBK"]
    _check(waits.wait_summary(snap, CENTRAL, f).row(0, named=True), _expected(rows, "request", "test"))


def test_long_waits_land_in_the_overflow_bucket(snap):
    dist = waits.wait_distribution(snap, CENTRAL, waits.WaitFilter(*MONTHS))
    assert dist["days"].max() == CAP + 1
    over = sum(1 for r in RAW if r["request"] and (r["test"] - r["request"]).days > CAP)
    assert dist.filter(pl.col("days") == CAP + 1)["records"][0] == over
    assert dist["cumulative_share"][-1] == pytest.approx(1.0)
    assert dist["records"].sum() == _expected(RAW, "request", "test")["records"]


def test_a_percentile_in_the_overflow_bucket_reads_as_the_overflow_day():
    hist = pl.DataFrame({"days": [3, CAP + 1], "records": [1, 9]})
    out = summarise_histogram(hist).row(0, named=True)
    assert out["median_days"] == CAP + 1 and out["p90_days"] == CAP + 1
    assert out["within_42d"] == pytest.approx(0.1)


def test_missing_dates_are_counted_not_dropped(snap):
    missing = waits.missing_dates_by_interval(snap, CENTRAL, waits.WaitFilter(*MONTHS))
    got = {r["interval_kind"]: r for r in missing.iter_rows(named=True)}
    for kind, (start, end) in {"request_to_test": ("request", "test"), "test_to_report": ("test", "report")}.items():
        e = _expected(RAW, start, end)
        assert (got[kind]["records"], got[kind]["missing_dates"], got[kind]["negative_intervals"]) == (
            e["records"],
            e["missing_dates"],
            e["negative_intervals"],
        )
        assert got[kind]["records"] + got[kind]["missing_dates"] + got[kind]["negative_intervals"] == len(RAW)


def test_provider_user_sees_its_own_provider_and_england_protected(snap):
    raj = Scope("provider", providers=frozenset({"RAJ"}))
    table = waits.wait_summary(snap, raj, waits.WaitFilter(*MONTHS), "provider")
    assert table["provider_code"].to_list() == [waits.ENGLAND, "RAJ"]
    assert all(n % 5 == 0 for n in table["records"].drop_nulls())
    with pytest.raises(ScopeError):
        waits.wait_summary(snap, raj, waits.WaitFilter(*MONTHS, provider="RBK"))
    # RCF has 5 records: a central user sees it; its median goes when its count is suppressed.
    rcf = waits.wait_summary(snap, CENTRAL, waits.WaitFilter(*MONTHS, provider="RCF")).row(0, named=True)
    assert 1 <= rcf["records"] <= 7 and rcf["median_days"] is not None
    gp = Scope("gp", practice="A81001")
    small = waits.wait_summary(snap, gp, waits.WaitFilter(*MONTHS), "provider")
    assert small["provider_code"].to_list() == [waits.ENGLAND]
    commissioner = Scope("commissioner", icbs=frozenset({"QE1"}))
    rcf_months = waits.wait_summary(snap, commissioner, waits.WaitFilter(*MONTHS, modality="MRI"), "month")
    assert rcf_months["records"].null_count() == 0  # large national cells survive


def test_suppressed_count_suppresses_its_percentiles():
    from queries.disclosure import protect

    frame = pl.DataFrame({"records": [5, 100], "median_days": [3, 4], "p90_days": [9, 9]})
    out = protect(
        frame, Scope("gp", practice="A81001"), counts=["records"], derived={"records": ["median_days", "p90_days"]}
    )
    assert out.row(0) == (None, None, None, True) and out.row(1) == (100, 4, 9, False)


def test_tukey_fences_match_numpy():
    values = np.array([1.0, 2.0, 2.5, 3.0, 3.5, 4.0, 20.0])
    q1, q3 = np.percentile(values, [25, 75])
    assert tukey_fences(pl.Series(values)) == pytest.approx((q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)))
    assert tukey_fences(pl.Series([1.0, 2.0])) is None


def test_a_breakdown_ignores_its_own_filter(snap):
    f = waits.WaitFilter(*MONTHS, modality="MRI", source="other", provider="RBK")
    by_modality = waits.wait_summary(snap, CENTRAL, f, "modality")
    assert sorted(by_modality["modality"]) == ["CT", "MRI"]
    rows = [r for r in RAW if r["modality"] == "CT" and r["source"] != "04" and r["provider"] == "RBK"]
    _check(by_modality.filter(modality="CT").row(0, named=True), _expected(rows, "request", "test"))
    assert waits.wait_summary(snap, CENTRAL, f, "provider")["provider_code"].to_list() == [
        waits.ENGLAND,
        "RAJ",
        "RBK",
        "RCF",
    ]
