"""The Official statistics and Radiation dose pages (AppTest) show exactly what `did report` writes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

import official_store as hand_made
from dashboard.components.official_charts import collective_dose_figure, per_caput_figure
from did_model.scope import CENTRAL, Scope
from queries.connection import get_snapshot
from queries.headline import activity_totals
from queries.official import FinancialYear
from queries.reports.dose import build_dose
from queries.reports.kh12 import build_kh12
from queries.reports.monthly import build_monthly

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
COMMISSIONER = Scope("commissioner", icbs=frozenset({"QHM"}), user="test")
PERIOD = date(2026, 3, 1)


@pytest.fixture(scope="module")
def official_store(empty_store_template, tmp_path_factory):
    d = hand_made.make(empty_store_template, tmp_path_factory.mktemp("official-pages"))
    return d


def open_page(store: Path, page: str, scope: Scope, monkeypatch) -> AppTest:
    monkeypatch.setenv("DID_STORE_DIR", str(store))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["scope"] = scope
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest, i: int) -> pl.DataFrame:
    return pl.from_pandas(at.dataframe[i].value, nan_to_null=True)


def same(page: pl.DataFrame, report: pl.DataFrame) -> bool:
    """Equal values column by column (the page's frame comes back through pandas)."""
    if page.columns != report.columns or page.height != report.height:
        return False
    return all(
        [
            None if v is None else (v.date() if hasattr(v, "date") and report[c].dtype == pl.Date else v)
            for v in page[c].to_list()
        ]
        == report[c].to_list()
        for c in report.columns
    )


@pytest.mark.parametrize("scope", [CENTRAL, COMMISSIONER], ids=["central", "commissioner"])
def test_official_outputs_page_matches_the_report(official_store, scope, monkeypatch):
    at = open_page(official_store, "views/official_outputs.py", scope, monkeypatch)
    at.selectbox[0].set_value(PERIOD).run()  # the newest period (2026-04) reports March, which is empty
    assert not at.exception
    report = build_monthly(get_snapshot(official_store), CENTRAL, PERIOD).tables
    names = [
        "activity_by_month",
        "activity_by_provider",
        "activity_by_sub_icb",
        "waiting_times",
        "gp_direct_access_by_sub_icb",
    ]
    for i, name in enumerate(names):
        assert same(shown(at, i), report[name]), name
    metrics = {m.label: m.value for m in at.metric}
    february = report["activity_by_month"].filter(pl.col("activity_month") == date(2026, 2, 1))["total"][0]
    assert metrics["Examinations in February 2026, as published"] == f"{february:,}"  # perturbed, rounded to 5
    # Home gives the central team exact counts: the published figure says so and names the exact one,
    # so the two numbers a central user sees are never unexplained.
    help_ = next(m.help for m in at.metric if m.label.startswith("Examinations in February"))
    exact = activity_totals(get_snapshot(official_store), CENTRAL, date(2026, 2, 1)).this_month
    assert ("exact count, as on the Home page: " + f"{exact:,}" in help_) == (scope is CENTRAL)
    assert metrics["Organisations included"] == "33.3%"
    assert at.query_params["period"] == ["2026-03"] or at.query_params["period"] == "2026-03"
    kh12 = build_kh12(get_snapshot(official_store), CENTRAL, FinancialYear(2025)).tables["kh12"]
    assert same(shown(at, len(names)), kh12)


def test_official_outputs_icb_level(official_store, monkeypatch):
    at = open_page(official_store, "views/official_outputs.py", CENTRAL, monkeypatch)
    at.selectbox[0].set_value(PERIOD).run()
    at.radio(key="commissioner-level").set_value("ICB").run()
    report = build_monthly(get_snapshot(official_store), CENTRAL, PERIOD).tables
    assert same(shown(at, 2), report["activity_by_icb"])


@pytest.mark.parametrize("scope", [CENTRAL, COMMISSIONER], ids=["central", "commissioner"])
def test_radiation_dose_page_matches_the_report(official_store, scope, monkeypatch):
    at = open_page(official_store, "views/radiation_dose.py", scope, monkeypatch)
    report = build_dose(get_snapshot(official_store), scope, FinancialYear(2025)).tables
    for i, name in enumerate(["by_examination", "by_modality", "by_age_sex", "without_dose"]):
        assert same(shown(at, i), report[name]), name
    metrics = {m.label: m.value for m in at.metric}
    if scope.is_central:
        # 24.9 mSv over the store's records = 0.0249 man Sv; 96 examinations, 63 with a dose
        assert metrics["Collective dose (man Sv)"] == "0.0249"
        assert (metrics["Examinations"], metrics["With a typical dose"]) == ("96", "65.6%")
    else:
        examinations = report["summary"]["examinations"][0]  # 96, perturbed, rounded to 5
        assert examinations % 5 == 0 and metrics["Examinations"] == f"{examinations:,}"
    assert any("2 of the 12 months" in w.value for w in at.warning)


def test_dose_figures_are_built_from_the_tables(official_store):
    tables = build_dose(get_snapshot(official_store), CENTRAL, FinancialYear(2025)).tables
    bars = collective_dose_figure(tables["by_examination"]).data[0]
    assert list(bars.y) == ["Limbs and joints (except hip)", "Chest (PA)", "CT chest"]  # smallest at the bottom
    assert list(bars.x) == pytest.approx([0.0003, 0.0006, 0.024])
    per_caput = per_caput_figure(tables["by_age_sex"])
    assert [t.name for t in per_caput.data] == ["Female", "Male"]
