"""Practice benchmark: one practice's GP direct-access imaging against its PCN, sub-ICB, ICB and
England for every measure — spine chart, table with intervals and verdicts, trend on deciles.
Deep link: ?practice=A81001."""

from __future__ import annotations

import streamlit as st

from dashboard import caching
from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components import glossary
from dashboard.components import gp_text as text
from dashboard.components.chart_table import table_alternative
from dashboard.components.charts import CHART_CONFIG
from dashboard.components.gp_charts import (
    spine_figure,
    trend_on_deciles_figure,
    trend_table,
    trend_table_columns,
    verdict_column,
)
from dashboard.components.gp_controls import method_control, period_control, set_param
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from did_months import add_months
from queries import gp_benchmark as gb
from queries import gp_practice as gp
from queries import headline
from queries.deciles import LEVEL_COLUMNS

TREND_MONTHS = 24

st.title("Practice benchmark")
scope = current_scope()
snap = snapshot_or_stop()

# --- Which practice ---------------------------------------------------------------------------
directory = cached(gb.practice_directory)(snap, scope)
codes = directory["practice_code"].to_list()
names = dict(zip(codes, directory["practice_name"].to_list(), strict=True))
wanted = (st.query_params.get("practice") or scope.practice or "").strip().upper()
if wanted and wanted not in names:
    st.warning(
        f"Practice {wanted} is not one you can open here: either it is not in the practice map or "
        "your role sees it only inside the benchmark.",
        icon=":material/lock:",
    )
    wanted = scope.practice or ""
left, right = st.columns([3, 2])
code = left.selectbox(
    "Practice (type a code or part of the name)",
    codes,
    index=codes.index(wanted) if wanted in names else None,
    format_func=lambda c: f"{c} — {names[c].title()}",
    placeholder="Search practices…",
    key="gp_practice",
)
if code is None:
    st.info("Pick a practice to see its GP direct-access imaging against its peers.")
    # The practice picked next is compared with England's tables over the default period: worked
    # out now, while the user chooses (the picker is already on screen), not after the pick.
    default = cached(gb.default_period)(snap)
    if default is not None:
        caching.england(snap, scope, *default)
    st.stop()
set_param("practice", code)
period = period_control(snap, right)
if period is None:
    st.info("The store holds no GP benchmarking data yet.")
    st.stop()
method = method_control(right)

practice = directory.row(codes.index(code), named=True)
st.subheader(practice["practice_name"].title())
st.caption(
    f"{code} · PCN: {practice['pcn_name']} · Sub-ICB: "
    f"{glossary.sub_icb(practice['sub_icb_code'], practice['sub_icb_name'])} · {practice['icb_name']} · "
    f"{glossary.plural(practice['list_size'], 'registered patient')} · IMD quintile "
    f"{practice['imd_quintile'] or '–'} (1 = most deprived fifth)"
)
st.caption(
    fmt.as_of(
        f"{fmt.month(period[0])} to {fmt.month(period[1])} (activity months)",
        cached(headline.latest_complete_month)(snap),
        fmt.LIST_SIZES,
    )
)
if not practice["benchmarked"]:
    st.info(
        f"This practice has {glossary.plural(practice['list_size'], 'registered patient')}. Practices with fewer "
        "than 750 are left out of benchmarking, as in the national GP profiles: their rates swing too much "
        "from chance to compare."
    )
    st.stop()

profile = caching.practice_profile(snap, scope, code, *period, method)
verdicts = profile["comparison"].fill_null("")
a, b, c = st.columns(3)
a.metric("Measures higher than expected (99.8%)", int((verdicts == "above 99.8%").sum()), border=True)
b.metric("Measures lower than expected (99.8%)", int((verdicts == "below 99.8%").sum()), border=True)
c.metric("Measures within the expected range", int((verdicts == "within").sum()), border=True)
if not scope.is_central:
    st.caption(text.DISCLOSURE)

# --- Spine chart ------------------------------------------------------------------------------
st.subheader("All measures at a glance")
chart, words = st.columns([3, 2])
chart.plotly_chart(
    spine_figure(profile),
    theme=None,  # charts.drawn_once
    config=CHART_CONFIG,
    key="gp_spine",
    alt="Spine chart: this practice's value for each measure against the range of practices in "
    "England, with its verdict",
)
words.markdown(text.SPINE)
words.caption("Standardised rates for rate measures (age-sex, indirect), percentages for shares. " + text.EXCLUSIONS)

