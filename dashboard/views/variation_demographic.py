"""Who is imaged: rates by age and sex and by deprivation, and the ethnic mix of activity."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components import variation_charts as charts
from dashboard.components.charts import CHART_CONFIG
from dashboard.components.store import snapshot_or_stop
from dashboard.components.variation_controls import (
    area_control,
    filters_control,
    page_scope,
    related_links,
    scope_caption,
    small_numbers_note,
    table,
)
from queries import variation, variation_demographic
from queries.areas import ENGLAND_AREA
from queries.disclosure import display
from queries.exports import to_csv_bytes
from queries.variation import RATE_UNIT
from queries.variation_demographic import DemographicTable, deprivation_gradient, not_stated_share

st.title("Who is imaged")
snap = snapshot_or_stop()
scope = page_scope()
filters = filters_control(snap)
if filters is None:
    st.info("The store holds no activity yet, so there are no rates to show.")
    st.stop()
area, area_label = area_control(snap, scope)
related_links("variation_demographic.py")
scope_caption(scope)
st.caption(
    f"**{filters.describe()}**, patients registered with a practice in **{area_label}**. Rates are "
    f"{RATE_UNIT} (registered patients, August 2026), with 95% confidence intervals."
)

# --- Headline ---------------------------------------------------------------------------------
summary = cached(variation_demographic.area_summary)(snap, scope, filters, area)
england = cached(variation_demographic.area_summary)(snap, scope, filters, ENGLAND_AREA)
left, middle, right = st.columns(3)
left.metric(
    "Examinations",
    display(summary.records),
    border=True,
    help="Every examination of the area's registered patients in the period.",
)
middle.metric(
    "Age-sex standardised rate",
    "–" if summary.dsr is None else f"{summary.dsr:.2f}",
    help=f"{RATE_UNIT}, directly standardised to the European Standard Population 2013 (each sex), "
    "95% interval by Dobson's method; not shown for fewer than 10 examinations.",
    border=True,
)
middle.caption("–" if summary.dsr is None else f"95% CI {summary.dsr_lower:.2f} to {summary.dsr_upper:.2f}")
right.metric(
    "England",
    "–" if england.dsr is None else f"{england.dsr:.2f}",
    border=True,
    help="England's age-sex standardised rate for the same measure and period.",
)
if summary.unknown_age_sex:
    st.caption(
        f"{fmt.count(summary.unknown_age_sex)} examinations with sex or age not known are in the "
        "count but not in the rates by age and sex."
    )

# --- Age and sex ------------------------------------------------------------------------------
st.subheader("By age and sex")
age_sex = cached(variation_demographic.demographic_table)(snap, scope, DemographicTable(filters, area, "age-sex"))
st.plotly_chart(
    charts.pyramid_figure(age_sex, RATE_UNIT),
    config=CHART_CONFIG,
    alt="Population pyramid: examination rate by age band, men on the left and women on the right",
)
with st.expander("Table: rates by age and sex"):
    table(age_sex)
    st.download_button("Download CSV", to_csv_bytes(age_sex), "variation_age_sex.csv", "text/csv", key="dl_age_sex")

# --- Deprivation ------------------------------------------------------------------------------
st.subheader("By deprivation of the registered practice")
deprivation = cached(variation_demographic.demographic_table)(
    snap, scope, DemographicTable(filters, area, "deprivation")
)
gradient = deprivation_gradient(deprivation)
st.metric(
    "Standardised rate ratio, most vs least deprived quintile",
    "–" if gradient is None else f"{gradient.ratio:.2f}",
    help="Age-sex standardised rate in practice IMD quintile 1 (most deprived) divided by quintile 5, "
    "95% interval by the delta method on the log scale (Rothman, Greenland & Lash, Modern "
    "Epidemiology, ch. 15). Above 1: more imaging in the most deprived fifth.",
)
if gradient is not None:
    st.caption(f"95% CI {gradient.lower:.2f} to {gradient.upper:.2f}.")
st.plotly_chart(
    charts.interval_bars(
        deprivation,
        "quintile",
        "dsr",
        "dsr_lower",
        "dsr_upper",
        title=f"Age-sex standardised rate, {RATE_UNIT}",
        reference=england.dsr,
    ),
    config=CHART_CONFIG,
    alt="Dot chart: age-sex standardised rate with 95% intervals by deprivation quintile of the registered "
    "practice, with England as a line",
)
st.caption(
    "Practice IMD 2019 quintiles (OHID Fingertips 93553; 1 = most deprived fifth of practices). "
    "Denominators: April 2026 list sizes by quintile; each practice's age-sex structure is its PCN's "
    "scaled to its list size (the register has no age-sex split per practice) — an approximation."
)
with st.expander("Table: rates by deprivation quintile"):
    table(deprivation)
    st.download_button(
        "Download CSV", to_csv_bytes(deprivation), "variation_deprivation.csv", "text/csv", key="dl_deprivation"
    )

with_lsoa, records = cached(variation_demographic.lsoa_coverage)(snap, scope, filters, area)
lsoa: pl.DataFrame | None
if with_lsoa:
    lsoa = cached(variation_demographic.demographic_table)(
        snap, scope, DemographicTable(filters, area, "lsoa-deprivation")
    )
    st.markdown("**By the deprivation of the patient's neighbourhood (LSOA IMD 2025 decile)**")
    st.plotly_chart(
        charts.interval_bars(
            lsoa, "imd_decile", "share", "share_lower", "share_upper", title="Share of examinations", percent=True
        ),
        config=CHART_CONFIG,
        alt="Dot chart: share of examinations by the deprivation decile of the patient's neighbourhood, "
        "with 95% intervals",
    )
    st.caption(
        f"{display(with_lsoa)} of {display(records)} examinations carry an LSOA. Shares, not "
        "rates: there is no registered population by LSOA here. Decile 1 = most deprived."
    )
elif with_lsoa is None:
    lsoa = None
    st.caption("Too few examinations carry an LSOA (\\*) to split activity by neighbourhood deprivation.")
else:
    lsoa = None
    st.caption(
        "No examination carries an LSOA (no postcode lookup has been loaded), so activity cannot "
        "be split by neighbourhood deprivation yet."
    )

# --- Ethnicity --------------------------------------------------------------------------------
st.subheader("Ethnic group of the people imaged")
mix = cached(variation_demographic.demographic_table)(snap, scope, DemographicTable(filters, area, "ethnicity"))
share = not_stated_share(mix)
st.metric(
    "Ethnic group not stated, not known or not recorded",
    "–" if share is None else f"{share:.1%}",
    help="Ethnic category Z (not stated), 99 (not known), missing or not a valid code.",
)
st.plotly_chart(
    charts.interval_bars(
        mix, "ethnic_group", "share", "share_lower", "share_upper", title="Share of examinations", percent=True
    ),
    config=CHART_CONFIG,
    alt="Dot chart: share of examinations by ethnic group, with 95% intervals",
)
st.caption(
    "The mix of activity only, with 95% Wilson intervals: GP registers hold no ethnicity, so "
    "there is no denominator and no rate by ethnic group."
)
with st.expander("Table: examinations by ethnic group"):
    table(mix)
    st.download_button("Download CSV", to_csv_bytes(mix), "variation_ethnicity.csv", "text/csv", key="dl_ethnicity")

unassigned = cached(variation.unassigned_records)(snap, filters)
if unassigned and scope.is_central:
    st.caption(f"{fmt.count(unassigned)} examinations name no practice in the practice map and are in no area.")
small_numbers_note(age_sex, deprivation, mix, *([lsoa] if lsoa is not None else []))
