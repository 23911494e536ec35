"""The monthly statistics tables (queries/official.py) on a hand-made store, against hand-worked figures.

The store (tests/official_store.py, shared with the other official-output tests) holds the
rows in RECORDS. Worked by hand below, for period March 2026 (reporting
month February 2026), with the publication rule's suppression and rounding (1-7 suppressed, others
rounded half-up to 5) and its perturbation switched off (DID_PERTURB_UP_TO=0) so that the figures
can be worked by hand; tests/disclosure/test_outputs_attacks.py checks the perturbation:

February 2026, exact:      Plain rad.  Ultrasound  CT  MRI   total
    RAJ                    12 (XCHES)              3   9     24
    RBK                    8 + 30                  20         58
    England                50          20          3   9     82
Published: RAJ 10, *, 10 (CT 3 suppressed; no secondary suppression), total 25;
RBK 40, 20, total 60; England 50, 20, *, 10, total 80.

Organisations: Feb 2026 is carried by period 2026-03: RAJ accepted, RBK rejected; expected =
accepted in 2025-03..2026-02 (RAJ, RBK, RCF; RDE's 2025-01 file is too old) = 3 -> 1 of 3,
33.3%. Jan 2026 (period 2026-02): RAJ and RBK accepted, expected RAJ, RBK, RCF -> 2 of 3, 66.7%.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

import official_store as hand_made
from did_model import nicip
from official_store import MONTH, P1, P2, PERIOD
from queries import official
from queries.connection import get_snapshot


@pytest.fixture(scope="module")
def official_store(empty_store_template, tmp_path_factory) -> Path:
    """The hand-made store, built once for this module (read-only for the tests)."""
    return hand_made.make(empty_store_template, tmp_path_factory.mktemp("official"))


@pytest.fixture(autouse=True)
def _no_noise(monkeypatch):
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")


@pytest.fixture
def snap(official_store):
    return get_snapshot(official_store)


def _rows(frame: pl.DataFrame, key: str) -> dict:
    return {r[key]: r for r in frame.iter_rows(named=True)}


def _sub_icb(snap, practice: str) -> tuple[str, str]:
    df = snap.query("SELECT sub_icb_code, icb_code FROM ref_practice WHERE practice_code = $p", {"p": practice})
    return df["sub_icb_code"][0], df["icb_code"][0]


def test_activity_by_month_and_organisations_included(snap):
    table = official.activity_by_month(snap, PERIOD)
    assert table["activity_month"].to_list() == [date(2026, 1, 1), MONTH]  # the store starts in January
    jan, feb = table.row(0, named=True), table.row(1, named=True)
    # January exact: Plain rad. 10, Ultrasound 4 -> US suppressed, the other cell kept; total 14 -> 15
    assert (jan["Plain radiography"], jan["Ultrasound"], jan["total"]) == (10, None, 15)
    assert (jan["organisations_included"], jan["organisations_expected"], jan["pct_organisations_included"]) == (
        2,
        3,
        66.7,
    )
    assert (feb["Plain radiography"], feb["Ultrasound"], feb["CT"], feb["MRI"], feb["total"]) == (50, 20, None, 10, 80)
    assert (feb["organisations_included"], feb["organisations_expected"], feb["pct_organisations_included"]) == (
        1,
        3,
        33.3,
    )
    assert all(feb[m] == 0 for m in ("Fluoroscopy", "Nuclear medicine", "PET-CT", "Other", "Unknown"))
    assert table.columns[1 : 1 + len(official.MODALITY_COLUMNS)] == list(official.MODALITY_COLUMNS)


def test_activity_by_provider(snap):
    rows = _rows(official.activity_by_provider(snap, PERIOD), "provider_code")
    assert list(rows) == [official.ENGLAND_CODE, "RAJ", "RBK"]
    pick = lambda r: (r["Plain radiography"], r["Ultrasound"], r["CT"], r["MRI"], r["total"])  # noqa: E731
    assert pick(rows[official.ENGLAND_CODE]) == (50, 20, None, 10, 80)
    assert pick(rows["RAJ"]) == (10, 0, None, 10, 25)
    assert pick(rows["RBK"]) == (40, 20, 0, 0, 60)


def test_activity_by_commissioner_uses_the_registered_practice(snap):
    s1, i1 = _sub_icb(snap, P1)
    s2, i2 = _sub_icb(snap, P2)
    assert (s1, i1, s2, i2) == ("00L", "QHM", "01K", "QE1")
    rows = _rows(official.activity_by_commissioner(snap, PERIOD, "sub_icb"), "sub_icb_code")
    assert list(rows) == [official.ENGLAND_CODE, *sorted([s1, s2]), official.NOT_KNOWN]
    pick = lambda r: (r["Plain radiography"], r["Ultrasound"], r["CT"], r["MRI"], r["total"])  # noqa: E731
    assert pick(rows[s1]) == (10, 0, None, 10, 25)  # RAJ's patients: 12 / 3 / 9
    assert pick(rows[s2]) == (30, 20, 0, 0, 50)  # XWRIL 30, UABDO 20
    assert pick(rows[official.NOT_KNOWN]) == (10, 0, 0, 0, 10)  # 8 chest X-rays with no practice
    assert rows[s1]["icb_code"] == i1 and rows[s2]["icb_code"] == i2
    icbs = _rows(official.activity_by_commissioner(snap, PERIOD, "icb"), "icb_code")
    assert pick(icbs[i1]) == pick(rows[s1]) and pick(icbs[i2]) == pick(rows[s2])


def test_gp_direct_access_by_commissioner(snap):
    s1, _ = _sub_icb(snap, P1)
    s2, _ = _sub_icb(snap, P2)
    table = official.gp_direct_access_by_commissioner(snap, PERIOD)
    rows = _rows(table, "sub_icb_code")
    assert table.columns[4:] == [*nicip.TEST_GROUPS, "total", "suppressed"]
    # source 04 only: chest X-ray 12 and CT chest 3 (RBK's 8 chest films are source 01)
    assert (rows[s1]["chest_xray"], rows[s1]["ct_chest"], rows[s1]["total"]) == (10, None, 15)
    assert (rows[s2]["us_abdo_pelvis"], rows[s2]["total"]) == (20, 20)
    eng = rows[official.ENGLAND_CODE]
    assert (eng["chest_xray"], eng["ct_chest"], eng["us_abdo_pelvis"], eng["mri_brain"], eng["total"]) == (
        10,
        None,
        20,
        0,
        35,
    )
    assert official.NOT_KNOWN not in rows


def test_waiting_time_medians(snap):
    rows = _rows(official.waiting_time_medians(snap, PERIOD), "modality")
    # request->test waits in February: 12x0 (XCHES RAJ), 3x1 (CT), 8x2, 30x5, 20x7 (US), 9x20 (MRI).
    # All 82: the 41st is 5 days. Plain rad. 50: the 25th of 12x0, 8x2, 30x5 is 5 days.
    assert (
        rows["All modalities"]["request_to_test_records"],
        rows["All modalities"]["request_to_test_median_days"],
    ) == (80, 5)
    assert (
        rows["Plain radiography"]["request_to_test_records"],
        rows["Plain radiography"]["request_to_test_median_days"],
    ) == (50, 5)
    assert (rows["MRI"]["request_to_test_median_days"], rows["MRI"]["test_to_report_median_days"]) == (20, 3)
    assert (rows["Ultrasound"]["request_to_test_median_days"], rows["Ultrasound"]["request_to_test_records"]) == (7, 20)
    assert rows["CT"]["request_to_test_records"] is None and rows["CT"]["request_to_test_median_days"] is None
    assert rows["All modalities"]["test_to_report_median_days"] == 1


def test_rollups_and_their_definitions_as_subqueries_agree(snap, monkeypatch):
    with_rollups = official.monthly_tables(snap, PERIOD)
    assert official.has_tables(snap, "rollup_official_commissioner")
    monkeypatch.setattr(official, "has_tables", lambda s, *names: False)
    assert official.rollup_source(snap, "rollup_official_commissioner").startswith("(")
    for name, frame in official.monthly_tables(snap, PERIOD).items():
        assert frame.equals(with_rollups[name]), name


def test_arguments_are_checked():
    assert official.period_argument("202603") == "2026-03"
    assert official.year_argument("2025/26") == "2025-26"
    fy = official.FinancialYear.parse("2025-26")
    assert (fy.first_month, fy.last_month, len(fy.months())) == (date(2025, 4, 1), date(2026, 3, 1), 12)
    for bad in ("2025-27", "2025", "25-26", "2025-2027"):
        with pytest.raises(ValueError):
            official.FinancialYear.parse(bad)
    with pytest.raises(ValueError):
        official.period_argument("2026-13")
