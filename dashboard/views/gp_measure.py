"""Measure across practices: one GP benchmarking measure for every practice of England or of an
ICB / sub-ICB / PCN — funnel plot, ranked table, peer group, CSV download."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components import gp_measure_view as gp_view
from dashboard.components import gp_text as text
from dashboard.components.gp_charts import FUNNEL_SELECTION, VERDICTS, clicked_practice, verdict_words
from dashboard.components.gp_controls import method_control, period_control, set_param
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from queries import gp_benchmark as gb
from queries.areas import LEVEL_LABELS, Area
from queries.disclosure import display

st.title("Measure across practices")
scope = current_scope()
snap = snapshot_or_stop()
measures = gb.measures()

# --- Filters ----------------------------------------------------------------------------------
left, middle, right = st.columns([2, 2, 2])
wanted = st.query_params.get("measure")
measure_id = left.selectbox(
    "Measure",
    list(measures),
    format_func=lambda m: measures[m].title,
    index=list(measures).index(wanted) if wanted in measures else 0,
    key="gp_measure",
)
set_param("measure", measure_id)
measure = measures[measure_id]

areas = cached(gb.areas)(snap)
levels = list(gb.LEVELS)
wanted_level = st.query_params.get("level", "england")
level = middle.radio(
    "Practices of",
    levels,
    format_func=LEVEL_LABELS.get,
    horizontal=True,
    index=levels.index(wanted_level) if wanted_level in levels else 0,
    key="gp_level",
)
area = Area()
if level != "england":
    options = areas.filter(pl.col("level") == level)
    codes = options["code"].to_list()
    names = dict(zip(codes, options["name"].to_list(), strict=True))
    wanted_area = st.query_params.get("area")
    code = middle.selectbox(
        LEVEL_LABELS[level],
        codes,
        format_func=lambda c: f"{names[c]} ({c})",
        index=codes.index(wanted_area) if wanted_area in codes else 0,
        key=f"gp_area_{level}",
    )
    area = Area(level, code)
set_param("level", None if area.is_england else level)
set_param("area", None if area.is_england else area.code)

period = period_control(snap, right)
if period is None:
    st.info("The store holds no GP benchmarking data yet: nothing has been published with GP direct-access records.")
    st.stop()
method = method_control(right)

with st.expander("Peer group: similar list size and deprivation"):
    a, b = st.columns(2)
    if scope.is_central:
        size = a.slider(
            "List size",
            0,
            60_000,
            (int(st.query_params.get("ls_min", 0)), int(st.query_params.get("ls_max", 60_000))),
            step=500,
            key="gp_list_size",
        )
    else:  # the list-size bands other practices are shown in (an exact range would single one out)
        edges = [0, *gb.LIST_SIZE_EDGES, 60_000]
        asked = (int(st.query_params.get("ls_min", 0)), int(st.query_params.get("ls_max", 60_000)))
        lo_asked, hi_asked = (
            e if e in edges else (e + 1 if e + 1 in edges else d) for e, d in zip(asked, (0, 60_000), strict=True)
        )
        lo, hi = a.select_slider(
            "List size", edges, value=(lo_asked, hi_asked), format_func=lambda e: f"{e:,}", key="gp_list_size_band"
        )
        size = (lo, hi - 1 if hi < 60_000 else hi)
    imd_wanted = [int(q) for q in st.query_params.get("imd", "").split(",") if q in "12345" and q]
    quintiles = b.multiselect(
        "IMD quintile of the practice (1 = most deprived fifth)", [1, 2, 3, 4, 5], default=imd_wanted, key="gp_imd"
    )
    st.caption(
        "Narrowing to peers changes who is shown, not the funnel: limits and verdicts are always against England."
    )
peers: gb.Peers | None = gb.Peers(size[0] or None, size[1] if size[1] < 60_000 else None, tuple(sorted(quintiles)))
set_param("ls_min", str(size[0]) if size[0] else None)
set_param("ls_max", str(size[1]) if size[1] < 60_000 else None)
set_param("imd", ",".join(map(str, sorted(quintiles))) or None)
peers = peers if peers != gb.Peers() else None

request = gb.MeasureTable(measure_id, *period, area, method, peers)
bench = cached(gb.measure_benchmark)(snap, scope, request)
table = bench.table
view = cached(gp_view.measure_view)(snap, scope, request)

# --- Headline ---------------------------------------------------------------------------------
st.markdown(text.definition(measure))
a, b, c, d = st.columns(4)
a.metric(
    f"England, {fmt.month(bench.start)} to {fmt.month(bench.end)}",
    f"{bench.target:.2f}",
    help=f"{measure.units}; all benchmarked practices in England.",
    border=True,
)
b.metric(
    "Practices shown",
    fmt.count(table.height),
    help=f"{bench.excluded_small} practices in this area have fewer than 750 patients and are left out.",
    border=True,
)
c.metric("Higher than expected (99.8%)", fmt.count(view.counts.get("above 99.8%", 0)), border=True)
d.metric("Lower than expected (99.8%)", fmt.count(view.counts.get("below 99.8%", 0)), border=True)
if not scope.is_central:
    st.caption(text.DISCLOSURE)

# --- Funnel -----------------------------------------------------------------------------------
st.subheader("Funnel plot")
highlight = st.query_params.get("practice") or scope.practice  # a GP sees its own practice marked
event = st.vega_lite_chart(
    cached(gp_view.measure_funnel)(snap, scope, request, highlight),
    theme=None,  # the chart's own NHS look
    width="stretch",
    key=f"funnel_{measure_id}",
    on_select="rerun",
    selection_mode=FUNNEL_SELECTION,
)
labels = view.names
codes = list(labels)
clicked = clicked_practice(event)
if clicked is not None and clicked in labels:  # a click on a named practice opens its page
    st.switch_page("views/gp_practice.py", query_params={"practice": clicked, "measure": measure_id})
# Right under the funnel. The picker lists every practice shown (6,000 across England): Chromium
# builds a drop-down's options each time the page is drawn, ~0.25 s for that many, so it waits in
# a pop-over, drawn only when opened.
with st.popover("Find a practice on the funnel", icon=":material/search:"):
    choice = st.selectbox(
        "Practice (type a name or code)",
        [None, *codes],
        format_func=lambda c: "–" if c is None else f"{labels[c]} ({c})",
        index=codes.index(highlight) + 1 if highlight in labels else 0,
        key="gp_practice_pick",
        # before the rerun, so the funnel drawn above the picker rings the practice just found
        on_change=lambda: set_param("practice", st.session_state["gp_practice_pick"]),
    )
st.caption("Find a practice to ring it on the funnel, or click a practice's mark to open its page.")
set_param("practice", choice)
if choice:
    row = table.filter(pl.col("practice_code") == choice).row(0, named=True)
    st.markdown(
        f"**{row['practice_name']}** ({choice}): {display(row['numerator'])} events, "
        f"{verdict_words(row['comparison']).lower()}. {row['note'] or ''}"
    )
    st.page_link(
        "views/gp_practice.py",
        label=f"Open {row['practice_name']}'s practice page",
        icon=":material/stethoscope:",
        query_params={"practice": choice},
    )

reading, widening = st.columns(2)
reading.markdown(text.FUNNEL)
widening.markdown(text.OVERDISPERSION)
widening.caption(text.dispersion_caption(bench.dispersion, method, table["comparison"]))

# --- Ranked table -----------------------------------------------------------------------------
st.subheader("Practices, highest first")
if view.protected:
    st.caption(fmt.HIDDEN_NOTE)
number = fmt.figure_column(view.protected)
st.dataframe(
    view.shown,
    hide_index=True,
    placeholder="–",
    key="gp_table",
    column_order=view.columns,
    column_config={
        "rank": number("Rank"),
        "practice_code": st.column_config.TextColumn("Code"),
        "practice_name": st.column_config.TextColumn("Practice"),
        "pcn_name": st.column_config.TextColumn("PCN"),
        "list_size": st.column_config.NumberColumn("List size", format="localized"),
        "list_size_band": st.column_config.TextColumn("List size"),
        "icb_name": st.column_config.TextColumn("ICB"),
        "imd_quintile": st.column_config.NumberColumn("IMD quintile", help="1 = most deprived fifth"),
        "numerator": number("Events", format="localized"),
        "denominator": number(measure.denominator_label, format="localized"),
        "value": number("Crude value" if not measure.is_ratio else "Share (%)", format="%.2f", help=measure.units),
        "value_lower": number("95% CI from", format="%.2f"),
        "value_upper": number("95% CI to", format="%.2f"),
        "funnel_value": number(
            "Standardised" if measure.standardise else "Funnel value",
            format="%.2f",
            help="Age-sex standardised rate (ratio x England's rate)" if measure.standardise else None,
        ),
        "verdict": st.column_config.TextColumn("Compared with England"),
        "note": st.column_config.TextColumn("Note"),
    },
)
st.download_button(
    "Download all practices shown (CSV)",
    view.csv,
    file_name=f"gp-benchmark-{measure_id}-{bench.start:%Y-%m}-{bench.end:%Y-%m}.csv",
    mime="text/csv",
    key="gp_download",
    icon=":material/download:",
)
st.caption("The download holds every practice shown, with the figures above, for these filters. " + text.EXCLUSIONS)

with st.expander("Caveats"):
    for caveat in measure.caveats:
        st.markdown(f"- {caveat}")
    st.markdown("Verdicts: " + "; ".join(words for words, _, _ in VERDICTS.values()) + ".")
