"""Figure builders for the variation pages: rate pyramid, bars with intervals, ranked areas,
flows. Each takes a frame from queries/variation_* and returns a go.Figure (testable directly)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.components.charts import NHS_BLUE, NHS_COLOURS, NHS_GRID, NHS_TEXT

MALE, FEMALE = NHS_BLUE, "#AE2573"
ENGLAND_LINE = "#425563"
COMPARED_COLOURS = {"higher": "#8A1538", "similar": "#768692", "lower": "#005EB8", None: "#D8DDE0"}
# The comparison with England in words, and the marker shape that carries it on the map and in
# the ranking (so colour is never the only cue).
COMPARED_SYMBOLS = {
    "higher": ("triangle-up", "Higher than England (95% interval above)"),
    "similar": ("circle", "Similar to England (95% interval includes it)"),
    "lower": ("triangle-down", "Lower than England (95% interval below)"),
}


def _layout(fig: go.Figure, **kwargs) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        font={"family": "Arial, sans-serif", "color": NHS_TEXT},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        **kwargs,
    )
    return fig


def _errors(frame: pl.DataFrame, value: str, lower: str, upper: str, sign: float = 1.0) -> dict:
    v = frame[value].fill_null(0)
    return {
        "type": "data",
        "symmetric": False,
        "color": NHS_TEXT,
        "thickness": 1,
        "array": ((frame[upper] - v) * 1).fill_null(0).to_list()
        if sign > 0
        else (v - frame[lower]).fill_null(0).to_list(),
        "arrayminus": (v - frame[lower]).fill_null(0).to_list()
        if sign > 0
        else (frame[upper] - v).fill_null(0).to_list(),
    }


def pyramid_figure(age_sex: pl.DataFrame, unit: str) -> go.Figure:
    """Rates by age band, men to the left and women to the right, with 95% intervals."""
    fig = go.Figure()
    for sex, name, colour, sign in (("M", "Men", MALE, -1.0), ("F", "Women", FEMALE, 1.0)):
        part = age_sex.filter(pl.col("sex") == sex).sort("age_band")
        rate = part["rate"].fill_null(0)
        fig.add_trace(
            go.Bar(
                y=part["age_group"].to_list(),
                x=(rate * sign).to_list(),
                orientation="h",
                name=name,
                marker_color=colour,
                error_x=_errors(part, "rate", "rate_lower", "rate_upper", sign),
                customdata=list(
                    zip(
                        part["rate"].to_list(),
                        part["rate_lower"].to_list(),
                        part["rate_upper"].to_list(),
                        part["records"].to_list(),
                        strict=True,
                    )
                ),
                hovertemplate="%{y}: %{customdata[0]:.1f} (95% CI %{customdata[1]:.1f}–%{customdata[2]:.1f}), "
                "%{customdata[3]:,} examinations<extra>" + name + "</extra>",
            )
        )
    top = max([abs(v) for v in age_sex["rate_upper"].drop_nulls().to_list()] or [1.0])
    ticks = _ticks(top)
    return _layout(
        fig,
        barmode="overlay",
        bargap=0.1,
        height=520,
        xaxis={
            "title": unit,
            "tickvals": [-t for t in ticks[::-1]] + ticks[1:],
            "ticktext": [f"{t:g}" for t in ticks[::-1]] + [f"{t:g}" for t in ticks[1:]],
            "gridcolor": NHS_GRID,
            "range": [-top * 1.05, top * 1.05],
        },
        yaxis={
            "title": "Age",
            "categoryorder": "array",
            "categoryarray": age_sex.sort("age_band")["age_group"].unique(maintain_order=True).to_list(),
        },
        legend={"orientation": "h", "y": 1.06, "x": 0},
    )


def _ticks(top: float) -> list[float]:
    step = 10 ** len(str(int(top))) / 10 if top >= 1 else 0.1
    while top / step > 5:
        step *= 2
    n = int(top / step) + 1
    return [round(i * step, 6) for i in range(n)]


def interval_bars(
    frame: pl.DataFrame,
    category: str,
    value: str,
    lower: str,
    upper: str,
    *,
    title: str,
    reference: float | None = None,
    reference_label: str = "England",
    percent: bool = False,
    colour: str = NHS_BLUE,
) -> go.Figure:
    """Vertical bars with 95% intervals, e.g. rates by deprivation quintile or shares by ethnic group."""
    fmt = ".1%" if percent else ".2f"
    fig = go.Figure(
        go.Bar(
            x=frame[category].cast(pl.String).to_list(),
            y=frame[value].to_list(),
            marker_color=colour,
            error_y=_errors(frame, value, lower, upper),
            customdata=list(zip(frame[lower].to_list(), frame[upper].to_list(), strict=True)),
            hovertemplate=f"%{{x}}: %{{y:{fmt}}} "
            f"(95% CI %{{customdata[0]:{fmt}}}–%{{customdata[1]:{fmt}}})<extra></extra>",
        )
    )
    if reference is not None:
        fig.add_hline(
            y=reference,
            line_dash="dash",
            line_color=ENGLAND_LINE,
            annotation_text=reference_label,
            annotation_position="top left",
        )
    return _layout(
        fig,
        height=360,
        yaxis={"title": title, "rangemode": "tozero", "gridcolor": NHS_GRID, "tickformat": ".0%" if percent else None},
        xaxis={"title": None, "type": "category"},
    )


def ranked_areas_figure(
    rates: pl.DataFrame,
    england: float | None,
    unit: str,
    selected: str | None = None,
    own: frozenset[str] | set[str] = frozenset(),
) -> go.Figure:
    """Areas ranked by their standardised rate, highest at the top: a dot and its 95% interval
    each, shaped and coloured by the comparison with England (named in the legend), England's
    rate as a dashed line, the user's `own` areas (and the selected one) ringed. The axis spans
    the intervals, not zero, so a 1.1-fold spread reads as one."""
    shown = rates.filter(pl.col("dsr").is_not_null()).sort("dsr")
    order = [short_name(n) for n in shown["name"].to_list()]
    fig = go.Figure()
    for compared, (symbol, label) in COMPARED_SYMBOLS.items():
        part = shown.filter(pl.col("compared") == compared)
        if part.is_empty():
            continue
        fig.add_trace(
            go.Scatter(
                y=[short_name(n) for n in part["name"].to_list()],
                x=part["dsr"].to_list(),
                mode="markers",
                name=label,
                marker={"symbol": symbol, "size": 9, "color": COMPARED_COLOURS[compared]},
                error_x=_errors(part, "dsr", "dsr_lower", "dsr_upper") | {"color": COMPARED_COLOURS[compared]},
                customdata=list(
                    zip(part["code"].to_list(), part["dsr_lower"].to_list(), part["dsr_upper"].to_list(), strict=True)
                ),
                hovertemplate="%{y}: %{x:.2f} (95% CI %{customdata[1]:.2f}–%{customdata[2]:.2f})<extra>"
                + label
                + "</extra>",
            )
        )
    # The user's own areas ringed, the area chosen for detail boxed: two marks, two names (one
    # ring for both called a chosen area "Your area")
    for codes, name, symbol, size in (
        (sorted(own), "Your area", "circle-open", 17),
        ([selected] if selected else [], "Chosen area", "square-open", 21),
    ):
        marked = shown.filter(pl.col("code").is_in(codes))
        if marked.height:
            fig.add_trace(
                go.Scatter(
                    y=[short_name(n) for n in marked["name"].to_list()],
                    x=marked["dsr"].to_list(),
                    mode="markers",
                    name=name,
                    hoverinfo="skip",
                    marker={"symbol": symbol, "size": size, "color": NHS_TEXT, "line": {"width": 2}},
                )
            )
    if england is not None:
        fig.add_vline(x=england, line_dash="dash", line_color=ENGLAND_LINE, line_width=1.5)
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                name=f"England {england:.2f}",
                line={"color": ENGLAND_LINE, "dash": "dash", "width": 1.5},
            )
        )
    fig = _layout(
        fig,
        height=max(380, 16 * shown.height + 140),
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom", "font": {"size": 11}},
        xaxis={"title": {"text": f"Age-sex standardised rate,<br>{unit}", "font": {"size": 11}}, "gridcolor": NHS_GRID},
        yaxis={
            "title": None,
            "automargin": True,
            "tickfont": {"size": 10},
            "type": "category",
            "categoryorder": "array",
            "categoryarray": order,
        },
    )
    return fig.update_layout(margin={"t": 90})  # room for the legend above the plot


def short_name(name: str) -> str:
    """An area name short enough for an axis label: 'NHS Greater Manchester ICB - 14L' -> 'Greater
    Manchester 14L', 'NHS Kent and Medway Integrated Care Board' -> 'Kent and Medway'."""
    text = name.removeprefix("NHS ").replace(" Integrated Care Board", "").replace(" ICB - ", " ")
    return text.removesuffix(" ICB")


