"""Scanner utilisation on a hand-made store whose figures are worked out below.

January 2026 (31 calendar days; 1 January is a bank holiday, a Thursday), MRI:

    site   provider scanners hours/wk  examinations (date: count body area)
    RAJ01  RAJ      2        100       Mon 5: 10 Head, Tue 6: 6 Heart, Sat 10: 4 Head, Thu 1 (BH): 2 Lower limb
    RAJ02  RAJ      1         50       Wed 7: 3 Abdomen
    RBK01  RBK      1         60       Mon 12: 8 Head, Tue 13: 8 Head

RAJ01: 22 examinations on 4 operating days with 2 scanners -> 22 / 8 = 2.75 per scanner per day;
weekend 4/22, bank holiday 2/22; minutes (Head 30, Heart 60, other 30) = 14×30 + 6×60 + 2×30 = 840;
scheduled 100 × 60 × 31 / 7 = 26,571.4 minutes -> utilisation 840 / 26,571.4 = 3.16%.
RAJ02: 3 / 1 = 3.0; 135 minutes. RBK01: 16 / 2 = 8.0; 480 minutes.
Provider RAJ: 25 examinations over 2×4 + 1×1 = 9 scanner-days = 2.78; England: 41 / 11 = 3.73.
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from did_model.scope import CENTRAL, Scope, ScopeError
from ingest import store
from queries import equipment
from queries.connection import Snapshot

JAN = date(2026, 1, 1)
F = equipment.UtilisationFilter("MRI", JAN, JAN)
EQUIPMENT = [
    ("RAJ01", "MRI", 2, 100.0),
    ("RAJ02", "MRI", 1, 50.0),
    ("RBK01", "MRI", 1, 60.0),
    ("RAJ01", "CT", 1, 168.0),
]
RECORDS = [  # site, day, count, body area
    ("RAJ01", 5, 10, "Head"),
    ("RAJ01", 6, 6, "Heart"),
    ("RAJ01", 10, 4, "Head"),
    ("RAJ01", 1, 2, "Lower limb"),
    ("RAJ02", 7, 3, "Abdomen"),
    ("RBK01", 12, 8, "Head"),
    ("RBK01", 13, 8, "Head"),
]
SCHEDULED_RAJ01 = 100 * 60 * 31 / 7


def _build(template, store_dir, equipment_rows, records) -> Snapshot:
    shutil.copytree(template, store_dir)
    with store.writer(store_dir) as con:
        con.execute("DELETE FROM ref_site")
        sites = sorted({r[0] for r in equipment_rows} | {r[0] for r in records})
        con.executemany(
            "INSERT INTO ref_site (site_code, provider_code, site_name) VALUES (?, ?, ?)",
            [(s, s[:3], f"Site {s}") for s in sites],
        )
        con.execute("DELETE FROM ref_equipment")
        con.executemany("INSERT INTO ref_equipment VALUES (?, ?, ?, ?, false)", equipment_rows)
        rows, n = [], 0
        for site, day, count, area in records:
            for _ in range(count):
                n += 1
                rows.append((site[:3], site, f"A{n:05d}", date(2026, 1, day), area, JAN))
        con.executemany(
            """INSERT INTO record (submission_id, provider_code, site_code, accession_number, patient_source,
                   test_date, modality, body_area, activity_month) VALUES (1, ?, ?, ?, '03', ?, 'MRI', ?, ?)""",
            rows,
        )
        store.publish(con, store_dir)
    return Snapshot(store.current_snapshot(store_dir))


@pytest.fixture(scope="module")
def snap(tmp_path_factory, empty_store_template) -> Snapshot:
    s = _build(empty_store_template, tmp_path_factory.mktemp("equipment") / "store", EQUIPMENT, RECORDS)
    yield s
    s.close()


def test_site_figures_are_the_hand_worked_ones(snap):
    sites = {r["site_code"]: r for r in equipment.site_utilisation(snap, CENTRAL, F).iter_rows(named=True)}
    raj01 = sites["RAJ01"]
    assert (raj01["examinations"], raj01["operating_days"], raj01["scanners"]) == (22, 4, 2)
    assert raj01["exams_per_scanner_per_day"] == pytest.approx(2.75)
    assert raj01["weekend_share"] == pytest.approx(4 / 22)
    assert raj01["bank_holiday_share"] == pytest.approx(2 / 22)
    assert raj01["estimated_minutes"] == pytest.approx(840)
    assert raj01["utilisation"] == pytest.approx(840 / SCHEDULED_RAJ01)
    assert sites["RAJ02"]["exams_per_scanner_per_day"] == pytest.approx(3.0)
    assert sites["RAJ02"]["estimated_minutes"] == pytest.approx(135)
    assert sites["RBK01"]["exams_per_scanner_per_day"] == pytest.approx(8.0)
    assert [sites[s]["rank"] for s in ("RBK01", "RAJ02", "RAJ01")] == [1, 2, 3]


def test_provider_rows_weight_sites_by_scanner_days(snap):
    rows = {r["provider_code"]: r for r in equipment.provider_utilisation(snap, CENTRAL, F).iter_rows(named=True)}
    assert rows["RAJ"]["exams_per_scanner_per_day"] == pytest.approx(25 / 9)
    assert rows[equipment.ENGLAND]["exams_per_scanner_per_day"] == pytest.approx(41 / 11)
    assert rows[equipment.ENGLAND]["scanners"] == 4


def test_changed_durations_change_only_the_estimate(snap):
    f = equipment.UtilisationFilter(
        "MRI",
        JAN,
        JAN,
        equipment.with_durations(equipment.DEFAULT_DURATIONS, [("MRI", "Head", 20.0), ("MRI", "*", 40.0)]),
    )
    raj01 = equipment.site_utilisation(snap, CENTRAL, f).filter(site_code="RAJ01").row(0, named=True)
    assert raj01["estimated_minutes"] == pytest.approx(14 * 20 + 6 * 60 + 2 * 40)
    assert raj01["examinations"] == 22
    with pytest.raises(ValueError):
        equipment.with_durations(equipment.DEFAULT_DURATIONS, [("MRI", "Head", 0.0)])


def test_weekday_profile_puts_bank_holidays_in_their_own_row(snap):
    profile = {r["day"]: r for r in equipment.weekday_profile(snap, CENTRAL, F, "RAJ").iter_rows(named=True)}
    assert profile["Monday"]["examinations"] == 10 and profile["Monday"]["days"] == 4
    assert profile["Thursday"]["examinations"] == 0 and profile["Thursday"]["days"] == 4
    assert profile[equipment.BANK_HOLIDAY_LABEL]["examinations"] == 2
    assert profile[equipment.BANK_HOLIDAY_LABEL]["days"] == 1
    assert sum(r["days"] for r in profile.values()) == 31


def test_monthly_trend(snap):
    trend = equipment.monthly_utilisation(snap, CENTRAL, F).row(0, named=True)
    assert trend["examinations"] == 41 and trend["scanner_days"] == 11
    minutes = 840 + 135 + 480
    scheduled = (100 + 50 + 60) * 60 * 31 / 7
    assert trend["utilisation"] == pytest.approx(minutes / scheduled)


def test_provider_user_sees_its_sites_protected(snap, monkeypatch):
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")  # hand-worked: tests/disclosure checks the noise
    raj = Scope("provider", providers=frozenset({"RAJ"}))
    sites = equipment.site_utilisation(snap, raj, F)
    assert sites["site_code"].to_list() == ["RAJ01", "RAJ02"]  # the suppressed site last
    raj02 = sites.filter(site_code="RAJ02").row(0, named=True)
    assert raj02["examinations"] is None and raj02["exams_per_scanner_per_day"] is None  # 3 is suppressed
    assert raj02["rank"] is None and raj02["operating_days"] is None and raj02["suppressed"]
    assert sites.filter(site_code="RAJ01")["examinations"][0] == 20  # 22 rounded to 5
    providers = equipment.provider_utilisation(snap, raj, F)
    assert providers["provider_code"].to_list() == [equipment.ENGLAND, "RAJ"]
    with pytest.raises(ScopeError):
        equipment.weekday_profile(snap, raj, F, "RBK")
    assert equipment.provider_utilisation(snap, Scope("gp", practice="A81001"), F)["provider_code"].to_list() == [
        equipment.ENGLAND
    ]


# GOV.UK's list for England and Wales, 2025–2027 (https://www.gov.uk/bank-holidays.json,
# division "england-and-wales"), typed in as the known-good answer.
GOV_UK_2025_2027 = [
    date.fromisoformat(d)
    for d in (
        "2025-01-01",
        "2025-04-18",
        "2025-04-21",
        "2025-05-05",
        "2025-05-26",
        "2025-08-25",
        "2025-12-25",
        "2025-12-26",
        "2026-01-01",
        "2026-04-03",
        "2026-04-06",
        "2026-05-04",
        "2026-05-25",
        "2026-08-31",
        "2026-12-25",
        "2026-12-28",
        "2027-01-01",
        "2027-03-26",
        "2027-03-29",
        "2027-05-03",
        "2027-05-31",
        "2027-08-30",
        "2027-12-27",
        "2027-12-28",
    )
]


def test_the_site_frame_is_one_for_every_scope_that_needs_disclosure_control(snap):
    """The frame every site table starts from is kept per snapshot and filter (Snapshot.remember)
    and shared by a provider, a commissioner and a GP: a cell's noise depends on the cell, not on
    who asks. Checked against frames worked out afresh for each scope."""
    from queries.connection import QueryMemo

    scopes = [
        Scope("provider", providers=frozenset({"RAJ"})),
        Scope("commissioner", icbs=frozenset({"QE1"})),
        Scope("gp", practice="A81001"),
    ]
    fresh = [equipment._work_out_site_frame(snap, F, s).sort("site_code") for s in scopes]
    for frame in fresh[1:]:
        assert frame.equals(fresh[0])
    kept = Snapshot(snap.path, memo=QueryMemo())
    try:
        shown = [equipment.site_utilisation(kept, s, F) for s in scopes[:2]]
        assert shown[0].equals(equipment.site_utilisation(snap, scopes[0], F))  # as without the memo
        assert shown[1].equals(equipment.site_utilisation(snap, scopes[1], F))
        assert (
            equipment._site_frame(kept, F, CENTRAL)
            .sort("site_code")
            .equals(equipment._work_out_site_frame(snap, F, CENTRAL).sort("site_code"))
        )
    finally:
        kept.close()


def test_bank_holidays_are_gov_uks_england_and_wales_list():
    assert equipment.bank_holidays(date(2025, 1, 1), date(2027, 12, 31)) == GOV_UK_2025_2027
    assert equipment.bank_holidays(date(2026, 12, 26), date(2026, 12, 31)) == [date(2026, 12, 28)]


def test_bank_holidays_cover_next_year():
    """The eight regular bank holidays of next year are there: no year is silently without any."""
    year = date.today().year + 1
    days = equipment.bank_holidays(date(year, 1, 1), date(year, 12, 31))
    assert len(days) >= 8 and days[0].month == 1 and days[-1].month == 12


def test_inventory_status_counts_scanners(snap):
    inv = {r["modality"]: r for r in equipment.inventory_status(snap).iter_rows(named=True)}
    assert inv["MRI"]["scanners"] == 4 and inv["MRI"]["synthetic_rows"] == 0


def test_sites_with_blank_hours_are_left_out_of_utilisation(tmp_path, empty_store_template):
    """RBK02 has an MRI scanner but no scheduled hours, and 10 Head examinations (300 minutes):
    they must not be set against RBK01's 60 hours. RBK: 480 minutes / (60 × 60 × 31 / 7), not
    780 / that; England: 1,455 minutes / 210 hours' worth, as without RBK02."""
    s = _build(
        empty_store_template,
        tmp_path / "store",
        [*EQUIPMENT, ("RBK02", "MRI", 1, None)],
        [*RECORDS, ("RBK02", 14, 10, "Head")],
    )
    try:
        sites = {r["site_code"]: r for r in equipment.site_utilisation(s, CENTRAL, F).iter_rows(named=True)}
        assert (sites["RBK02"]["utilisation"], sites["RBK02"]["utilisation_note"]) == (None, "hours not known")
        assert sites["RBK02"]["estimated_minutes"] == pytest.approx(300)  # still shown, with its examinations
        assert sites["RBK01"]["utilisation_note"] is None
        rows = {r["provider_code"]: r for r in equipment.provider_utilisation(s, CENTRAL, F).iter_rows(named=True)}
        assert rows["RBK"]["utilisation"] == pytest.approx(480 / (60 * 60 * 31 / 7))
        assert (rows["RBK"]["sites_hours_not_known"], rows["RAJ"]["sites_hours_not_known"]) == (1, 0)
        england = (840 + 135 + 480) / ((100 + 50 + 60) * 60 * 31 / 7)
        assert rows[equipment.ENGLAND]["utilisation"] == pytest.approx(england)
        assert rows[equipment.ENGLAND]["sites_hours_not_known"] == 1
        assert equipment.monthly_utilisation(s, CENTRAL, F)["utilisation"][0] == pytest.approx(england)
        assert equipment.monthly_utilisation(s, CENTRAL, F, "RBK", "RBK02")["utilisation"][0] is None
    finally:
        s.close()


def test_a_provider_cannot_read_another_providers_site_by_its_code_alone(snap, tmp_path):
    """RAJ's user asks for RBK's site with no provider: refused in the query layer and by the
    export, which would otherwise have read RBK01 as "all providers, site RBK01"."""
    raj = Scope("provider", providers=frozenset({"RAJ"}))
    with pytest.raises(ValueError, match="needs its provider"):
        equipment.weekday_profile(snap, raj, F, None, "RBK01")
    with pytest.raises(ValueError, match="needs its provider"):
        equipment.monthly_utilisation(snap, raj, F, None, "RBK01")
    with pytest.raises(ScopeError):
        equipment.weekday_profile(snap, raj, F, "RBK", "RBK01")
    # its own site with its own provider still works; another's site under its own code finds nothing
    assert equipment.weekday_profile(snap, raj, F, "RAJ", "RAJ01")["examinations"].sum() > 0
    assert equipment.daily_activity(snap, raj, F, "RAJ", "RBK01")["examinations"].sum() == 0
