"""Figures for the scanner-utilisation page. Each takes a frame from queries.equipment and
returns a go.Figure, so they can be tested without Streamlit."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.components.charts import NHS_BLUE, NHS_COLOURS, NHS_GRID, NHS_TEXT

# Each group by colour, marker shape and words in the legend (never colour alone, WCAG 2.2 1.4.1).
OUTLIER_GROUPS = (  # (outlier flag, legend words, colour, marker)
    ("high", "Busier than most: above the upper fence", NHS_COLOURS[1], "triangle-up"),
    (None, "Within the fences", NHS_BLUE, "circle"),
    ("low", "Quieter than most: below the lower fence", NHS_COLOURS[3], "triangle-down"),
)
OUTLIER_WORDS = {"high": "Busier than most", "low": "Quieter than most"}  # the sites table's words; else "No"
FENCE_COLOUR = "#425563"  # dark grey, 7.5:1 on white


def _layout(fig: go.Figure, **kw) -> go.Figure:
    fig.update_layout(
        {
            "template": "plotly_white",
            "font": {"family": "Arial, sans-serif", "color": NHS_TEXT},
            "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
            **kw,
        }
    )
    return fig


def ranked_sites_figure(
    sites: pl.DataFrame, *, top: int = 40, fences: tuple[float, float] | None = None, england: float | None = None
) -> go.Figure:
    """The busiest `top` sites by examinations per scanner per operating day: a dot per site on an
    axis that spans the sites shown (not from zero, so the spread is visible), busiest at the top.
    Outliers by Tukey's fences (drawn as dashed lines when given) have their own colour, shape and
    legend words; England's figure is a solid reference line."""
    ranked = sites.filter(pl.col("exams_per_scanner_per_day").is_not_null()).head(top)
    names = [
        f"{s} ({p})" for s, p in zip(ranked["site_code"].to_list(), ranked["provider_code"].to_list(), strict=True)
    ]
    values = ranked["exams_per_scanner_per_day"].to_list()
    flags = ranked["outlier"].to_list()
    fig = go.Figure()
    for flag, words, colour, symbol in OUTLIER_GROUPS:
        rows = [i for i, f in enumerate(flags) if f == flag]
        fig.add_trace(
            go.Scatter(
                x=[values[i] for i in rows],
                y=[names[i] for i in rows],
                mode="markers",
                name=words,
                marker={"color": colour, "symbol": symbol, "size": 10, "line": {"color": "white", "width": 1}},
                customdata=[words] * len(rows),
                hovertemplate="%{y}: %{x:.1f} examinations per scanner per operating day<br>%{customdata}"
                "<extra></extra>",
                showlegend=bool(rows) or flag is None,
            )
        )
    shown = [v for v in values if v is not None]
    lines = [v for v in (england, *(fences or ())) if v is not None]
    if shown:
        low, high = min(shown + [v for v in lines if v >= 0]), max(shown + lines)
        pad = max((high - low) * 0.08, 0.5)
        fig.update_xaxes(range=[max(low - pad, 0), high + pad])
    if england is not None:
        fig.add_vline(
            x=england,
            line={"color": NHS_TEXT, "width": 2},
            annotation={"text": f"England {england:.1f}", "font": {"color": NHS_TEXT}},
            annotation_position="top left",
        )
    for value, side in zip(fences or (), ("Lower fence", "Upper fence"), strict=False):
        if value >= 0:
            fig.add_vline(
                x=value,
                line={"color": FENCE_COLOUR, "width": 1, "dash": "dash"},
                annotation={"text": f"{side} {value:.1f}", "font": {"color": FENCE_COLOUR}},
                annotation_position="top right",
            )
    return _layout(
        fig,
        height=max(320, 22 * len(names) + 140),
        xaxis={"title": "Examinations per scanner per operating day", "gridcolor": NHS_GRID},
        yaxis={"title": None, "categoryorder": "array", "categoryarray": names[::-1], "automargin": True},
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
    )


def weekday_figure(profile: pl.DataFrame) -> go.Figure:
    """Mean examinations per calendar day, Monday … Sunday, and bank holidays."""
    fig = go.Figure(
        go.Bar(
            x=profile["day"].to_list(),
            y=profile["mean_per_day"].to_list(),
            marker_color=NHS_BLUE,
            customdata=profile["share"].to_list(),
            hovertemplate="%{x}: %{y:.1f} a day (%{customdata:.1%} of examinations)<extra></extra>",
        )
    )
    return _layout(
        fig,
        yaxis={"title": "Examinations per day (mean)", "gridcolor": NHS_GRID, "rangemode": "tozero"},
        xaxis={"title": None},
    )


