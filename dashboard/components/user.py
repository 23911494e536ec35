"""Who is using the dashboard, as a did_model.scope.Scope (architecture §7).

Three ways to sign in, decided by configuration, safe by default:
- **Identity provider** (Streamlit OIDC, e.g. NHS mail / Entra ID) when `.streamlit/secrets.toml`
  has an `[auth]` section: `st.login()`; the e-mail is matched to a user registered with
  `did users add NAME --role … --email …`.
- **Local accounts** otherwise: user name and password (`did users add NAME --role …`),
  checked against Argon2id hashes, throttled and audited (queries/users.authenticate).
- **Demo mode** only when started with `did demo` or `did serve --demo` (DID_DEMO_MODE=1): no
  sign-in; the viewer picks a role in the sidebar, under a banner that says so. Never for real data.

Without a signed-in user only the public "About the data" page is reachable. Every page asks
`current_scope()` and passes the scope to every query; the queries enforce it.
"""

from __future__ import annotations

import streamlit as st

import did_settings
from did_model.scope import ROLES, Scope
from queries import users

DEMO_DEFAULTS = {"provider": "RR8", "commissioner": "QWO", "gp": "B82007"}


def demo_mode() -> bool:
    return did_settings.current().demo_mode


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all  # noqa: BLE001 - Streamlit raises several kinds here
        return False


def current_scope() -> Scope:
    """The signed-in user's scope; a page reached without one stops with a prompt to sign in."""
    scope = st.session_state.get("scope")
    if scope is None:
        st.info("Sign in to see this page.", icon=":material/lock:")
        st.stop()
    return scope


def establish() -> Scope | None:
    """Called by the router on every run: the user's scope, or None when nobody is signed in."""
    if demo_mode():
        return _demo_picker()
    if oidc_configured():
        if not st.user.is_logged_in:
            st.session_state.pop("scope", None)
            return None
        email = st.user.get("email")
        scope = users.by_email(email if isinstance(email, str) else None)
        st.session_state["scope"] = scope
        return scope
    return st.session_state.get("scope")


def _demo_defaults() -> dict[str, str]:
    """DEMO_DEFAULTS where the store holds them, else its own organisations (a slice of England)."""
    from dashboard.components.store import snapshot_or_none
    from queries.sources import demo_examples

    snap = snapshot_or_none()
    return DEMO_DEFAULTS if snap is None else demo_examples(snap, DEMO_DEFAULTS)


def _demo_picker() -> Scope:
    with st.sidebar:
        st.warning(
            "**Demo mode** — synthetic data, no sign-in: pick any role to see what it sees.",
            icon=":material/theater_comedy:",
        )
        role = st.selectbox(
            "View as",
            ROLES,
            key="demo_role",
            format_func=lambda r: {
                "central": "Central data team",
                "provider": "Provider",
                "commissioner": "Commissioner (ICB)",
                "gp": "GP practice",
            }[r],
        )
        code = ""
        if role != "central":
            label = {"provider": "Provider code", "commissioner": "ICB code", "gp": "Practice code"}[role]
            code = st.text_input(label, value=_demo_defaults()[role], key=f"demo_code_{role}").strip().upper()
    try:
        scope = {
            "central": lambda: Scope("central", user="demo"),
            "provider": lambda: Scope("provider", providers=frozenset({code}), user="demo"),
            "commissioner": lambda: Scope("commissioner", icbs=frozenset({code}), user="demo"),
            "gp": lambda: Scope("gp", practice=code, user="demo"),
        }[role]()
    except ValueError:
        scope = Scope("central", user="demo")
    st.session_state["scope"] = scope
    return scope


def sign_out_button(scope: Scope) -> None:
    with st.sidebar:
        st.caption(f"Signed in as **{scope.user}** ({scope.describe()})")
        if not demo_mode() and st.button("Sign out", key="sign_out"):
            st.session_state.pop("scope", None)
            if oidc_configured():
                st.logout()
            st.rerun()
