"""DM01 (issue 20 item 2): the NICIP → DM01 test mapping, the waiting list by DM01 test and provider
(hand-worked on a tiny store, and numpy on random records as the naive second implementation),
the DM01 file loader's bad input, the reconciliation, and waits by urgency / report turnaround
broken down by site (item 3)."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from did_model.scope import CENTRAL, Scope, ScopeError
from ingest import dm01 as dm01_file
from ingest import store
from queries import dm01, turnaround, urgency, waiting_list, waits
from queries.connection import Snapshot
from queries.exports import registry

APRIL = date(2026, 4, 1)
PROVIDER = Scope("provider", providers=frozenset({"RAJ"}))
# code -> its DM01 test (None: not a DM01 imaging test)
CODES = {
    "MKNEB": "MRI",
    "CCHES": "CT",
    "UABDO": "Non-obstetric ultrasound",
    "UOBPP": None,
    "FBAEN": "Barium enema",
    "XDEXA": "DEXA",
    "XCHES": None,
}
MODALITY = {"M": "MRI", "C": "CT", "U": "Ultrasound", "F": "Fluoroscopy", "X": "Plain radiography"}


def test_mapping_keeps_obstetric_ultrasound_out_and_maps_barium_enema_and_dexa():
    tests = dict(dm01_file.test_map().iter_rows())
    for code in ("UOBPP", "UOBDV", "UAMNI", "UO1T"):  # obstetric ultrasound
        assert code not in tests
    assert tests["UABDO"] == "Non-obstetric ultrasound" and tests["ULIVE"] == "Non-obstetric ultrasound"
    assert tests["FBAEN"] == "Barium enema" and "FWSEN" not in tests and "FBAME" not in tests
    assert tests["XDEXA"] == "DEXA" and tests["XLDEX"] == "DEXA" and "XCHES" not in tests
    assert (tests["MKNEB"], tests["CCHES"], tests["MOBST"]) == ("MRI", "CT", "MRI")
    assert "NPETB" not in tests and set(tests.values()) == set(dm01_file.TESTS)


def _record(
    provider: str,
    code: str | None,
    days: int | None,
    *,
    site: str | None = None,
    category: str = "01",
    priority: str = "1",
    snomed: str | None = None,
    hour: int = 10,
    day: int = 15,
    report_after: int | None = 2,
) -> dict:
    start = datetime(2026, 4, day, hour)
    local = start.date()  # BST: 10:00 UTC is the same local date
    return dict(
        provider=provider,
        site=site or provider + "01",
        code=code,
        snomed=snomed,
        modality=MODALITY[(code or "C")[0]],
        priority=priority,
        category=category,
        start=start,
        clock=None if days is None else local - timedelta(days=days),
        report=None if report_after is None else start + timedelta(days=report_after),
    )


def _insert(con, rows: list[dict]) -> None:
    con.executemany(
        """INSERT INTO record (submission_id, provider_code, site_code, accession_number, patient_source,
               request_date, test_date, report_date, nicip_code, snomed_code, modality, activity_month, priority,
               procedure_start_utc, report_issue_utc, activity_category, waiting_list_clock_start)
           VALUES (1, ?, ?, ?, '03', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            (
                r["provider"],
                r["site"],
                f"A{i:06d}",
                r["clock"] or r["start"].date(),
                r["start"].date(),
                r["report"] and r["report"].date(),
                r["code"],
                r["snomed"],
                r["modality"],
                APRIL,
                r["priority"],
                r["start"],
                r["report"],
                r["category"],
                r["clock"],
            )
            for i, r in enumerate(rows)
        ],
    )


