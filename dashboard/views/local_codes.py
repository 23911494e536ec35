"""Local codes: a provider notifies its own procedure codes and the national code each means."""

from __future__ import annotations

import streamlit as st

from dashboard.components.glossary import nicip_choice, table_config
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from did_model.layout import default_store_dir
from ingest import local_codes as notify
from queries import submissions

st.title("Local procedure codes")
st.caption(
    "A record whose procedure code is neither a national NICIP code nor a code your organisation has "
    "notified here is rejected (DIDS057). Notify a local code with the national code it means; files "
    "submitted afterwards load it as that national code and keep your code beside it."
)

scope = current_scope()
snap = snapshot_or_stop()
providers = submissions.providers(snap, scope)
if providers.is_empty():
    st.warning("You are not registered as a submitter for any provider.")
    st.stop()
provider = st.selectbox("Provider", providers["provider_code"].to_list(), key="provider")

codes = submissions.local_codes(snap, scope, provider)
if codes.is_empty():
    st.caption(f"{provider} has notified no local codes.")
else:
    st.dataframe(codes, hide_index=True, width="stretch", column_config=table_config(codes))

national = submissions.nicip_codes(snap)
described = {r["nicip_code"]: nicip_choice(r) for r in national.iter_rows(named=True)}
with st.form("notify"):
    st.subheader("Notify a local code")
    left, right = st.columns(2)
    code = left.text_input("Your local code", max_chars=18, key="local_code")
    maps_to = right.selectbox(
        "National NICIP code it means",
        national["nicip_code"].to_list(),
        key="maps_to",
        format_func=lambda c: described.get(c) or c,
        help="The official description where the NICIP release loaded has one; otherwise the modality and "
        "body area the code's letters stand for.",
    )
    if st.form_submit_button("Notify", type="primary"):
        try:
            lc = notify.notify(default_store_dir(), provider, code, maps_to, notified_by=scope.user, scope=scope)
        except notify.LocalCodeError as err:
            st.error(str(err))
        else:
            st.success(f"{lc.local_code} now loads as {lc.nicip_code} for {lc.provider_code}.")
            st.rerun()

if not codes.is_empty():
    with st.form("withdraw"):
        st.subheader("Withdraw a local code")
        gone = st.selectbox("Local code", codes["local_code"].to_list(), key="withdraw_code")
        if st.form_submit_button("Withdraw"):
            notify.withdraw(default_store_dir(), provider, gone, scope=scope)
            st.rerun()
