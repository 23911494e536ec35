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
from did_model.scope import CENTRAL, Scope
from downloads import offered
from queries.areas import Area
from queries.connection import get_snapshot
from queries.exports import registry
from queries.variation import Filters
from queries.variation_demographic import DemographicTable
from queries.variation_flows import FlowsTable
from queries.variation_geographic import MapTable, area_rates, england_dsr

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
    base = {"first": date(2025, 12, 1), "last": date(2026, 3, 1), "test_group": None, "modality": None, "source": None}
    return argparse.Namespace(**(base | kw))


def _filters(**kw) -> Filters:
    """The filters the pages build for PERIOD and the measure and source asked for."""
    return Filters(date(2025, 12, 1), date(2026, 3, 1), **kw)


def _requested(snap, name: str, args: argparse.Namespace, page_request, scope=CENTRAL) -> pl.DataFrame:
    """The export's table for the page's request, once the command line for the same filters is
    seen to make the same request."""
    export = registry()[name]
    assert export.request(snap, args) == page_request
    return export.table(snap, scope, page_request)


def _same(shown: pl.DataFrame | object, exported: pl.DataFrame) -> None:
    """The page's table is the export. Where a row is hidden the page writes its figures as text
    (`*` hidden, `–` not worked out, numbers as displayed), so those are read back and compared
    to the export's numbers to the places shown."""
    shown = pl.from_pandas(shown) if not isinstance(shown, pl.DataFrame) else shown
    texts = [c for c in exported.columns if exported[c].dtype.is_numeric() and shown[c].dtype == pl.String]
    assert_frame_equal(shown.drop(texts), exported.drop(texts), check_dtypes=False)
    hidden = exported["suppressed"].to_list() if texts else []
    for column in texts:
        for page, value, is_hidden in zip(shown[column].to_list(), exported[column].to_list(), hidden, strict=True):
            if value is None:
                assert page == ("*" if is_hidden else "–"), (column, page, is_hidden)
                continue
            number = float(page.replace(",", "").rstrip("%")) / (100 if page.endswith("%") else 1)
            places = len(page.rstrip("%").partition(".")[2]) + (2 if page.endswith("%") else 0)
            assert abs(number - value) <= 0.5 * 10**-places + 1e-9, (column, page, value)


def test_demographic_page_matches_its_export(store):
    at = run_page(
        "views/variation_demographic.py",
        {"level": "icb", "area": "QE1", "measure": "tg:chest_xray", "source": "04", "period": PERIOD},
    )
    labels = [m.label for m in at.metric]
    assert "Age-sex standardised rate" in labels
    assert "Standardised rate ratio, most vs least deprived quintile" in labels
    assert at.query_params["area"] == ["QE1"] or at.query_params["area"] == "QE1"
    snap = get_snapshot(store)
    filters = _filters(test_group="chest_xray", patient_source="04")
    for i, table in enumerate(["age-sex", "deprivation", "ethnicity"]):
        built = _requested(
            snap,
            "variation-demographic",
            _args(table=table, level="icb", area="QE1", test_group="chest_xray", source="04"),
            DemographicTable(filters, Area("icb", "QE1"), table),
        )
        _same(at.dataframe[i].value, built)
        assert offered(at, f"variation_{table.replace('-', '_')}.csv", built)
    assert any("no postcode lookup" in c.value for c in at.caption)


def test_geographic_page_matches_its_export_and_shows_detail(store):
    at = run_page("views/variation_geographic.py", {"level": "sub_icb", "period": PERIOD, "area": "01K"})
    shown = {m.label: m.value for m in at.metric}
    assert shown["Variation between areas"].endswith("-fold")
    assert at.subheader[0].value.startswith("NHS Lancashire and South Cumbria")
    assert any("April 2026" in c.value for c in at.caption)  # the geography caveat
    built = _requested(
        get_snapshot(store), "variation-geographic", _args(level="sub_icb"), MapTable(_filters(), "sub_icb")
    )
    _same(at.dataframe[0].value, built)
    assert offered(at, "variation_sub_icb.csv", built)
    assert built.height == 106


