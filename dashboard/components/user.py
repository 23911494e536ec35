"""Who is using the dashboard, as a queries.scope.Scope.

Every page asks here, and passes the scope to every query it calls; the queries enforce it.
"""

from __future__ import annotations

import streamlit as st

from queries.scope import CENTRAL, Scope


def current_scope() -> Scope:
    """The signed-in user's scope; on a single machine without sign-in configured, the local
    central-team user (the machine's owner)."""
    return st.session_state.get("scope", CENTRAL)