def monthly_figure(trend: pl.DataFrame) -> go.Figure:
    """Examinations per scanner per operating day (left) and utilisation (right) by month; the
    hover says whether the month's minutes are measured from timestamps or estimated."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=trend["activity_month"].to_list(),
            y=trend["exams_per_scanner_per_day"].to_list(),
            name="Per scanner per operating day",
            mode="lines+markers",
            line={"color": NHS_BLUE, "width": 2},
            hovertemplate="%{x|%b %Y}: %{y:.1f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=trend["activity_month"].to_list(),
            y=trend["utilisation"].to_list(),
            yaxis="y2",
            name="Utilisation",
            mode="lines+markers",
            line={"color": NHS_COLOURS[1], "width": 2},
            customdata=trend["minutes_basis"].to_list() if "minutes_basis" in trend.columns else None,
            hovertemplate="%{x|%b %Y}: %{y:.0%}"
            + (" (%{customdata} minutes)" if "minutes_basis" in trend.columns else "")
            + "<extra></extra>",
        )
    )
    return _layout(
        fig,
        hovermode="x unified",
        xaxis={"title": None, "tickformat": "%b %Y", "gridcolor": NHS_GRID},
        yaxis={"title": "Per scanner per operating day", "rangemode": "tozero", "gridcolor": NHS_GRID},
        yaxis2={
            "title": "Utilisation of scheduled hours",
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "rangemode": "tozero",
            "showgrid": False,
            "tickmode": "auto",
        },
    )


# Light to dark NHS blue: more scans an hour, darker; an hour with no examination started (or
# hidden) is left white, never coloured as a low figure.
HEAT_SCALE = [[0.0, "#E8EDEE"], [0.5, "#41B6E6"], [1.0, "#003087"]]
BAND_COLOUR = "#009639"  # NHS green


def hour_weekday_figure(cells: pl.DataFrame, weekdays: tuple[str, ...]) -> go.Figure:
    """Scans per operating hour by weekday (rows, Monday at the top) and UK clock hour of the
    start (columns 00:00 … 23:00). The colour scale starts at 0 and is titled, and each cell's
    hover gives its examinations and operating hours."""
    hours = [f"{h:02d}:00" for h in range(24)]
    shown = {
        (r["weekday"], r["hour"]): r for r in cells.iter_rows(named=True) if r["scans_per_operating_hour"] is not None
    }
    z = [[shown[(d, h)]["scans_per_operating_hour"] if (d, h) in shown else None for h in hours] for d in weekdays]
    text = [
        [
            f"{shown[(d, h)]['examinations']} examinations in {shown[(d, h)]['operating_hours']} operating hours"
            if (d, h) in shown
            else "no examination started (or hidden)"
            for h in hours
        ]
        for d in weekdays
    ]
    top = max((v for row in z for v in row if v is not None), default=1.0)
    fig = go.Figure(
        go.Heatmap(
            x=hours,
            y=list(weekdays),
            z=z,
            text=text,
            zmin=0,
            zmax=top,
            colorscale=HEAT_SCALE,
            xgap=1,
            ygap=1,
            colorbar={"title": {"text": "Scans per<br>operating hour"}},
            hovertemplate="%{y} %{x}: %{z:.1f} scans per operating hour<br>%{text}<extra></extra>",
        )
    )
    return _layout(
        fig,
        height=330,
        xaxis={"title": "Hour the examination started (UK clock)", "dtick": 2},
        yaxis={"title": None, "autorange": "reversed"},
    )


def scanner_hour_figure(sites: pl.DataFrame, band: tuple[float, float] | None, *, top: int = 40) -> go.Figure:
    """Scans per scanner-hour of the sites shown (most first, at the top), the guidance band as a
    shaded strip and England as a solid line."""
    england = sites.filter(pl.col("site_code").is_null())["scans_per_scanner_hour"]
    ranked = sites.filter(pl.col("site_code").is_not_null() & pl.col("scans_per_scanner_hour").is_not_null()).head(top)
    names = [
        f"{s} ({p})" for s, p in zip(ranked["site_code"].to_list(), ranked["provider_code"].to_list(), strict=True)
    ]
    fig = go.Figure(
        go.Scatter(
            x=ranked["scans_per_scanner_hour"].to_list(),
            y=names,
            mode="markers",
            name="Site",
            marker={"color": NHS_BLUE, "size": 10, "line": {"color": "white", "width": 1}},
            hovertemplate="%{y}: %{x:.1f} scans per scanner-hour<extra></extra>",
        )
    )
    if band is not None:  # a one-value band (ultrasound: 3) as a thin strip, so it can be seen
        widen = 0.05 if band[0] == band[1] else 0
        words = f"{band[0]:g}–{band[1]:g}" if band[0] != band[1] else f"{band[0]:g}"
        fig.add_vrect(
            x0=band[0] - widen,
            x1=band[1] + widen,
            fillcolor=BAND_COLOUR,
            opacity=0.15,
            line_width=0,
            annotation={"text": f"Guidance {words} an hour", "font": {"color": NHS_TEXT}},
            annotation_position="top left",
        )
    if england.len() and england[0] is not None:
        fig.add_vline(
            x=england[0],
            line={"color": NHS_TEXT, "width": 2},
            annotation={"text": f"England {england[0]:.1f}", "font": {"color": NHS_TEXT}},
            annotation_position="bottom right",
        )
    return _layout(
        fig,
        height=max(300, 22 * len(names) + 120),
        showlegend=False,
        xaxis={"title": "Scans per scanner-hour", "rangemode": "tozero", "gridcolor": NHS_GRID},
        yaxis={"title": None, "categoryorder": "array", "categoryarray": names[::-1], "automargin": True},
    )