def _publish(store_dir, rows: list[dict]) -> Snapshot:
    from ingest.store import create_store

    create_store(store_dir)
    with store.writer(store_dir) as con:
        _insert(con, rows)
        # A SNOMED-only record maps through the NICIP list's SNOMED column (as a release fills it).
        con.execute("UPDATE ref_nicip SET snomed_code = '169069000' WHERE nicip_code = 'CCHES'")
        con.execute(
            "INSERT INTO ref_site (site_code, provider_code, site_name) VALUES "
            "('RAJ01', 'RAJ', 'Southend Hospital'), ('RAJ02', 'RAJ', 'Basildon Hospital')"
        )
        store.publish(con, store_dir)
    return Snapshot(store.current_snapshot(store_dir))


# Hand-worked: days from clock start to procedure, per provider and test (category 01 unless said).
HAND = [
    *[_record("RAJ", "MKNEB", d) for d in (0, 10, 42, 50)],
    _record("RAJ", "UOBPP", 60),  # obstetric: in no DM01 test
    *[_record("RAJ", "UABDO", d) for d in (5, 45)],
    _record("RAJ", "FBAEN", 100),
    _record("RAJ", "XDEXA", 3),
    _record("RAJ", None, 20, snomed="169069000"),  # CT by its SNOMED code
    _record("RAJ", "CCHES", None, category="02"),  # planned: activity, not the waiting list
    *[_record("RBK", "MKNEB", d) for d in (7, 7, 90)],
]


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    store_dir = tmp_path_factory.mktemp("dm01") / "store"
    s = _publish(store_dir, HAND)
    yield store_dir, s
    s.close()


def _rows(frame: pl.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["provider_code"], r["dm01_test"]): r for r in frame.iter_rows(named=True)}


def test_hand_worked_waiting_list_by_dm01_test_and_provider(hand):
    """RAJ MRI: 0, 10, 42, 50 days: 2 of 4 at 6 weeks or more, median (2nd of 4) 10 days = 1.43
    weeks, bands 1/1/0/0/2/0. England MRI adds RBK's 7, 7, 90: 3 of 7, median (4th) 10 days.
    Non-obstetric ultrasound 5, 45 (the obstetric 60 is left out): median 5 days. Barium enema
    100 days: 13+ weeks. CT: the SNOMED-only record's 20 days; the planned CT is not listed."""
    _, snap = hand
    got = _rows(waiting_list.dm01_waiting_list(snap, CENTRAL, urgency.UrgencyFilter(APRIL, APRIL)))
    raj_mri = got[("RAJ", "MRI")]
    assert (raj_mri["waits"], raj_mri["six_weeks_or_more"], raj_mri["share_six_weeks_or_more"]) == (4, 2, 0.5)
    assert raj_mri["median_weeks"] == pytest.approx(10 / 7)
    assert [raj_mri[b] for b in waiting_list.BANDS] == [1, 1, 0, 0, 2, 0]
    england = got[(waits.ENGLAND, "MRI")]
    assert (england["waits"], england["six_weeks_or_more"], england["median_weeks"]) == (7, 3, pytest.approx(10 / 7))
    us = got[("RAJ", "Non-obstetric ultrasound")]
    assert (us["waits"], us["six_weeks_or_more"], us["median_weeks"]) == (2, 1, pytest.approx(5 / 7))
    assert got[("RAJ", "Barium enema")]["weeks_13_plus"] == 1 and got[("RAJ", "DEXA")]["weeks_0_to_1"] == 1
    assert (got[("RAJ", "CT")]["waits"], got[("RAJ", "CT")]["weeks_2_to_4"]) == (1, 1)
    assert got[("RBK", "MRI")]["median_weeks"] == 1.0
    order = [t for p, t in got if p == "RAJ"]
    assert order == list(dm01_file.TESTS)  # DM01's order, every test once
    by_test = waiting_list.waiting_list(snap, CENTRAL, urgency.UrgencyFilter(APRIL, APRIL), "dm01_test")
    assert by_test["dm01_test"].to_list() == list(dm01_file.TESTS)
    assert by_test.filter(dm01_test="MRI")["six_weeks_or_more"][0] == 3


