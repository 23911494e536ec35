"""Bounded caches over queries.equipment and queries.waits for the "Providers" pages.

As in dashboard/cached.py: the Snapshot is passed as `_snap` (not hashed) with its `version`
(hashed), so results are cached per snapshot and recomputed when a newer one is published.
The scope and the filter (frozen dataclasses) are part of the key, so one user's figures are
never served to another.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from queries import dm01, equipment, productivity, turnaround, urgency, waiting_list, waits
from queries.connection import Snapshot
from queries.scope import Scope

_CACHE: dict[str, Any] = {"max_entries": 64, "ttl": "1h", "show_spinner": False}


def has_tables(snap: Snapshot, *tables: str) -> bool:
    """Whether the snapshot holds these rollups (a store published before they existed does not)."""
    return _has_tables(snap, snap.version, tables)


@st.cache_data(**_CACHE)
def _has_tables(_snap: Snapshot, version: str, tables: tuple[str, ...]) -> bool:
    found = _snap.query(
        "SELECT table_name FROM information_schema.tables WHERE list_contains($names, table_name)",
        {"names": list(tables)},
    )
    return found.height == len(set(tables))


# --- waiting times ---------------------------------------------------------------------------


@st.cache_data(**_CACHE)
def wait_months(_snap: Snapshot, version: str) -> list[date]:
    return waits.wait_months(_snap)


@st.cache_data(**_CACHE)
def wait_default_months(_snap: Snapshot, version: str) -> tuple[date, date] | None:
    return waits.default_months(_snap)


@st.cache_data(**_CACHE)
def wait_modalities(_snap: Snapshot, version: str) -> list[str]:
    return waits.wait_modalities(_snap)


@st.cache_data(**_CACHE)
def wait_providers(_snap: Snapshot, version: str, scope: Scope) -> list[str]:
    return waits.wait_providers(_snap, scope)


@st.cache_data(**_CACHE)
def wait_summary(_snap: Snapshot, version: str, scope: Scope, f: waits.WaitFilter, by: str | None) -> pl.DataFrame:
    return waits.wait_summary(_snap, scope, f, by)


@st.cache_data(**_CACHE)
def wait_distribution(_snap: Snapshot, version: str, scope: Scope, f: waits.WaitFilter) -> pl.DataFrame:
    return waits.wait_distribution(_snap, scope, f)


@st.cache_data(**_CACHE)
def missing_dates(_snap: Snapshot, version: str, scope: Scope, f: waits.WaitFilter) -> pl.DataFrame:
    return waits.missing_dates_by_interval(_snap, scope, f)


@st.cache_data(**_CACHE)
def urgency_months(_snap: Snapshot, version: str, first: date, last: date) -> tuple[date, date] | None:
    return urgency.clip_months(_snap, first, last)


@st.cache_data(**_CACHE)
def urgency_summary(
    _snap: Snapshot, version: str, scope: Scope, f: urgency.UrgencyFilter, by: str | None
) -> pl.DataFrame:
    return urgency.urgency_summary(_snap, scope, f, by)


@st.cache_data(**_CACHE)
def report_turnaround(
    _snap: Snapshot, version: str, scope: Scope, f: urgency.UrgencyFilter, by: str | None
) -> pl.DataFrame:
    return turnaround.turnaround(_snap, scope, f, by)


@st.cache_data(**_CACHE)
def turnaround_as_of(_snap: Snapshot, version: str) -> date | None:
    return turnaround.as_of(_snap)


@st.cache_data(**_CACHE)
def waiting_list_waits(
    _snap: Snapshot, version: str, scope: Scope, f: urgency.UrgencyFilter, by: str | None
) -> pl.DataFrame:
    return waiting_list.waiting_list(_snap, scope, f, by)


@st.cache_data(**_CACHE)
def dm01_waiting_list(_snap: Snapshot, version: str, scope: Scope, f: urgency.UrgencyFilter) -> pl.DataFrame:
    return waiting_list.dm01_waiting_list(_snap, scope, f)


@st.cache_data(**_CACHE)
def dm01_months(_snap: Snapshot, version: str) -> list[date]:
    return dm01.loaded_months(_snap)


@st.cache_data(**_CACHE)
def dm01_reconciliation(
    _snap: Snapshot, version: str, scope: Scope, first: date, last: date, flagged_only: bool
) -> pl.DataFrame:
    return dm01.reconciliation(_snap, scope, first, last, flagged_only=flagged_only)


# --- equipment -------------------------------------------------------------------------------


@st.cache_data(**_CACHE)
def equipment_modalities(_snap: Snapshot, version: str) -> list[str]:
    return equipment.equipment_modalities(_snap)


@st.cache_data(**_CACHE)
def equipment_months(_snap: Snapshot, version: str) -> list[date]:
    return equipment.equipment_months(_snap)


@st.cache_data(**_CACHE)
def equipment_default_months(_snap: Snapshot, version: str) -> tuple[date, date] | None:
    return equipment.default_months(_snap)


@st.cache_data(**_CACHE)
def inventory_status(_snap: Snapshot, version: str) -> pl.DataFrame:
    return equipment.inventory_status(_snap)


@st.cache_data(**_CACHE)
def site_utilisation(
    _snap: Snapshot, version: str, scope: Scope, f: equipment.UtilisationFilter, provider: str | None
) -> pl.DataFrame:
    return equipment.site_utilisation(_snap, scope, f, provider)


@st.cache_data(**_CACHE)
def site_fences(
    _snap: Snapshot, version: str, scope: Scope, f: equipment.UtilisationFilter
) -> tuple[float, float] | None:
    return equipment.site_fences(_snap, scope, f)


@st.cache_data(**_CACHE)
def provider_utilisation(_snap: Snapshot, version: str, scope: Scope, f: equipment.UtilisationFilter) -> pl.DataFrame:
    return equipment.provider_utilisation(_snap, scope, f)


@st.cache_data(**_CACHE)
def weekday_profile(
    _snap: Snapshot, version: str, scope: Scope, f: equipment.UtilisationFilter, provider: str | None, site: str | None
) -> pl.DataFrame:
    return equipment.weekday_profile(_snap, scope, f, provider, site)


@st.cache_data(**_CACHE)
def monthly_utilisation(
    _snap: Snapshot, version: str, scope: Scope, f: equipment.UtilisationFilter, provider: str | None, site: str | None
) -> pl.DataFrame:
    return equipment.monthly_utilisation(_snap, scope, f, provider, site)


# --- scans per operating hour ----------------------------------------------------------------


@st.cache_data(**_CACHE)
def productivity_months(_snap: Snapshot, version: str, first: date, last: date) -> tuple[date, date] | None:
    return productivity.timed_months(_snap, first, last)


@st.cache_data(**_CACHE)
def site_productivity(
    _snap: Snapshot, version: str, scope: Scope, f: productivity.ProductivityFilter, provider: str | None
) -> pl.DataFrame:
    return productivity.site_productivity(_snap, scope, f, provider)


@st.cache_data(**_CACHE)
def hour_weekday(
    _snap: Snapshot,
    version: str,
    scope: Scope,
    f: productivity.ProductivityFilter,
    provider: str | None,
    site: str | None,
) -> pl.DataFrame:
    return productivity.hour_weekday(_snap, scope, f, provider, site)
