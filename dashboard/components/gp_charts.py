"""Figures for the GP benchmarking pages: funnel plot, spine chart, trend on deciles.

Each builder takes frames from queries/gp_benchmark.py or queries/gp_practice.py and returns a
go.Figure (the funnel: a Vega-Lite spec, ADR 0017), so it can be tested without Streamlit.
Verdicts are told apart by colour *and* by marker shape and words: warm (orange, dark red) for
higher, blue for lower, grey within — never red against green, the colour-blind-safe pairing of
Okabe & Ito ("Color Universal Design", 2008), darkened where needed so every mark is at least
3:1 against the white background (WCAG 2.2 1.4.11), from the NHS palette of
dashboard/components/charts.py.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.components.chart_gaps import with_missing_months
from dashboard.components.charts import NHS_GRID, NHS_TEXT, drawn_once
from did_model.frames import each
from queries.disclosure import SUPPRESSED as SUPPRESSED_MARK
from queries.disclosure import SUPPRESSED_COLUMN

# comparison value (queries.funnel.classify) -> (words, colour, marker symbol)
VERDICTS: dict[str, tuple[str, str, str]] = {
    "above 99.8%": ("Higher than expected (outside 99.8% limits)", "#8A1538", "triangle-up"),
    "above 95%": ("Higher (outside 95% limits only)", "#C25E00", "triangle-up-open"),
    "within": ("Within the expected range", "#768692", "circle-open"),
    "below 95%": ("Lower (outside 95% limits only)", "#0072B2", "triangle-down-open"),
    "below 99.8%": ("Lower than expected (outside 99.8% limits)", "#003087", "triangle-down"),
    "too few to judge": ("Too few to judge", "#768692", "x-thin-open"),  # neutral, like "within"
}
SUPPRESSED = ("Not shown (small numbers)", "#425563", "square-open")
HIGHLIGHT = "#000000"
LIMIT_COLOUR = "#425563"
DECILE_COLOUR = "#005EB8"
# Margins (px) that already hold each chart's axis titles, tick labels and key on a screen 1,280
# px wide or more: a margin Plotly has to widen makes it draw the whole chart again.
SPINE_MARGIN = {"l": 190, "r": 10, "b": 40}  # the measures' short titles down the left; "t" by its key
TREND_MARGIN = {"l": 80, "r": 10, "t": 50, "b": 60}


def verdict_words(comparison: str | None) -> str:
    return VERDICTS.get(comparison or "", SUPPRESSED)[0]


def verdict_column(frame: pl.DataFrame) -> pl.Expr:
    """The verdict in words for a table: "Not shown (small numbers)" on a suppressed row (its
    comparison is empty, and polars would skip the empty value, leaving a bare dash), "–" where
    there is nothing to judge, else the verdict's words."""
    words = pl.lit(each(frame["comparison"], verdict_words))
    hidden = pl.col("suppressed").fill_null(False) if "suppressed" in frame.columns else pl.lit(False)
    return pl.when(hidden).then(pl.lit(SUPPRESSED[0])).otherwise(words.fill_null("–")).alias("verdict")


def _layout(fig: go.Figure, x_title: str | None, y_title: str, margin: dict[str, int]) -> go.Figure:
    """The figures' common look, their margins, and ready to be drawn once (`drawn_once`: call it
    when every trace is in)."""
    fig.update_layout(
        template="plotly_white",
        font={"family": "Arial, sans-serif", "color": NHS_TEXT},
        margin=margin,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        xaxis={"title": x_title, "gridcolor": NHS_GRID, "rangemode": "tozero"},
        yaxis={"title": y_title, "gridcolor": NHS_GRID, "rangemode": "tozero"},
    )
    return drawn_once(fig)


