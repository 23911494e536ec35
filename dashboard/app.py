"""The DID dashboard: `streamlit run dashboard/app.py`.

The router only: the settings (did_settings.py), who is signed in (dashboard/components/user.py),
which pages that role may open (dashboard/navigation.py), page settings, and which snapshot is
being read. Each page is a file in views/ that reads like a description of the page. (Not pages/: Streamlit would
serve such a folder directly, around the router and its sign-in.)
"""

from __future__ import annotations

import streamlit as st

import did_settings
from dashboard.components.store import sidebar_snapshot_info, synthetic_banner
from dashboard.components.user import establish, sign_out_button
from dashboard.navigation import PAGES_DIR, available, public

st.set_page_config(
    page_title="DID — Diagnostic Imaging Dataset",
    page_icon=":material/radiology:",
    layout="wide",
)

# WCAG 2.2 AA where Streamlit's theme options cannot reach (tests/browser/test_accessibility_browser.py):
# - Streamlit fades captions (with the links and code in them) and quotes to about 4:1 against
#   white; at full opacity in NHS secondary text (#4C6272) they are 6.4:1 (5.7:1 on the sidebar).
# - Chart axis and legend text is drawn in the page's text colour, not a faded grey.
# - The day and month parts of a date field are widened to the 24 px target size.
# - The focus ring is the NHS one, a dark outline on a yellow halo: visible on white, on the
#   sidebar's grey and on NHS Blue buttons alike.
ACCESSIBLE_CSS = """
<style>
[data-testid="stCaptionContainer"], [data-testid="stMarkdownContainer"] blockquote {
  opacity: 1 !important;
  color: #4C6272 !important;
}
.js-plotly-plot :is(.xtick, .ytick, .x2tick, .y2tick, .g-xtitle, .g-ytitle, .g-x2title, .g-y2title, .cbaxis) text,
.js-plotly-plot :is(.legendtext, .legendtitletext, .gtitle) { fill: #212B32 !important; }
[data-testid="stDateInput"] [role="spinbutton"] {
  display: inline-block; min-width: 24px; min-height: 24px; text-align: center;
}
:focus-visible {
  outline: 3px solid #212B32 !important;
  outline-offset: 2px !important;
  box-shadow: 0 0 0 6px #FFEB3B !important;
}
</style>
"""
# A page's sections (components/sections.py: its top-level tabs, keyed "section") read as headings,
# apart from the tables' tabs inside them, which keep Streamlit's size. A chart tooltip given as one
# text keeps its line breaks (the funnel's: gp_charts.tooltip_text); Streamlit's style drops them.
SECTION_CSS = """
<style>
.st-key-section > div > [role="tablist"] [data-testid="stTab"] p { font-size: 1.15rem; font-weight: 600; }
#vg-tooltip-element { white-space: pre-line !important; }
</style>
"""
st.html(ACCESSIBLE_CSS + SECTION_CSS)

# The app is an entry point: its settings come from the environment (`did serve` spells every one
# out for it) and nowhere else reads it.
did_settings.configure_logging(did_settings.activate(did_settings.Settings.from_env()))
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
synthetic_banner()
page.run()
