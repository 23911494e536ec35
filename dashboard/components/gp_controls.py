"""Filters shared by the GP benchmarking pages, kept in the URL (st.query_params) so every state
of a page is a link: period (from, to), over-dispersion method (od)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from queries import gp_benchmark as gb
from queries.connection import Snapshot
from queries.gp_benchmark import DEFAULT_METHOD

METHOD_LABELS = {
    "additive": "Allow for real differences between practices (recommended)",
    "multiplicative": "Allow for real differences: multiplicative (simpler, phi)",
    "none": "Chance alone (no over-dispersion adjustment)",
}


def set_param(name: str, value: str | None) -> None:
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


def _month_text(d: date) -> str:
    return d.strftime("%Y-%m")


def period_control(snap: Snapshot, container=st) -> tuple[date, date] | None:
    """First and last activity month (default: the 12 months to the latest complete month)."""
    months = cached(gb.months_available)(snap)
    default = cached(gb.default_period)(snap)
    if not months or default is None:
        return None
    by_text = {_month_text(m): m for m in months}
    start = by_text.get(st.query_params.get("from", ""), default[0])
    end = by_text.get(st.query_params.get("to", ""), default[1])
    if start > end:
        start, end = default
    if len(months) == 1:
        return months[0], months[0]
    start, end = container.select_slider(
        "Period (activity months)",
        options=months,
        value=(start, end),
        format_func=fmt.month,
        key="gp_period",
        help="Examinations are counted by the month of the test. The default is the 12 months to the "
        "latest complete month.",
    )
    set_param("from", _month_text(start))
    set_param("to", _month_text(end))
    return start, end


def method_control(container=st) -> str:
    """The funnel's over-dispersion method."""
    wanted = st.query_params.get("od", DEFAULT_METHOD)
    options = list(METHOD_LABELS)
    method = container.selectbox(
        "Funnel limits",
        options,
        index=options.index(wanted) if wanted in options else 0,
        format_func=METHOD_LABELS.get,
        key="gp_method",
        help="Spiegelhalter (2005): the additive random-effects adjustment widens the limits by the "
        "spread between practices across England; 'chance alone' uses exact Poisson/binomial limits.",
    )
    set_param("od", None if method == DEFAULT_METHOD else method)
    return method