# The funnel's marks in Vega-Lite: plotly symbol -> (Vega shape, filled). An "x" is drawn as a
# path in Vega's unit square.
_X_SHAPE = "M-0.7,-0.7L0.7,0.7M-0.7,0.7L0.7,-0.7"
FUNNEL_SHAPES = {
    "triangle-up": ("triangle-up", True),
    "triangle-up-open": ("triangle-up", False),
    "circle-open": ("circle", False),
    "triangle-down-open": ("triangle-down", False),
    "triangle-down": ("triangle-down", True),
    "x-thin-open": (_X_SHAPE, False),
    "square-open": ("square", False),
}
# The key of the funnel's lines: England solid and thin, the limits as in published funnel plots.
FUNNEL_LINES = {"99.8% limits": [1, 0], "95% limits": [6, 4], "England": [2, 2]}
FUNNEL_HEIGHT = 600
# Each practice's tooltip: (field in the chart's data, its title)
FUNNEL_TOOLTIP = (
    ("name", "Practice"),
    ("shown_value", "Value"),
    ("shown_events", "Events"),
    ("shown_expected", "Expected events"),
    ("shown_limits95", "95% limits"),
    ("shown_limits998", "99.8% limits"),
    ("verdict", "Compared with England"),
)
FUNNEL_SELECTION = "practice"  # the chart's click selection: the practice code clicked
# The verdicts' key above the plot: its shape, outline and fill encodings share it (one key).
VERDICT_KEY = {"title": None, "orient": "top", "columns": 3, "labelLimit": 0}


def funnel_tooltips(part: pl.DataFrame) -> dict[str, list[str]]:
    """Each practice's tooltip fields: its name and code, value, events, expected events and its
    own 95% and 99.8% limits, so a reader can see how far inside or outside them it sits; `*`
    where disclosure control hid a figure, – where it was not worked out. (Column by column, not
    row dicts: England has ~6,300 practices and this runs at every rerun of the page.)"""
    hidden = part[SUPPRESSED_COLUMN].to_list() if SUPPRESSED_COLUMN in part.columns else [False] * part.height

    def shown(column: str, places: int = 2) -> list[str]:
        values = part[column].to_list() if column in part.columns else [None] * part.height
        return [
            (SUPPRESSED_MARK if h else "–") if v is None else f"{v:,.{places}f}"
            for v, h in zip(values, hidden, strict=True)
        ]

    names = [
        f"{(n or 'Practice').title()} ({c})" if c else (n or "Practice").title()
        for n, c in zip(part["practice_name"].to_list(), part["practice_code"].to_list(), strict=True)
    ]
    lo95, hi95, lo998, hi998 = (
        shown(c) for c in ("funnel_lower95", "funnel_upper95", "funnel_lower998", "funnel_upper998")
    )
    return {
        "name": names,
        "shown_value": shown("funnel_value"),
        "shown_events": shown("numerator", 0),
        "shown_expected": shown("expected", 1),
        "shown_limits95": [f"{lo} to {hi}" for lo, hi in zip(lo95, hi95, strict=True)],
        "shown_limits998": [f"{lo} to {hi}" for lo, hi in zip(lo998, hi998, strict=True)],
    }


def tooltip_text(fields: dict[str, list[str]]) -> list[str]:
    """Each practice's tooltip as one text: its name, then a line "Title: value" for every other
    field of FUNNEL_TOOLTIP (`fields`: funnel_tooltips' columns and the verdict). The chart's
    tooltip shows the lines as they are (its box keeps line breaks). One text rather than seven
    fields: the browser builds a tooltip object for every practice each time the funnel is drawn,
    and for England's 6,000 practices that was 0.09 s of each draw (measured in Chromium)."""
    names = fields["name"]
    rest = [(title, fields[field]) for field, title in FUNNEL_TOOLTIP if field != "name"]
    return ["\n".join([names[i], *(f"{title}: {values[i]}" for title, values in rest)]) for i in range(len(names))]


