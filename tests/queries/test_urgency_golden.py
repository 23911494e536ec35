"""Waits by urgency (DIDS v2.0) on a hand-made store: a hand-worked case (UK local dates across
midnight in British Summer Time), numpy on the raw day lists as the naive second implementation,
v1.0 months kept out, scope and disclosure."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from did_model.scope import CENTRAL, Scope, ScopeError
from ingest import store
from queries import urgency, waits
from queries.connection import Snapshot

MONTHS = (date(2026, 4, 1), date(2026, 5, 1))
PRIORITY_NAMES = urgency.PRIORITIES


def _raw_records() -> list[dict]:
    """Random waits for April–May 2026 by provider and priority; a few reports missing, a few
    issued before the procedure. Times are UTC; the local (BST) date is a day later after 23:00."""
    rng = np.random.default_rng(11)
    rows = []
    for provider, n in (("RAJ", 300), ("RBK", 120), ("RCF", 4)):
        for i in range(n):
            start = datetime(2026, 4, 1, 7) + timedelta(days=int(rng.integers(0, 60)), hours=int(rng.integers(0, 17)))
            priority = "3" if i % 5 == 0 else ("2" if i % 5 == 1 else "1")
            wait = int(rng.lognormal(1.5 if priority == "3" else 2.8, 1.0))
            report = None if i % 13 == 0 else start + timedelta(hours=int(rng.integers(1, 24 * 40)) if i % 37 else -30)
            request = (start + timedelta(hours=1)).date() - timedelta(days=wait)
            listed = i % 4 != 3  # three in four on the diagnostic waiting list
            clock = None if i % 29 == 0 else request + timedelta(days=int(rng.integers(0, 3)) - (i % 31 == 0) * 400)
            rows.append(
                dict(
                    provider=provider,
                    modality=("MRI", "CT")[i % 2],
                    source="04" if i % 3 == 0 else "03",
                    priority=priority,
                    start=start,
                    report=report,
                    request=request,
                    category="01" if listed else "02",
                    clock=clock if listed else None,
                )
            )
    return rows


RAW = _raw_records()


def _local(ts: datetime | None) -> date | None:
    """The UK local date of a UTC time in April–May 2026 (all BST: UTC+1)."""
    return None if ts is None else (ts + timedelta(hours=1)).date()


def _insert(con, rows: list[dict], first_id: int = 0) -> None:
    con.executemany(
        """INSERT INTO record (submission_id, provider_code, site_code, accession_number, patient_source,
               request_date, test_date, report_date, modality, activity_month, priority,
               procedure_start_utc, report_issue_utc, activity_category, waiting_list_clock_start)
           VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            (
                r["provider"],
                r["provider"] + "01",
                f"A{first_id + i:06d}",
                r["source"],
                r["request"],
                _local(r["start"]),
                _local(r["report"]),
                r["modality"],
                r.get("month") or _local(r["start"]).replace(day=1),
                r["priority"],
                r["start"],
                r["report"],
                r.get("category"),
                r.get("clock"),
            )
            for i, r in enumerate(rows)
        ],
    )


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory, empty_store_template):
    store_dir = tmp_path_factory.mktemp("urgency") / "store"
    shutil.copytree(empty_store_template, store_dir)
    with store.writer(store_dir) as con:
        _insert(con, RAW)
        # March: a v1.0 record and a stray v2.0-format one; neither may enter the v2.0 figures.
        march = datetime(2026, 3, 10, 9)
        _insert(
            con,
            [
                dict(
                    provider="RAJ",
                    modality="MRI",
                    source="03",
                    priority=p,
                    start=march,
                    report=march,
                    request=date(2026, 1, 1),
                    month=date(2026, 3, 1),
                )
                for p in (None, "1")
            ],
            10_000,
        )
        store.publish(con, store_dir)
    return store_dir


@pytest.fixture(scope="module")
def snap(store_dir) -> Snapshot:
    s = Snapshot(store.current_snapshot(store_dir))
    yield s
    s.close()


