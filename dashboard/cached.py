"""The dashboard's bounded caches over queries/ (architecture §8).

Each wrapper takes the Snapshot as `_snap` (not hashed) and its `version` (hashed), so a
result is cached per snapshot: when a newer snapshot is published the key changes and the
pages recompute, and old entries age out through `max_entries` and `ttl`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from queries import headline
from queries.connection import Snapshot
from queries.scope import Scope

_CACHE: dict[str, Any] = {"max_entries": 32, "ttl": "1h", "show_spinner": False}


@st.cache_data(**_CACHE)
def latest_complete_month(_snap: Snapshot, version: str) -> date | None:
    return headline.latest_complete_month(_snap)


@st.cache_data(**_CACHE)
def latest_period(_snap: Snapshot, version: str) -> date | None:
    return headline.latest_period(_snap)


@st.cache_data(**_CACHE)
def modality_totals(_snap: Snapshot, version: str, scope: Scope, month: date) -> pl.DataFrame:
    return headline.modality_totals(_snap, scope, month)


@st.cache_data(**_CACHE)
def activity_totals(_snap: Snapshot, version: str, scope: Scope, month: date) -> headline.ActivityTotals:
    return headline.activity_totals(_snap, scope, month)


@st.cache_data(**_CACHE)
def annual_rate_per_1000(_snap: Snapshot, version: str, totals: headline.ActivityTotals, month: date) -> float | None:
    return headline.annual_rate_per_1000(_snap, totals, month)


@st.cache_data(**_CACHE)
def monthly_trend(_snap: Snapshot, version: str, scope: Scope, months: int, end: date) -> pl.DataFrame:
    return headline.monthly_trend(_snap, scope, months=months, end=end)


@st.cache_data(**_CACHE)
def providers_submitting(_snap: Snapshot, version: str, period: date) -> headline.ProvidersSubmitting:
    return headline.providers_submitting(_snap, period)


@st.cache_data(**_CACHE)
def gp_direct_access_tests(_snap: Snapshot, version: str, scope: Scope, month: date) -> pl.DataFrame:
    return headline.gp_direct_access_tests(_snap, scope, month)
