"""The chart builders and formatting helpers, tested directly (AppTest cannot look inside a
Plotly chart)."""

from __future__ import annotations

from datetime import date

import polars as pl

from dashboard.components import formatting as fmt
from dashboard.components.charts import NHS_BLUE, NHS_COLOURS, trend_figure
from dashboard.components.gp_charts import SUPPRESSED, VERDICTS, funnel_chart, spine_figure
from dashboard.components.quality_charts import FLAG_COLOURS, STATUS_COLOURS


def contrast(a: str, b: str) -> float:
    """WCAG 2.2 contrast ratio of two #RRGGBB colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def trend_frame() -> pl.DataFrame:
    months = [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)]
    return pl.DataFrame(
        {
            "activity_month": months * 2,
            "modality": ["CT"] * 3 + ["Plain radiography"] * 3,
            "records": [10, 8, 11, 100, 70, 105],
        }
    )


def test_trend_figure_has_one_line_per_modality_largest_first():
    fig = trend_figure(trend_frame())
    assert [t.name for t in fig.data] == ["Plain radiography", "CT"]
    xray = fig.data[0]
    assert list(xray.x) == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)]
    assert list(xray.y) == [100, 70, 105]  # the December dip is in the data, not smoothed away
    assert xray.line.color == NHS_BLUE
    assert fig.data[1].line.color == NHS_COLOURS[1]
    assert fig.layout.yaxis.title.text == "Examinations"


def test_series_colours_stand_out_from_the_white_background_by_at_least_3_to_1():
    # WCAG 2.2 1.4.11: chart marks are non-text content. NHS light blue, warm yellow and orange
    # (2.3, 1.7 and 2.5:1) used to be in the palette.
    assert contrast("#FFB81C", "#FFFFFF") < 3  # the check does catch a bad colour
    assert {c: round(contrast(c, "#FFFFFF"), 2) for c in NHS_COLOURS if contrast(c, "#FFFFFF") < 3} == {}


def test_verdict_and_status_colours_stand_out_from_the_white_background_by_at_least_3_to_1():
    # The funnel and spine verdicts and the completeness statuses used Okabe-Ito orange, sky blue
    # and light greys (2.25, 2.31, 2.85, 1.92 and 1.36:1).
    marks = {words: colour for words, colour, _ in [*VERDICTS.values(), SUPPRESSED]}
    marks |= STATUS_COLOURS
    marks |= {f"flagged {flag}": colour for flag, colour in FLAG_COLOURS.items()}
    assert {k: round(contrast(c, "#FFFFFF"), 2) for k, c in marks.items() if contrast(c, "#FFFFFF") < 3} == {}


CURVES = ("funnel_x", "funnel_lower95", "funnel_upper95", "funnel_lower998", "funnel_upper998")


def test_verdicts_are_told_apart_by_marker_shape_as_well_as_colour():
    # WCAG 2.2 1.4.1: colour is never the only cue. The spine used to fill every shape, so
    # "outside 95%" and "outside 99.8%" (and "within" and "not shown") differed by colour alone.
    verdicts = [*VERDICTS, ""]
    profile = pl.DataFrame(
        {
            "short_title": [f"m{i}" for i in range(len(verdicts))],
            "title": [f"Measure {i}" for i in range(len(verdicts))],
            "england": [1.0] * len(verdicts),
            "spine_min": [0.5] * len(verdicts),
            "spine_max": [1.5] * len(verdicts),
            "spine_p25": [0.9] * len(verdicts),
            "spine_p75": [1.1] * len(verdicts),
            "funnel_value": [1.2] * len(verdicts),
            "comparison": [v or None for v in verdicts],
        }
    )
    symbols = [t.marker.symbol for t in spine_figure(profile).data if t.mode == "markers"]
    assert len(set(symbols)) == len(symbols) == len(verdicts)
    chart = funnel_chart(
        profile.with_columns(funnel_x=pl.lit(1.0), practice_code=pl.col("short_title"), practice_name=pl.col("title")),
        pl.DataFrame(schema={c: pl.Float64 for c in CURVES}),
        1.0,
        x_title="x",
        y_title="y",
    )
    (points,) = [layer for layer in chart["layer"] if layer["mark"]["type"] == "point"]
    shapes = points["encoding"]["shape"]["scale"]["range"]
    open_or_filled = [f == "transparent" for f in points["encoding"]["fill"]["scale"]["range"]]
    assert len(set(zip(shapes, open_or_filled, strict=True))) == len(shapes) == len(verdicts)


def test_trend_figure_tells_series_apart_by_marker_shape_as_well_as_colour():
    fig = trend_figure(trend_frame())
    symbols = [t.marker.symbol for t in fig.data]
    assert len(set(symbols)) == len(symbols) == 2


def test_trend_figure_sorts_months_within_a_series():
    fig = trend_figure(trend_frame().reverse())
    assert list(fig.data[1].y) == [10, 8, 11]


def test_trend_figure_of_nothing_is_an_empty_figure():
    empty = pl.DataFrame(schema={"activity_month": pl.Date, "modality": pl.String, "records": pl.Int64})
    assert len(trend_figure(empty).data) == 0


def test_formatting():
    assert fmt.count(1234567) == "1,234,567"
    assert fmt.count(None) == "–"
    assert fmt.month(date(2026, 2, 1)) == "February 2026"
    assert fmt.change(14, 5) == "+180.0%"
    assert fmt.change(9, 10) == "-10.0%"
    assert fmt.change(3, 0) is None
    assert fmt.change(3, None) is None
    assert fmt.timestamp("2026-03-05T14:02:11.123456+00:00") == "2026-03-05 14:02 UTC"
    assert fmt.timestamp(None) == "unknown"


def test_every_chart_offers_only_download_as_a_picture_and_has_an_accessible_name():
    """Plotly's zoom, pan, select and reset buttons were eight tab stops per chart for a keyboard
    user: every chart on every page takes the one toolbar configuration that leaves only the
    download (issue 17, accessibility)."""
    import ast
    from pathlib import Path

    from dashboard.components.charts import CHART_CONFIG

    removed = set(CHART_CONFIG["modeBarButtonsToRemove"])
    assert {"zoom2d", "pan2d", "select2d", "lasso2d", "autoScale2d", "resetScale2d"} <= removed
    assert "toImage" not in removed and CHART_CONFIG["displaylogo"] is False
    calls = 0
    for view in sorted((Path(__file__).resolve().parents[2] / "dashboard" / "views").glob("*.py")):
        for node in ast.walk(ast.parse(view.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "plotly_chart":
                calls += 1
                config = next((k.value for k in node.keywords if k.arg == "config"), None)
                assert config is not None and "CHART_CONFIG" in ast.unparse(config), (
                    f"{view.name}:{node.lineno} draws a chart without CHART_CONFIG"
                )
                # Every chart has an accessible name saying what kind of chart it is and what it shows.
                alt = next((k.value for k in node.keywords if k.arg == "alt"), None)
                assert alt is not None and ":" in ast.unparse(alt), f"{view.name}:{node.lineno} has no alt text"
    assert calls >= 20


def test_a_star_means_hidden_and_a_dash_means_not_worked_out():
    # "*" used to stand for every empty cell: a hidden count, a rate not worked out and "not an
    # outlier" all read the same.
    from streamlit.testing.v1 import AppTest

    def page():
        import polars as pl
        import streamlit as st

        from dashboard.components import formatting as fmt

        frame = pl.DataFrame(
            {
                "name": ["a", "b", "c"],
                "records": [1235, None, 40],
                "rate": [12.345, None, None],
                "share": [0.5, None, 0.25],
                "suppressed": [False, True, False],
            }
        )
        fmt.shown_table(
            frame.with_columns(variance=pl.lit(0.5)),
            {
                "records": st.column_config.NumberColumn("Examinations", format="localized"),
                "rate": st.column_config.NumberColumn("Rate", format="%.1f"),
                "share": st.column_config.NumberColumn("Share", format="percent"),
                "variance": None,
            },
        )
        fmt.shown_table(frame.filter(~pl.col("suppressed")), {})

    at = AppTest.from_function(page).run()
    hidden, plain = (d.value for d in at.dataframe)
    assert hidden["records"].tolist() == ["1,235", "*", "40"]
    assert hidden["rate"].tolist() == ["12.3", "*", "–"]
    assert hidden["share"].tolist() == ["50.0%", "*", "25.0%"]
    import json

    assert json.loads(at.dataframe[0].proto.columns)["variance"] == {"hidden": True}  # a hidden column stays hidden
    assert plain["records"].tolist() == [1235, 40]  # nothing hidden: numbers stay numbers and sort as such


def test_busiest_sites_are_dots_on_an_axis_that_shows_the_spread_with_fences_and_england():
    # It was bars from zero, so a 1.1-fold spread looked flat, and outliers were told by colour alone.
    from dashboard.components.equipment_charts import OUTLIER_GROUPS, ranked_sites_figure

    sites = pl.DataFrame(
        {
            "site_code": ["S1", "S2", "S3", "S4"],
            "provider_code": ["P1", "P1", "P2", "P3"],
            "exams_per_scanner_per_day": [30.0, 24.0, 22.0, 11.0],
            "outlier": ["high", None, None, "low"],
        }
    )
    fig = ranked_sites_figure(sites, fences=(15.0, 28.0), england=23.0)
    traces = {t.name: t for t in fig.data}
    assert list(traces) == [words for _, words, _, _ in OUTLIER_GROUPS]
    assert traces["Busier than most: above the upper fence"].y == ("S1 (P1)",)
    assert traces["Quieter than most: below the lower fence"].y == ("S4 (P3)",)
    assert len({t.marker.symbol for t in fig.data}) == 3  # shape as well as colour
    assert all(t.mode == "markers" for t in fig.data)
    low, high = fig.layout.xaxis.range
    assert 0 < low < 11 and 30 < high < 40  # spans the sites, not from zero
    assert list(fig.layout.yaxis.categoryarray) == ["S4 (P3)", "S3 (P2)", "S2 (P1)", "S1 (P1)"]  # busiest on top
    lines = sorted(shape.x0 for shape in fig.layout.shapes)
    assert lines == [15.0, 23.0, 28.0]
    assert any("England 23.0" in a.text for a in fig.layout.annotations)


def test_a_chart_drawn_once_keeps_its_look_without_a_template_and_names_its_data():
    """charts.drawn_once: Streamlit hands Plotly a copy of the figure after the first draw, and a
    template object or data arrays that are new to Plotly make it draw everything again. So the
    figure carries no template (its settings are in the layout, the chart's own winning), a
    data revision that changes with the data and only then."""
    import json

    import plotly.graph_objects as go
    import plotly.io as pio

    from dashboard.components.charts import NHS_GRID, drawn_once

    def figure(ys):
        fig = go.Figure(go.Scatter(x=[1, 2, 3], y=ys, customdata=["A", "B", "C"]))
        return fig.update_layout(template="plotly_white", xaxis={"gridcolor": NHS_GRID}, margin={"l": 90})

    once = json.loads(pio.to_json(drawn_once(figure([4, 5, 6]))))["layout"]
    assert "template" not in once
    assert once["plot_bgcolor"] == "white" and once["yaxis"]["gridcolor"] == "#EBF0F8"  # plotly_white's
    assert once["xaxis"]["gridcolor"] == NHS_GRID and once["margin"] == {"l": 90}  # the chart's own
    same = drawn_once(figure([4, 5, 6])).layout.datarevision
    assert same == once["datarevision"]
    assert drawn_once(figure([4, 5, 7])).layout.datarevision != same
