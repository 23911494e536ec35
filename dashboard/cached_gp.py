"""Bounded caches over queries/gp_benchmark.py and queries/gp_practice.py (architecture §8).

Each wrapper takes the Snapshot as `_snap` (not hashed) and its `version` (hashed), so results
are cached per snapshot and recomputed when a newer one is published. The scope is part of the
key: two users never share a result computed for the other's scope.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import streamlit as st

from queries import gp_benchmark as gb
from queries import gp_practice as gp
from queries.connection import Snapshot
from queries.scope import Scope

_CACHE: dict[str, Any] = {"max_entries": 64, "ttl": "1h", "show_spinner": False}


@st.cache_data(**_CACHE)
def months_available(_snap: Snapshot, version: str) -> list[date]:
    return gb.months_available(_snap)


@st.cache_data(**_CACHE)
def default_period(_snap: Snapshot, version: str, months: int = 12) -> tuple[date, date] | None:
    return gb.default_period(_snap, months)


@st.cache_data(**_CACHE)
def practice_directory(_snap: Snapshot, version: str, scope: Scope) -> pl.DataFrame:
    return gb.practice_directory(_snap, scope)


@st.cache_data(**_CACHE)
def areas(_snap: Snapshot, version: str) -> pl.DataFrame:
    return gb.areas(_snap)


@st.cache_data(**_CACHE)
def benchmark(
    _snap: Snapshot,
    version: str,
    scope: Scope,
    measure_id: str,
    start: date,
    end: date,
    area: gb.Area,
    method: str,
    peers: gb.Peers | None,
) -> gb.Benchmark:
    return gb.benchmark(_snap, scope, measure_id, start, end, area, method, peers)


@st.cache_data(max_entries=8, ttl="1h", show_spinner=False)
def practice_england(_snap: Snapshot, version: str, start: date, end: date, protected: bool) -> gp.England:
    """What every practice's profile is compared with over a period (~4 MB): shared by all
    practices and by every user on the same side of disclosure control (exact for the central
    team, perturbed for everyone else), so only the first practice page opened pays for it."""
    return gp.england_for(_snap, start, end, protected=protected)


@st.cache_data(**_CACHE)
def practice_profile(
    _snap: Snapshot, version: str, scope: Scope, practice_code: str, start: date, end: date, method: str
) -> pl.DataFrame:
    return gp.practice_profile(
        _snap,
        scope,
        practice_code,
        start,
        end,
        method,
        england=practice_england(_snap, version, start, end, scope.needs_disclosure_control),
    )


@st.cache_data(**_CACHE)
def practice_trend(
    _snap: Snapshot, version: str, scope: Scope, measure_id: str, practice_code: str, start: date, end: date, level: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    return gp.practice_trend(_snap, scope, measure_id, practice_code, start, end, level)
