"""Keyboard-only journeys in a real browser (issue #17 item 6), besides the GP's in
test_accessibility_browser.py: a commissioner takes MRI from the map to Patient flows, and the
central team finds who has not submitted. Only Tab, Enter, arrows and typing; every focus stop must
show a visible focus ring (tab_to checks it).

Served over the shared synthetic store, or $DID_BROWSER_STORE_DIR (e.g. the demo store); with
$DID_SCREENSHOT_DIR set the role's main pages are also saved there, for the README.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from test_accessibility_browser import TIMEOUT_MS, settle, tab_to

pytestmark = pytest.mark.browser


def choose_role_by_keyboard(page, label: str) -> None:
    tab_to(page, "View as")
    page.keyboard.type(label)
    page.keyboard.press("Enter")
    settle(page)


def open_by_keyboard(page, title: str) -> None:
    """Tab to the sidebar menu's link `title` and press Enter, first opening "View more" when the
    menu is collapsed and the link is not in it."""
    links = page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(title, exact=True))
    if not links.count():
        tab_to(page, "more")
        page.keyboard.press("Enter")
        links.first.wait_for(timeout=TIMEOUT_MS)
    tab_to(page, title)
    page.keyboard.press("Enter")
    settle(page)


def pick_option(page, field: str, typed: str, wanted: str) -> None:
    """Tab to a select, type to filter it, and arrow down to the option reading exactly `wanted`."""
    tab_to(page, field)
    page.keyboard.type(typed)
    options = page.get_by_role("option")
    options.first.wait_for(timeout=TIMEOUT_MS)
    shown = [text.strip() for text in options.all_inner_texts()]
    assert wanted in shown, f"no option {wanted!r} under {field!r}: {shown}"
    for _ in range(shown.index(wanted)):  # the first match is highlighted as you type
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    settle(page)


def wait_for_charts(page) -> None:
    """Until every chart on the page has drawn, those in closed tabs too (Plotly draws after the script
    finishes)."""
    charts = page.get_by_test_id("stMain").locator(".js-plotly-plot")
    for i in range(charts.count()):
        charts.nth(i).locator(".main-svg").first.wait_for(state="attached", timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)


def measure_shown(page) -> str:
    picker = page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="Measure")
    return picker.locator("input").input_value().strip()  # the combobox shows its choice as its value


def test_a_commissioner_takes_mri_from_the_map_to_patient_flows_with_the_keyboard_alone(
    synthetic_app_url, page, save_screenshot
):
    page.goto(synthetic_app_url, wait_until="domcontentloaded")
    settle(page)
    choose_role_by_keyboard(page, "Commissioner (ICB)")
    open_by_keyboard(page, "Where: map")
    pick_option(page, "Measure", "MRI", "MRI")
    assert measure_shown(page) == "MRI"
    # From the sidebar menu, which empties the URL: the measure must still be MRI on flows.
    open_by_keyboard(page, "Patient flows")
    page.get_by_role("heading", name="Patient flows").wait_for(timeout=TIMEOUT_MS)
    assert measure_shown(page) == "MRI"
    assert "measure=mod%3AMRI" in page.url
    assert "MRI" in page.get_by_test_id("stMain").inner_text()
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "keyboard-commissioner-flows.png")


def test_the_central_team_finds_who_has_not_submitted_with_the_keyboard_alone(synthetic_app_url, page, save_screenshot):
    page.goto(synthetic_app_url, wait_until="domcontentloaded")
    settle(page)  # demo mode opens as the central team
    open_by_keyboard(page, "Completeness")
    check = page.get_by_test_id("stMarkdownContainer").filter(has_text="Pre-publication check").first
    check.wait_for(timeout=TIMEOUT_MS)
    # The check at the top of the page lists each missing provider by name and code...
    summary = check.inner_text()
    missing = re.search(r"Missing(?: \((\d+)\))?:?\s*(none)?", summary)
    assert missing, summary
    listed = int(missing.group(1) or 0)
    main = page.get_by_test_id("stMain")
    metric = main.get_by_test_id("stMetric").filter(has_text="Missing").get_by_test_id("stMetricValue")
    assert int(metric.inner_text().replace(",", "")) == listed  # the same count as the headline figure
    save_screenshot(page, "keyboard-central-completeness.png")
    # ...and the same list downloads as CSV from the keyboard.
    tab_to(page, "Download the pre-publication check (CSV)")
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.keyboard.press("Enter")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    codes = {r["provider_code"] for r in rows if r["check"] == "missing"}
    assert len(codes) == listed
    assert all(f"({code})" in summary for code in codes)


# Each role's main page, as the README shows it (DID_SCREENSHOT_DIR=docs/screenshots over the demo store).
MAIN_PAGES = {
    "Central data team": ("Home", "role-central-home.png"),
    "Provider": ("Waiting times", "role-provider-waiting-times.png"),
    "Commissioner (ICB)": ("Where: map", "role-commissioner-map.png"),
    "GP practice": ("Practice benchmark", "role-gp-practice.png"),
}


@pytest.mark.parametrize("role", list(MAIN_PAGES))
def test_each_roles_main_page_is_reached_by_keyboard_and_shows_its_figures(
    role, synthetic_app_url, page, save_screenshot
):
    title, shot = MAIN_PAGES[role]
    page.goto(synthetic_app_url, wait_until="domcontentloaded")
    settle(page)
    choose_role_by_keyboard(page, role)
    open_by_keyboard(page, title)
    wait_for_charts(page)
    main = page.get_by_test_id("stMain")
    assert not main.get_by_test_id("stException").count()
    assert main.get_by_test_id("stMetric").count() or main.locator(".js-plotly-plot").count()
    save_screenshot(page, shot)
