"""A long page's sections (ADR 19): its top-level tabs, of which only the open one runs.

Streamlit runs a whole page on each visit and each change, and the browser draws all it is sent;
a page of four independent parts paid for all four on every click. `show_sections` runs only the
section the user opened, keeps it in the URL (`?section=<label>`, so a link opens it) and names
its tabs `section`, which the app's style draws larger than the tables' tabs inside them.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

SECTION_KEY = "section"  # the tabs' key, their URL parameter and (as .st-key-section) their CSS class


def show_sections(sections: dict[str, Callable[[], None]]) -> None:
    """One tab per section (label -> what draws it); only the open section's function runs."""
    tabs = st.tabs(list(sections), key=SECTION_KEY, on_change="rerun", bind="query-params")
    for tab, show in zip(tabs, sections.values(), strict=True):
        if tab.open:
            with tab:
                show()
