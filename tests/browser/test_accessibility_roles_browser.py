"""WCAG 2.2 AA in a real browser, the other half of the roles: axe-core on every page a provider
and a commissioner see (test_accessibility_browser.py audits the central team and a GP; one
file each so the two test workers share the work)."""

from __future__ import annotations

from test_accessibility_browser import check_no_serious_violation

AUDITED_THERE = ("provider", "commissioner")


def test_every_page_for_a_provider_and_a_commissioner_has_no_serious_axe_violation(synthetic_app_url, page):
    check_no_serious_violation(page, synthetic_app_url, AUDITED_THERE)
