"""The GP benchmarking pages in AppTest over the shared synthetic store: deep links, selection,
the download being the export, scope; and the figure builders directly."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from dashboard.components import formatting as fmt
from dashboard.components import gp_charts, gp_text
from did_model.scope import CENTRAL, Scope
from downloads import open_lazy_tables
from queries import gp_benchmark as gb
from queries import gp_practice
from queries.areas import Area
from queries.connection import get_snapshot
from queries.exports import registry, to_csv_bytes

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def store(synthetic_store):
    return synthetic_store[0]


@pytest.fixture(scope="module")
def snap(store):
    return get_snapshot(store)


@pytest.fixture(scope="module")
def busiest(snap):
    """The benchmarked practice with the most GP direct-access examinations."""
    table = gb.benchmark(snap, CENTRAL, "gpda_all", *gb.default_period(snap)).table
    return table.sort("numerator", descending=True).row(0, named=True)


def open_page(store, monkeypatch, page: str, params: dict[str, str], scope: Scope = CENTRAL) -> AppTest:
    monkeypatch.setenv("DID_STORE_DIR", str(store))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["scope"] = scope
    at.run()
    at.switch_page(page)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame(at: AppTest) -> pl.DataFrame:
    """The page's main table (the first; a chart's table alternative comes after it), as polars."""
    return pl.from_pandas(at.dataframe[0].value)


def verdict_position(at: AppTest) -> int:
    """Where "Compared with England" sits among the main table's shown columns (1 = first)."""
    return list(at.dataframe[0].proto.column_order).index("verdict") + 1


def export_args(**given) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    registry()["gp-benchmark"].add_arguments(parser)
    argv = []
    for name, value in given.items():
        argv += [f"--{name.replace('_', '-')}", value]
    return parser.parse_args(argv)


def test_measure_page_deep_link_table_and_download_are_the_export(store, snap, busiest, monkeypatch):
    at = open_page(
        store,
        monkeypatch,
        "views/gp_measure.py",
        {"measure": "gpda_chest_xray", "level": "icb", "area": busiest["icb_code"]},
    )
    # the page's request for the deep link, given to the export's table; the command line asks the same
    page_request = gb.MeasureTable("gpda_chest_xray", *gb.default_period(snap), Area("icb", busiest["icb_code"]))
    export = registry()["gp-benchmark"]
    assert export.request(snap, export_args(measure="gpda_chest_xray", icb=busiest["icb_code"])) == page_request
    exported = export.table(snap, CENTRAL, page_request)
    shown = frame(at).drop("verdict")
    assert shown.height == exported.height > 0
    assert shown["practice_code"].to_list() == exported["practice_code"].to_list()
    assert shown["numerator"].to_list() == exported["numerator"].to_list()
    assert shown["funnel_value"].to_list() == pytest.approx(exported["funnel_value"].to_list(), nan_ok=True)
    button = at.get("download_button")[0]
    period = gb.default_period(snap)
    name = f"gp-benchmark-gpda_chest_xray-{period[0]:%Y-%m}-{period[1]:%Y-%m}.csv"
    # The media file id is a hash of the bytes: the same id means the same CSV as the export.
    assert Path(button.proto.url).stem == _calculate_file_id(to_csv_bytes(exported), "text/csv", name)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Practices shown"] == f"{exported.height:,}"
    # The verdict was 17th of 18 columns, off-screen at 1,400 px: now right after name and value.
    assert list(at.dataframe[0].proto.column_order[:5]) == [
        "rank",
        "practice_code",
        "practice_name",
        "funnel_value",
        "verdict",
    ]
    # only the columns shown reach the browser (every column given is sent, and decoded there)
    assert list(frame(at).columns) == list(at.dataframe[0].proto.column_order)
    text = " ".join(m.value for m in at.markdown)
    assert "prompt to look, not a verdict" in text and "Why it matters" in text


