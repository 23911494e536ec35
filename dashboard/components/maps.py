"""Choropleth maps from the shipped boundaries: GeoPandas -> GeoJSON -> Plotly, no tile server
and nothing fetched from the internet (see `choropleth_figure` for why not a geo subplot).

The polygons (ingest.geography, EPSG:4326) are simplified once per level for the browser (about
250 m tolerance, coordinates to 1e-4 degrees, invisible at England scale) and cached for the life
of the process. Areas are matched on their ODS code (`properties.code`).
"""

from __future__ import annotations

import functools
import json
import math
import textwrap

import plotly.graph_objects as go
import polars as pl
import shapely
from plotly.colors import get_colorscale, sample_colorscale

from dashboard.components.charts import NHS_TEXT
from dashboard.components.variation_charts import COMPARED_SYMBOLS
from ingest.geography import ICB_CAPTION, boundaries

SIMPLIFY_DEGREES = 0.003  # about 200-300 m: invisible at England scale, a third of the bytes
PRECISION_DEGREES = 1e-4
NO_DATA = "#E8EDEE"  # NHS pale grey: areas outside the user's scope or with no rate
BORDER = "#FFFFFF"
# Blue below England, red above, as explicit [position, colour] pairs: Plotly.js knows no "_r"
# names, so the string "RdBu_r" reached the browser unresolved and the colour bar fell back to
# Streamlit's sequential blue while the areas were filled from this scale.
DIVERGING = get_colorscale("RdBu_r")
# The colour scale reaches at least this far either side of England (as a share of its rate), so
# a handful of areas close to England are painted pale rather than stretched to the ends.
MIN_SPREAD = 0.10
OWN_LINE = "#212B32"  # NHS black: the outline of the user's own areas


@functools.lru_cache(maxsize=3)
def geojson(level: str) -> dict:
    """The level's polygons as a GeoJSON FeatureCollection (code, name in properties)."""
    frame = boundaries(level)
    simplified = frame.geometry.simplify(SIMPLIFY_DEGREES, preserve_topology=True).values
    frame["geometry"] = shapely.set_precision(simplified, PRECISION_DEGREES)
    return json.loads(frame[["code", "name", "geometry"]].to_json(drop_id=True))


def area_codes(level: str) -> list[str]:
    return [f["properties"]["code"] for f in geojson(level)["features"]]


def caption(level: str) -> str:
    """The geography caveat every map carries."""
    base = (
        "Boundaries: ONS sub-ICB locations (April 2023) and NHS England regions (January 2024), "
        "generalised; areas are the 2026 practice map's. "
    )
    return base + ICB_CAPTION


def not_drawn(level: str, rates: pl.DataFrame) -> list[str]:
    """Names of areas in `rates` that have no polygon (a 2026 sub-ICB made since the 2023
    boundaries, such as U2G6B from the Frimley split): in the ranking and table, not on the map."""
    codes = set(area_codes(level))
    return rates.filter(~pl.col("code").is_in(sorted(codes)))["name"].to_list()


def _rings(geometry: dict) -> tuple[list, list]:
    """x (longitude) and y (latitude) of every outer ring of a (Multi)Polygon, rings separated by None."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    xs: list = []
    ys: list = []
    for polygon in polygons:
        ring = polygon[0]
        xs.extend([p[0] for p in ring] + [None])
        ys.extend([p[1] for p in ring] + [None])
    return xs, ys


@functools.lru_cache(maxsize=3)
def _outlines(level: str) -> dict[str, tuple[str, list, list, tuple[float, float]]]:
    """code -> (name, xs, ys, label point) for the level, from the cached GeoJSON."""
    frame = boundaries(level)
    points = {c: (p.x, p.y) for c, p in zip(frame["code"], frame.geometry.representative_point(), strict=True)}
    out = {}
    for feature in geojson(level)["features"]:
        code = feature["properties"]["code"]
        out[code] = (feature["properties"]["name"], *_rings(feature["geometry"]), points[code])
    return out


def colour_range(values: list[float], england: float | None) -> tuple[float, float, float]:
    """(low, centre, high) of the diverging scale: centred on England's rate (else the areas'
    mean), as far either side as the furthest area and never less than MIN_SPREAD of the centre."""
    centre = england if england is not None else (sum(values) / len(values) if values else 0.0)
    spread = max([abs(v - centre) for v in values] + [abs(centre) * MIN_SPREAD]) or 1.0
    return centre - spread, centre, centre + spread


def _colour_bar(low: float, centre: float, high: float, unit: str) -> dict:
    """The colour bar of the diverging scale, with England's rate marked at its middle."""
    ticks = [low, (low + centre) / 2, centre, (centre + high) / 2, high]
    return {
        "title": {"text": "<br>".join(textwrap.wrap(f"Rate {unit}", 16)), "side": "top", "font": {"size": 11}},
        "thickness": 12,
        "len": 0.6,
        "y": 0.55,
        "tickvals": ticks,
        "ticktext": [f"{t:.2f}" for t in ticks[:2]] + [f"England {centre:.2f}"] + [f"{t:.2f}" for t in ticks[3:]],
    }


CHOSEN_LINE = {"color": OWN_LINE, "width": 3, "dash": "dot"}  # the area chosen for detail


