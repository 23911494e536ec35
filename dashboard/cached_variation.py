"""Bounded caches over the variation queries (architecture §8): keyed on the snapshot version,
the user's scope and the filters; the snapshot itself is passed unhashed as `_snap`."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from queries import variation, variation_demographic, variation_flows, variation_geographic
from queries.connection import Snapshot
from queries.scope import Scope
from queries.variation import Area, Filters

_CACHE: dict[str, Any] = {"max_entries": 64, "ttl": "1h", "show_spinner": False}


@st.cache_data(**_CACHE)
def has_rollups(_snap: Snapshot, version: str) -> bool:
    return variation.has_rollups(_snap)


@st.cache_data(**_CACHE)
def activity_months(_snap: Snapshot, version: str) -> list[date]:
    return variation.activity_months(_snap)


@st.cache_data(**_CACHE)
def default_period(_snap: Snapshot, version: str) -> tuple[date, date] | None:
    return variation.default_period(_snap)


@st.cache_data(**_CACHE)
def selectable_areas(_snap: Snapshot, version: str, scope: Scope) -> pl.DataFrame:
    return variation.selectable_areas(_snap, scope)


@st.cache_data(**_CACHE)
def modalities(_snap: Snapshot, version: str) -> list[str]:
    df = _snap.query("SELECT DISTINCT modality FROM rollup_variation_area WHERE modality IS NOT NULL ORDER BY 1")
    return df["modality"].to_list()


@st.cache_data(**_CACHE)
def unassigned_records(_snap: Snapshot, version: str, filters: Filters) -> int:
    return variation.unassigned_records(_snap, filters)


@st.cache_data(**_CACHE)
def age_sex_rates(_snap: Snapshot, version: str, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    return variation_demographic.age_sex_rates(_snap, scope, filters, area)


@st.cache_data(**_CACHE)
def area_summary(_snap: Snapshot, version: str, scope: Scope, filters: Filters, area: Area):
    return variation_demographic.area_summary(_snap, scope, filters, area)


@st.cache_data(**_CACHE)
def deprivation_rates(_snap: Snapshot, version: str, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    return variation_demographic.deprivation_rates(_snap, scope, filters, area)


@st.cache_data(**_CACHE)
def lsoa_deprivation(_snap: Snapshot, version: str, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    return variation_demographic.lsoa_deprivation(_snap, scope, filters, area)


@st.cache_data(**_CACHE)
def lsoa_coverage(_snap: Snapshot, version: str, scope: Scope, filters: Filters, area: Area):
    return variation_demographic.lsoa_coverage(_snap, scope, filters, area)


@st.cache_data(**_CACHE)
def ethnic_mix(_snap: Snapshot, version: str, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    return variation_demographic.ethnic_mix(_snap, scope, filters, area)


@st.cache_data(**_CACHE)
def area_rates(_snap: Snapshot, version: str, scope: Scope, filters: Filters, level: str) -> pl.DataFrame:
    return variation_geographic.area_rates(_snap, scope, filters, level)


@st.cache_data(**_CACHE)
def england_dsr(_snap: Snapshot, version: str, scope: Scope, filters: Filters) -> float | None:
    return variation_geographic.england_dsr(_snap, scope, filters)


@st.cache_data(**_CACHE)
def area_providers(_snap: Snapshot, version: str, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    return variation_flows.area_providers(_snap, scope, filters, area)


@st.cache_data(**_CACHE)
def area_provider_modalities(_snap: Snapshot, version: str, scope: Scope, filters: Filters, area: Area) -> pl.DataFrame:
    return variation_flows.area_provider_modalities(_snap, scope, filters, area)


@st.cache_data(**_CACHE)
def provider_origins(_snap: Snapshot, version: str, scope: Scope, filters: Filters, provider: str) -> pl.DataFrame:
    return variation_flows.provider_origins(_snap, scope, filters, provider)


@st.cache_data(**_CACHE)
def providers(_snap: Snapshot, version: str, scope: Scope) -> pl.DataFrame:
    return variation_flows.providers(_snap, scope)
