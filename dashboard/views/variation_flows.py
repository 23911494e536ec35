"""Patient flows: which providers image an area's patients; where a provider's patients come from."""

from __future__ import annotations

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
from queries import variation_flows
from queries.areas import ENGLAND
from queries.exports import to_csv_bytes

st.title("Patient flows")
snap = snapshot_or_stop()
scope = page_scope()
filters = filters_control(snap)
if filters is None:
    st.info("The store holds no activity yet, so there are no flows to show.")
    st.stop()

VIEWS = {"area": "Providers imaging an area's patients", "provider": "Where a provider's patients come from"}
# Areas are comparators for everyone (ICBs and regions; sub-ICBs for their own commissioner).
allowed = ["provider", "area"] if scope.role == "provider" else ["area", "provider"] if scope.is_central else ["area"]
wanted = st.query_params.get("view", allowed[0])
view = st.segmented_control(
    "View",
    allowed,
    format_func=lambda v: VIEWS[v],
    required=True,
    default=wanted if wanted in allowed else allowed[0],
    key="flows_view",
)
st.query_params["view"] = view
scope_caption(scope)

if view == "area":
    area, area_label = area_control(snap, scope)
    related_links("variation_flows.py")
    if area.code == ENGLAND:
        st.caption(
            "England as a whole: every provider's share of the activity for patients registered "
            "with an English practice."
        )
    shares = cached(variation_flows.flows_table)(snap, scope, variation_flows.FlowsTable(filters, area))
    by_modality = cached(variation_flows.flows_table)(
        snap, scope, variation_flows.FlowsTable(filters, area, by_modality=True)
    )
    st.caption(
        f"**{filters.describe()}**: examinations of patients registered with a practice in "
        f"**{area_label}**, by the provider that imaged them; shares with 95% Wilson intervals."
    )
    st.metric("Providers", fmt.count(shares.height))
    st.plotly_chart(
        charts.flows_bar_figure(by_modality, "provider_name", stack="modality"),
        config=CHART_CONFIG,
        alt="Bar chart: share of examinations by provider",
    )
    st.plotly_chart(
        charts.sankey_figure(area_label, shares, "provider_name"),
        config=CHART_CONFIG,
        alt="Flow diagram: examinations from the area to each provider, or to a provider from each ICB",
    )
    table(shares)
    st.download_button("Download CSV", to_csv_bytes(shares), "variation_flows_area.csv", "text/csv")
    with st.expander("Table: by provider and modality"):
        table(by_modality)
        st.download_button(
            "Download CSV", to_csv_bytes(by_modality), "variation_flows_modality.csv", "text/csv", key="dl_modality"
        )
    small_numbers_note(shares, by_modality)
else:
    choices = cached(variation_flows.providers)(snap, scope)
    codes = choices["provider_code"].to_list()
    if not codes:
        st.info("No provider of yours has imaged anyone in the store yet.")
        st.stop()
    labels = dict(zip(codes, choices["provider_name"].to_list(), strict=True))
    wanted = st.query_params.get("provider", codes[0])
    provider = st.selectbox(
        "Provider",
        codes,
        format_func=lambda c: f"{labels[c]} ({c})",
        index=codes.index(wanted) if wanted in codes else 0,
        key="flows_provider",
    )
    st.query_params["provider"] = provider
    related_links("variation_flows.py")
    origins = cached(variation_flows.flows_table)(snap, scope, variation_flows.FlowsTable(filters, provider=provider))
    st.caption(
        f"**{filters.describe()}**: examinations by {labels[provider]}, by the ICB of the patient's "
        "registered practice; shares with 95% Wilson intervals."
    )
    st.plotly_chart(
        charts.flows_bar_figure(origins, "name"),
        config=CHART_CONFIG,
        alt="Bar chart: share of examinations by provider",
    )
    st.plotly_chart(
        charts.sankey_figure(labels[provider], origins, "name"),
        config=CHART_CONFIG,
        alt="Flow diagram: examinations from the area to each provider, or to a provider from each ICB",
    )
    table(origins)
    st.download_button("Download CSV", to_csv_bytes(origins), "variation_flows_provider.csv", "text/csv")
    small_numbers_note(origins)
