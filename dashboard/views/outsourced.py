"""Outsourced imaging: examinations submitted by two providers, and which copy the figures count."""

from __future__ import annotations

import streamlit as st

from dashboard.components.glossary import table_config
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from queries import duplicates
from queries.exports import to_csv_bytes
from queries.scope import ScopeError

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
try:
    pairs = duplicates.pairs_by_month(snap, scope)
except ScopeError as err:
    st.error(str(err))
    st.stop()

if scope.is_central:
    st.caption(duplicates.counting_note(snap))
else:
    st.caption("Pairs your organisation is a party to. Figures are disclosure-controlled: slightly perturbed "
               "and rounded to 5; * = hidden: small numbers.")
if pairs.is_empty():
    st.info("No examination was found submitted by two providers.")
    st.stop()
st.dataframe(pairs, hide_index=True, width="stretch", column_config=table_config(pairs))
st.download_button("Download as CSV", to_csv_bytes(pairs), file_name="outsourced_duplicates.csv", mime="text/csv")