def funnel_chart(
    table: pl.DataFrame,
    curves: pl.DataFrame,
    target: float,
    *,
    x_title: str,
    y_title: str,
    highlight: str | None = None,
    description: str = "",
) -> dict:
    """The funnel plot as a Vega-Lite spec (st.vega_lite_chart): practices (funnel_x,
    funnel_value) with 95% and 99.8% limits around England's value.

    Streamlit draws it on a canvas when it holds more than 2,000 practices, as SVG otherwise:
    England's ~6,100 practices as SVG marks cost Plotly 0.4 s a draw in Chromium without a GPU
    (ADR 0017). Each verdict has its colour, shape and words in one
    key; each practice carries its code, so a click (the `practice` selection) can open its page,
    and its tooltip its figures as shown elsewhere on the page (`tooltip_text`). `highlight`: a
    practice code drawn larger with a black ring and its name. The y axis runs from 0 to just
    above the highest practice (or England): the limits of the smallest practices reach far
    higher and would squash every mark into a band at the bottom.
    """
    shown = table.filter(pl.col("funnel_value").is_not_null())
    styles = {**VERDICTS, "": SUPPRESSED}
    shown = shown.with_columns(_key=pl.col("comparison").fill_null("")).filter(pl.col("_key").is_in(list(styles)))
    present = set(shown["_key"].to_list())
    keys = [k for k in styles if k in present]  # the key in the verdicts' order, only those drawn
    words = [styles[k][0] for k in keys]
    colours = [styles[k][1] for k in keys]
    shapes = [FUNNEL_SHAPES[styles[k][2]] for k in keys]
    verdicts = [styles[k][0] for k in shown["_key"].to_list()]
    practices = {
        "practice_code": shown["practice_code"].to_list(),
        "x": shown["funnel_x"].to_list(),
        "y": shown["funnel_value"].to_list(),
        "verdict": verdicts,
        "tooltip": tooltip_text({**funnel_tooltips(shown), "verdict": verdicts}),
    }
    lines: dict[str, list] = {"x": [], "y": [], "line": [], "side": []}
    for tag, label in (("998", "99.8% limits"), ("95", "95% limits")):
        for side in ("lower", "upper"):
            column = f"funnel_{side}{tag}"
            part = curves.select("funnel_x", column).drop_nulls()
            lines["x"] += part["funnel_x"].to_list()
            lines["y"] += part[column].to_list()
            lines["line"] += [label] * part.height
            lines["side"] += [side] * part.height
    if curves.height:
        lines["x"] += [0.0, float(curves["funnel_x"].max())]  # type: ignore[arg-type]
        lines["y"] += [target, target]
        lines["line"] += ["England", "England"]
        lines["side"] += ["", ""]
    top = max([*practices["y"], target]) * 1.08 if practices["y"] else None
    x: dict[str, object] = {"field": "x", "type": "quantitative", "title": x_title}
    y: dict[str, object] = {"field": "y", "type": "quantitative", "title": y_title}
    if top:
        y["scale"] = {"domain": [0, top], "nice": False}
    layers: list[dict] = [
        {
            "data": {"name": "lines"},
            "mark": {"type": "line", "clip": True, "color": LIMIT_COLOUR, "strokeWidth": 1.2},
            "encoding": {
                "x": x,
                "y": y,
                "strokeDash": {
                    "field": "line",
                    "type": "nominal",
                    "scale": {"domain": list(FUNNEL_LINES), "range": list(FUNNEL_LINES.values())},
                    "legend": {
                        "title": None,
                        "orient": "bottom",
                        "direction": "horizontal",
                        "symbolStrokeColor": LIMIT_COLOUR,
                    },
                },
                "detail": {"field": "side", "type": "nominal"},
            },
        },
        {
            "data": {"name": "practices"},
            "mark": {"type": "point", "size": 60, "strokeWidth": 1.5, "opacity": 1, "cursor": "pointer"},
            "params": [{"name": FUNNEL_SELECTION, "select": {"type": "point", "fields": ["practice_code"]}}],
            "encoding": {
                "x": x,
                "y": y,
                "shape": {
                    "field": "verdict",
                    "type": "nominal",
                    "scale": {"domain": words, "range": [shape for shape, _ in shapes]},
                    "legend": VERDICT_KEY,
                },
                "stroke": {
                    "field": "verdict",
                    "type": "nominal",
                    "scale": {"domain": words, "range": colours},
                    "legend": VERDICT_KEY,
                },
                "fill": {
                    "field": "verdict",
                    "type": "nominal",
                    "scale": {
                        "domain": words,
                        "range": [c if f else "transparent" for c, (_, f) in zip(colours, shapes, strict=True)],
                    },
                    "legend": VERDICT_KEY,
                },
                "tooltip": {"field": "tooltip", "type": "nominal"},  # one text per practice (tooltip_text)
            },
        },
    ]
    datasets = {
        "lines": pl.DataFrame(lines, schema={"x": pl.Float64, "y": pl.Float64, "line": pl.String, "side": pl.String}),
        "practices": pl.DataFrame(practices),
    }
    mine = shown.filter(pl.col("practice_code") == highlight) if highlight else shown.head(0)
    if mine.height:
        # its name kept inside the plot when the practice sits near the right edge
        right = mine["funnel_x"][0] > 0.7 * max(practices["x"])
        names = [(n or c).title() for n, c in zip(mine["practice_name"], mine["practice_code"], strict=True)]
        datasets["selected"] = mine.select(x="funnel_x", y="funnel_value").with_columns(label=pl.Series(names))
        layers += [
            {
                "data": {"name": "selected"},
                "mark": {"type": "point", "shape": "circle", "size": 260, "strokeWidth": 2.5, "color": HIGHLIGHT},
                "encoding": {"x": x, "y": y},
            },
            *(
                {  # the name on a white halo, readable over the marks around it
                    "data": {"name": "selected"},
                    "mark": {
                        "type": "text",
                        "align": "right" if right else "center",
                        "dy": -16,
                        "fontSize": 13,
                        "fontWeight": "bold",
                        **look,
                    },
                    "encoding": {"x": x, "y": y, "text": {"field": "label"}},
                }
                for look in ({"color": "#FFFFFF", "stroke": "#FFFFFF", "strokeWidth": 4}, {"color": HIGHLIGHT})
            ),
        ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": description,
        "background": "#FFFFFF",  # painted with the marks (the browser tests' sign of a drawn canvas)
        "height": FUNNEL_HEIGHT,
        "datasets": datasets,  # frames: Streamlit sends each to the browser as Arrow
        "layer": layers,
        "resolve": {"legend": {"strokeDash": "independent"}},
        "config": {
            "font": "Arial, sans-serif",
            "view": {"stroke": None},
            "axis": {
                "gridColor": NHS_GRID,
                "domainColor": LIMIT_COLOUR,
                "tickColor": LIMIT_COLOUR,
                "labelColor": NHS_TEXT,
                "titleColor": NHS_TEXT,
                "labelFontSize": 12,
                "titleFontSize": 14,
                "titleFontWeight": "normal",
            },
            "legend": {"labelColor": NHS_TEXT, "labelFontSize": 13, "symbolSize": 90, "symbolStrokeWidth": 1.5},
        },
    }


