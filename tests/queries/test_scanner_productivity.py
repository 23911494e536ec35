"""Scans per operating hour (queries/productivity.py) on the hand-made store of
tests/scanner_hours_store.py: the hand-worked figures, a loop over the records as the naive
second implementation, measured minutes in the monthly utilisation, scope and disclosure."""

from __future__ import annotations

from datetime import date

import pytest

import scanner_hours_store as hours
from did_model.scope import CENTRAL, Scope, ScopeError
from ingest import store
from queries import equipment, productivity
from queries.connection import Snapshot

MAY = productivity.ProductivityFilter("CT", hours.MAY, hours.MAY)
SCHEDULED_RAJ01 = 84 * 60 * 31 / 7


def _snapshot(store_dir, rows=hours.HAND) -> Snapshot:
    hours.build(store_dir, rows)
    return Snapshot(store.current_snapshot(store_dir))


@pytest.fixture(scope="module")
def snap(tmp_path_factory) -> Snapshot:
    s = _snapshot(tmp_path_factory.mktemp("scanner-hours") / "store")
    yield s
    s.close()


def _by_site(frame) -> dict:
    return {r["site_code"] or r["provider_code"]: r for r in frame.iter_rows(named=True)}


def test_site_figures_are_the_hand_worked_ones(snap):
    rows = _by_site(productivity.site_productivity(snap, CENTRAL, MAY))
    raj = rows["RAJ01"]
    assert (raj["examinations"], raj["operating_hours"], raj["scanners"], raj["dropped_durations"]) == (7, 5, 2, 2)
    assert raj["scans_per_operating_hour"] == pytest.approx(1.4)
    assert raj["scans_per_scanner_hour"] == pytest.approx(0.7) and raj["guidance"] == productivity.BELOW
    assert raj["measured_minutes"] == pytest.approx(65)
    assert raj["measured_utilisation"] == pytest.approx(65 / SCHEDULED_RAJ01)
    rbk = rows["RBK01"]
    assert (rbk["examinations"], rbk["operating_hours"]) == (6, 2)
    assert rbk["scans_per_scanner_hour"] == pytest.approx(3.0) and rbk["guidance"] == productivity.WITHIN
    assert rbk["measured_minutes"] == pytest.approx(90) and rbk["measured_utilisation"] is None
    england = rows[equipment.ENGLAND]
    assert (england["examinations"], england["operating_hours"], england["dropped_durations"]) == (13, 7, 2)
    assert england["scans_per_operating_hour"] == pytest.approx(13 / 7)
    assert england["scans_per_scanner_hour"] == pytest.approx(13 / 12)
    assert england["measured_utilisation"] == pytest.approx(65 / SCHEDULED_RAJ01)
    assert list(rows) == [equipment.ENGLAND, "RBK01", "RAJ01"]  # England, then most per scanner-hour


def test_heat_map_cells_are_uk_clock_hours(snap):
    cells = {(r["weekday"], r["hour"]): r for r in productivity.hour_weekday(snap, CENTRAL, MAY).iter_rows(named=True)}
    assert (cells[("Monday", "09:00")]["examinations"], cells[("Monday", "09:00")]["operating_hours"]) == (4, 2)
    assert cells[("Monday", "09:00")]["scans_per_operating_hour"] == pytest.approx(2.0)
    assert cells[("Thursday", "14:00")]["scans_per_operating_hour"] == pytest.approx(4.0)
    assert ("Wednesday", "00:00") in cells and ("Tuesday", "23:00") in cells  # 23:30 UTC is 00:30 in BST
    october = productivity.ProductivityFilter("CT", date(2026, 10, 1), date(2026, 10, 1))
    assert productivity.hour_weekday(snap, CENTRAL, october)[["weekday", "hour"]].rows() == [("Monday", "09:00")]


def test_v1_months_and_obstetric_ultrasound_are_kept_out(snap):
    march = productivity.ProductivityFilter("CT", date(2026, 3, 1), date(2026, 5, 1))
    assert productivity.site_productivity(snap, CENTRAL, march).row(0, named=True)["examinations"] == 13
    assert productivity.timed_months(snap, date(2026, 1, 1), date(2026, 12, 1)) == (hours.MAY, date(2026, 10, 1))
    us = productivity.ProductivityFilter("Ultrasound", hours.MAY, hours.MAY)
    assert productivity.site_productivity(snap, CENTRAL, us).row(0, named=True)["examinations"] == 1