def test_measure_page_selecting_a_practice_links_to_its_page(store, busiest, monkeypatch):
    at = open_page(
        store, monkeypatch, "views/gp_measure.py", {"measure": "gpda_all", "level": "pcn", "area": busiest["pcn_code"]}
    )
    assert '"selected"' not in at.get("vega_lite_chart")[0].proto.spec  # no practice ringed yet
    at.selectbox(key="gp_practice_pick").select(busiest["practice_code"]).run()
    assert not at.exception
    # the funnel, drawn above the picker, rings the practice in the same run
    assert '"selected"' in at.get("vega_lite_chart")[0].proto.spec
    assert busiest["practice_code"] in str(at.query_params["practice"])
    assert any(busiest["practice_name"] in m.value for m in at.markdown)
    links = at.get("page_link")
    assert any(busiest["practice_code"] in str(link.proto) for link in links)


def test_measure_page_reruns_do_not_rebuild_its_table_download_or_funnel(store, busiest, monkeypatch):
    """What the page draws from a measure's table is worked out once per request (issue 22: a
    rerun's script time is what the user waits for): ringing a practice builds the funnel again,
    not the table or the CSV; going back to a funnel already drawn builds nothing."""
    import streamlit as st

    from dashboard.components import gp_measure_view

    built: list[str] = []
    for name in ("funnel_chart", "to_csv_bytes"):
        original = getattr(gp_measure_view, name)
        monkeypatch.setattr(
            gp_measure_view, name, lambda *a, _f=original, _n=name, **k: built.append(_n) or _f(*a, **k)
        )
    st.cache_data.clear()
    area = {"measure": "gpda_all", "level": "pcn", "area": busiest["pcn_code"]}
    at = open_page(store, monkeypatch, "views/gp_measure.py", area)
    assert built == ["to_csv_bytes", "funnel_chart"]
    labels = at.selectbox(key="gp_practice_pick").options[1:]  # "Name (CODE)"
    other = next(label.rsplit("(", 1)[1].rstrip(")") for label in labels if busiest["practice_code"] not in label)
    for code in (busiest["practice_code"], other, busiest["practice_code"]):
        at.selectbox(key="gp_practice_pick").select(code).run()
        assert not at.exception
    assert '"selected"' in at.get("vega_lite_chart")[0].proto.spec  # a practice ringed
    assert built == ["to_csv_bytes", "funnel_chart", "funnel_chart", "funnel_chart"]


def test_measure_page_peer_group_and_overdispersion_controls(store, busiest, monkeypatch):
    at = open_page(store, monkeypatch, "views/gp_measure.py", {"measure": "gpda_all", "imd": "1,2", "od": "none"})
    shown = frame(at)
    assert shown["imd_quintile"].is_in([1, 2]).all()
    assert at.selectbox(key="gp_method").value == "none"


def test_practice_page_deep_link_shows_the_profile(store, snap, busiest, monkeypatch):
    at = open_page(store, monkeypatch, "views/gp_practice.py", {"practice": busiest["practice_code"]})
    assert at.subheader[0].value == busiest["practice_name"].title()
    shown = frame(at)
    profile = gp_practice.practice_profile(snap, CENTRAL, busiest["practice_code"], *gb.default_period(snap))
    assert shown["numerator"].to_list() == profile["numerator"].to_list()
    assert shown["comparison"].fill_null("").to_list() == profile["comparison"].fill_null("").to_list()
    assert len(at.get("plotly_chart")) == 2  # spine and trend
    assert verdict_position(at) == 3  # after the measure and the practice's value (it was 17th of 18)
    # The trend is named right above it and has a table and CSV alternative with the same figures.
    title = "All GP direct access imaging, this practice against England's deciles"
    assert any(c.value.startswith(f"Chart: {title}") for c in at.caption)
    (expander,) = [e for e in at.expander if e.label == f"Table: {title}"]
    assert not expander.dataframe  # built only once opened
    (expander,) = [e for e in open_lazy_tables(at).expander if e.label == f"Table: {title}"]
    table = pl.from_pandas(expander.dataframe[0].value)
    first, last = (table["activity_month"].dt.date().min(), table["activity_month"].dt.date().max())
    assert last == gb.default_period(snap)[1]
    drawn = gp_charts.trend_table(
        *gp_practice.practice_trend(snap, CENTRAL, "gpda_all", busiest["practice_code"], first, last)
    )
    assert table["value"].to_list() == pytest.approx(drawn["value"].to_list(), nan_ok=True)
    assert table["england_p50"].to_list() == pytest.approx(drawn["england_p50"].to_list(), nan_ok=True)
    (button,) = expander.download_button
    name = f"gp-trend-{busiest['practice_code']}-gpda_all-practice.csv"
    assert Path(button.proto.url).stem == _calculate_file_id(to_csv_bytes(drawn), "text/csv", name)
    text = " ".join(m.value for m in at.markdown)
    assert "Reading the spine chart" in text and "Reading the trend" in text
    assert "PCN's registered patients by single year of age and sex" in " ".join(c.value for c in at.caption)