def test_flows_page_matches_its_export(store):
    snap = get_snapshot(store)
    at = run_page("views/variation_flows.py", {"level": "icb", "area": "QE1", "period": PERIOD})
    for i, by_modality in enumerate((False, True)):
        built = _requested(
            snap,
            "variation-flows",
            _args(icb="QE1", sub_icb=None, provider=None, by_modality=by_modality),
            FlowsTable(_filters(), Area("icb", "QE1"), by_modality=by_modality),
        )
        _same(at.dataframe[i].value, built)
        assert offered(at, "variation_flows_modality.csv" if by_modality else "variation_flows_area.csv", built)
    at = run_page("views/variation_flows.py", {"view": "provider", "provider": "RXN", "period": PERIOD})
    built = _requested(
        snap,
        "variation-flows",
        _args(icb=None, sub_icb=None, provider="RXN", by_modality=False),
        FlowsTable(_filters(), provider="RXN"),
    )
    _same(at.dataframe[0].value, built)
    assert offered(at, "variation_flows_provider.csv", built)


def test_commissioner_picks_any_icb_but_only_own_sub_icbs(store):
    scope = Scope("commissioner", icbs=frozenset({"QE1"}), user="c")
    at = run_page("views/variation_demographic.py", {"level": "sub_icb", "area": "36J", "period": PERIOD}, scope)
    options = at.selectbox[-1].options  # the area picker comes after the measure and source
    assert any("West Yorkshire" in o and o.endswith("(ICB)") for o in options)  # a comparator
    assert not any("West Yorkshire" in o and "Sub-ICB" in o for o in options)
    assert at.query_params["area"] in ("ENG", ["ENG"])  # the out-of-scope link falls back to England
    at = run_page("views/variation_geographic.py", {"level": "icb", "period": PERIOD}, scope)
    assert at.dataframe[0].value["code"].nunique() == 36  # every ICB, not just its own
    assert at.metric[2].value != "0 / 0"
    assert any("yours outlined in black" in c.value for c in at.caption)


def test_provider_map_shows_every_icb_and_offers_no_sub_icbs(store):
    scope = Scope("provider", providers=frozenset({"RR8"}), user="p")
    at = run_page("views/variation_geographic.py", {"level": "sub_icb", "period": PERIOD}, scope)
    assert at.query_params["level"] in ("icb", ["icb"])  # sub-ICBs are not offered: back to ICBs
    assert at.dataframe[0].value["code"].nunique() == 36
    assert at.metric[0].value != "–"


def test_commissioner_pages_show_the_protected_export_and_explain_the_star(store):
    scope = Scope("commissioner", icbs=frozenset({"QE1"}), user="c")
    snap = get_snapshot(store)
    at = run_page("views/variation_geographic.py", {"level": "sub_icb", "period": PERIOD}, scope)
    built = _requested(snap, "variation-geographic", _args(level="sub_icb"), MapTable(_filters(), "sub_icb"), scope)
    _same(at.dataframe[0].value, built)  # the same noise on the page and in the export
    assert offered(at, "variation_sub_icb.csv", built)
    assert "suppressed" in built.columns
    note = any("hidden: small numbers" in c.value for c in at.caption)
    assert note == bool(built["suppressed"].any())
    at = run_page(
        "views/variation_demographic.py",
        {"level": "icb", "area": "QE1", "period": PERIOD, "measure": "tg:chest_xray", "source": "04"},
        scope,
    )
    built = registry()["variation-demographic"].build(
        snap, scope, _args(table="age-sex", level="icb", area="QE1", test_group="chest_xray", source="04")
    )
    _same(at.dataframe[0].value, built)
    assert built["suppressed"].any()  # small age-sex cells in one ICB for one test group
    assert any("hidden: small numbers" in c.value for c in at.caption)
    # England's rate reads the same on both pages: from the user's perturbed England cells.
    england = next(m.value for m in at.metric if m.label == "England")
    at = run_page(
        "views/variation_geographic.py",
        {"level": "icb", "period": PERIOD, "measure": "tg:chest_xray", "source": "04"},
        scope,
    )
    assert [m.value for m in at.metric if m.label == "England, age-sex standardised"] == [england]


def test_choropleth_draws_every_area_and_centres_on_england(synthetic_store):
    snap = get_snapshot(synthetic_store[0])
    filters = Filters(date(2025, 12, 1), date(2026, 3, 1))
    rates = area_rates(snap, CENTRAL, filters, "sub_icb")
    england = england_dsr(snap, CENTRAL, filters)
    fig = maps.choropleth_figure("sub_icb", rates, england, "unit", selected="01K")
    polygons, markers = [t for t in fig.data if t.fill == "toself"], fig.data[-1]
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
    from queries.areas import ENGLAND_AREA
    from queries.variation_demographic import age_sex_rates, deprivation_rates

    filters = Filters(date(2025, 12, 1), date(2026, 3, 1))
    pyramid = charts.pyramid_figure(age_sex_rates(snap, CENTRAL, filters, ENGLAND_AREA), "unit")
    assert [t.name for t in pyramid.data] == ["Men", "Women"]
    assert all(x <= 0 for x in pyramid.data[0].x) and all(x >= 0 for x in pyramid.data[1].x)
    bars = charts.interval_bars(
        deprivation_rates(snap, CENTRAL, filters, ENGLAND_AREA),
        "quintile",
        "dsr",
        "dsr_lower",
        "dsr_upper",
        title="t",
        reference=1.0,
    )
    assert len(bars.data[0].x) == 5
    ranked = charts.ranked_areas_figure(area_rates(snap, CENTRAL, filters, "icb"), 1.0, "unit")
    assert sum(len(t.y) for t in ranked.data if t.error_x.array is not None) == 36


