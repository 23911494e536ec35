"""The "Scans per operating hour" section of the scanner page in AppTest on the hand-made store of
tests/scanner_hours_store.py: it renders for central and provider users, its tables are exactly
what `did export scanner-productivity` writes, the monthly trend says which months use measured
minutes, and a store with no procedure times says so in words."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import scanner_hours_store as hours
from did_model.scope import CENTRAL, Scope
from downloads import offered, open_section
from ingest import store
from queries import equipment, productivity
from queries.connection import Snapshot
from queries.exports import registry

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    store_dir = tmp_path_factory.mktemp("scanner-page") / "store"
    hours.build(store_dir)
    return store_dir


@pytest.fixture
def snap(store_dir, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    s = Snapshot(store.current_snapshot(store_dir))
    yield s
    s.close()


def open_page(scope: Scope, modality: str = "CT", section: str = "Scans per operating hour") -> AppTest:
    """The scanner page for `modality`, its section `section` open (each section runs only once opened)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["scope"] = scope
    at.run()
    at.switch_page("views/equipment.py").run()
    next(s for s in at.selectbox if s.label == "Modality").set_value(modality).run()
    assert not at.exception, [e.value for e in at.exception]
    return open_section(at, section)


def export(snap: Snapshot, scope: Scope, argv: list[str]) -> pd.DataFrame:
    parser = argparse.ArgumentParser()
    registry()["scanner-productivity"].add_arguments(parser)
    return registry()["scanner-productivity"].build(snap, scope, parser.parse_args(["--modality", "CT", *argv]))


def page_request(snap: Snapshot, by: str) -> productivity.ProductivityTable:
    """The page's request for its default filters (CT, its period's months with procedure times)."""
    months = productivity.timed_months(snap, *equipment.default_months(snap))
    return productivity.ProductivityTable(productivity.ProductivityFilter("CT", *months), by)


def requested(snap: Snapshot, scope: Scope, argv: list[str], page_request) -> pd.DataFrame:
    """The export's table for the page's request, once the command line for the same filters is
    seen to make the same request."""
    parser = argparse.ArgumentParser()
    registry()["scanner-productivity"].add_arguments(parser)
    args = parser.parse_args(["--modality", "CT", *argv])
    assert registry()["scanner-productivity"].request(snap, args) == page_request
    return registry()["scanner-productivity"].table(snap, scope, page_request)


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def same(page: pd.DataFrame, frame) -> None:
    pd.testing.assert_frame_equal(page.reset_index(drop=True), frame.to_pandas(), check_dtype=False)


def test_central_sees_every_site_and_the_page_equals_the_export(snap):
    at = open_page(CENTRAL)
    assert any(s.value == "Scans per operating hour" for s in at.subheader)
    sites = table_with(at, "scans_per_scanner_hour")
    assert sites["provider_code"].tolist() == [equipment.ENGLAND, "RBK", "RAJ"]
    by_site = requested(snap, CENTRAL, [], page_request(snap, "site"))
    same(sites, by_site)
    assert offered(at, "equipment-scans-per-hour.csv", by_site)
    same(table_with(at, "hour"), requested(snap, CENTRAL, ["--by", "hour"], page_request(snap, "hour")))
    trend = table_with(open_section(at, "Weekday and month"), "minutes_basis").set_index("activity_month")[
        "minutes_basis"
    ]
    assert set(trend) == {equipment.MEASURED, equipment.ASSUMED}
    assert any("measured scanner minutes for May 2026 and October 2026" in c.value for c in at.caption)


def test_a_provider_sees_england_and_its_own_sites_protected(snap, monkeypatch):
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")  # hand-worked: tests/disclosure checks the noise
    raj = Scope("provider", providers=frozenset({"RAJ"}))
    at = open_page(raj)
    sites = table_with(at, "scans_per_scanner_hour")
    assert sites["provider_code"].tolist() == [equipment.ENGLAND, "RAJ"]
    # May to October: England 14 examinations, RAJ01 8, shown rounded to 5; England's 2 unusable
    # times are hidden, so the figures are written as text.
    assert sites["examinations"].tolist() == ["15", "10"] and sites.loc[0, "dropped_durations"] == "*"
    assert export(snap, raj, [])["provider_code"].to_list() == [equipment.ENGLAND, "RAJ"]
    heat = table_with(at, "hour")
    assert heat["examinations"].isna().all() or (heat["examinations"] == "*").all()  # every cell 1–7


def test_obstetric_ultrasound_is_left_out(snap):
    at = open_page(CENTRAL, "Ultrasound")  # one non-obstetric scan; the obstetric one left out
    assert table_with(at, "scans_per_scanner_hour").loc[0, "examinations"] == 1


def test_a_store_without_times_says_so(tmp_path, monkeypatch):
    hours.build(tmp_path / "store", [r for r in hours.HAND if r["month"]])  # March 2026 (v1.0) only
    monkeypatch.setenv("DID_STORE_DIR", str(tmp_path / "store"))
    at = open_page(CENTRAL)
    assert any("No CT examinations with procedure times in this period" in i.value for i in at.info)


def test_heat_map_places_cells_from_zero_and_leaves_hidden_ones_white():
    import polars as pl

    from dashboard.components.equipment_charts import hour_weekday_figure, scanner_hour_figure

    cells = pl.DataFrame(
        {
            "weekday": ["Monday", "Sunday"],
            "hour": ["09:00", "23:00"],
            "examinations": [40, None],
            "operating_hours": [20, None],
            "scans_per_operating_hour": [2.0, None],
        }
    )
    heat = hour_weekday_figure(cells, equipment.WEEKDAYS).data[0]
    assert heat.z[0][9] == 2.0 and heat.z[6][23] is None and heat.zmin == 0
    assert "40 examinations in 20 operating hours" in heat.text[0][9]
    sites = pl.DataFrame(
        {
            "site_code": [None, "RAJ01"],
            "provider_code": [equipment.ENGLAND, "RAJ"],
            "scans_per_scanner_hour": [2.0, 3.5],
        }
    )
    figure = scanner_hour_figure(sites, (3.0, 4.0))
    assert figure.data[0].y == ("RAJ01 (RAJ)",) and (figure.layout.shapes[0].x0, figure.layout.shapes[0].x1) == (3, 4)