def clicked_practice(event) -> str | None:
    """The practice code clicked on the funnel (st.vega_lite_chart on_select: the `practice`
    selection holds the clicked point's practice_code)."""
    try:
        picked = event["selection"][FUNNEL_SELECTION]
    except (KeyError, TypeError):
        return None
    for point in picked or []:
        code = point.get("practice_code") if isinstance(point, dict) else None
        if code:
            return str(code)
    return None


def spine_figure(profile: pl.DataFrame) -> go.Figure:
    """A spine chart: one row per measure, England's value in the middle.

    Each row is scaled so that England sits at 0.5 and the practice furthest from England on
    either side reaches the edge (the Fingertips spine chart convention). The grey bar spans
    England's practices from lowest to highest, the darker bar the middle half (25th to 75th
    percentile); the marker is this practice, coloured and shaped by its verdict.
    """
    rows = profile.reverse()  # first measure on top
    fig = go.Figure()
    labels = rows["short_title"].to_list()
    positions: list[float | None] = []
    for r in rows.iter_rows(named=True):
        centre = r["england"]
        reach = max(abs((r["spine_max"] or 0) - (centre or 0)), abs((centre or 0) - (r["spine_min"] or 0))) or 1.0

        def scale(v, centre=centre, reach=reach):
            return None if v is None or centre is None else 0.5 + (v - centre) / (2 * reach)

        fig.add_trace(
            go.Scatter(
                x=[scale(r["spine_min"]), scale(r["spine_max"])],
                y=[r["short_title"]] * 2,
                mode="lines",
                line={"color": "#D8DDE0", "width": 14},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[scale(r["spine_p25"]), scale(r["spine_p75"])],
                y=[r["short_title"]] * 2,
                mode="lines",
                line={"color": "#768692", "width": 14},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        positions.append(scale(r["funnel_value"]))
    fig.add_shape(type="line", x0=0.5, x1=0.5, y0=-0.5, y1=len(labels) - 0.5, line={"color": NHS_TEXT, "width": 2})
    seen: set[str] = set()
    for r, x in zip(rows.iter_rows(named=True), positions, strict=True):
        if x is None:
            continue
        words, colour, symbol = VERDICTS.get(r["comparison"] or "", SUPPRESSED)
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[r["short_title"]],
                mode="markers",
                name=words,
                legendgroup=words,
                showlegend=words not in seen,
                marker={
                    "color": colour,
                    "symbol": symbol,
                    "size": 14,  # open = outside 95% only
                    "line": {"width": 2.5, "color": colour}
                    if symbol.endswith("-open")
                    else {"width": 1, "color": NHS_TEXT},
                },
                hovertemplate=f"{r['title']}<br>practice {r['funnel_value']:.2f} · England {r['england']:.2f}"
                f"<extra>{words}</extra>",
            )
        )
        seen.add(words)
    # The key above: in the spine's narrow column one verdict a line, each line 24 px.
    fig = _layout(fig, None, "", {**SPINE_MARGIN, "t": 30 + 24 * len(seen)})
    fig.update_layout(height=70 + 38 * len(labels), hovermode="closest")
    fig.update_xaxes(
        range=[-0.02, 1.02],
        showticklabels=False,
        showgrid=False,
        zeroline=False,
        title="← lower than England · England · higher than England →",
    )
    fig.update_yaxes(categoryorder="array", categoryarray=labels, gridcolor="rgba(0,0,0,0)")
    return fig