# --- Table ------------------------------------------------------------------------------------
st.subheader("Each measure against PCN, sub-ICB, ICB and England")
shown = profile.with_columns(verdict_column(profile))
protected = "suppressed" in shown.columns
if protected:  # a suppressed figure reads *, one not worked out reads –
    shown = fmt.protected_table(
        shown,
        {
            "numerator": 0,
            **{
                c: 2
                for c in ("value", "value_lower", "value_upper", "ratio", "ratio_lower", "ratio_upper", "funnel_value")
            },
            **dict.fromkeys(("pcn_rank", "icb_rank", "england_rank")),
        },
    )
    st.caption(fmt.HIDDEN_NOTE)
number = fmt.figure_column(protected)
st.dataframe(
    shown,
    hide_index=True,
    placeholder="–",
    key="gp_profile_table",
    # the verdict right after the measure and the practice's value, where a 1,400 px screen still shows it
    column_order=[
        "title",
        "funnel_value",
        "verdict",
        "numerator",
        "value",
        "value_lower",
        "value_upper",
        "ratio",
        "ratio_lower",
        "ratio_upper",
        "pcn",
        "sub_icb",
        "icb",
        "england",
        "pcn_rank",
        "icb_rank",
        "england_rank",
        "note",
    ],
    column_config={
        "title": st.column_config.TextColumn("Measure"),
        "numerator": number("Events", format="localized"),
        "value": number("Value", format="%.2f", help="Crude rate per 1,000 registered patients a year, or %"),
        "value_lower": number("95% CI from", format="%.2f"),
        "value_upper": number("95% CI to", format="%.2f"),
        "ratio": number(
            "Ratio to expected",
            format="%.2f",
            help="Observed / expected (indirectly age-sex standardised for rates; share / England's share for shares)",
        ),
        "ratio_lower": number("from", format="%.2f"),
        "ratio_upper": number("to", format="%.2f"),
        "funnel_value": number("Standardised value", format="%.2f"),
        "pcn": st.column_config.NumberColumn("PCN", format="%.2f"),
        "sub_icb": st.column_config.NumberColumn("Sub-ICB", format="%.2f"),
        "icb": st.column_config.NumberColumn("ICB", format="%.2f"),
        "england": st.column_config.NumberColumn("England", format="%.2f"),
        "pcn_rank": st.column_config.TextColumn("Rank in PCN"),
        "icb_rank": st.column_config.TextColumn("Rank in ICB"),
        "england_rank": st.column_config.TextColumn("Rank in England"),
        "verdict": st.column_config.TextColumn("Compared with England"),
        "note": st.column_config.TextColumn("Note"),
    },
)
st.caption(
    "Ranks: 1 = highest. PCN, sub-ICB, ICB and England values are standardised the same way as the "
    "practice's, over their benchmarked practices."
)

# --- Trend ------------------------------------------------------------------------------------
st.subheader("Trend against England's deciles")
measures = gb.measures()
wanted_measure = st.query_params.get("measure")
a, b = st.columns([3, 2])
measure_id = a.selectbox(
    "Measure",
    list(measures),
    format_func=lambda m: measures[m].title,
    key="gp_trend_measure",
    index=list(measures).index(wanted_measure) if wanted_measure in measures else 0,
)
set_param("measure", measure_id)
levels = {"practice": "This practice", "pcn": "Its PCN", "sub_icb": "Its sub-ICB", "icb": "Its ICB"}
level = b.radio("Show", list(levels), format_func=levels.get, horizontal=True, key="gp_trend_level")
if level != "practice" and practice[LEVEL_COLUMNS[level]] is None:
    st.info("This practice is not in a PCN, so it has no PCN trend.")
else:
    months = cached(gb.months_available)(snap)
    first = max(months[0], add_months(period[1], -(TREND_MONTHS - 1)))
    series, deciles = cached(gp.practice_trend)(snap, scope, measure_id, code, first, period[1], level)
    chosen = measures[measure_id]
    title = f"{chosen.title}, {levels[level].lower()} against England's deciles"
    chart, words = st.columns([3, 2])
    chart.caption(f"Chart: {title}, {fmt.month(first)} to {fmt.month(period[1])}")  # names the chart
    chart.plotly_chart(
        trend_on_deciles_figure(series, deciles, name=levels[level], y_title=chosen.units),
        theme=None,  # charts.drawn_once
        config=CHART_CONFIG,
        key="gp_trend",
        alt="Line chart: this practice's measure by month against the deciles of practices in England",
    )
    words.markdown(text.TREND)
    words.caption(f"{fmt.month(first)} to {fmt.month(period[1])}.")
    table_alternative(
        title,
        trend_table(series, deciles),
        trend_table_columns(levels[level], chosen.units),
        key="gp_trend",
        file_name=f"gp-trend-{code}-{measure_id}-{level}.csv",
    )
st.page_link(
    "views/gp_measure.py",
    label=f"See {measures[measure_id].title} across {practice['icb_name']}",
    icon=":material/scatter_plot:",
    query_params={"measure": measure_id, "level": "icb", "area": practice["icb_code"], "practice": code},
)
