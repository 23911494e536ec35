"""Figures for the GP benchmarking pages: funnel plot, spine chart, trend on deciles.

Each builder takes frames from queries/gp_benchmark.py or queries/gp_practice.py and returns a
go.Figure, so it can be tested without Streamlit. Verdicts are told apart by colour *and* by
marker shape and words: warm (orange, dark red) for higher, blue for lower, grey within — never
red against green, the colour-blind-safe pairing of Okabe & Ito ("Color Universal Design", 2008),
darkened where needed so every mark is at least 3:1 against the white background (WCAG 2.2
1.4.11), from the NHS palette of dashboard/components/charts.py.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.components.chart_gaps import with_missing_months
from dashboard.components.charts import NHS_GRID, NHS_TEXT, drawn_once
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
FUNNEL_MARGIN = {"l": 90, "r": 10, "t": 110, "b": 70}
SPINE_MARGIN = {"l": 190, "r": 10, "b": 40}  # the measures' short titles down the left; "t" by its key
TREND_MARGIN = {"l": 80, "r": 10, "t": 50, "b": 60}


def verdict_words(comparison: str | None) -> str:
    return VERDICTS.get(comparison or "", SUPPRESSED)[0]


def verdict_column(frame: pl.DataFrame) -> pl.Expr:
    """The verdict in words for a table: "Not shown (small numbers)" on a suppressed row (its
    comparison is empty, and polars would skip the empty value, leaving a bare dash), "–" where
    there is nothing to judge, else the verdict's words."""
    words = pl.col("comparison").map_elements(verdict_words, return_dtype=pl.String)
    hidden = pl.col("suppressed").fill_null(False) if "suppressed" in frame.columns else pl.lit(False)
    return pl.when(hidden).then(pl.lit(SUPPRESSED[0])).otherwise(words.fill_null("–")).alias("verdict")


def _layout(
    fig: go.Figure, x_title: str | None, y_title: str, margin: dict[str, int], *, selectable: bool = False
) -> go.Figure:
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
    return drawn_once(fig, selectable=selectable)


def funnel_hover(part: pl.DataFrame) -> list[str]:
    """Each practice's hover: its value, events, expected events and its own 95% and 99.8%
    limits, so a reader can see how far inside or outside them it sits. (Column by column, not
    row dicts: England has ~6,300 practices and this runs at every rerun of the page.)"""
    hidden = part[SUPPRESSED_COLUMN].to_list() if SUPPRESSED_COLUMN in part.columns else [False] * part.height

    def shown(column: str, places: int = 2) -> list[str]:
        """`*` where disclosure control hid the figure, – where it was not worked out (or the
        table has no such column)."""
        values = part[column].to_list() if column in part.columns else [None] * part.height
        return [
            (SUPPRESSED_MARK if h else "–") if v is None else f"{v:,.{places}f}"
            for v, h in zip(values, hidden, strict=True)
        ]

    names = [n or "Practice" for n in part["practice_name"].to_list()]
    columns = zip(
        names,
        shown("funnel_value"),
        shown("numerator", 0),
        shown("expected", 1),
        shown("funnel_lower95"),
        shown("funnel_upper95"),
        shown("funnel_lower998"),
        shown("funnel_upper998"),
        strict=True,
    )
    return [
        f"<b>{name}</b><br>Value {value}<br>Events {events} · expected {expected}"
        f"<br>95% limits {lo95} to {hi95}<br>99.8% limits {lo998} to {hi998}"
        for name, value, events, expected, lo95, hi95, lo998, hi998 in columns
    ]


def funnel_figure(
    table: pl.DataFrame,
    curves: pl.DataFrame,
    target: float,
    *,
    x_title: str,
    y_title: str,
    highlight: str | None = None,
) -> go.Figure:
    """Practices (funnel_x, funnel_value) with 95% and 99.8% limits around England's value.

    One trace per verdict (legend in words); each point carries its practice code as
    customdata, so a click can open that practice's page. `highlight`: a practice code drawn
    larger with a black outline.
    """
    fig = go.Figure()
    for tag, dash, label in (("998", "solid", "99.8% limits"), ("95", "dash", "95% limits")):
        for side in ("lower", "upper"):
            fig.add_trace(
                go.Scatter(
                    x=curves["funnel_x"].to_list(),
                    y=curves[f"funnel_{side}{tag}"].to_list(),
                    mode="lines",
                    line={"color": LIMIT_COLOUR, "width": 1.2, "dash": dash},
                    name=label,
                    legendgroup=label,
                    showlegend=side == "upper",
                    hoverinfo="skip",
                )
            )
    if curves.height:
        fig.add_trace(
            go.Scatter(
                x=[0, curves["funnel_x"].max()],
                y=[target, target],
                mode="lines",
                line={"color": LIMIT_COLOUR, "width": 1},
                name="England",
                hoverinfo="skip",
            )
        )
    shown = table.filter(pl.col("funnel_value").is_not_null())
    for key, (words, colour, symbol) in {**VERDICTS, "": SUPPRESSED}.items():
        part = shown.filter(pl.col("comparison").fill_null("") == key)
        if part.is_empty():
            continue
        # Thousands of points: plotly's per-element validation of these lists (of types built
        # right here, and checked by the tests) took a quarter of the page's run; it is skipped.
        fig.add_trace(
            go.Scatter(
                x=part["funnel_x"].to_list(),
                y=part["funnel_value"].to_list(),
                mode="markers",
                name=words,
                marker={"color": colour, "symbol": symbol, "size": 8, "line": {"width": 1.5, "color": colour}},
                customdata=part["practice_code"].to_list(),
                text=funnel_hover(part),
                hoverlabel={"bgcolor": "#FFFFFF", "bordercolor": colour, "font": {"color": NHS_TEXT}},
                hovertemplate="%{text}<extra>" + words + "</extra>",
                _validate=False,
            )
        )
    if highlight:
        mine = shown.filter(pl.col("practice_code") == highlight)
        if mine.height:
            fig.add_trace(
                go.Scatter(
                    x=mine["funnel_x"].to_list(),
                    y=mine["funnel_value"].to_list(),
                    mode="markers+text",
                    name="Selected practice",
                    text=mine["practice_name"].to_list(),
                    # its name kept inside the plot when the practice sits near the right edge
                    textposition="top left"
                    if mine["funnel_x"][0] > 0.7 * max(shown["funnel_x"].to_list())
                    else "top center",
                    customdata=mine["practice_code"].to_list(),
                    marker={"size": 15, "color": "rgba(0,0,0,0)", "line": {"width": 2.5, "color": HIGHLIGHT}},
                    hovertemplate="%{text}<br>%{y:.2f}<extra>selected</extra>",
                )
            )
    # A click on a practice opens its page. (Drawing England's ~6,300 practices again took
    # 0.2-0.3 s in Chromium without a GPU.)
    fig = _layout(fig, x_title, y_title, FUNNEL_MARGIN, selectable=True)
    fig.update_layout(height=600)
    if shown.height:
        # The practices fill the height; the limits of the smallest practices run off the top (they
        # reach far above any practice, and would squash every mark into a band at the bottom).
        top = max([*shown["funnel_value"].to_list(), target])
        fig.update_yaxes(range=[0, top * 1.08])
    return fig


def clicked_practice(event) -> str | None:
    """The practice code of the first point selected on the funnel (st.plotly_chart on_select)."""
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for point in points or []:
        code = point.get("customdata")
        if isinstance(code, list):
            code = code[0] if code else None
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
