"""A synthetic store says what it is on every page, and a slice of England reads at its own rates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest
from test_pages import run_app

from ingest import reference
from ingest.store import publish
from ingest.synth import world

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
SLICE = "QSL"  # Somerset: one small ICB
PLANTED = {
    "first_month": "2025-03",
    "last_month": "2026-02",
    "scale": 1.0,
    "world": {"area": [SLICE], "area_names": ["Somerset"], "providers": ["RAJ", "RBK", "RCF", "RDE"]},
}
BANNER = "**Synthetic data**: a full-scale slice of England (Somerset), Mar 2025 – Feb 2026 — not real patients."
PAGES = [None, "views/about.py", "views/completeness.py", "views/gp_measure.py", "views/equipment.py"]


def _slice_practices() -> list[str]:
    return reference.practices().filter(pl.col("icb_code") == SLICE)["practice_code"].to_list()


@pytest.fixture(scope="module")
def slice_store(tmp_path_factory, tiny):
    """The tiny store's submissions with 100 records in each of 12 months, as a Somerset slice."""
    store_dir = tmp_path_factory.mktemp("slice") / "store"
    con = tiny.open_working_store(store_dir, synthetic=True)
    try:
        planted = {**PLANTED, "world": {**PLANTED["world"], "practices": _slice_practices()}}
        world.record(con, planted)
        world.restrict_reference(con, planted)
        tiny.insert_submissions(con, tiny.SUBMISSIONS)
        months = [date(2025 + (m + 2) // 12, (m + 2) % 12 + 1, 10) for m in range(12)]  # Mar 2025..Feb 2026
        tiny.insert_records(con, [(d, "RAJ", "Plain radiography", "05", None, 100) for d in months])
        population = con.execute("SELECT sum(patients) FROM ref_population WHERE org_type = 'REGION'").fetchone()[0]
        publish(con, store_dir)
    finally:
        con.close()
    return store_dir, population


@pytest.mark.parametrize("page", PAGES)
def test_every_page_of_a_synthetic_store_says_what_it_is(slice_store, monkeypatch, page):
    monkeypatch.setenv("DID_STORE_DIR", str(slice_store[0]))
    at = run_app(page)
    assert [w.value for w in at.main.warning if "Synthetic data" in w.value] == [BANNER]


@pytest.mark.parametrize("page", [None, "views/about.py"])
def test_a_real_store_has_no_synthetic_banner(tmp_path, tiny, monkeypatch, page):
    tiny.build_tiny_store(tmp_path / "store", synthetic=False)
    monkeypatch.setenv("DID_STORE_DIR", str(tmp_path / "store"))
    at = run_app(page)
    assert not [w for w in at.warning if "Synthetic data" in w.value]


def test_a_synthetic_store_that_does_not_say_what_world_is_still_bannered(tiny_store, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tiny_store))
    at = run_app()
    assert "**Synthetic data** — not real patients." in [w.value for w in at.warning]


def test_a_slice_store_counts_the_area_only(slice_store):
    _, population = slice_store
    somerset = reference.practices().filter(pl.col("icb_code") == SLICE)["list_size"].sum()
    assert abs(population - somerset) <= 0.05 * somerset  # the area's patients (two dates of data), not 63 M


def test_home_shows_the_annual_rate_per_1000_over_the_area(slice_store, monkeypatch):
    store_dir, population = slice_store
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    at = run_app()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Examinations a year per 1,000 registered patients"] == f"{1200 * 1000 / population:,.0f}"


def test_home_shows_no_rate_for_a_part_year(tiny_store, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tiny_store))
    at = run_app()
    assert "Examinations a year per 1,000 registered patients" not in {m.label for m in at.metric}


def test_demo_mode_opens_on_the_slices_own_organisations(slice_store, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(slice_store[0]))
    monkeypatch.setenv("DID_DEMO_MODE", "1")
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["demo_role"] = "gp"
    at.run()
    code = at.sidebar.text_input(key="demo_code_gp").value
    practices = reference.practices().filter(pl.col("icb_code") == SLICE)
    assert code in practices["practice_code"].to_list()
    median = practices["list_size"].sort()[(practices.height - 1) // 2]
    assert practices.filter(pl.col("practice_code") == code)["list_size"][0] >= median
