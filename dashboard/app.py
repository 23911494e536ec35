"""The DID dashboard: `streamlit run dashboard/app.py`.

The router only: page list, page settings, and which snapshot is being read. Each page is a
file in pages/ that reads like a description of the page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.components.store import sidebar_snapshot_info

_PAGES = Path(__file__).parent / "pages"

st.set_page_config(
    page_title="DID — Diagnostic Imaging Dataset",
    page_icon=":material/radiology:",
    layout="wide",
)

page = st.navigation(
    [
        st.Page(_PAGES / "home.py", title="Home", icon=":material/home:", default=True),
        st.Page(_PAGES / "about.py", title="About the data", icon=":material/info:",
                url_path="about"),
    ]
)
sidebar_snapshot_info()
page.run()
