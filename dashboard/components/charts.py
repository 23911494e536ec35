"""Plotly figure builders. Each takes a DataFrame from queries/ and returns a go.Figure, so the
figures can be tested without running Streamlit."""

from __future__ import annotations

import hashlib

import plotly.graph_objects as go
import polars as pl

# NHS identity colour palette (https://www.england.nhs.uk/nhsidentity/identity-guidelines/colours/),
# in the order series take them: strong, distinguishable colours first. Every colour is at least
# 3:1 against the white chart background (WCAG 2.2 1.4.11, non-text contrast), so the NHS orange,
# warm yellow and aqua green are darkened and NHS light blue gives way to NHS light purple.
NHS_BLUE = "#005EB8"
NHS_COLOURS: tuple[str, ...] = (
    NHS_BLUE,
    "#C25E00",  # orange, darkened (NHS #ED8B00 is 2.5:1)
    "#009639",  # green
    "#AE2573",  # pink
    "#704C9C",  # light purple (NHS light blue #41B6E6 is 2.3:1)
    "#330072",  # purple
    "#8A6A00",  # warm yellow, darkened (NHS #FFB81C is 1.7:1)
    "#00796F",  # aqua green, darkened (NHS #00A499 is 3.1:1 — too close to the line)
    "#8A1538",  # dark red
    "#003087",  # dark blue
    "#768692",  # mid grey
    "#425563",  # dark grey
)
# A marker shape per series as well as a colour, so no series is told apart by colour alone
# (WCAG 2.2 1.4.1).
MARKER_SYMBOLS: tuple[str, ...] = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "triangle-down",
    "x",
    "star",
    "cross",
    "hexagon",
    "pentagon",
    "triangle-left",
    "triangle-right",
)
NHS_TEXT = "#212B32"
# What every chart's toolbar offers: "download as picture" only. Plotly's zoom, pan, select and
# reset buttons were eight tab stops per chart for a keyboard user and do nothing the page's own
# filters and table alternatives do not; clicking a mark (the map, the funnel) needs none of them.
CHART_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": [
        "zoom2d",
        "pan2d",
        "select2d",
        "lasso2d",
        "zoomIn2d",
        "zoomOut2d",
        "autoScale2d",
        "resetScale2d",
        "zoomInGeo",
        "zoomOutGeo",
        "resetGeo",
        "hoverClosestGeo",
        "hoverClosestCartesian",
        "hoverCompareCartesian",
        "toggleSpikelines",
    ],
}
NHS_GRID = "#D8DDE0"


def drawn_once(fig: go.Figure) -> go.Figure:
    """`fig` made ready to be drawn once, not twice, by `st.plotly_chart(fig, theme=None)`.

    Streamlit 1.67 hands Plotly the figure a second time right after the first draw, as a copy.
    Plotly compares the copy with what it drew: a template that is a different object (every
    copy's is) or data arrays that are (without a `datarevision`) make it compute and draw the
    whole chart again (0.2 s for the funnel's ~6,300 practices in Chromium without a GPU;
    traced with a breakpoint in Plotly.react). So the template's settings are written into the
    layout itself and the template dropped; and `datarevision` is a digest of the traces, so
    that new data is still drawn. (A chart whose points can be selected, `on_select`, would also
    need the click, hover and drag modes Streamlit sets on the copy; none uses this now.) The
    caller passes `theme=None`: the look is the figure's own (NHS colours and fonts), not
    Streamlit's.
    """
    template = fig.layout.template
    own = fig.layout.to_plotly_json()
    own.pop("template", None)
    fig.layout = _merged(template.layout.to_plotly_json() if template is not None and template.layout else {}, own)
    fig.layout.template = None  # after the assignment, which puts plotly's default template back
    digest = hashlib.blake2b(digest_size=8)  # of everything the traces hold
    for trace in fig.data:
        digest.update(repr(trace.to_plotly_json()).encode())
    return fig.update_layout(datarevision=digest.hexdigest())


def _merged(base: dict, own: dict) -> dict:
    """`base` with `own` laid over it, key by key down nested dicts (`own` wins)."""
    out = dict(base)
    for key, value in own.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def colour_map(names: list[str]) -> dict[str, str]:
    """A stable colour for each series name, in the order given (cycling if there are many)."""
    return {name: NHS_COLOURS[i % len(NHS_COLOURS)] for i, name in enumerate(names)}


def trend_figure(
    df: pl.DataFrame,
    *,
    x: str = "activity_month",
    y: str = "records",
    series: str = "modality",
    y_title: str = "Examinations",
) -> go.Figure:
    """A line per series over months (e.g. examinations per activity month by modality).

    Series are ordered (and coloured) by their total, largest first, so the legend reads like
    the table beside it.
    """
    order = (
        df.group_by(series)
        .agg(pl.col(y).sum().alias("_total"))
        .sort(["_total", series], descending=[True, False])[series]
        .to_list()
    )
    colours = colour_map(order)
    fig = go.Figure()
    for i, name in enumerate(order):
        part = df.filter(pl.col(series) == name).sort(x)
        fig.add_trace(
            go.Scatter(
                x=part[x].to_list(),
                y=part[y].to_list(),
                name=str(name),
                mode="lines+markers",
                line={"color": colours[name], "width": 2},
                marker={"size": 7, "symbol": MARKER_SYMBOLS[i % len(MARKER_SYMBOLS)]},
                hovertemplate="%{x|%b %Y}: %{y:,}<extra>" + str(name) + "</extra>",
            )
        )
    fig.update_layout(
        template="plotly_white",
        font={"family": "Arial, sans-serif", "color": NHS_TEXT},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        hovermode="x unified",
        yaxis={"title": y_title, "rangemode": "tozero", "tickformat": ",", "gridcolor": NHS_GRID},
        xaxis={"title": None, "tickformat": "%b %Y", "dtick": "M3", "gridcolor": NHS_GRID},
    )
    return fig