def test_a_provider_sees_england_and_its_own_rows_rounded(hand):
    _, snap = hand
    table = waiting_list.dm01_waiting_list(snap, PROVIDER, urgency.UrgencyFilter(APRIL, APRIL))
    assert set(table["provider_code"]) == {waits.ENGLAND, "RAJ"}
    assert all(v is None or v % 5 == 0 for v in table["waits"])
    with pytest.raises(ScopeError):
        waiting_list.dm01_waiting_list(snap, PROVIDER, urgency.UrgencyFilter(APRIL, APRIL, provider="RBK"))


def _dm01_csv(path, lines: list[str]):
    path.write_text("period,provider_code,test,activity,waiting_total,waiting_6wk_plus\n" + "\n".join(lines) + "\n")
    return path


GOOD = [
    "2026-04,RAJ,MRI,4,30,3",
    "2026-04,RAJ,Computed Tomography,3,20,0",
    "2026-04,raj,non-obstetric ultrasound,2,9,1",
    "2026-04,RAJ,DEXA Scan,1,5,0",
    "2026-04,RBK,Magnetic Resonance Imaging,3,12,6",
    "2026-04,RCF,MRI,5,7,1",
]


def _load(store_dir, path) -> int:
    with store.writer(store_dir) as con:
        n = dm01_file.load_dm01(con, path)
        store.publish(con, store_dir)
    return n


@pytest.mark.parametrize(
    "line, says",
    [
        ("2026-13,RAJ,MRI,1,1,0", "period YYYY-MM"),
        ("2026-04,R!J,MRI,1,1,0", "ODS"),
        ("2026-04,RAJ,PET-CT,1,1,0", "a test"),
        ("2026-04,RAJ,MRI,-1,1,0", "whole numbers"),
        ("2026-04,RAJ,MRI,1.5,1,0", "whole numbers"),
        ("2026-04,RAJ,MRI,1,2,3", "not above waiting_total"),
        ("2026-04,RAJ,MRI,,1,0", "whole numbers"),
    ],
)
def test_a_bad_dm01_file_is_refused_in_one_line_and_changes_nothing(hand, tmp_path, line, says):
    store_dir, _ = hand
    with pytest.raises(ValueError) as err:
        _load(store_dir, _dm01_csv(tmp_path / "dm01.csv", [*GOOD, line]))
    message = str(err.value)
    assert says in message and "\n" not in message and "line 8" in message
    with store.writer(store_dir) as con:
        assert con.execute("SELECT count(*) FROM ref_dm01").fetchall()[0][0] in (0, len(GOOD))


def test_dm01_file_missing_column_or_repeated_row(tmp_path):
    path = tmp_path / "dm01.csv"
    path.write_text("period,provider_code,test,activity\n2026-04,RAJ,MRI,1\n")
    with pytest.raises(ValueError, match=r"lacks the column.*waiting_total"):
        dm01_file.read_dm01(path)
    with pytest.raises(ValueError, match=r"line 3: 2026-04 RAJ MRI is listed twice"):
        dm01_file.read_dm01(_dm01_csv(path, ["2026-04,RAJ,MRI,1,1,0", "2026-04,RAJ,Magnetic Resonance Imaging,2,1,0"]))


