"""The home page in a real browser: the real figure from the store, and a rendered Plotly chart."""

from __future__ import annotations

import pytest

from dashboard.components import formatting as fmt
from did_model.scope import CENTRAL
from queries import headline
from queries.connection import get_snapshot

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000


def test_home_shows_the_store_figures_and_the_trend_chart(app_url, browser_store, page, save_screenshot):
    snap = get_snapshot(browser_store)
    month = headline.latest_complete_month(snap)
    totals = headline.activity_totals(snap, CENTRAL, month)
    label = f"Examinations in {fmt.month(month)}"

    page.goto(app_url, wait_until="domcontentloaded")
    metric = page.get_by_test_id("stMetric").filter(has_text=label).first
    metric.wait_for(timeout=TIMEOUT_MS)
    assert metric.get_by_test_id("stMetricValue").inner_text().strip() == fmt.count(totals.this_month)

    chart_svg = page.locator(".js-plotly-plot svg").first
    chart_svg.wait_for(timeout=TIMEOUT_MS)
    # One legend entry per modality line.
    assert page.locator(".js-plotly-plot .legend .traces").count() >= 1
    assert not page.get_by_test_id("stException").count()

    save_screenshot(page, "home.png")


def test_about_page_shows_the_attribution(app_url, page, save_screenshot):
    page.goto(f"{app_url}/about", wait_until="domcontentloaded")
    statement = "Contains public sector information licensed under the Open Government Licence v3.0."
    page.get_by_text(statement, exact=False).first.wait_for(timeout=TIMEOUT_MS)
    # The page draws its sections one after another: wait for this one rather than count at once.
    page.get_by_text("licence has not been verified", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    save_screenshot(page, "about.png")
