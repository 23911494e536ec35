"""Bounded caches over the official outputs (queries/reports/monthly.py, kh12.py, dose.py).

The Snapshot is passed as `_snap` (not hashed) with its `version` (hashed), so results are
cached per snapshot and recomputed when a newer one is published. The monthly and KH12 tables
are publication-safe whoever asks (the same for every scope); the dose tables depend on the
scope (exact for the central team), so the scope is part of their key.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import streamlit as st

from queries import official, reports
from queries.connection import Snapshot
from queries.reports.dose import build_dose
from queries.reports.kh12 import build_kh12
from queries.reports.monthly import build_monthly
from queries.scope import Scope

_CACHE: dict[str, Any] = {"max_entries": 32, "ttl": "1h", "show_spinner": False}


@st.cache_data(**_CACHE)
def report_periods(_snap: Snapshot, version: str) -> list[date]:
    return official.report_periods(_snap)


@st.cache_data(**_CACHE)
def report_years(_snap: Snapshot, version: str) -> list[str]:
    return [y.label for y in official.report_years(_snap)]


@st.cache_data(**_CACHE)
def monthly(_snap: Snapshot, version: str, scope: Scope, period: date) -> reports.ReportOutput:
    return build_monthly(_snap, scope, period)


@st.cache_data(**_CACHE)
def kh12(_snap: Snapshot, version: str, scope: Scope, year: str) -> reports.ReportOutput:
    return build_kh12(_snap, scope, official.FinancialYear.parse(year))


@st.cache_data(**_CACHE)
def dose(_snap: Snapshot, version: str, scope: Scope, year: str) -> reports.ReportOutput:
    return build_dose(_snap, scope, official.FinancialYear.parse(year))


@st.cache_data(**_CACHE)
def workbook(_output: reports.ReportOutput, version: str, stem: str, scope: Scope) -> bytes:
    """The .xlsx workbook `did report` writes for the same output (Notes sheet first)."""
    with tempfile.TemporaryDirectory(prefix="did-report-") as tmp:
        reports.write(_output, Path(tmp), stem)
        return (Path(tmp) / f"{stem}.xlsx").read_bytes()