def _expected(rows: list[dict], interval: str) -> dict:
    """The naive second implementation: numpy percentiles (inverted CDF) on the raw local days."""

    def span(r):
        if interval == "request_to_procedure":
            return r["request"], _local(r["start"])
        if interval == "clock_to_procedure":
            return r["clock"], _local(r["start"])
        return _local(r["start"]), _local(r["report"])

    if interval == "clock_to_procedure":  # the diagnostic waiting list only
        rows = [r for r in rows if r.get("category") == "01"]
    pairs = [span(r) for r in rows]
    days = np.array([(b - a).days for a, b in pairs if a and b])
    valid = np.minimum(days[days >= 0], waits.CAP_DAYS + 1)
    return {
        "records": len(valid),
        "missing_dates": sum(1 for a, b in pairs if not (a and b)),
        "negative_intervals": int((days < 0).sum()),
        "median_days": int(np.percentile(valid, 50, method="inverted_cdf")),
        "p90_days": int(np.percentile(valid, 90, method="inverted_cdf")),
        **{f"within_{t}d": float((valid <= t).mean()) for t in urgency.THRESHOLDS},
    }


def _check(row: dict, expected: dict) -> None:
    for key, value in expected.items():
        assert row[key] == pytest.approx(value), key


def test_hand_worked_local_dates_across_midnight_in_bst(tmp_path, empty_store_template):
    """Request 1 June; procedure 23:30 UTC on 1 June = 00:30 on 2 June in London: 1 day, not 0.
    Report 23:10 UTC on 2 June = 00:10 on 3 June: procedure → report 1 day. A second routine
    record waits 4 and 0 days; a third has no report. Routine median (nearest rank) of {1, 4} is 1."""
    shutil.copytree(empty_store_template, tmp_path / "store")
    rows = [
        dict(
            provider="RAJ",
            modality="CT",
            source="03",
            priority="1",
            request=date(2026, 6, 1),
            start=datetime(2026, 6, 1, 23, 30),
            report=datetime(2026, 6, 2, 23, 10),
        ),
        dict(
            provider="RAJ",
            modality="CT",
            source="03",
            priority="1",
            request=date(2026, 6, 1),
            start=datetime(2026, 6, 5, 9),
            report=datetime(2026, 6, 5, 15),
        ),
        dict(
            provider="RAJ",
            modality="CT",
            source="03",
            priority="3",
            request=date(2026, 6, 3),
            start=datetime(2026, 6, 3, 10),
            report=None,
        ),
    ]
    with store.writer(tmp_path / "store") as con:
        _insert(con, rows)
        store.publish(con, tmp_path / "store")
    s = Snapshot(store.current_snapshot(tmp_path / "store"))
    try:
        june = urgency.UrgencyFilter(date(2026, 6, 1), date(2026, 6, 1))
        got = {r["priority"]: r for r in urgency.urgency_summary(s, CENTRAL, june).iter_rows(named=True)}
        assert (got["Routine"]["records"], got["Routine"]["median_days"], got["Routine"]["p90_days"]) == (2, 1, 4)
        assert got["Routine"]["within_1d"] == 0.5 and got["Routine"]["within_7d"] == 1.0
        assert (got["Urgent suspected cancer"]["median_days"], got["Urgent suspected cancer"]["within_1d"]) == (0, 1.0)
        report = urgency.UrgencyFilter(date(2026, 6, 1), date(2026, 6, 1), "procedure_to_report")
        got = {r["priority"]: r for r in urgency.urgency_summary(s, CENTRAL, report).iter_rows(named=True)}
        assert (got["Routine"]["records"], got["Routine"]["median_days"], got["Routine"]["p90_days"]) == (2, 0, 1)
        assert (got["Urgent suspected cancer"]["records"], got["Urgent suspected cancer"]["missing_dates"]) == (0, 1)
    finally:
        s.close()


@pytest.mark.parametrize("interval", list(urgency.INTERVALS))
def test_each_priority_matches_numpy_on_the_raw_days(snap, interval):
    table = urgency.urgency_summary(snap, CENTRAL, urgency.UrgencyFilter(*MONTHS, interval))
    assert table["priority"].to_list() == list(PRIORITY_NAMES.values())
    for code, name in PRIORITY_NAMES.items():
        _check(
            table.filter(priority=name).row(0, named=True),
            _expected([r for r in RAW if r["priority"] == code], interval),
        )


def test_breakdowns_match_numpy_and_v1_months_are_left_out(snap):
    f = urgency.UrgencyFilter(*MONTHS, modality="MRI")
    by_modality = urgency.urgency_summary(snap, CENTRAL, f, "modality")
    rows = [r for r in RAW if r["modality"] == "CT" and r["priority"] == "3"]
    _check(
        by_modality.filter(modality="CT", priority="Urgent suspected cancer").row(0, named=True),
        _expected(rows, "request_to_procedure"),
    )
    by_month = urgency.urgency_summary(snap, CENTRAL, urgency.UrgencyFilter(date(2026, 3, 1), MONTHS[1]), "month")
    assert sorted(set(by_month["activity_month"])) == list(MONTHS)
    assert urgency.urgency_months(snap) == list(MONTHS)
    assert urgency.default_months(snap) == MONTHS
    by_provider = urgency.urgency_summary(snap, CENTRAL, f, "provider")
    assert by_provider["provider_code"].unique(maintain_order=True).to_list() == [waits.ENGLAND, "RAJ", "RBK", "RCF"]


