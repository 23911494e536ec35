"""Figures for the Completeness, Data quality and Provider detail pages (testable without Streamlit).

Status colours keep the hues of the Okabe–Ito colour-blind-safe palette, darkened from the NHS
palette of dashboard/components/charts.py where needed so every cell is at least 3:1 against the
white background (WCAG 2.2 1.4.11); every cell also carries a letter and says its status in words
on hover and in the legend, so colour is never the only cue.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.components.chart_gaps import with_missing_months
from dashboard.components.charts import NHS_BLUE, NHS_GRID, NHS_TEXT
from queries.completeness import STATUS_LABELS

# Okabe & Ito (2008), "Color Universal Design": distinguishable with the common colour-vision
# deficiencies; orange, sky blue and light grey darkened to reach 3:1 on white.
STATUS_COLOURS: dict[str, str] = {
    "on_time": "#009639",  # green
    "late": "#8A6A00",  # dark yellow (Okabe-Ito orange #E69F00 is 2.25:1)
    "resubmitted": "#0072B2",  # blue (sky blue #56B4E9 is 2.31:1)
    "rejected": "#AE2573",  # pink
    "missing": "#D55E00",  # vermillion
    "not_due": "#768692",  # mid grey (#DDDDDD is 1.36:1)
}
STATUS_ORDER: tuple[str, ...] = tuple(STATUS_COLOURS)
# A letter in each cell, so the matrix reads without colour too.
STATUS_MARKS: dict[str, str] = {
    "on_time": "",
    "late": "L",
    "resubmitted": "R",
    "rejected": "X",
    "missing": "M",
    "not_due": "·",
}
FLAG_COLOURS = {"drop": "#D55E00", "spike": "#0072B2"}
# Quality scores run 0-100 and sit in the high 90s; an axis zoomed to the data (99.6-99.9) makes a
# 0.2-point dip look like a collapse. The score axis starts at this baseline, lower only when a
# score is lower, and the axis title says where it starts.
SCORE_BASELINE = 80.0


def _layout(fig: go.Figure, **extra) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        font={"family": "Arial, sans-serif", "color": NHS_TEXT},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        **extra,
    )
    return fig


def matrix_figure(matrix: pl.DataFrame) -> go.Figure:
    """Providers × periods, one coloured cell per provider-period, legend in words."""
    periods = sorted(matrix["period"].unique().to_list())
    labels = matrix.select("provider_code", "provider_name").unique().sort("provider_code", descending=True)
    y = [f"{c} — {n}"[:48] for c, n in labels.iter_rows()]
    codes = labels["provider_code"].to_list()
    index = {s: i for i, s in enumerate(STATUS_ORDER)}
    cells = {(r["provider_code"], r["period"]): r for r in matrix.iter_rows(named=True)}
    z, text, hover = [], [], []
    for code in codes:
        zr: list[int | None] = []
        tr, hr = [], []
        for p in periods:
            r = cells.get((code, p))
            if r is None:
                zr.append(None)
                tr.append("")
                hr.append("not expected")
                continue
            zr.append(index[r["status"]])
            tr.append(STATUS_MARKS[r["status"]])
            when = f"<br>received {r['submitted_on']}" if r["submitted_on"] else ""
            records = f"<br>{r['records']:,} records accepted" if r["records"] is not None else ""
            hr.append(
                f"<b>{STATUS_LABELS[r['status']]}</b><br>{r['files']} file(s){when}{records}"
                f"<br>window closed {r['window_closes']}"
            )
        z.append(zr)
        text.append(tr)
        hover.append(hr)
    n = len(STATUS_ORDER)
    scale = []
    for i, s in enumerate(STATUS_ORDER):
        scale += [[i / n, STATUS_COLOURS[s]], [(i + 1) / n, STATUS_COLOURS[s]]]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[p.strftime("%b %Y") for p in periods],
            y=y,
            text=text,
            texttemplate="%{text}",
            customdata=hover,
            hovertemplate="%{y}<br>%{x}: %{customdata}<extra></extra>",
            colorscale=scale,
            zmin=-0.5,
            zmax=n - 0.5,
            xgap=1,
            ygap=1,
            colorbar={
                "tickvals": list(range(n)),
                "ticktext": [f"{STATUS_LABELS[s]} {STATUS_MARKS[s]}".strip() for s in STATUS_ORDER],
                "title": {"text": "Status"},
                "lenmode": "pixels",
                "len": 220,
                "yanchor": "top",
                "y": 1,
            },
        )
    )
    return _layout(
        fig,
        height=max(300, 18 * len(y) + 120),
        xaxis={"side": "top", "title": "Submission month (period)"},
        yaxis={"automargin": True, "tickfont": {"size": 10}},
    )


def coverage_figure(coverage: pl.DataFrame) -> go.Figure:
    """% of expected providers included, per period."""
    fig = go.Figure(
        go.Bar(
            x=[p.strftime("%b %Y") for p in coverage["period"]],
            y=(coverage["coverage"] * 100).to_list(),
            marker_color=NHS_BLUE,
            text=[f"{c:.0%}" for c in coverage["coverage"]],
            textposition="outside",
            customdata=list(zip(coverage["included"], coverage["expected"], strict=True)),
            hovertemplate="%{x}: %{customdata[0]} of %{customdata[1]} expected providers<extra></extra>",
        )
    )
    return _layout(
        fig, height=260, yaxis={"title": "% of expected providers", "range": [0, 105], "gridcolor": NHS_GRID}
    )


def volume_figure(series: pl.DataFrame) -> go.Figure:
    """A provider's monthly examinations, its trailing-median baseline, and the flagged months.

    A month with no accepted file is a gap in the lines, not a straight line across it. The
    chart has no title of its own (the page heads it), so its legend has the top to itself."""
    series = with_missing_months(series, "activity_month") if series.height else series
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=series["activity_month"].to_list(),
            y=series["records"].to_list(),
            name="Examinations",
            mode="lines+markers",
            line={"color": NHS_BLUE, "width": 2},
            hovertemplate="%{x|%b %Y}: %{y:,}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=series["activity_month"].to_list(),
            y=series["baseline"].to_list(),
            name="Median of previous months",
            mode="lines",
            line={"color": "#768692", "dash": "dash"},
            hovertemplate="%{x|%b %Y}: baseline %{y:,.0f}<extra></extra>",
        )
    )
    for flag, symbol in (("drop", "triangle-down"), ("spike", "triangle-up")):
        part = series.filter(pl.col("flag") == flag)
        if part.height:
            fig.add_trace(
                go.Scatter(
                    x=part["activity_month"].to_list(),
                    y=part["records"].to_list(),
                    mode="markers",
                    name=f"Flagged {flag}",
                    marker={"symbol": symbol, "size": 14, "color": FLAG_COLOURS[flag]},
                    customdata=part["change"].to_list(),
                    hovertemplate="%{x|%b %Y}: %{y:,} (%{customdata:+.0%})<extra>" + flag + "</extra>",
                )
            )
    return _layout(
        fig,
        height=320,
        hovermode="x unified",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        yaxis={"title": "Examinations", "rangemode": "tozero", "tickformat": ",", "gridcolor": NHS_GRID},
        xaxis={"tickformat": "%b %Y", "title": "Activity month"},
    )


def score_axis_floor(*frames_and_columns: tuple[pl.DataFrame, str]) -> float:
    """Where the score axis starts: SCORE_BASELINE, or the next 10 below the lowest score shown."""
    lows = [low for f, c in frames_and_columns if f.height and (low := f.select(pl.col(c).min()).item()) is not None]
    return min([SCORE_BASELINE] + [10 * (low // 10) for low in lows])


def score_trend_figure(scores: pl.DataFrame, peers: pl.DataFrame, name: str = "Provider") -> go.Figure:
    """A provider's overall quality score by period, against the middle half of all providers, on
    an axis from `score_axis_floor` to 100; a month without a score breaks the line."""
    floor = score_axis_floor((scores, "score"), (peers, "p25"))
    scores = with_missing_months(scores, "period") if scores.height else scores
    fig = go.Figure()
    if peers.height:
        x = peers["period"].to_list()
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=peers["p75"].to_list() + peers["p25"].to_list()[::-1],
                fill="toself",
                fillcolor="rgba(118,134,146,0.2)",
                line={"width": 0},
                name="Middle half of providers",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=peers["median"].to_list(),
                name="Median provider",
                mode="lines",
                line={"color": "#768692", "dash": "dash"},
                hovertemplate="%{x|%b %Y}: %{y:.1f}<extra>median</extra>",
            )
        )
    if scores.height:
        fig.add_trace(
            go.Scatter(
                x=scores["period"].to_list(),
                y=scores["score"].to_list(),
                name=name,
                mode="lines+markers",
                line={"color": NHS_BLUE, "width": 2},
                hovertemplate="%{x|%b %Y}: %{y:.1f}<extra></extra>",
            )
        )
    return _layout(
        fig,
        height=320,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        yaxis={
            "title": f"Score out of 100 (axis from {floor:g})",
            "range": [floor, 100.5],
            "gridcolor": NHS_GRID,
            "tickformat": ".0f",
        },
        xaxis={"tickformat": "%b %Y", "title": "Submission month (period)"},
    )


def item_heatmap_figure(items: pl.DataFrame) -> go.Figure:
    """Providers × data items for one period, coloured by item score (lighter = lower)."""
    providers = sorted(items["provider_code"].unique().to_list(), reverse=True)
    names = items.select("position", "item_name").unique().sort("position")["item_name"].to_list()
    cells = {(r["provider_code"], r["item_name"]): r["score"] for r in items.iter_rows(named=True)}
    z = [[cells.get((p, n)) for n in names] for p in providers]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[n.title()[:28] for n in names],
            y=providers,
            colorscale="Blues",
            zmin=80,
            zmax=100,
            xgap=1,
            ygap=1,
            hovertemplate="%{y}<br>%{x}: %{z:.1f}<extra></extra>",
            colorbar={"title": {"text": "Score"}},
        )
    )
    return _layout(
        fig,
        height=max(300, 14 * len(providers) + 160),
        xaxis={"side": "top", "tickangle": -45},
        yaxis={"tickfont": {"size": 9}},
    )