def test_practice_page_from_englands_cached_tables_is_that_practices_profile(store, snap, busiest, monkeypatch):
    """The England-wide tables are cached once per period and shared by every practice and user:
    a GP opening its own practice after the central team opened another sees its own profile,
    protected for its role."""
    import streamlit as st

    st.cache_data.clear()
    open_page(store, monkeypatch, "views/gp_practice.py", {"practice": busiest["practice_code"]})
    table = gb.benchmark(snap, CENTRAL, "gpda_all", *gb.default_period(snap)).table
    own = table.filter(pl.col("practice_code") != busiest["practice_code"])["practice_code"][5]
    scope = Scope("gp", practice=own)
    at = open_page(store, monkeypatch, "views/gp_practice.py", {"practice": own}, scope)
    shown = frame(at)
    profile = gp_practice.practice_profile(snap, scope, own, *gb.default_period(snap))
    for column in ("england", "pcn", "comparison"):
        assert shown[column].to_list() == profile[column].to_list(), column
    # Outside the central team figures are shown as text: * where hidden, – where not worked out.
    as_shown = fmt.protected_table(profile, {"numerator": 0, "value": 2, "funnel_value": 2, "pcn_rank": None})
    for column in ("numerator", "value", "funnel_value", "pcn_rank"):
        assert shown[column].to_list() == as_shown[column].to_list(), column
    assert as_shown["pcn_rank"].to_list() == [
        ("*" if hidden else r or "–") for r, hidden in zip(profile["pcn_rank"], profile["suppressed"], strict=True)
    ]
    # A hidden measure's verdict says it is hidden; it once read a bare "–" like "nothing to judge".
    hidden = profile["suppressed"].to_list()
    assert any(hidden)
    assert [v for v, h in zip(shown["verdict"], hidden, strict=True) if h] == [gp_charts.SUPPRESSED[0]] * sum(hidden)
    assert gp_charts.SUPPRESSED[0] not in [v for v, h in zip(shown["verdict"], hidden, strict=True) if not h]


def test_practice_page_picker_changes_the_link(store, busiest, snap, monkeypatch):
    at = open_page(store, monkeypatch, "views/gp_practice.py", {})
    assert any("Pick a practice" in i.value for i in at.info)
    at.selectbox(key="gp_practice").select(busiest["practice_code"]).run()
    assert not at.exception
    assert busiest["practice_code"] in str(at.query_params["practice"])
    at.radio(key="gp_trend_level").set_value("icb").run()
    assert not at.exception


