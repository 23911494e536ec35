"""Figures for the official-output pages (built here so tests can check them directly)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

NHS_BLUE = "#005EB8"


def collective_dose_figure(by_examination: pl.DataFrame) -> go.Figure:
    """Horizontal bars: collective dose (man Sv) by HPA examination group, largest at the top."""
    data = by_examination.filter(pl.col("collective_dose_man_sv").is_not_null()).sort("collective_dose_man_sv")
    fig = go.Figure(
        go.Bar(
            x=data["collective_dose_man_sv"].to_list(),
            y=data["examination"].to_list(),
            orientation="h",
            marker_color=NHS_BLUE,
            customdata=list(
                zip(
                    data["modality"].to_list(),
                    data["examinations"].to_list(),
                    data["typical_dose_msv"].to_list(),
                    strict=True,
                )
            ),
            hovertemplate="%{y} (%{customdata[0]})<br>%{customdata[1]:,} examinations × %{customdata[2]} mSv"
            "<br>%{x:,.2f} man Sv<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis_title="Collective effective dose (man Sv)",
        yaxis_title=None,
        height=max(300, 28 * data.height + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return fig


def per_caput_figure(by_age_sex: pl.DataFrame) -> go.Figure:
    """Grouped bars: per-caput dose (µSv) by age band, one bar per sex with a population."""
    data = by_age_sex.filter(pl.col("per_caput_usv").is_not_null())
    fig = go.Figure()
    for sex, colour in (("Female", "#AE2573"), ("Male", NHS_BLUE)):
        part = data.filter(pl.col("sex") == sex)
        fig.add_bar(
            x=part["age_band"].to_list(),
            y=part["per_caput_usv"].to_list(),
            name=sex,
            marker_color=colour,
            hovertemplate=f"{sex}, %{{x}}: %{{y:,.2f}} µSv per person<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        xaxis_title="Age band",
        yaxis_title="Per-caput dose (µSv)",
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        legend_title_text=None,
    )
    return fig