def test_usc_beside_routine_reads_the_summary(snap):
    summary = urgency.urgency_summary(snap, CENTRAL, urgency.UrgencyFilter(*MONTHS), "modality")
    side = urgency.usc_vs_routine(summary, "modality").filter(modality="MRI").row(0, named=True)
    mri = [r for r in RAW if r["modality"] == "MRI"]
    assert (
        side["usc_median_days"]
        == _expected([r for r in mri if r["priority"] == "3"], "request_to_procedure")["median_days"]
    )
    assert (
        side["routine_median_days"]
        == _expected([r for r in mri if r["priority"] == "1"], "request_to_procedure")["median_days"]
    )


def test_outside_central_figures_are_perturbed_rounded_and_suppressed(snap):
    """An attacker-style check: a provider user cannot read back a true count, nor a small one."""
    raj = Scope("provider", providers=frozenset({"RAJ"}))
    f = urgency.UrgencyFilter(*MONTHS)
    table = urgency.urgency_summary(snap, raj, f, "provider")
    assert table["provider_code"].unique(maintain_order=True).to_list() == [waits.ENGLAND, "RAJ"]
    assert all(n % 5 == 0 for n in table["records"].drop_nulls())
    central = urgency.urgency_summary(snap, CENTRAL, f, "provider").filter(provider_code="RAJ")
    assert table.filter(provider_code="RAJ")["records"].to_list() != central["records"].to_list()
    # The same cells reached as a filter get the same noise as the provider row.
    alone = urgency.urgency_summary(snap, raj, urgency.UrgencyFilter(*MONTHS, provider="RAJ"))
    assert alone["records"].to_list() == table.filter(provider_code="RAJ")["records"].to_list()
    assert alone["median_days"].to_list() == table.filter(provider_code="RAJ")["median_days"].to_list()
    with pytest.raises(ScopeError):
        urgency.urgency_summary(snap, raj, urgency.UrgencyFilter(*MONTHS, provider="RCF"))
    # RCF's 4 records: every priority's count is small, so no median shows outside central.
    rcf = urgency.urgency_summary(
        snap, Scope("provider", providers=frozenset({"RCF"})), urgency.UrgencyFilter(*MONTHS, provider="RCF")
    )
    assert rcf["records"].null_count() == rcf.height and rcf["median_days"].null_count() == rcf.height
    assert rcf["suppressed"].all()


def _turnaround_expected(rows: list[dict], as_of: date) -> dict:
    """Naively from the raw records: the 4-week standard and the unreported as of `as_of`."""
    days = [(_local(r["report"]) - _local(r["start"])).days for r in rows if r["report"]]
    unreported = [r for r in rows if not r["report"]]
    return {
        "reported": sum(d >= 0 for d in days),
        "reported_within_28d": sum(0 <= d <= 28 for d in days),
        "reported_over_28d": sum(d > 28 for d in days),
        "dates_out_of_order": sum(d < 0 for d in days),
        "share_within_28d": sum(0 <= d <= 28 for d in days) / sum(d >= 0 for d in days),
        "unreported": len(unreported),
        "unreported_28d": sum(_local(r["start"]) <= as_of - timedelta(days=28) for r in unreported),
    }


def test_report_turnaround_matches_the_raw_records(snap):
    from queries import turnaround

    as_of = turnaround.as_of(snap)
    assert as_of == date(2026, 5, 31)  # the last day of the latest activity month held
    f = urgency.UrgencyFilter(*MONTHS)
    by_priority = turnaround.turnaround(snap, CENTRAL, f, "priority")
    assert by_priority["priority"].to_list() == list(PRIORITY_NAMES.values())
    for code, name in PRIORITY_NAMES.items():
        _check(
            by_priority.filter(priority=name).row(0, named=True),
            _turnaround_expected([r for r in RAW if r["priority"] == code], as_of),
        )
    _check(turnaround.turnaround(snap, CENTRAL, f).row(0, named=True), _turnaround_expected(RAW, as_of))
    by_provider = turnaround.turnaround(snap, CENTRAL, f, "provider")
    assert by_provider["provider_code"].to_list() == [waits.ENGLAND, "RAJ", "RBK", "RCF"]
    _check(
        by_provider.filter(provider_code="RBK").row(0, named=True),
        _turnaround_expected([r for r in RAW if r["provider"] == "RBK"], as_of),
    )
    total = _turnaround_expected(RAW, as_of)
    assert 0 < total["reported_over_28d"] and 0 < total["unreported_28d"] < total["unreported"]


