"""Where: a map and a ranking of age-sex standardised rates by region, ICB or sub-ICB."""

from __future__ import annotations

import streamlit as st

from dashboard.caching import cached
from dashboard.components import maps
from dashboard.components import variation_charts as charts
from dashboard.components.charts import CHART_CONFIG
from dashboard.components.store import snapshot_or_stop
from dashboard.components.variation_controls import (
    clear_shared_param,
    filters_control,
    page_scope,
    related_links,
    scope_caption,
    set_shared_param,
    shared_param,
    small_numbers_note,
    table,
)
from queries import variation_geographic
from queries.areas import LEVEL_LABELS
from queries.disclosure import display
from queries.exports import to_csv_bytes
from queries.variation import RATE_UNIT, map_levels, own_codes
from queries.variation_geographic import fold_variation

st.title("Where: variation between areas")
snap = snapshot_or_stop()
scope = page_scope()
filters = filters_control(snap)
if filters is None:
    st.info("The store holds no activity yet, so there is nothing to map.")
    st.stop()

levels = map_levels(scope)
wanted = shared_param("level", "icb")
level = st.segmented_control(
    "Areas",
    levels,
    format_func=lambda lv: LEVEL_LABELS[lv] + "s",
    default=wanted if wanted in levels else "icb",
    required=True,
    key="map_level",
)
set_shared_param("level", level)
scope_caption(scope)
own = own_codes(snap, scope, level)
if not scope.is_central:
    st.caption(
        "Every NHS region and ICB is shown as a comparator"
        + (", yours outlined in black" if own else "")
        + ". Sub-ICB locations are shown only to their own commissioner."
    )

rates = cached(variation_geographic.map_table)(snap, scope, variation_geographic.MapTable(filters, level))
england = cached(variation_geographic.england_dsr)(snap, scope, filters)
fold = fold_variation(rates)

# --- Headline ---------------------------------------------------------------------------------
left, middle, right = st.columns(3)
left.metric(
    "England, age-sex standardised",
    "–" if england is None else f"{england:.2f}",
    help=f"{RATE_UNIT}, European Standard Population 2013.",
    border=True,
)
middle.metric(
    "Variation between areas",
    "–" if fold is None else f"{fold:.1f}-fold",
    border=True,
    help="The NHS Atlas of Variation's n-fold figure with the extremes set aside: the 2nd highest "
    "area's rate divided by the 2nd lowest's.",
)
counts = rates["compared"].value_counts()
by = dict(zip(counts["compared"].to_list(), counts["count"].to_list(), strict=True))
right.metric(
    "Areas significantly above / below England",
    f"{by.get('higher', 0)} / {by.get('lower', 0)}",
    border=True,
    help="95% interval entirely above / below England's rate.",
)
st.caption(
    f"**{filters.describe()}**: {RATE_UNIT}, directly age-sex standardised (ESP2013), 95% intervals "
    "by Dobson's method; by the patient's registered practice."
)

# --- Map and ranking --------------------------------------------------------------------------
if rates["dsr"].drop_nulls().is_empty():
    st.info(
        f"No {LEVEL_LABELS[level]} has enough examinations for a standardised rate with these filters, "
        "so there is nothing to map. Choose a longer period or a broader measure."
    )
    st.stop()
# The area detail's choice: kept in the selectbox's own state, so that a choice is never lost when
# the URL changes under it, and read here so the map and the ranking mark it in the same run.
AREA_KEY, CLICK_KEY = "geographic_area", "geographic_last_click"
selected = st.session_state.get(AREA_KEY, shared_param("area", "") or None)
map_column, bar_column = st.columns(2)
figure = maps.choropleth_figure(level, rates, england, RATE_UNIT, selected=selected, own=own)
event = map_column.plotly_chart(
    figure,
    key=f"map_{level}",
    on_select="rerun",
    selection_mode="points",
    config={**CHART_CONFIG, "scrollZoom": False},
    alt=f"Map: age-sex standardised rate by {LEVEL_LABELS[level]} compared with "
    f"England, higher in red and lower in blue",
)
missing = maps.not_drawn(level, rates)
map_column.caption(
    maps.caption(level)
    + (
        f" Not on the map (no 2023 polygon): {', '.join(missing)}; its rate is in the ranking and the table."
        if missing
        else ""
    )
)
bar_column.plotly_chart(
    charts.ranked_areas_figure(rates, england, RATE_UNIT, selected, own),
    config=CHART_CONFIG,
    alt=f"Dot chart: age-sex standardised rate with 95% intervals for each "
    f"{LEVEL_LABELS[level]}, ranked, with England as a line",
)

clicked = maps.selected_code(event, figure)
codes = rates["code"].to_list()
# The map keeps its selection from run to run: only a click not seen before moves the area detail,
# so that an area chosen in the list afterwards stays chosen.
if not clicked:
    st.session_state.pop(CLICK_KEY, None)
elif clicked in codes and clicked != st.session_state.get(CLICK_KEY):
    st.session_state[CLICK_KEY] = clicked
    selected = clicked
chosen = selected if selected in codes else None  # an area of another level is no choice here
if st.session_state.get(AREA_KEY) != chosen:
    st.session_state[AREA_KEY] = chosen
labels = dict(zip(codes, rates["name"].to_list(), strict=True))
choice = st.selectbox(
    "Area detail (or click the map)",
    [None, *codes],
    format_func=lambda c: "–" if c is None else labels[c],
    key=AREA_KEY,
)
if choice:
    set_shared_param("area", choice)
else:
    clear_shared_param("area")
related_links("variation_geographic.py")

# --- Detail -----------------------------------------------------------------------------------
if choice:
    row = rates.row(codes.index(choice), named=True)
    st.subheader(row["name"])
    a, b, c, d = st.columns(4)
    a.metric("Examinations", display(row["records"]))
    b.metric(
        "Standardised rate",
        "–" if row["dsr"] is None else f"{row['dsr']:.2f}",
        help=None if row["dsr"] is None else f"95% CI {row['dsr_lower']:.2f} to {row['dsr_upper']:.2f}",
    )
    c.metric("Crude rate", "–" if row["rate"] is None else f"{row['rate']:.2f}")
    d.metric("Compared with England", row["compared"] or "–")
    if row["rank"] is not None:
        st.caption(
            f"Ranked {row['rank']} of {rates['rank'].max()!s} by standardised rate. "
            f"95% CI {row['dsr_lower']:.2f} to {row['dsr_upper']:.2f}."
        )

with st.expander(f"Table: every {LEVEL_LABELS[level]}"):
    table(rates)
    st.download_button("Download CSV", to_csv_bytes(rates), f"variation_{level}.csv", "text/csv")
small_numbers_note(rates)
