"""The accessibility statement: the standard the dashboard aims for, how it is checked, what is
known not to meet it, and how to tell us.

Public (reachable without signing in), because someone who cannot use the sign-in page must still
be able to find out why and whom to tell. What it says is checked by
tests/browser/test_accessibility_browser.py; keep the two in step.
"""

from __future__ import annotations

import streamlit as st

st.title("Accessibility statement")

st.markdown(
    """
We want everyone who needs these figures to be able to use this dashboard: to read it with a
screen reader, move through it with a keyboard alone, zoom it to 400% or use it with high-contrast
settings.

**Standard.** The dashboard aims to meet the
[Web Content Accessibility Guidelines (WCAG) 2.2](https://www.w3.org/TR/WCAG22/) at level AA.
It **partially meets** that standard: the exceptions are listed below.
"""
)

st.subheader("How it is tested")
st.markdown(
    """
- **Automated checks on every page, for every kind of user.** Each time the dashboard changes, a
  test opens every page as the central data team, a provider, a commissioner and a GP practice
  in the Chromium browser and runs [axe-core](https://github.com/dequelabs/axe-core) with all of
  its WCAG 2.0, 2.1 and 2.2 level A and AA rules. Any serious or critical problem fails the test,
  apart from the few listed below that sit inside the web framework the dashboard is built on.
- **Colour.** Text is at least 4.5 times as dark as its background (contrast ratio 4.5:1). The
  colours charts give their series are at least 3:1 against the white chart background, lines
  also differ in marker shape, and verdicts are written out in words.
- **Keyboard.** Every control can be reached with Tab and used with Enter, Space and the arrow
  keys, and the control in focus has a clearly visible outline.
"""
)

st.subheader("Known issues")
st.markdown(
    """
- **The page menu is not marked up as one list.** The menu in the sidebar comes from the web
  framework the dashboard is built on (Streamlit), which groups its links in a way screen readers
  do not announce as a list. Every link has its page's name and works with the keyboard; only the
  "list of N items" announcement is missing. The dashboard cannot change that markup.
- **Charts are pictures to a screen reader.** Each chart has a heading naming it and sits beside
  a table ("Table: …") or a download with the same figures.
- **Some backgrounds are pale.** Chart marks and lines are at least 3:1 against white and are also
  told apart by shape; the light bands behind them (the range bar on the practice spine chart,
  the peer band on quality charts) are paler, and carry no information of their own.
- **Chart toolbars add a few tab stops.** A chart's own toolbar offers only "download as
  picture" (the funnel plot has none: its figures are in the table below it); the web framework
  adds its own small toolbar (full screen) beside each chart, which the dashboard cannot remove.
- **Interactive maps and funnel plots need a pointer to select an area or a practice.** The same
  choice can always be made from the select box next to the chart.
"""
)

st.subheader("Reporting a problem")
st.markdown(
    """
If you find something you cannot use, or need the figures in another format, tell the Diagnostic
Imaging Dataset team through your organisation's usual contact for the DID. Please say which page
you were on, what you were trying to do and, if you use one, which browser and assistive
technology. We will treat it as a fault to fix, not as a request.

If you are not happy with our reply, contact the
[Equality Advisory and Support Service (EASS)](https://www.equalityadvisoryservice.com/).
"""
)

st.caption("This statement was prepared in December 2026 and is reviewed whenever the automated checks change.")
