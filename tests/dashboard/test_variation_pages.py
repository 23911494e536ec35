"""The three variation pages in AppTest over the shared synthetic store; each page's table equals
its `did export` table for the same filters; figure builders tested directly."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from dashboard.components import maps
from dashboard.components import variation_charts as charts
from queries.connection import get_snapshot
from queries.exports import registry
from queries.scope import CENTRAL, Scope
from queries.variation import Filters
from queries.variation_geographic import area_rates, england_dsr

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PERIOD = "2025-12..2026-03"


def run_page(page: str, params: dict[str, str], scope=CENTRAL) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["scope"] = scope
    at.run()
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def store(synthetic_store, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(synthetic_store[0]))
    return synthetic_store[0]


def _args(**kw) -> argparse.Namespace:
    base = {"first": date(2025, 12, 1), "last": date(2026, 3, 1), "test_group": None, "modality": None,
            "source": None}
    return argparse.Namespace(**(base | kw))


def _same(shown: pl.DataFrame | object, exported: pl.DataFrame) -> None:
    shown = pl.from_pandas(shown) if not isinstance(shown, pl.DataFrame) else shown
    assert_frame_equal(shown, exported, check_dtypes=False)


def test_demographic_page_matches_its_export(store):
    at = run_page("views/variation_demographic.py",
                  {"level": "icb", "area": "QE1", "measure": "tg:chest_xray", "source": "04", "period": PERIOD})
    labels = [m.label for m in at.metric]
    assert "Age-sex standardised rate" in labels
    assert "Standardised rate ratio, most vs least deprived quintile" in labels
    assert at.query_params["area"] == ["QE1"] or at.query_params["area"] == "QE1"
    snap = get_snapshot(store)
    export = registry()["variation-demographic"]
    for i, table in enumerate(["age-sex", "deprivation", "ethnicity"]):
        built = export.build(snap, CENTRAL, _args(table=table, level="icb", area="QE1", test_group="chest_xray",
                                                 source="04"))
        _same(at.dataframe[i].value, built)
    assert any("no postcode lookup" in c.value for c in at.caption)


def test_geographic_page_matches_its_export_and_shows_detail(store):
    at = run_page("views/variation_geographic.py", {"level": "sub_icb", "period": PERIOD, "area": "01K"})
    shown = {m.label: m.value for m in at.metric}
    assert shown["Variation between areas"].endswith("-fold")
    assert at.subheader[0].value.startswith("NHS Lancashire and South Cumbria")
    assert any("April 2026" in c.value for c in at.caption)  # the geography caveat
    built = registry()["variation-geographic"].build(get_snapshot(store), CENTRAL, _args(level="sub_icb"))
    _same(at.dataframe[0].value, built)
    assert built.height == 106


def test_flows_page_matches_its_export(store):
    at = run_page("views/variation_flows.py", {"level": "icb", "area": "QE1", "period": PERIOD})
    built = registry()["variation-flows"].build(get_snapshot(store), CENTRAL,
                                                _args(icb="QE1", sub_icb=None, provider=None, by_modality=False))
    _same(at.dataframe[0].value, built)
    at = run_page("views/variation_flows.py", {"view": "provider", "provider": "RXN", "period": PERIOD})
    built = registry()["variation-flows"].build(get_snapshot(store), CENTRAL,
                                                _args(icb=None, sub_icb=None, provider="RXN", by_modality=False))
    _same(at.dataframe[0].value, built)


def test_commissioner_only_picks_own_areas(store):
    scope = Scope("commissioner", icbs=frozenset({"QE1"}), user="c")
    at = run_page("views/variation_demographic.py", {"level": "icb", "area": "QWO", "period": PERIOD}, scope)
    options = at.selectbox[-1].options  # the area picker comes after the measure and source
    assert not any("West Yorkshire" in o and "NHS region" not in o for o in options)
    assert at.query_params["area"] in ("ENG", ["ENG"])  # the out-of-scope link falls back to England
    at = run_page("views/variation_geographic.py", {"level": "icb", "period": PERIOD}, scope)
    assert at.dataframe[0].value["code"].tolist() == ["QE1"]


def test_commissioner_pages_show_the_protected_export_and_explain_the_star(store):
    scope = Scope("commissioner", icbs=frozenset({"QE1"}), user="c")
    snap = get_snapshot(store)
    at = run_page("views/variation_geographic.py", {"level": "sub_icb", "period": PERIOD}, scope)
    built = registry()["variation-geographic"].build(snap, scope, _args(level="sub_icb"))
    _same(at.dataframe[0].value, built)  # the same noise on the page and in the export
    assert "suppressed" in built.columns
    note = any("hidden: small numbers" in c.value for c in at.caption)
    assert note == bool(built["suppressed"].any())
    at = run_page("views/variation_demographic.py", {"level": "icb", "area": "QE1", "period": PERIOD,
                                                     "measure": "tg:chest_xray", "source": "04"}, scope)
    built = registry()["variation-demographic"].build(snap, scope, _args(table="age-sex", level="icb", area="QE1",
                                                                         test_group="chest_xray", source="04"))
    _same(at.dataframe[0].value, built)
    assert built["suppressed"].any()  # small age-sex cells in one ICB for one test group
    assert any("hidden: small numbers" in c.value for c in at.caption)
    # England's rate reads the same on both pages: from the user's perturbed England cells.
    england = [m.value for m in at.metric if m.label == "England"][0]
    at = run_page("views/variation_geographic.py", {"level": "icb", "period": PERIOD, "measure": "tg:chest_xray",
                                                    "source": "04"}, scope)
    assert [m.value for m in at.metric if m.label == "England, age-sex standardised"] == [england]


def test_choropleth_draws_every_area_and_centres_on_england(synthetic_store):
    snap = get_snapshot(synthetic_store[0])
    filters = Filters(date(2025, 12, 1), date(2026, 3, 1))
    rates = area_rates(snap, CENTRAL, filters, "sub_icb")
    england = england_dsr(snap, CENTRAL, filters)
    fig = maps.choropleth_figure("sub_icb", rates, england, "unit", selected="01K")
    polygons, markers = fig.data[:-1], fig.data[-1]
    assert len(polygons) == len(maps.area_codes("sub_icb")) == 106
    assert all(p.fill == "toself" for p in polygons)
    # U2G6B (a 2026 sub-ICB from the Frimley split) has no 2023 polygon: ranked, not drawn.
    assert maps.not_drawn("sub_icb", rates) == rates.filter(pl.col("code") == "U2G6B")["name"].to_list()
    assert len(markers.customdata) == rates["dsr"].drop_nulls().len() - 1
    # the colour scale is centred on England: as far below it as the furthest area is above
    assert (markers.marker.cmin + markers.marker.cmax) / 2 == pytest.approx(england)
    event = {"selection": {"points": [{"curve_number": len(fig.data) - 1, "point_index": 0}]}}
    assert maps.selected_code(event, fig) == markers.customdata[0][0]


def test_chart_builders(synthetic_store):
    snap = get_snapshot(synthetic_store[0])
    from queries.variation import ENGLAND_AREA
    from queries.variation_demographic import age_sex_rates, deprivation_rates

    filters = Filters(date(2025, 12, 1), date(2026, 3, 1))
    pyramid = charts.pyramid_figure(age_sex_rates(snap, CENTRAL, filters, ENGLAND_AREA), "unit")
    assert [t.name for t in pyramid.data] == ["Men", "Women"]
    assert all(x <= 0 for x in pyramid.data[0].x) and all(x >= 0 for x in pyramid.data[1].x)
    bars = charts.interval_bars(deprivation_rates(snap, CENTRAL, filters, ENGLAND_AREA), "quintile", "dsr",
                                "dsr_lower", "dsr_upper", title="t", reference=1.0)
    assert len(bars.data[0].x) == 5
    ranked = charts.ranked_areas_figure(area_rates(snap, CENTRAL, filters, "icb"), 1.0, "unit")
    assert len(ranked.data[0].y) == 36
