"""Sign in: local account, or the organisation's identity provider when configured.

Local sign-in is throttled per user name and per client address (`st.context.ip_address`, the
connection's peer, or the client named by X-Forwarded-For from a trusted reverse proxy), and
every attempt is audited; see queries/users.authenticate.
"""

from __future__ import annotations

import streamlit as st

from dashboard.components.user import oidc_configured
from queries import users

st.title("Sign in")
st.caption(
    "The dashboard shows patient-level derived data under section 251 support: every user signs in "
    "and sees only what their role allows. The public *About the data* page needs no sign-in."
)

if oidc_configured():
    if st.button("Sign in with your organisation account", type="primary"):
        st.login()
    if st.user.is_logged_in:
        st.error(
            f"{st.user.get('email')} is signed in but not registered for this dashboard. "
            "Ask the central data team to register your email address for your organisation."
        )
else:
    with st.form("sign_in"):
        username = st.text_input("User name", key="username")
        password = st.text_input("Password", type="password", key="password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                st.session_state["scope"] = users.authenticate(username.strip(), password, st.context.ip_address)
            except users.SignInRefused as exc:
                st.error(str(exc))
            else:
                st.rerun()
    if not users.load():
        st.info(
            "No users are registered yet. Whoever installed the dashboard adds the first user on the "
            'server (the README\'s "Command line" section says how), or runs the demo instead.'
        )