def _legend_entries(own: bool, chosen: bool = False) -> list[dict]:
    """Legend-only traces: the comparison shapes in words, the user's own areas' outline and the
    chosen area's (dotted, so a chosen area is never read as one of the user's own)."""
    entries = [
        {
            "type": "scatter",
            "x": [None],
            "y": [None],
            "mode": "markers",
            "name": label,
            "marker": {"symbol": symbol, "size": 9, "color": "#768692"},
            "hoverinfo": "skip",
        }
        for symbol, label in COMPARED_SYMBOLS.values()
    ]
    if own:
        entries.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "lines",
                "name": "Your area",
                "line": {"color": OWN_LINE, "width": 2.5},
                "hoverinfo": "skip",
            }
        )
    if chosen:
        entries.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "lines",
                "name": "Chosen area",
                "line": CHOSEN_LINE,
                "hoverinfo": "skip",
            }
        )
    return entries


def choropleth_figure(
    level: str,
    rates: pl.DataFrame,
    england: float | None,
    unit: str,
    selected: str | None = None,
    own: frozenset[str] | set[str] = frozenset(),
) -> go.Figure:
    """Each area coloured by its standardised rate on a diverging scale centred on England's rate;
    areas with no rate (suppressed, too few events, or outside the user's scope) in grey; the
    user's `own` areas outlined in black.

    Drawn as filled polygons on plain axes (one trace per area, longitude/latitude with the
    aspect of 53 degrees north), not as a Plotly geo subplot: a geo subplot fetches a world
    topojson from cdn.plot.ly even with every base layer off, and draws nothing offline. The
    last trace holds one marker per area with a rate (customdata[0] = code) for clicking, hover
    and the colour bar, which is drawn from the very scale the areas are filled from; its shape
    says higher / similar / lower than England, named in the legend below the map.
    """
    outlines = _outlines(level)
    shown = rates.filter(pl.col("dsr").is_not_null() & pl.col("code").is_in(list(outlines)))
    values = dict(zip(shown["code"].to_list(), shown["dsr"].to_list(), strict=True))
    low, centre, high = colour_range(list(values.values()), england)
    # Traces as plain dicts and the figure built unvalidated: 107 validated go.Scatter objects
    # cost most of a second; Streamlit validates the whole figure once anyway.
    coded = [c for c in outlines if c in values]
    palette = (
        dict(zip(coded, sample_colorscale(DIVERGING, [(values[c] - low) / (high - low) for c in coded]), strict=True))
        if coded
        else {}
    )
    data: list[dict] = _legend_entries(bool(own & set(outlines)), selected in outlines)
    for code, (name, xs, ys, _) in outlines.items():
        value = values.get(code)
        line = (
            CHOSEN_LINE
            if code == selected
            else {"color": OWN_LINE, "width": 2.5}
            if code in own
            else {"color": BORDER, "width": 0.6}
        )
        data.append(
            {
                "type": "scatter",
                "x": xs,
                "y": ys,
                "mode": "lines",
                "fill": "toself",
                "fillcolor": palette.get(code, NO_DATA),
                "name": name,
                "hoveron": "fills",
                "hoverinfo": "text",
                "showlegend": False,
                "line": line,
                "text": (name if value is None else f"{name}: {value:.2f}") + (" (your area)" if code in own else ""),
            }
        )
    info = {r["code"]: r for r in shown.iter_rows(named=True)}
    codes = list(info)
    data.append(
        {
            "type": "scatter",
            "x": [outlines[c][3][0] for c in codes],
            "y": [outlines[c][3][1] for c in codes],
            "mode": "markers",
            "showlegend": False,
            "name": "areas",
            "marker": {
                "size": 8,
                "color": [info[c]["dsr"] for c in codes],
                "colorscale": DIVERGING,
                "cmin": low,
                "cmax": high,
                "line": {"color": NHS_TEXT, "width": 0.6},
                "symbol": [COMPARED_SYMBOLS.get(info[c]["compared"], ("circle",))[0] for c in codes],
                "colorbar": _colour_bar(low, centre, high, unit),
            },
            "customdata": [
                (
                    c,
                    info[c]["name"],
                    info[c]["dsr_lower"],
                    info[c]["dsr_upper"],
                    COMPARED_SYMBOLS.get(info[c]["compared"], ("", "Not compared"))[1],
                )
                for c in codes
            ],
            "hovertemplate": "%{customdata[1]}<br>%{marker.color:.2f} (95% CI %{customdata[2]:.2f}–"
            "%{customdata[3]:.2f})<br>%{customdata[4]}<extra></extra>",
        }
    )
    axis = {"visible": False, "fixedrange": True}
    layout = {
        "margin": {"l": 0, "r": 0, "t": 10, "b": 0},
        "height": 660,
        "dragmode": False,
        "font": {"family": "Arial, sans-serif", "color": NHS_TEXT},
        "clickmode": "event+select",
        "xaxis": axis,
        "yaxis": {**axis, "scaleanchor": "x", "scaleratio": 1 / math.cos(math.radians(53))},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "hovermode": "closest",
        # Top left, over the sea off north-west England.
        "legend": {"x": 0, "y": 1, "yanchor": "top", "font": {"size": 11}, "bgcolor": "rgba(255,255,255,0.8)"},
    }
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def selected_code(event, figure: go.Figure) -> str | None:
    """The area code of a clicked polygon from st.plotly_chart's selection event, if any."""
    try:
        points = event.selection.points
    except AttributeError:
        try:
            points = event["selection"]["points"]
        except (KeyError, TypeError):
            return None
    for point in points or []:
        custom = point.get("customdata")
        if custom:
            return custom[0]
        location = point.get("location")
        if location:
            return location
        curve, index = point.get("curve_number"), point.get("point_index")
        if curve is not None and index is not None and curve < len(figure.data):
            custom = figure.data[curve].customdata
            if custom is not None and index < len(custom):
                return custom[index][0]
    return None
