"""The DID dashboard: `streamlit run dashboard/app.py`.

The router only: page list (dashboard/navigation.py), page settings, and which snapshot is
being read. Each page is a file in pages/ that reads like a description of the page.
"""

from __future__ import annotations

import streamlit as st

from dashboard.components.store import sidebar_snapshot_info
from dashboard.navigation import PAGES_DIR, available

st.set_page_config(
    page_title="DID — Diagnostic Imaging Dataset",
    page_icon=":material/radiology:",
    layout="wide",
)

page = st.navigation(
    {
        section: [
            st.Page(PAGES_DIR / e.file, title=e.title, icon=e.icon, url_path=e.url_path, default=e.default)
            for e in entries
        ]
        for section, entries in available().items()
    }
)
sidebar_snapshot_info()
page.run()