def test_reconciliation_flags_differences_over_ten_percent(hand, tmp_path):
    """DID April: RAJ MRI 4, CT 2 (the SNOMED one and the planned one), non-obstetric US 2,
    barium enema 1, DEXA 1; RBK MRI 3. DM01: RAJ CT 3 (−33%: flagged), RCF MRI 5 with no DID
    activity (flagged), RAJ barium enema missing from DM01 (flagged); the rest agree."""
    store_dir, _ = hand
    assert _load(store_dir, _dm01_csv(tmp_path / "dm01.csv", GOOD)) == len(GOOD)
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        table = dm01.reconciliation(snap, CENTRAL, APRIL, APRIL)
        got = _rows(table)
        assert (got[("RAJ", "CT")]["did_activity"], got[("RAJ", "CT")]["dm01_activity"]) == (2, 3)
        assert got[("RAJ", "CT")]["difference_share"] == pytest.approx(-1 / 3)
        flagged = {k for k, r in got.items() if r["flagged"]}
        assert flagged == {("RAJ", "CT"), ("RAJ", "Barium enema"), ("RCF", "MRI")}
        assert got[("RBK", "MRI")]["dm01_share_6wk_plus"] == 0.5
        assert dm01.reconciliation(snap, CENTRAL, APRIL, APRIL, flagged_only=True).height == 3
        mine = dm01.reconciliation(snap, PROVIDER, APRIL, APRIL)
        assert set(mine["provider_code"]) == {"RAJ"} and "suppressed" in mine.columns
        assert mine.filter(pl.col("suppressed"))["flagged"].is_null().all()
        with pytest.raises(ScopeError):
            dm01.reconciliation(snap, Scope("commissioner", icbs=frozenset({"QE1"})), APRIL, APRIL)
        parser = argparse.ArgumentParser()
        registry()["dm01-reconciliation"].add_arguments(parser)
        export = registry()["dm01-reconciliation"].build(snap, CENTRAL, parser.parse_args(["--from", "2026-04"]))
        assert export.equals(table)
    finally:
        snap.close()


def _random_records() -> list[dict]:
    rng = np.random.default_rng(20)
    rows = []
    for provider, n in (("RAJ", 400), ("RBK", 150)):
        for i in range(n):
            code = list(CODES)[int(rng.integers(0, len(CODES)))]
            days = None if i % 23 == 0 else int(rng.lognormal(3.2, 0.8)) - (i % 41 == 0) * 500
            rows.append(
                _record(
                    provider,
                    code,
                    days,
                    site=f"{provider}0{1 + i % 2}",
                    priority=str(1 + i % 3),
                    category="02" if i % 7 == 0 else "01",
                    day=1 + i % 29,
                    hour=int(rng.integers(6, 23)),
                    report_after=None if i % 11 == 0 else int(rng.integers(0, 50)),
                )
            )
    return rows


RANDOM = _random_records()


@pytest.fixture(scope="module")
def random_snap(tmp_path_factory):
    s = _publish(tmp_path_factory.mktemp("dm01-random") / "store", RANDOM)
    yield s
    s.close()


def _naive(rows: list[dict]) -> dict:
    listed = [r for r in rows if r["category"] == "01"]
    days = np.array([(r["start"].date() - r["clock"]).days for r in listed if r["clock"]])
    valid = np.minimum(days[days >= 0], waits.CAP_DAYS + 1)
    return {
        "waits": len(valid),
        "six_weeks_or_more": int((valid >= 42).sum()),
        "median_weeks": int(np.percentile(valid, 50, method="inverted_cdf")) / 7,
        "weeks_13_plus": int((valid >= 91).sum()),
        "missing_dates": sum(1 for r in listed if not r["clock"]),
        "negative_intervals": int((days < 0).sum()),
    }


def test_waiting_list_by_dm01_test_matches_numpy_on_the_raw_records(random_snap):
    got = _rows(waiting_list.dm01_waiting_list(random_snap, CENTRAL, urgency.UrgencyFilter(APRIL, APRIL)))
    assert len(got) == 3 * len(dm01_file.TESTS)
    for (provider, test), row in got.items():
        mine = [r for r in RANDOM if CODES[r["code"]] == test and provider in (waits.ENGLAND, r["provider"])]
        for key, value in _naive(mine).items():
            assert row[key] == pytest.approx(value), (provider, test, key)


