"""The geographic variation view in a real browser: the sub-ICB map draws every area.

Runs its own `streamlit run` over the shared synthetic store (the tiny hand-worked store has no
practices, so it would draw an empty map), or over $DID_BROWSER_STORE_DIR when set (e.g. the
demo store, for docs/screenshots/variation_*.png). Demo mode: no sign-in, central role.
"""

from __future__ import annotations


import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def variation_url(synthetic_app_url) -> str:
    return synthetic_app_url


def test_sub_icb_map_draws_every_area(variation_url, page, save_screenshot):
    page.goto(f"{variation_url}/geographic?level=sub_icb", wait_until="domcontentloaded")
    # One filled path per sub-ICB polygon (the ranked bar chart beside it draws no fills).
    page.locator(".js-plotly-plot path.js-fill").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "document.querySelectorAll('.js-plotly-plot path.js-fill').length >= 106", timeout=TIMEOUT_MS)
    assert page.locator(".js-plotly-plot path.js-fill").count() >= 106
    assert page.get_by_text("April 2026", exact=False).count()  # the geography caveat
    assert not page.get_by_test_id("stException").count()
    page.keyboard.press("Escape")  # a first-load "page not found" notice from the router, if any
    save_screenshot(page, "variation_geographic.png")


def test_demographic_and_flows_views_render(variation_url, page, save_screenshot):
    page.goto(f"{variation_url}/demographic", wait_until="domcontentloaded")
    page.get_by_test_id("stMetric").filter(has_text="Age-sex standardised rate").first.wait_for(timeout=TIMEOUT_MS)
    page.locator(".js-plotly-plot svg").first.wait_for(timeout=TIMEOUT_MS)
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "variation_demographic.png")
    page.goto(f"{variation_url}/flows?view=area&level=icb&area=QE1", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot svg").first.wait_for(timeout=TIMEOUT_MS)
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "variation_flows.png")
