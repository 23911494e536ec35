"""Radiation dose: how many examinations, and the collective and per-caput effective dose."""

from __future__ import annotations

import streamlit as st

from dashboard import caching
from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components.charts import CHART_CONFIG
from dashboard.components.official_charts import collective_dose_figure, per_caput_figure
from dashboard.components.official_tables import show_notes, show_table, significant, workbook_button, year_label
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from queries import headline, official
from queries.reports.dose import build_dose

st.title("Radiation dose")
st.caption(
    "Examinations in a financial year × the typical effective dose of each kind of examination "
    "(HPA, 2008) = the collective effective dose; divided by the registered population, the "
    "per-caput dose. The same figures as the published dose workbook below."
)

snap = snapshot_or_stop()
scope = current_scope()
years = [y.label for y in cached(official.report_years)(snap)]
if not years:
    st.info("The store holds no examinations yet, so there is no dose to show.")
    st.stop()

wanted = st.query_params.get("year")
up_to = cached(headline.latest_complete_month)(snap)
year = st.selectbox(
    "Financial year (April to March)",
    years,
    index=years.index(wanted) if wanted in years else 0,
    format_func=lambda y: year_label(snap, y),
    key="dose_year",
)
st.caption(fmt.as_of(year_label(snap, year), up_to, fmt.REGISTERED_BY_AGE))
st.query_params["year"] = year
output = cached(build_dose)(snap, scope, official.FinancialYear.parse(year))
tables = output.tables
stem = f"dose_{year}"
summary = tables["summary"].row(0, named=True)

if summary["months_with_data"] < 12:
    st.warning(
        f"The store holds {summary['months_with_data']} of the 12 months of {year}: these are part-year figures.",
        icon=":material/calendar_month:",
    )

c1, c2, c3, c4 = st.columns(4)
c1.metric(
    "Collective dose (man Sv)",
    significant(summary["collective_dose_man_sv"], ""),
    border=True,
    help="Collective effective dose: examinations × typical effective dose, in man sieverts.",
)
c2.metric(
    "Per-caput dose (µSv)",
    significant(summary["per_caput_usv"], ""),
    border=True,
    help=f"Per person registered with a GP practice in England ({fmt.count(summary['population'])}).",
)
c3.metric("Examinations", fmt.count(summary["examinations"]), border=True)
c4.metric(
    "With a typical dose",
    "*" if summary["pct_with_dose"] is None else f"{summary['pct_with_dose']}%",
    border=True,
    help="MRI and ultrasound carry no dose; nor do examinations the HPA table does not list.",
)
workbook_button(lambda: caching.workbook(output, (snap.version, scope), stem), stem)

by_exam, by_modality, by_age_sex, excluded = st.tabs(["By examination", "By modality", "By age and sex", "Left out"])
with by_exam:
    st.plotly_chart(
        collective_dose_figure(tables["by_examination"]),
        config=CHART_CONFIG,
        key="collective-dose",
        alt="Bar chart: collective dose by examination type",
    )
    show_table(tables["by_examination"], stem, "by_examination")
with by_modality:
    show_table(tables["by_modality"], stem, "by_modality")
with by_age_sex:
    st.plotly_chart(
        per_caput_figure(tables["by_age_sex"]),
        config=CHART_CONFIG,
        key="per-caput",
        alt="Bar chart: per-caput dose by age band and sex",
    )
    show_table(tables["by_age_sex"], stem, "by_age_sex")
with excluded:
    st.caption("Examinations with no typical dose, by modality and body area: they add nothing to the collective dose.")
    show_table(tables["without_dose"], stem, "without_dose")
show_notes(output)
if not scope.is_central:
    st.caption(
        "Counts are slightly perturbed, then counts of 1–7 hidden and others rounded to the nearest 5; "
        "doses and rates are worked out from the perturbed counts. * = hidden: small numbers."
    )