def test_waits_by_urgency_and_turnaround_by_site_match_numpy(random_snap):
    f = urgency.UrgencyFilter(APRIL, APRIL)
    table = urgency.urgency_summary(random_snap, CENTRAL, f, "site")
    assert table.columns[:3] == ["site_code", "site_name", "site_provider"]
    assert set(table["site_code"]) == {waits.ENGLAND, "RAJ01", "RAJ02", "RBK01", "RBK02"}
    row = table.filter(site_code="RAJ02", priority="Urgent").row(0, named=True)
    assert (row["site_name"], row["site_provider"]) == ("Basildon Hospital", "RAJ")
    mine = [r for r in RANDOM if r["site"] == "RAJ02" and r["priority"] == "2"]
    days = np.array([(r["start"].date() - (r["clock"] or r["start"].date())).days for r in mine])  # the request
    valid = days[days >= 0]
    assert row["records"] == len(valid)
    assert row["median_days"] == int(np.percentile(valid, 50, method="inverted_cdf"))
    report = turnaround.turnaround(random_snap, CENTRAL, f, "site").filter(site_code="RBK01").row(0, named=True)
    mine = [r for r in RANDOM if r["site"] == "RBK01"]
    assert report["reported"] == sum(1 for r in mine if r["report"])
    assert report["reported_within_28d"] == sum(
        1 for r in mine if r["report"] and (r["report"] - r["start"]).days <= 28
    )
    assert report["unreported"] == sum(1 for r in mine if not r["report"])
    provider = urgency.urgency_summary(random_snap, PROVIDER, f, "site")
    assert set(provider["site_code"]) == {waits.ENGLAND, "RAJ01", "RAJ02"}


