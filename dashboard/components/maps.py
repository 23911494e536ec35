"""Choropleth maps from the shipped boundaries: GeoPandas -> GeoJSON -> Plotly, no tile server.

The polygons (ingest.geography, EPSG:4326) are simplified once per level for the browser (about
250 m tolerance, coordinates to 1e-4 degrees, invisible at England scale) and cached for the life of the process. Areas are
matched on their ODS code (`properties.code`).
"""

from __future__ import annotations

import functools
import json

import plotly.graph_objects as go
import polars as pl
import shapely

from dashboard.components.charts import NHS_TEXT
from ingest.geography import ICB_CAPTION, boundaries

SIMPLIFY_DEGREES = 0.003  # about 200-300 m: invisible at England scale, a third of the bytes
PRECISION_DEGREES = 1e-4
NO_DATA = "#E8EDEE"  # NHS pale grey: areas outside the user's scope or with no rate
BORDER = "#FFFFFF"
DIVERGING = "RdBu_r"  # blue below England, red above


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
    base = ("Boundaries: ONS sub-ICB locations (April 2023) and NHS England regions (January 2024), "
            "generalised; areas are the 2026 practice map's. ")
    return base + ICB_CAPTION


def choropleth_figure(level: str, rates: pl.DataFrame, england: float | None, unit: str,
                      selected: str | None = None) -> go.Figure:
    """Each area coloured by its standardised rate on a diverging scale centred on England's rate;
    areas with no rate (suppressed, too few events, or outside the user's scope) in grey.

    Trace 0 draws the polygons without a rate in grey; trace 1 those with one (customdata[0] = code).
    """
    gj = geojson(level)
    codes = area_codes(level)
    shown = rates.filter(pl.col("dsr").is_not_null() & pl.col("code").is_in(codes))
    with_rate = set(shown["code"].to_list())
    # Only the polygons without a rate go into the grey trace, so no polygon is sent twice.
    grey = [f for f in gj["features"] if f["properties"]["code"] not in with_rate]
    fig = go.Figure()
    fig.add_trace(go.Choropleth(
        geojson={"type": "FeatureCollection", "features": grey}, featureidkey="properties.code",
        locations=[f["properties"]["code"] for f in grey], z=[0] * len(grey),
        colorscale=[[0, NO_DATA], [1, NO_DATA]], showscale=False, marker_line_color=BORDER,
        marker_line_width=0.5, hoverinfo="skip", name="no rate",
    ))
    values = shown["dsr"].to_list()
    spread = max([abs(v - england) for v in values] or [1.0]) if england is not None else None
    line_widths = [2.5 if c == selected else 0.5 for c in shown["code"].to_list()]
    fig.add_trace(go.Choropleth(
        geojson=gj, featureidkey="properties.code", locations=shown["code"].to_list(), z=values,
        colorscale=DIVERGING, zmid=england,
        zmin=(england - spread) if spread else None, zmax=(england + spread) if spread else None,
        marker_line_color=[NHS_TEXT if c == selected else BORDER for c in shown["code"].to_list()],
        marker_line_width=line_widths,
        customdata=list(zip(shown["code"].to_list(), shown["name"].to_list(), shown["dsr_lower"].to_list(),
                            shown["dsr_upper"].to_list(), shown["compared"].to_list(), strict=True)),
        hovertemplate="%{customdata[1]}<br>%{z:.2f} (95% CI %{customdata[2]:.2f}–%{customdata[3]:.2f})"
                      "<br>%{customdata[4]} than England<extra></extra>",
        colorbar={"title": {"text": "rate"}, "thickness": 12, "len": 0.6},
        name="rate",
    ))
    fig.update_geos(fitbounds="locations", visible=False)
    fig.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=620, dragmode=False,
                      font={"family": "Arial, sans-serif", "color": NHS_TEXT},
                      title=None, clickmode="event+select")
    return fig


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
            locations = figure.data[curve].locations
            if locations is not None and index < len(locations):
                return locations[index]
    return None