def test_report_turnaround_outside_central_is_perturbed_and_protected(snap):
    from queries import turnaround

    rcf = Scope("provider", providers=frozenset({"RCF"}))
    table = turnaround.turnaround(snap, rcf, urgency.UrgencyFilter(*MONTHS), "provider")
    assert table["provider_code"].to_list() == [waits.ENGLAND, "RCF"]
    england, small = table.row(0, named=True), table.row(1, named=True)
    assert all(england[c] % 5 == 0 for c in turnaround.COUNTS)
    assert england["reported"] != _turnaround_expected(RAW, turnaround.as_of(snap))["reported"]
    # RCF's 4 records: the sum of its perturbed day buckets is hidden or rounded, never the truth.
    true = _turnaround_expected([r for r in RAW if r["provider"] == "RCF"], turnaround.as_of(snap))["reported"]
    assert small["reported"] is None or (small["reported"] % 5 == 0 and small["reported"] != true)
    assert (small["reported"] is None) == (small["share_within_28d"] is None)


def test_exports_over_v1_months_only_are_empty_and_equal_the_queries(snap):
    import argparse

    from queries.exports import registry

    def build(name: str, argv: list[str]):
        parser = argparse.ArgumentParser()
        registry()[name].add_arguments(parser)
        return registry()[name].build(snap, CENTRAL, parser.parse_args(argv))

    march = ["--from", "2026-03", "--to", "2026-03"]
    assert build("waits-by-urgency", march).height == 0
    assert build("report-turnaround", [*march, "--by", "month"]).height == 0
    f = urgency.UrgencyFilter(*MONTHS, "procedure_to_report", modality="CT")
    built = build("waits-by-urgency", ["--interval", "procedure_to_report", "--modality", "ct", "--by", "source"])
    assert built.equals(urgency.urgency_summary(snap, CENTRAL, f, "source"))
    from queries import turnaround

    assert build("report-turnaround", ["--by", "provider"]).equals(
        turnaround.turnaround(snap, CENTRAL, urgency.UrgencyFilter(*MONTHS), "provider")
    )
    with pytest.raises(ValueError, match="after"):
        build("report-turnaround", ["--from", "2026-05", "--to", "2026-04"])


def _waiting_list_expected(rows: list[dict]) -> dict:
    """Naively: DM01-style figures from the raw clock starts of category-01 records."""
    from queries.waiting_list import BANDS

    listed = [r for r in rows if r["category"] == "01"]
    days = np.array([(_local(r["start"]) - r["clock"]).days for r in listed if r["clock"]])
    valid = np.minimum(days[days >= 0], waits.CAP_DAYS + 1)
    return {
        "waits": len(valid),
        "median_weeks": int(np.percentile(valid, 50, method="inverted_cdf")) / 7,
        "six_weeks_or_more": int((valid >= 42).sum()),
        "share_six_weeks_or_more": float((valid >= 42).mean()),
        **{
            name: int(((valid >= lo) & (valid <= (hi if hi is not None else 10**6))).sum())
            for name, (lo, hi) in BANDS.items()
        },
        "missing_dates": sum(1 for r in listed if not r["clock"]),
        "negative_intervals": int((days < 0).sum()),
    }


def test_waiting_list_matches_the_raw_clock_starts(snap):
    from queries import waiting_list

    f = urgency.UrgencyFilter(*MONTHS)
    expected = _waiting_list_expected(RAW)
    assert expected["six_weeks_or_more"] > 0 and expected["negative_intervals"] > 0 and expected["missing_dates"] > 0
    _check(waiting_list.waiting_list(snap, CENTRAL, f).row(0, named=True), expected)
    by_modality = waiting_list.waiting_list(snap, CENTRAL, f, "modality")
    for modality in ("CT", "MRI"):
        _check(
            by_modality.filter(modality=modality).row(0, named=True),
            _waiting_list_expected([r for r in RAW if r["modality"] == modality]),
        )
    by_provider = waiting_list.waiting_list(snap, CENTRAL, f, "provider")
    assert by_provider["provider_code"].to_list() == [waits.ENGLAND, "RAJ", "RBK", "RCF"]
    _check(by_provider.row(2, named=True), _waiting_list_expected([r for r in RAW if r["provider"] == "RBK"]))