@pytest.mark.parametrize("role", ["central", "provider"])
def test_page_sections_equal_the_exports(hand, tmp_path, role, monkeypatch):
    """The waiting-times page's DM01 and by-site sections on the hand-made store: central sees
    the exports' tables exactly (the page opens on MRI); a provider its own rows, hidden where the
    exports hide them."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from downloads import open_section, open_tab

    store_dir, _ = hand
    _load(store_dir, _dm01_csv(tmp_path / "dm01.csv", GOOD))
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    scope = CENTRAL if role == "central" else PROVIDER
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py"), default_timeout=60)
    at.session_state["scope"] = scope
    at.run()
    at.switch_page("views/waiting_times.py").run()
    assert not at.exception, [e.value for e in at.exception]
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        # the page's requests at its defaults (MRI, the waiting-times period), given to the
        # exports' tables; the command line for the same filters makes the same requests
        uf = urgency.UrgencyFilter(*urgency.default_months(snap), modality="MRI")
        exports = {}
        for name, argv, page_request in (
            ("dm01-waiting-list", [], waiting_list.dm01_filter(uf)),
            ("dm01-reconciliation", [], dm01.Reconciliation(*waits.default_months(snap))),
            ("waits-by-urgency", ["--by", "site", "--modality", "MRI"], urgency.UrgencyTable(uf, "site")),
            ("report-turnaround", ["--by", "site", "--modality", "MRI"], turnaround.TurnaroundTable(uf, "site")),
        ):
            parser = argparse.ArgumentParser()
            registry()[name].add_arguments(parser)
            assert registry()[name].request(snap, parser.parse_args(argv)) == page_request, name
            exports[name] = registry()[name].table(snap, scope, page_request)
    finally:
        snap.close()
    # each table in its section and tab; only the open section and tab run
    frames = [d.value for d in open_section(at, "Waiting list (DM01)").dataframe]
    pages = {
        "dm01-waiting-list": next(f for f in frames if "dm01_test" in f.columns and "waits" in f.columns),
        "dm01-reconciliation": next(f for f in frames if "dm01_activity" in f.columns),
    }
    open_section(at, "By urgency")
    frames = [d.value for d in open_tab(at, "tabs-waits-by-urgency", "Urgency by site").dataframe]
    pages["waits-by-urgency"] = next(f for f in frames if "site_code" in f.columns and "p90_days" in f.columns)
    open_section(at, "Report turnaround")
    frames = [d.value for d in open_tab(at, "tabs-report-turnaround", "by site").dataframe]
    pages["report-turnaround"] = next(f for f in frames if "site_code" in f.columns and "reported" in f.columns)
    for name, export in exports.items():
        page = pages[name].reset_index(drop=True)
        assert list(page.columns) == export.columns, name
        if role == "central":
            import pandas as pd

            pd.testing.assert_frame_equal(page, export.to_pandas(), check_dtype=False)
        else:
            key = next(c for c in ("provider_code", "site_code") if c in export.columns)
            assert page[key].tolist() == export[key].to_list(), name
            assert page["suppressed"].tolist() == export["suppressed"].to_list(), name
    recon = exports["dm01-reconciliation"]
    assert set(recon["provider_code"]) == ({"RAJ", "RBK", "RCF"} if role == "central" else {"RAJ"})


def test_the_demo_dm01_file_loads_and_lines_up_with_the_records(hand, tmp_path):
    from ingest.synth.dm01 import write_dm01_file

    store_dir, _ = hand
    with store.writer(store_dir) as con:
        path = write_dm01_file(con, tmp_path / "dm01.csv", seed=3)
    rows = dm01_file.read_dm01(path)  # a valid DM01 file
    assert sorted(zip(rows["provider_code"], rows["dm01_test"], strict=False)) == sorted(
        {(r["provider"], CODES[r["code"]] if r["code"] else "CT") for r in HAND if r["code"] != "UOBPP"}
    )
    assert (rows["waiting_6wk_plus"] <= rows["waiting_total"]).all()


def test_cli_load_dm01_refuses_a_bad_file_in_one_line_and_keeps_the_loaded_one(hand, tmp_path, capsys):
    import did_cli

    store_dir, _ = hand
    good = _dm01_csv(tmp_path / "good.csv", GOOD)
    assert did_cli.main(["reference", "load-dm01", str(good), "--store", str(store_dir)]) == 0
    assert "dm01 reference replaced: 6 rows" in capsys.readouterr().err
    bad = _dm01_csv(tmp_path / "bad.csv", ["2026-05,RAJ,MRI,1,1,0", "2026-05,RAJ,Ultrasound,1,1,0"])
    assert did_cli.main(["reference", "load-dm01", str(bad), "--store", str(store_dir)]) == did_cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.startswith("did: error: bad.csv line 3:") and "\n" not in err
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        assert dm01.loaded_months(snap) == [APRIL]
    finally:
        snap.close()


def test_a_store_from_before_the_dm01_tables_gets_them_and_publishes(store_dir):
    """An older store (no ref_dm01_test, ref_dm01) is brought up to date when next opened: the
    mapping filled, so the rollups that join it build."""
    import duckdb

    con = duckdb.connect(str(store.store_path(store_dir)))
    con.execute("DROP TABLE ref_dm01_test")
    con.execute("DROP TABLE ref_dm01")
    con.execute("UPDATE store_meta SET value = 'older' WHERE key = 'schema_fingerprint'")
    con.close()
    with store.writer(store_dir) as con:
        assert con.execute("SELECT dm01_test FROM ref_dm01_test WHERE nicip_code = 'FBAEN'").fetchall() == [
            ("Barium enema",)
        ]
        store.publish(con, store_dir)
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        assert snap.query("SELECT count(*) AS n FROM rollup_dm01_activity")["n"][0] == 0
    finally:
        snap.close()


def test_a_providers_difference_is_worked_from_the_rounded_count_so_dm01_cannot_unround_it(hand, tmp_path, monkeypatch):
    """DM01's activity is public: a difference worked from the unrounded DID count would give that
    count back (difference + DM01). Outside central it is worked from the count as shown."""
    monkeypatch.setenv("DID_SUPPRESS_UP_TO", "0")  # nothing hidden, so every row shows a rounded count
    store_dir, _ = hand
    _load(store_dir, _dm01_csv(tmp_path / "dm01.csv", GOOD))
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        mine = dm01.reconciliation(snap, PROVIDER, APRIL, APRIL)
    finally:
        snap.close()
    shown = mine.filter(pl.col("did_activity").is_not_null())
    assert shown.height and (shown["did_activity"] % 5 == 0).all()
    assert (shown["difference"] == shown["did_activity"] - shown["dm01_activity"].fill_null(0)).all()