def test_agrees_with_a_loop_over_the_records(tmp_path):
    rows = hours.random_records()
    s = _snapshot(tmp_path / "store", rows)
    try:
        for modality in ("CT", "MRI"):
            f = productivity.ProductivityFilter(modality, date(2026, 6, 1), date(2026, 7, 1))
            sites, cells = hours.naive(rows, modality, f.first_month, f.last_month)
            got = _by_site(productivity.site_productivity(s, CENTRAL, f))
            for site, (exams, op_hours, minutes, dropped) in sites.items():
                row = got[site]
                assert (row["examinations"], row["operating_hours"]) == (exams, op_hours)
                assert row["dropped_durations"] == dropped
                assert row["measured_minutes"] == pytest.approx(minutes)
                assert row["scans_per_operating_hour"] == pytest.approx(exams / op_hours)
            assert got[equipment.ENGLAND]["operating_hours"] == sum(v[1] for v in sites.values())
            heat = productivity.hour_weekday(s, CENTRAL, f)
            assert heat.height == len(cells)
            for r in heat.iter_rows(named=True):
                key = (equipment.WEEKDAYS.index(r["weekday"]) + 1, int(r["hour"][:2]))
                assert (r["examinations"], r["operating_hours"]) == cells[key]
    finally:
        s.close()


def test_monthly_utilisation_uses_measured_minutes_where_timestamps_exist(snap):
    f = equipment.UtilisationFilter("CT", date(2026, 3, 1), hours.MAY)
    trend = {r["activity_month"]: r for r in equipment.monthly_utilisation(snap, CENTRAL, f).iter_rows(named=True)}
    assert trend[hours.MAY]["minutes_basis"] == equipment.MEASURED
    assert trend[hours.MAY]["utilisation"] == pytest.approx(65 / SCHEDULED_RAJ01)  # RBK01: hours not known
    march = trend[date(2026, 3, 1)]
    assert march["minutes_basis"] == equipment.ASSUMED
    assert march["utilisation"] == pytest.approx(15 / (84 * 60 * 31 / 7))  # one CT of any area: 15 minutes


def test_scope_and_disclosure(snap, monkeypatch):
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")  # hand-worked: tests/disclosure checks the noise
    raj = Scope("provider", providers=frozenset({"RAJ"}))
    table = productivity.site_productivity(snap, raj, MAY)
    assert table["provider_code"].to_list() == [equipment.ENGLAND, "RAJ"]
    england, own = table.row(0, named=True), table.row(1, named=True)
    assert england["examinations"] == 15 and england["operating_hours"] == 7
    assert england["scans_per_operating_hour"] == pytest.approx(13 / 7)
    assert england["dropped_durations"] is None and england["suppressed"]  # 2: hidden, England still first
    assert own["examinations"] is None and own["operating_hours"] is None and own["suppressed"]
    assert own["scans_per_scanner_hour"] is None and own["measured_minutes"] is None
    with pytest.raises(ScopeError):
        productivity.site_productivity(snap, raj, MAY, "RBK")
    with pytest.raises(ScopeError):
        productivity.hour_weekday(snap, raj, MAY, "RBK")
    heat = productivity.hour_weekday(snap, raj, MAY)
    assert heat["examinations"].null_count() == heat.height  # every cell of 1–7: hidden


def test_a_provider_cannot_read_another_providers_hours_by_site_code_alone(snap):
    raj = Scope("provider", providers=frozenset({"RAJ"}))
    with pytest.raises(ValueError, match="needs its provider"):
        productivity.hour_weekday(snap, raj, MAY, None, "RBK01")
    assert productivity.hour_weekday(snap, raj, MAY, "RAJ", "RBK01")["examinations"].sum() == 0


def test_by_provider_sums_its_sites_as_england_sums_every_site(snap, monkeypatch):
    """The provider profile's scans per operating hour: a provider's sites summed (hand-worked:
    RAJ one site, 7 scans in 5 operating hours; RBK 6 in 2), England first; a provider user sees
    its own row only, protected as its site rows are."""
    table = {
        r["provider_code"]: r for r in productivity.provider_productivity(snap, CENTRAL, MAY).iter_rows(named=True)
    }
    assert list(table) == [equipment.ENGLAND, "RAJ", "RBK"]
    assert (table["RAJ"]["examinations"], table["RAJ"]["operating_hours"]) == (7, 5)
    assert table["RAJ"]["scans_per_operating_hour"] == pytest.approx(1.4)
    assert table["RBK"]["scans_per_operating_hour"] == pytest.approx(3.0)
    assert table[equipment.ENGLAND]["scans_per_operating_hour"] == pytest.approx(13 / 7)
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")
    raj = productivity.provider_productivity(snap, Scope("provider", providers=frozenset({"RAJ"})), MAY)
    assert raj["provider_code"].to_list() == [equipment.ENGLAND, "RAJ"]
    assert raj.row(1, named=True)["scans_per_operating_hour"] is None  # 7 examinations: hidden