def trend_on_deciles_figure(series: pl.DataFrame, deciles: pl.DataFrame, *, name: str, y_title: str) -> go.Figure:
    """The organisation's monthly value over England's deciles (dashed; median solid)."""
    fig = go.Figure()
    for p in sorted(deciles["percentile"].unique().to_list()):
        part = deciles.filter(pl.col("percentile") == p).sort("activity_month")
        fig.add_trace(
            go.Scatter(
                x=part["activity_month"].to_list(),
                y=part["value"].to_list(),
                mode="lines",
                line={"color": DECILE_COLOUR, "width": 2 if p == 50 else 1, "dash": "solid" if p == 50 else "dot"},
                name="England median" if p == 50 else "England deciles",
                legendgroup="deciles" if p != 50 else "median",
                showlegend=p in (10, 50),
                hovertemplate=f"{p}th percentile: %{{y:.2f}}<extra></extra>",
            )
        )
    part = with_missing_months(series, "activity_month")
    fig.add_trace(
        go.Scatter(
            x=part["activity_month"].to_list(),
            y=part["value"].to_list(),
            mode="lines+markers",
            name=name,
            line={"color": "#D55E00", "width": 3},
            marker={"size": 7, "symbol": "diamond"},
            customdata=part["percentile_rank"].to_list() if "percentile_rank" in part.columns else None,
            hovertemplate="%{x|%b %Y}: %{y:.2f} (percentile %{customdata:.0f})<extra>" + name + "</extra>",
        )
    )
    fig = _layout(fig, None, y_title, TREND_MARGIN)
    fig.update_xaxes(tickformat="%b %Y", dtick="M1")
    fig.update_layout(hovermode="x unified")
    return fig


def trend_table(series: pl.DataFrame, deciles: pl.DataFrame) -> pl.DataFrame:
    """What the trend on deciles draws, one row a month: the organisation's events, value and
    percentile, then England's deciles side by side (england_p10 .. england_p90) — the chart's
    table alternative."""
    wide = (
        deciles.pivot(on="percentile", index="activity_month", values="value", sort_columns=True)
        if deciles.height
        else pl.DataFrame(schema={"activity_month": pl.Date})
    )
    wide = wide.rename({c: f"england_p{c}" for c in wide.columns if c != "activity_month"})
    return (
        series.drop("org_code", strict=False)
        .join(wide, on="activity_month", how="full", coalesce=True)
        .sort("activity_month")
    )


def trend_table_columns(name: str, units: str) -> dict[str, tuple[str, int | None]]:
    """Headings (and decimals) of `trend_table` for a table alternative."""
    return {
        "activity_month": ("Activity month", None),
        "numerator": ("Events", 0),
        "value": (f"{name} ({units})", 2),
        "percentile_rank": ("Percentile in England", 0),
        **{
            f"england_p{p}": ("England median" if p == 50 else f"England {p}th percentile", 2)
            for p in range(10, 100, 10)
        },
    }