# --- figure builders over a hand-made frame (no store) ---------------------------------------


def _icb_rates(values: dict[str, float], compared: dict[str, str] | None = None) -> pl.DataFrame:
    """A frame shaped like `area_rates` for the given ICB codes and DSRs (intervals +-1)."""
    codes = list(values)
    return pl.DataFrame(
        {
            "code": codes,
            "name": [f"NHS Area {c} Integrated Care Board" for c in codes],
            "dsr": [values[c] for c in codes],
            "dsr_lower": [values[c] - 1 for c in codes],
            "dsr_upper": [values[c] + 1 for c in codes],
            "compared": [(compared or {}).get(c, "similar") for c in codes],
        }
    )


def test_map_colour_bar_is_drawn_from_the_scale_the_areas_are_filled_from():
    import json

    import plotly.io as pio
    from plotly.colors import get_colorscale, sample_colorscale

    codes = maps.area_codes("icb")
    rates = _icb_rates({c: 100 + 2 * i for i, c in enumerate(codes)}, {codes[0]: "lower", codes[-1]: "higher"})
    fig = maps.choropleth_figure("icb", rates, 130.0, "per 1,000", own={codes[3]})
    markers = fig.data[-1]
    # Explicit colours, not the name "RdBu_r" (unknown to Plotly.js, which fell back to a blue scale).
    sent = json.loads(pio.to_json(fig, validate=False))["data"][-1]["marker"]["colorscale"]  # to Plotly.js
    scale = [[float(p), c] for p, c in sent]
    assert scale == [[float(p), c] for p, c in get_colorscale("RdBu_r")]
    low, high = markers.marker.cmin, markers.marker.cmax
    assert (low + high) / 2 == pytest.approx(130.0)
    fills = dict(zip(codes, [t.fillcolor for t in fig.data if t.fill == "toself"], strict=True))
    for code, value in zip(rates["code"], rates["dsr"], strict=True):
        assert fills[code] == sample_colorscale(scale, [(value - low) / (high - low)])[0]
    bar = markers.marker.colorbar
    assert "England 130.00" in bar.ticktext and bar.tickvals[bar.ticktext.index("England 130.00")] == 130.0
    legend = [t.name for t in fig.data if t.showlegend is not False and t.x == (None,)]
    assert legend == [
        "Higher than England (95% interval above)",
        "Similar to England (95% interval includes it)",
        "Lower than England (95% interval below)",
        "Your area",
    ]
    symbols = dict(zip([c[0] for c in markers.customdata], markers.marker.symbol, strict=True))
    assert (symbols[codes[0]], symbols[codes[-1]], symbols[codes[1]]) == ("triangle-down", "triangle-up", "circle")
    outlined = [
        c
        for c, t in zip(codes, [t for t in fig.data if t.fill == "toself"], strict=True)
        if t.line.color == maps.OWN_LINE
    ]
    assert outlined == [codes[3]]


def test_a_few_areas_near_england_are_painted_pale_not_at_the_ends_of_the_scale():
    code = maps.area_codes("icb")[0]
    fig = maps.choropleth_figure("icb", _icb_rates({code: 101.0}), 100.0, "per 1,000")
    marker = fig.data[-1].marker
    assert (marker.cmin, marker.cmax) == (pytest.approx(90.0), pytest.approx(110.0))  # at least 10% either side
    position = (101.0 - marker.cmin) / (marker.cmax - marker.cmin)
    assert position == pytest.approx(0.55)