def flows_bar_figure(frame: pl.DataFrame, label: str, *, stack: str | None = None, top: int = 15) -> go.Figure:
    """Horizontal bars of examinations by `label` (largest at the top), optionally stacked by `stack`."""
    order = (
        frame.group_by(label)
        .agg(pl.col("records").sum())
        .sort("records", descending=True, nulls_last=True)
        .head(top)[label]
        .to_list()
    )
    fig = go.Figure()
    groups = frame[stack].unique(maintain_order=True).to_list() if stack else [None]
    for i, group in enumerate(groups):
        part = frame.filter(pl.col(label).is_in(order))
        if stack:
            part = part.filter(pl.col(stack) == group)
        fig.add_trace(
            go.Bar(
                y=part[label].to_list(),
                x=part["records"].to_list(),
                orientation="h",
                name=str(group) if group else "Examinations",
                marker_color=NHS_COLOURS[i % len(NHS_COLOURS)],
                hovertemplate="%{y}: %{x:,}<extra>" + (str(group) if group else "") + "</extra>",
            )
        )
    # The legend to the right of the plot: above it, it covered the two biggest bars.
    return _layout(
        fig,
        barmode="stack",
        height=max(300, 26 * len(order) + 80),
        showlegend=bool(stack),
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        yaxis={"categoryorder": "array", "categoryarray": order[::-1], "automargin": True},
        xaxis={"title": "Examinations", "gridcolor": NHS_GRID, "tickformat": ","},
    )


def sankey_figure(source_label: str, frame: pl.DataFrame, label: str, top: int = 12) -> go.Figure:
    """One area (or provider) on the left flowing to its `top` counterparts on the right (the rest
    as "Others"), widths by examinations."""
    shown = frame.filter(pl.col("records").is_not_null()).sort("records", descending=True)
    head, rest = shown.head(top), shown.slice(top)
    targets = head[label].to_list() + (["Others"] if rest.height else [])
    values = head["records"].to_list() + ([int(rest["records"].sum())] if rest.height else [])
    fig = go.Figure(
        go.Sankey(
            node={
                "label": [source_label, *targets],
                "pad": 12,
                "thickness": 14,
                "color": [NHS_BLUE] + [NHS_COLOURS[(i + 1) % len(NHS_COLOURS)] for i in range(len(targets))],
            },
            link={"source": [0] * len(targets), "target": list(range(1, len(targets) + 1)), "value": values},
        )
    )
    return _layout(fig, height=max(320, 28 * len(targets) + 60))
