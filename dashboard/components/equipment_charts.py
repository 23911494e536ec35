"""Figures for the scanner-utilisation page. Each takes a frame from queries.equipment and
returns a go.Figure, so they can be tested without Streamlit."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.components.charts import NHS_BLUE, NHS_COLOURS, NHS_GRID, NHS_TEXT

OUTLIER_COLOURS = {"high": NHS_COLOURS[1], "low": NHS_COLOURS[3]}


def _layout(fig: go.Figure, **kw) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        font={"family": "Arial, sans-serif", "color": NHS_TEXT},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        **kw,
    )
    return fig


def ranked_sites_figure(sites: pl.DataFrame, *, top: int = 40) -> go.Figure:
    """Sites ranked by examinations per scanner per operating day (bars), outliers coloured."""
    ranked = sites.filter(pl.col("exams_per_scanner_per_day").is_not_null()).head(top)
    colours = [OUTLIER_COLOURS.get(o, NHS_BLUE) for o in ranked["outlier"].to_list()]
    names = [f"{s} ({p})" for s, p in zip(ranked["site_code"].to_list(), ranked["provider_code"].to_list())]
    fig = go.Figure(go.Bar(
        x=names, y=ranked["exams_per_scanner_per_day"].to_list(), marker_color=colours,
        customdata=[o or "" for o in ranked["outlier"].to_list()],
        hovertemplate="%{x}: %{y:.1f} per scanner per day %{customdata}<extra></extra>",
        showlegend=False,
    ))
    for label, colour in OUTLIER_COLOURS.items():  # legend entries for the outlier colours
        fig.add_trace(go.Bar(x=[None], y=[None], marker_color=colour, name=f"Outlier ({label})"))
    return _layout(fig, yaxis={"title": "Examinations per scanner per operating day", "gridcolor": NHS_GRID,
                               "rangemode": "tozero"},
                   xaxis={"title": None, "tickangle": -60}, bargap=0.15)


def weekday_figure(profile: pl.DataFrame) -> go.Figure:
    """Mean examinations per calendar day, Monday … Sunday, and bank holidays."""
    fig = go.Figure(go.Bar(
        x=profile["day"].to_list(), y=profile["mean_per_day"].to_list(), marker_color=NHS_BLUE,
        customdata=profile["share"].to_list(),
        hovertemplate="%{x}: %{y:.1f} a day (%{customdata:.1%} of examinations)<extra></extra>",
    ))
    return _layout(fig, yaxis={"title": "Examinations per day (mean)", "gridcolor": NHS_GRID,
                               "rangemode": "tozero"}, xaxis={"title": None})


def monthly_figure(trend: pl.DataFrame) -> go.Figure:
    """Examinations per scanner per operating day (left) and estimated utilisation (right) by month."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=trend["activity_month"].to_list(), y=trend["exams_per_scanner_per_day"].to_list(),
        name="Per scanner per operating day", mode="lines+markers", line={"color": NHS_BLUE, "width": 2},
        hovertemplate="%{x|%b %Y}: %{y:.1f}<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=trend["activity_month"].to_list(), y=trend["utilisation"].to_list(), yaxis="y2",
        name="Estimated utilisation", mode="lines+markers", line={"color": NHS_COLOURS[1], "width": 2},
        hovertemplate="%{x|%b %Y}: %{y:.0%}<extra></extra>",
    ))
    return _layout(fig, hovermode="x unified",
                   xaxis={"title": None, "tickformat": "%b %Y", "gridcolor": NHS_GRID},
                   yaxis={"title": "Per scanner per operating day", "rangemode": "tozero",
                          "gridcolor": NHS_GRID},
                   yaxis2={"title": "Estimated utilisation", "overlaying": "y", "side": "right",
                           "tickformat": ".0%", "rangemode": "tozero", "showgrid": False})
