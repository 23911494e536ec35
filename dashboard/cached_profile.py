"""Bounded caches over the provider profile (queries/reports/provider_profile.py).

The Snapshot is passed as `_snap` (not hashed) with its `version` (hashed), so a pack is built
once per snapshot, scope, provider and months; the scope is part of the key because the figures
are exact for the central team and protected for everyone else.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from queries import profile, reports
from queries.connection import Snapshot
from queries.reports.provider_profile import page_pack
from queries.scope import Scope

_CACHE: dict[str, Any] = {"max_entries": 16, "ttl": "1h", "show_spinner": False}


@st.cache_data(**_CACHE)
def providers(_snap: Snapshot, version: str, scope: Scope) -> pl.DataFrame:
    return profile.profile_providers(_snap, scope)


@st.cache_data(**_CACHE)
def months(_snap: Snapshot, version: str) -> list[date]:
    return profile.activity_months(_snap)


@st.cache_data(**_CACHE)
def pack(
    _snap: Snapshot, version: str, scope: Scope, provider: str, last: date, n: int
) -> tuple[reports.ReportOutput, str]:
    """The pack's tables, notes and HTML (its PDF is printed when asked for: the page's button)."""
    return page_pack(_snap, scope, provider, last, n, pdf=False)


def workbook_bytes(output: reports.ReportOutput, stem: str) -> bytes:
    """The .xlsx workbook `did report provider-profile` writes for the same pack (made when the
    page's button is pressed, on Streamlit's download thread: not cached)."""
    with tempfile.TemporaryDirectory(prefix="did-profile-") as tmp:
        reports.write(output, Path(tmp), stem)
        return (Path(tmp) / f"{stem}.xlsx").read_bytes()
