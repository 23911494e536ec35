"""The DID dashboard: `streamlit run dashboard/app.py`.

The router only: who is signed in (dashboard/components/user.py), which pages that role may
open (dashboard/navigation.py), page settings, and which snapshot is being read. Each page is
a file in views/ that reads like a description of the page. (Not pages/: Streamlit would
serve such a folder directly, around the router and its sign-in.)
"""

from __future__ import annotations

import streamlit as st

from dashboard.components.store import sidebar_snapshot_info
from dashboard.components.user import establish, sign_out_button
from dashboard.navigation import PAGES_DIR, available, public

st.set_page_config(
    page_title="DID — Diagnostic Imaging Dataset",
    page_icon=":material/radiology:",
    layout="wide",
)

scope = establish()
sections = available(scope.role) if scope is not None else public()
page = st.navigation(
    {
        section: [
            st.Page(PAGES_DIR / e.file, title=e.title, icon=e.icon, url_path=e.url_path, default=e.default)
            for e in entries
        ]
        for section, entries in sections.items()
    }
)
if scope is not None:
    sign_out_button(scope)
    sidebar_snapshot_info()
page.run()