def test_ranked_areas_are_dots_with_intervals_on_an_axis_that_shows_the_spread():
    codes = maps.area_codes("icb")[:5]
    rates = _icb_rates(
        dict(zip(codes, [104.0, 100.0, 98.0, 96.0, 95.0], strict=True)), {codes[0]: "higher", codes[4]: "lower"}
    )
    fig = charts.ranked_areas_figure(rates, 99.0, "per 1,000", own={codes[2]})
    assert not [t for t in fig.data if t.type == "bar"]
    dots = [t for t in fig.data if t.error_x.array is not None]
    assert [t.name for t in dots] == [label for _, label in charts.COMPARED_SYMBOLS.values()]
    assert sum(len(t.x) for t in dots) == 5 and all(t.mode == "markers" for t in dots)
    assert fig.layout.xaxis.rangemode != "tozero"  # the axis spans the intervals, not zero
    assert [s.x0 for s in fig.layout.shapes] == [99.0]  # England's line
    names = [t.name for t in fig.data]
    assert "England 99.00" in names and "Your area" in names
    assert list(fig.layout.yaxis.categoryarray) == [charts.short_name(n) for n in rates.sort("dsr")["name"]]


def test_the_chosen_area_is_marked_and_named_apart_from_the_users_own():
    """A commissioner's own area and the area chosen for detail carry different marks with their
    own names, on the map and the ranking (one ring called both "Your area")."""
    codes = maps.area_codes("icb")[:5]
    rates = _icb_rates(dict(zip(codes, [104.0, 100.0, 98.0, 96.0, 95.0], strict=True)))
    ranking = charts.ranked_areas_figure(rates, 99.0, "per 1,000", selected=codes[0], own={codes[2]})
    marks = {t.name: (t.marker.symbol, list(t.y)) for t in ranking.data if t.name in ("Your area", "Chosen area")}
    short = dict(zip(rates["code"], [charts.short_name(n) for n in rates["name"]], strict=True))
    assert marks == {"Your area": ("circle-open", [short[codes[2]]]), "Chosen area": ("square-open", [short[codes[0]]])}
    fig = maps.choropleth_figure("icb", rates, 99.0, "per 1,000", selected=codes[0], own={codes[2]})
    legend = [t.name for t in fig.data if t.x == (None,)]
    assert legend[-2:] == ["Your area", "Chosen area"]
    lines = {t.name: t.line for t in fig.data if t.x == (None,) and t.name in ("Your area", "Chosen area")}
    assert lines["Chosen area"].dash == "dot" and lines["Your area"].dash in (None, "solid")
    areas = dict(zip(codes, [t for t in fig.data if t.fill == "toself"], strict=False))
    assert areas[codes[0]].line.dash == "dot" and areas[codes[2]].line.dash in (None, "solid")
    # without a chosen area, no "Chosen area" in either legend
    assert "Chosen area" not in [t.name for t in maps.choropleth_figure("icb", rates, 99.0, "x", own={codes[2]}).data]
    assert "Chosen area" not in [t.name for t in charts.ranked_areas_figure(rates, 99.0, "x", own={codes[2]}).data]


def test_flows_legend_sits_beside_the_bars_not_over_them():
    frame = pl.DataFrame(
        {"provider_name": ["A", "A", "B"], "modality": ["CT", "MRI", "CT"], "records": [500, 300, 100]}
    )
    fig = charts.flows_bar_figure(frame, "provider_name", stack="modality")
    assert fig.layout.legend.x > 1 and fig.layout.legend.xanchor == "left"


def _shown(at: AppTest) -> dict[str, object]:
    return {s.label: s.value for s in at.selectbox}


def test_filters_chosen_on_one_variation_page_are_kept_on_the_others(tiny_store, monkeypatch):
    # The hand-worked tiny store: fast, and its activity months have gaps (no file for some
    # months), which the period slider must survive.
    monkeypatch.setenv("DID_STORE_DIR", str(tiny_store))
    scope = Scope("commissioner", icbs=frozenset({"QE1"}), user="c")
    at = run_page("views/variation_geographic.py", {"measure": "mod:MRI", "source": "03"}, scope)
    period = at.query_params["period"]
    # Opening a page from the sidebar empties the URL: the session still holds the filters...
    for page in ("views/variation_flows.py", "views/variation_demographic.py"):
        for key in list(at.query_params):
            del at.query_params[key]
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        assert _shown(at)["Measure"] == "mod:MRI" and _shown(at)["Patient source"] == "03"
        # ...and the page writes them back, so its URL is a link to what it shows.
        assert at.query_params["measure"] in ("mod:MRI", ["mod:MRI"])
        assert at.query_params["period"] == period
        # Its links to the other variation pages carry them too.
        links = at.get("page_link")
        assert {link.proto.page for link in links} == {"demographic", "geographic", "flows"} - {
            page.removeprefix("views/variation_").removesuffix(".py")
        }
        assert all("measure=mod%3AMRI" in link.proto.query_string for link in links)