def test_practice_page_works_out_englands_tables_while_the_user_picks(store, busiest, snap, monkeypatch):
    """Opened with no practice chosen, the page works out England's tables for the default period
    (for the user's side of disclosure control) before it ends, so the practice picked next is
    compared with them without computing them again."""
    import streamlit as st

    st.cache_data.clear()
    asked: list[tuple] = []
    england_for = gp_practice.england_for

    def counted(snap, start, end, protected):
        asked.append((start, end, protected))
        return england_for(snap, start, end, protected=protected)

    monkeypatch.setattr(gp_practice, "england_for", counted)
    scope = Scope("commissioner", icbs=frozenset({busiest["icb_code"]}))
    at = open_page(store, monkeypatch, "views/gp_practice.py", {}, scope)
    assert any("Pick a practice" in i.value for i in at.info)
    assert asked == [(*gb.default_period(snap), True)]
    at.selectbox(key="gp_practice").select(busiest["practice_code"]).run()
    assert not at.exception and at.dataframe and len(asked) == 1


def test_practice_page_small_practice_is_not_benchmarked(store, snap, monkeypatch):
    small = snap.query("SELECT practice_code FROM ref_practice WHERE list_size < 750 ORDER BY 1 LIMIT 1")
    at = open_page(store, monkeypatch, "views/gp_practice.py", {"practice": small["practice_code"][0]})
    assert any("fewer than 750" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_gp_user_sees_its_own_practice_and_not_others(store, snap, busiest, monkeypatch):
    scope = Scope("gp", practice=busiest["practice_code"])
    at = open_page(store, monkeypatch, "views/gp_practice.py", {}, scope)
    assert at.subheader[0].value == busiest["practice_name"].title()
    assert any("rounded to the nearest 5" in c.value for c in at.caption)
    other = snap.query(
        "SELECT practice_code FROM ref_practice WHERE practice_code <> $c LIMIT 1", {"c": busiest["practice_code"]}
    )["practice_code"][0]
    at = open_page(store, monkeypatch, "views/gp_practice.py", {"practice": other}, scope)
    assert any("your role sees it only inside the benchmark" in w.value for w in at.warning)
    assert at.subheader[0].value == busiest["practice_name"].title()


# --- figure builders ---------------------------------------------------------------------------


def _layer(chart: dict, dataset: str, mark: str) -> dict:
    (layer,) = [
        lay
        for lay in chart["layer"]
        if lay["data"]["name"] == dataset and lay["mark"]["type"] == mark and lay["mark"].get("color") != "#FFFFFF"
    ]
    return layer


def test_funnel_chart_carries_every_practice_with_its_code_and_verdict_in_one_key(snap, busiest):
    bench = gb.benchmark(snap, CENTRAL, "gpda_all", *gb.default_period(snap), Area("icb", busiest["icb_code"]))
    chart = gp_charts.funnel_chart(
        bench.table, bench.curves, bench.target, x_title="x", y_title="y", highlight=busiest["practice_code"]
    )
    practices = chart["datasets"]["practices"].to_dicts()
    drawn = bench.table.filter(pl.col("funnel_value").is_not_null())
    assert sorted(p["practice_code"] for p in practices) == sorted(drawn["practice_code"].to_list())
    by_code = {p["practice_code"]: p for p in practices}
    for row in drawn.iter_rows(named=True):  # each mark where the table puts it, with its verdict
        mark = by_code[row["practice_code"]]
        assert (mark["x"], mark["y"]) == (row["funnel_x"], row["funnel_value"])
        assert mark["verdict"] == gp_charts.verdict_words(row["comparison"])
    # One key: the verdicts' colours, shapes and fills read from the same list of words, in order.
    enc = _layer(chart, "practices", "point")["encoding"]
    words = enc["shape"]["scale"]["domain"]
    assert words == enc["stroke"]["scale"]["domain"] == enc["fill"]["scale"]["domain"]
    styles = {w: (c, sym) for w, c, sym in [*gp_charts.VERDICTS.values(), gp_charts.SUPPRESSED]}
    assert set(words) == {m["verdict"] for m in practices}
    for word, colour, shape, fill in zip(
        words,
        enc["stroke"]["scale"]["range"],
        enc["shape"]["scale"]["range"],
        enc["fill"]["scale"]["range"],
        strict=True,
    ):
        vega_shape, filled = gp_charts.FUNNEL_SHAPES[styles[word][1]]
        assert (colour, shape, fill) == (styles[word][0], vega_shape, colour if filled else "transparent")
    assert len(
        {
            (s, f == "transparent")
            for s, f in zip(enc["shape"]["scale"]["range"], enc["fill"]["scale"]["range"], strict=True)
        }
    ) == len(words)
    lines = _layer(chart, "lines", "line")["encoding"]["strokeDash"]["scale"]["domain"]
    assert lines == ["99.8% limits", "95% limits", "England"]
    assert set(chart["datasets"]["lines"]["line"]) == set(lines)
    # The selected practice: a ring and its name.
    assert chart["datasets"]["selected"].to_dicts() == [
        {"x": busiest["funnel_x"], "y": busiest["funnel_value"], "label": busiest["practice_name"].title()}
    ]
    assert _layer(chart, "selected", "text")["encoding"]["text"] == {"field": "label"}
    assert _layer(chart, "practices", "point")["params"] == [
        {"name": gp_charts.FUNNEL_SELECTION, "select": {"type": "point", "fields": ["practice_code"]}}
    ]


def test_funnel_height_is_the_practices_not_the_limits(snap, busiest):
    """The y axis runs from 0 to just above the highest practice (or England): the limits of the
    smallest practices reach far higher and would squash every mark into a band at the bottom."""
    bench = gb.benchmark(snap, CENTRAL, "gpda_all", *gb.default_period(snap))
    chart = gp_charts.funnel_chart(bench.table, bench.curves, bench.target, x_title="x", y_title="y")
    low, high = _layer(chart, "practices", "point")["encoding"]["y"]["scale"]["domain"]
    values = bench.table["funnel_value"].drop_nulls()
    assert low == 0
    assert max(values.max(), bench.target) < high <= 1.1 * max(values.max(), bench.target)
    assert _layer(chart, "lines", "line")["mark"]["clip"] is True  # limits reaching higher are cut off at the top


def test_clicked_practice_reads_the_funnels_selection_events():
    selection = gp_charts.FUNNEL_SELECTION
    assert gp_charts.clicked_practice({"selection": {selection: [{"practice_code": "A81001"}]}}) == "A81001"
    assert gp_charts.clicked_practice({"selection": {selection: []}}) is None
    assert gp_charts.clicked_practice({"selection": {}}) is None
    assert gp_charts.clicked_practice(None) is None


def test_spine_and_trend_figures(snap, busiest):
    period = gb.default_period(snap)
    profile = gp_practice.practice_profile(snap, CENTRAL, busiest["practice_code"], *period)
    fig = gp_charts.spine_figure(profile)
    assert list(fig.layout.yaxis.categoryarray) == profile.reverse()["short_title"].to_list()
    markers = [t for t in fig.data if t.mode == "markers"]
    assert all(0 <= t.x[0] <= 1 for t in markers)
    series, deciles = gp_practice.practice_trend(snap, CENTRAL, "gpda_all", busiest["practice_code"], *period)
    trend = gp_charts.trend_on_deciles_figure(series, deciles, name="This practice", y_title="per 1,000")
    assert len(trend.data) == 10  # nine deciles and the practice
    assert gp_charts.verdict_words("above 99.8%").startswith("Higher than expected")
    assert gp_charts.verdict_words(None) == gp_charts.SUPPRESSED[0]


def test_definition_speaks_plain_words():
    # It used to read "Written by DID analytics team (GP benchmarking, issue #4); reviewed by
    # Awaiting clinical review (…)" and end with the definition file's path.
    for measure in gb.measures().values():
        words = gp_text.definition(measure)
        assert "issue #" not in words and ".yaml" not in words and "queries/" not in words
        assert "reviewed by Awaiting" not in words
    words = gp_text.definition(gb.measures()["gpda_all"])
    assert (
        "Written by DID analytics team. Not yet reviewed by a GP or radiologist; definition dated "
        "29 November 2026." in words
    )


def test_gp_pages_name_no_cli_command_issue_or_definition_file():
    # gp_measure.py showed `did export gp-benchmark --measure …` under its download.
    root = Path(__file__).resolve().parents[2] / "dashboard"
    for path in ("views/gp_measure.py", "views/gp_practice.py"):  # gp_text: test_definition_speaks_plain_words
        text = (root / path).read_text()
        for jargon in ("`did ", "did export", "issue #", ".yaml`", "queries/measures"):
            assert jargon not in text, f"{path} shows {jargon!r}"


def test_funnel_tooltip_shows_events_expected_and_the_practices_limits():
    row = {
        "practice_code": ["A81001", "B82007"],
        "practice_name": ["THE SURGERY", None],
        "funnel_x": [12.5, 3.0],
        "funnel_value": [1.234, 0.9],
        "numerator": [1200, None],
        "expected": [12.46, None],
        "funnel_lower95": [0.5, None],
        "funnel_upper95": [1.5, None],
        "funnel_lower998": [0.3, None],
        "funnel_upper998": [2.0, None],
        "comparison": ["within", "within"],
        "suppressed": [False, True],
    }
    table = pl.DataFrame(row)
    curves = pl.DataFrame(
        schema={
            c: pl.Float64
            for c in ("funnel_x", "funnel_lower95", "funnel_upper95", "funnel_lower998", "funnel_upper998")
        }
    )
    chart = gp_charts.funnel_chart(table, curves, 1.0, x_title="x", y_title="y")
    surgery, hidden = chart["datasets"]["practices"].to_dicts()
    # one text per practice, its name first and a line for each figure (the tooltip keeps breaks)
    assert surgery["tooltip"].split("\n") == [
        "The Surgery (A81001)",
        "Value: 1.23",
        "Events: 1,200",
        "Expected events: 12.5",
        "95% limits: 0.50 to 1.50",
        "99.8% limits: 0.30 to 2.00",
        "Compared with England: Within the expected range",
    ]
    lines = hidden["tooltip"].split("\n")
    assert lines[0] == "Practice (B82007)"
    assert {"Events: *", "Expected events: *", "95% limits: * to *", "99.8% limits: * to *"} <= set(lines)
    assert _layer(chart, "practices", "point")["encoding"]["tooltip"] == {"field": "tooltip", "type": "nominal"}
    central = gp_charts.funnel_tooltips(table.drop("suppressed").tail(1))
    assert (central["shown_events"], central["shown_expected"]) == (["–"], ["–"])  # not worked out, not hidden


def test_trend_table_is_what_the_trend_chart_draws():
    months = [date(2026, 1, 1), date(2026, 2, 1)]
    series = pl.DataFrame(
        {
            "activity_month": months,
            "org_code": ["A81001"] * 2,
            "numerator": [12, None],
            "value": [3.5, None],
            "percentile_rank": [40.0, None],
            "suppressed": [False, True],
        }
    )
    deciles = pl.DataFrame(
        {
            "activity_month": sorted(months * 9),
            "percentile": list(range(10, 100, 10)) * 2,
            "value": [float(p) for p in range(1, 10)] * 2,
        }
    )
    table = gp_charts.trend_table(series, deciles)
    assert table.columns == [
        "activity_month",
        "numerator",
        "value",
        "percentile_rank",
        "suppressed",
        *[f"england_p{p}" for p in range(10, 100, 10)],
    ]
    assert table["england_p50"].to_list() == [5.0, 5.0]
    assert set(gp_charts.trend_table_columns("This practice", "per 1,000")) == set(table.columns) - {"suppressed"}
    # the suppressed month reads * in the table alternative and its CSV
    assert b"*" in to_csv_bytes(table).splitlines()[2]
