"""Bounded caches over queries.completeness, queries.volumes and queries.quality, keyed on the
snapshot version (and the scope, so one user's results never serve another)."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from queries import completeness, quality, volumes
from queries.connection import Snapshot
from queries.scope import Scope

_CACHE: dict[str, Any] = {"max_entries": 32, "ttl": "1h", "show_spinner": False}


@st.cache_data(**_CACHE)
def periods(_snap: Snapshot, version: str) -> list[date]:
    return completeness.periods(_snap)


@st.cache_data(**_CACHE)
def providers(_snap: Snapshot, version: str, scope: Scope) -> pl.DataFrame:
    return completeness.providers(_snap, scope)


@st.cache_data(**_CACHE)
def provider_months(
    _snap: Snapshot,
    version: str,
    scope: Scope,
    first: date,
    last: date,
    as_of: date,
    region: str | None,
    provider_type: str | None,
) -> pl.DataFrame:
    return completeness.provider_months(_snap, scope, first, last, as_of, region, provider_type)


@st.cache_data(**_CACHE)
def pre_publication(_snap: Snapshot, version: str, scope: Scope, period: date, as_of: date) -> pl.DataFrame:
    return completeness.pre_publication(_snap, scope, period, as_of=as_of)


@st.cache_data(**_CACHE)
def volume_checks(
    _snap: Snapshot,
    version: str,
    scope: Scope,
    rule: volumes.VolumeRule,
    by_modality: bool,
    provider: str | None = None,
) -> pl.DataFrame:
    return volumes.volume_checks(_snap, scope, rule, by_modality=by_modality, provider=provider)


@st.cache_data(**_CACHE)
def item_scores(
    _snap: Snapshot, version: str, scope: Scope, first: date | None, last: date | None, provider: str | None = None
) -> pl.DataFrame:
    return quality.item_scores(_snap, scope, first, last, provider)


@st.cache_data(**_CACHE)
def provider_scores(
    _snap: Snapshot, version: str, scope: Scope, first: date | None, last: date | None, provider: str | None = None
) -> pl.DataFrame:
    return quality.provider_scores(_snap, scope, first, last, provider)


@st.cache_data(**_CACHE)
def peer_item_scores(
    _snap: Snapshot, version: str, scope: Scope, first: date | None, last: date | None
) -> pl.DataFrame:
    return quality.peer_item_scores(_snap, scope, first, last)


@st.cache_data(**_CACHE)
def peer_overall_scores(
    _snap: Snapshot, version: str, scope: Scope, first: date | None, last: date | None
) -> pl.DataFrame:
    return quality.peer_overall_scores(_snap, scope, first, last)


@st.cache_data(**_CACHE)
def issue_summary(
    _snap: Snapshot, version: str, scope: Scope, first: date | None, last: date | None, provider: str | None = None
) -> pl.DataFrame:
    return quality.issue_summary(_snap, scope, first, last, provider)


@st.cache_data(**_CACHE)
def submission_history(_snap: Snapshot, version: str, scope: Scope, provider: str) -> pl.DataFrame:
    return completeness.submission_history(_snap, scope, provider)


@st.cache_data(**_CACHE)
def submission_issue_summary(_snap: Snapshot, version: str, scope: Scope, submission_id: int) -> pl.DataFrame:
    return quality.submission_issue_summary(_snap, scope, submission_id)


@st.cache_data(**_CACHE)
def submission_issues(_snap: Snapshot, version: str, scope: Scope, submission_id: int) -> pl.DataFrame:
    return quality.submission_issues(_snap, scope, submission_id)
