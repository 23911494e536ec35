"""Outsourced imaging: examinations submitted by two providers, and which copy the figures count."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.caching import cached
from dashboard.components.glossary import table_config
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from did_errors import UsageError
from did_model.scope import ScopeError
from queries import duplicates
from queries.connection import has_tables
from queries.exports import to_csv_bytes

st.title("Outsourced imaging")
st.caption(
    "When a provider outsources an examination, it and the organisation that performed it may both submit "
    "the record. Records from two providers for the same patient and modality, with test dates at most a "
    "day apart, are a pair: **exact** when the procedure code is the same (one copy counts: the one from "
    "the provider owning its imaging site, else the earlier submission), **near** when only the body area "
    "is the same (both count: it may be a second examination)."
)
scope = current_scope()
snap = snapshot_or_stop()
if not cached(has_tables)(snap, "duplicate_pair"):
    st.info(
        "This snapshot was published before outsourced imaging was checked: it appears after the next "
        "publish (the next file accepted, or the central data team publishing again)."
    )
    st.stop()
try:
    pairs = duplicates.pairs_by_month(snap, scope)
except ScopeError as err:
    st.error(str(err))
    st.stop()

if scope.is_central:
    st.caption(duplicates.counting_note(snap))
else:
    st.caption(
        "Pairs your organisation is a party to. Figures are disclosure-controlled: slightly perturbed "
        "and rounded to 5; * = hidden: small numbers."
    )
# What this page's columns mean, in words a provider's data manager would use.
WORDS = {
    "provider_a": st.column_config.TextColumn("Provider"),
    "provider_b": st.column_config.TextColumn("Other provider"),
    "match": st.column_config.TextColumn(
        "Match", help="exact: the same procedure code; near: the same modality and body area"
    ),
    "examinations": st.column_config.NumberColumn(
        "Examinations",
        format="localized",
        help="The arrangement's work as either party sent it: the performing "
        "organisation's examinations the provider referred, and the provider's at the performing organisation's sites",
    ),
    "pairs": st.column_config.NumberColumn("Examinations sent by both", format="localized"),
    "copies_removed": st.column_config.NumberColumn(
        "Copies not counted", format="localized", help="The second copy of each, left out of every figure"
    ),
    "performing_org_code": st.column_config.TextColumn("Performed by (provider code)"),
    "gap": st.column_config.CheckboxColumn(
        "Gap", help="No examination from either party this month, or under half the usual number"
    ),
}
st.subheader("Examinations submitted by two providers")
if pairs.is_empty():
    st.info("No examination was found submitted by two providers.")
else:
    st.dataframe(pairs, hide_index=True, width="stretch", column_config=table_config(pairs, **WORDS))
    st.download_button("Download as CSV", to_csv_bytes(pairs), file_name="outsourced_duplicates.csv", mime="text/csv")

st.subheader("Outsourcing arrangements")
st.caption(
    "Arrangements the central team has loaded (which provider has another organisation perform its imaging). "
    "**Examinations** is the arrangement's work as either party sent it: the performing organisation's "
    "examinations the provider referred, and the provider's own at the performing organisation's sites. A **gap** "
    f"is a month with none, or under half the median of the previous {duplicates.HISTORY_MONTHS} months: neither "
    "party sent the work, or the work stopped. Examinations sent by both are counted once in every other figure; "
    "a month in which they stop being sent twice is no gap."
)
try:
    months = duplicates.arrangement_months(snap, scope)
except UsageError as err:  # a snapshot published before arrangements' work was counted
    st.info(err.message)
    st.stop()
if months.is_empty():
    st.info(
        "No outsourcing arrangement is loaded that your organisation is a party to."
        if not scope.is_central
        else "No outsourcing arrangement is loaded."
    )
else:
    gaps = months.filter(pl.col("gap"))
    st.metric("Arrangement-months with a gap", f"{gaps.height:,}")
    st.dataframe(months, hide_index=True, width="stretch", column_config=table_config(months, **WORDS))
