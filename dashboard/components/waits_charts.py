"""Figures for the waiting-times page. Each takes a frame from queries.waits and returns a
go.Figure, so they can be tested without Streamlit."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from dashboard.components.chart_gaps import with_missing_months
from dashboard.components.charts import NHS_BLUE, NHS_COLOURS, NHS_GRID, NHS_TEXT, drawn_once
from queries.waits import CAP_DAYS

SIX_WEEKS = 42


# Margins that already hold the axis titles, the tick labels of England's figures and the key
# above the plot: a margin Plotly has to widen makes it draw the chart again (measured on the
# Waiting times page at national scale: 12 draws of its four charts became 8, about 0.1 s).
MARGIN = {"l": 100, "r": 10, "t": 50, "b": 70}


def _layout(fig: go.Figure, right: int = MARGIN["r"]) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        font={"family": "Arial, sans-serif", "color": NHS_TEXT},
        margin={**MARGIN, "r": right},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    return drawn_once(fig)  # the last step of every figure here


def distribution_figure(dist: pl.DataFrame, *, max_days: int | None = None) -> go.Figure:
    """Histogram of records by whole days waited (bars, left axis) and the cumulative share
    waiting that long or less (line, right axis), with the six-week mark.

    `max_days` trims the x axis (the cumulative line still counts every record); the overflow
    bucket (more than 365 days) is labelled as such in the hover text.
    """
    shown = dist if max_days is None else dist.filter(pl.col("days") <= max_days)
    label = [f"> {CAP_DAYS} days" if d > CAP_DAYS else f"{d} days" for d in shown["days"].to_list()]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(
            x=shown["days"].to_list(),
            y=shown["records"].to_list(),
            name="Records",
            marker_color=NHS_BLUE,
            customdata=label,
            hovertemplate="%{customdata}: %{y:,} records<extra></extra>",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=shown["days"].to_list(),
            y=shown["cumulative_share"].to_list(),
            name="Cumulative share",
            mode="lines",
            line={"color": NHS_COLOURS[1], "width": 2, "shape": "hv"},
            customdata=label,
            hovertemplate="%{customdata} or less: %{y:.1%}<extra></extra>",
        ),
        secondary_y=True,
    )
    fig.add_vline(
        x=SIX_WEEKS, line_dash="dot", line_color=NHS_COLOURS[10], annotation_text="6 weeks", annotation_position="top"
    )
    fig.update_yaxes(title_text="Records", tickformat=",", gridcolor=NHS_GRID, rangemode="tozero", secondary_y=False)
    fig.update_yaxes(
        title_text="Cumulative share",
        tickformat=".0%",
        range=[0, 1.02],
        showgrid=False,
        tickmode="array",
        tickvals=[0, 0.25, 0.5, 0.75, 1],
        secondary_y=True,
    )  # not 13%, 26%, 39%
    fig.update_xaxes(title_text="Days waited", gridcolor=NHS_GRID, rangemode="tozero")
    fig.update_layout(bargap=0.05, hovermode="x unified")
    return _layout(fig, right=50)  # the cumulative share's axis on the right


def trend_figure(trend: pl.DataFrame) -> go.Figure:
    """Median and 90th percentile by activity month (lines), from a by-month summary; a month with
    no records breaks the lines."""
    trend = with_missing_months(trend, "activity_month")
    fig = go.Figure()
    for column, name, colour in (("median_days", "Median", NHS_BLUE), ("p90_days", "90th percentile", NHS_COLOURS[1])):
        fig.add_trace(
            go.Scatter(
                x=trend["activity_month"].to_list(),
                y=trend[column].to_list(),
                name=name,
                mode="lines+markers",
                line={"color": colour, "width": 2},
                marker={"size": 5},
                hovertemplate="%{x|%b %Y}: %{y} days<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        yaxis={"title": "Days", "rangemode": "tozero", "gridcolor": NHS_GRID},
        xaxis={"title": None, "tickformat": "%b %Y", "gridcolor": NHS_GRID},
        hovermode="x unified",
    )
    return _layout(fig)


# Each priority's line differs in marker, size and dash as well as colour: when two priorities
# have the same figure their lines lie on each other, and the larger open marker still shows
# round the smaller one beneath it (and colour is never the only difference).
LINE_STYLES = (("circle-open", 13, "solid"), ("square", 8, "dash"), ("diamond", 6, "dot"))


def turnaround_figure(by_month: pl.DataFrame, standard_days: int) -> go.Figure:
    """The 90th percentile of procedure start → report issue by activity month, one line per
    priority type, from an urgency summary by month, with the 4-week standard as a line."""
    fig = go.Figure()
    for i, (priority, rows) in enumerate(by_month.group_by("priority", maintain_order=True)):
        symbol, size, dash = LINE_STYLES[i % len(LINE_STYLES)]
        colour = NHS_COLOURS[i % len(NHS_COLOURS)]
        fig.add_trace(
            go.Scatter(
                x=rows["activity_month"].to_list(),
                y=rows["p90_days"].to_list(),
                name=f"{priority[0]}: 90th percentile",
                mode="lines+markers",
                line={"color": colour, "width": 2, "dash": dash},
                marker={"symbol": symbol, "size": size, "color": colour, "line": {"width": 2, "color": colour}},
                hovertemplate="%{x|%b %Y}: %{y} days<extra></extra>",
            )
        )
    fig.add_hline(
        y=standard_days,
        line_dash="dot",
        line_color=NHS_COLOURS[10],
        annotation_text="4-week standard (28 days)",
        annotation_position="top left",
    )
    fig.update_yaxes(title_text="Days, procedure → report", gridcolor=NHS_GRID, rangemode="tozero")
    fig.update_xaxes(title_text="Activity month", gridcolor=NHS_GRID, tickformat="%b %Y", dtick="M1")
    return _layout(fig)


def spc_figure(
    chart: pl.DataFrame,
    value: str,
    label: str,
    *,
    percent: bool = True,
    target: float | None = None,
    target_label: str = "",
) -> go.Figure:
    """An XmR chart (queries.spc.with_xmr): the monthly value, the mean and the natural process
    limits of each segment (drawn apart, so a change point shows as a step, not a slope), with
    special-cause points (any Making Data Count rule) as orange diamonds, and the target as a dotted
    line when there is one. `percent` formats the value as a share, else as days."""
    months = chart["activity_month"].to_list()
    shown = ".1%" if percent else ".0f"
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=months,
            y=chart[value].to_list(),
            name=label,
            mode="lines+markers",
            line={"color": NHS_BLUE, "width": 2},
            hovertemplate="%{x|%b %Y}: %{y:" + shown + "}<extra></extra>",
        )
    )
    special = chart.filter(pl.col("special_cause"))
    fig.add_trace(
        go.Scatter(
            x=special["activity_month"].to_list(),
            y=special[value].to_list(),
            name="Special cause",
            mode="markers",
            marker={"color": NHS_COLOURS[1], "size": 11, "symbol": "diamond"},
            hovertemplate="%{x|%b %Y}: %{y:" + shown + "} (special cause)<extra></extra>",
        )
    )
    for column, name, dash in (
        ("mean", "Mean", "solid"),
        ("upper_limit", "Upper process limit", "dash"),
        ("lower_limit", "Lower process limit", "dash"),
    ):
        for k, (_, part) in enumerate(chart.group_by("segment", maintain_order=True)):
            fig.add_trace(
                go.Scatter(
                    x=part["activity_month"].to_list(),
                    y=part[column].to_list(),
                    name=name,
                    mode="lines",
                    legendgroup=column,
                    showlegend=k == 0,
                    line={"color": NHS_TEXT, "width": 1, "dash": dash},
                    hoverinfo="skip",
                )
            )
    if target is not None:
        fig.add_hline(
            y=target,
            line_dash="dot",
            line_color=NHS_COLOURS[8],
            annotation_text=target_label,
            annotation_position="top left",
        )
    shown_values = [v for c in (value, "upper_limit", "lower_limit") for v in chart[c].to_list() if v is not None]
    if target is not None:
        shown_values.append(target)
    fig.update_yaxes(title_text=label, tickformat=percent_ticks(shown_values) if percent else ",d", gridcolor=NHS_GRID)
    fig.update_xaxes(title_text="Activity month", gridcolor=NHS_GRID, tickformat="%b %Y", dtick="M1")
    return _layout(fig)


def percent_ticks(values: list[float]) -> str:
    """A tick format for shares spanning `values` with enough decimals that no two of about five
    ticks read the same (98% to 100% in whole percents gave "100%, 100%, 99%, 99%, 98%")."""
    span = (max(values) - min(values)) if values else 1.0
    return ".0%" if span >= 0.05 else ".1%" if span >= 0.005 else ".2%"