def test_waiting_list_hand_worked_bands(monkeypatch):
    """Days 0, 6, 7, 41, 42, 91 and 400 (overflow): bands 2/1/0/1/1/2, 3 of 7 at 6 weeks or more,
    median day 41 (the 4th of 7) = 5.86 weeks."""
    import polars as pl

    from did_model.scope import CENTRAL as central
    from queries import waiting_list

    hist = pl.DataFrame(
        {"priority": ["1"] * 7, "days": [0, 6, 7, 41, 42, 91, 366], "records": [1] * 7},
        schema_overrides={"days": pl.Int16},
    )
    monkeypatch.setattr(urgency, "perturbed", lambda *a, **k: hist)  # the histogram, without a store
    row = waiting_list.waiting_list(None, central, urgency.UrgencyFilter(*MONTHS)).row(0, named=True)
    assert (row["waits"], row["six_weeks_or_more"]) == (7, 3)
    assert [row[b] for b in waiting_list.BANDS] == [2, 1, 0, 1, 1, 2]
    assert row["median_weeks"] == pytest.approx(41 / 7)


ROLES = {
    "central": CENTRAL,
    "provider": Scope("provider", providers=frozenset({"RAJ"})),
    "commissioner": Scope("commissioner", icbs=frozenset({"QE1"})),
    "gp": Scope("gp", practice="A81001"),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_page_sections_per_role_equal_the_exports(store_dir, snap, role, monkeypatch):
    """The waiting-times page on this two-month v2.0 store, for every role that may open it: the
    XmR tables equal `--by spc` of the exports; outside central every count is rounded."""
    import argparse
    from pathlib import Path

    import pandas as pd
    from streamlit.testing.v1 import AppTest

    from downloads import open_lazy_tables, open_section
    from queries.exports import registry

    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    scope = ROLES[role]
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py"), default_timeout=60)
    at.session_state["scope"] = scope
    at.run()
    at.switch_page("views/waiting_times.py").run()
    assert not at.exception, [e.value for e in at.exception]
    sections = {"report-turnaround": "Report turnaround", "waiting-list": "Waiting list (DM01)"}
    for name, value in (("report-turnaround", "share_within_28d"), ("waiting-list", "share_six_weeks_or_more")):
        # each XmR chart is in its section, and its table runs once its expander is opened
        open_lazy_tables(open_section(at, sections[name]))
        parser = argparse.ArgumentParser()
        registry()[name].add_arguments(parser)
        export = registry()[name].build(snap, scope, parser.parse_args(["--modality", "MRI", "--by", "spc"]))
        assert export.height == 2  # April and May
        page = next(d.value for d in at.dataframe if value in d.value.columns and "upper_limit" in d.value.columns)
        pd.testing.assert_frame_equal(page.reset_index(drop=True), export.to_pandas(), check_dtype=False)
    if not scope.is_central:
        for d in at.dataframe:
            if "waits" in d.value.columns and "share_six_weeks_or_more" in d.value.columns:
                assert (pd.to_numeric(d.value["waits"], errors="coerce").dropna() % 5 == 0).all()


def test_the_tables_without_a_site_read_the_site_histograms_summed(snap):
    """`rollup_waits_v2_provider`, read by every table not broken down by site, holds exactly
    `rollup_waits_v2` summed over sites (a second, naive sum in Python); and the table by site
    adds up to the table by provider, priority by priority."""
    keys = "activity_month, provider_code, modality, patient_source, priority, dm01_test, interval_kind, days"
    summed: Counter = Counter()
    for *key, records in snap.query(f"SELECT {keys}, records FROM rollup_waits_v2").rows():  # noqa: S608
        summed[tuple(key)] += records
    narrow = {tuple(key): n for *key, n in snap.query(f"SELECT {keys}, records FROM rollup_waits_v2_provider").rows()}  # noqa: S608
    assert narrow == dict(summed) and len(narrow) > 10
    f = urgency.UrgencyFilter(*MONTHS)
    by_site = urgency.urgency_summary(snap, CENTRAL, f, "site").filter(pl.col("site_code") != waits.ENGLAND)
    by_provider = urgency.urgency_summary(snap, CENTRAL, f, "provider").filter(pl.col("provider_code") != waits.ENGLAND)
    for priority in urgency.PRIORITIES.values():
        sites = by_site.filter(priority=priority)["records"].sum()
        assert sites == by_provider.filter(priority=priority)["records"].sum() > 0
