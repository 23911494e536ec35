"""The completeness matrix in a real browser, over the shared synthetic store: the late and
missing provider-months the generator planted are there, in the cells and in the summary."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser

TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def synthetic_app(synthetic_store, synthetic_app_url):
    """The dashboard over the synthetic store, and what the generator planted in it."""
    _, extracts = synthetic_store
    return synthetic_app_url, json.loads((extracts / "planted.json").read_text())


def test_the_matrix_shows_the_planted_late_and_missing_months(synthetic_app, page, save_screenshot):
    url, planted = synthetic_app
    # A deep link straight to the page: the router runs first (demo mode: the central view).
    page.goto(url.rstrip("/") + "/completeness", wait_until="domcontentloaded")
    page.get_by_text("Pre-publication check", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    heatmap = page.locator(".js-plotly-plot").first
    heatmap.locator("svg").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .heatmaplayer text, .js-plotly-plot g.textpoint text')"
        ".length > 0",
        timeout=TIMEOUT_MS,
    )
    marks = heatmap.evaluate("el => Array.from(el.querySelectorAll('text')).map(t => t.textContent.trim())")
    # one 'L' per planted late file and one 'M' per planted missing month (the default range covers the run)
    assert marks.count("L") == len(planted["late"])
    assert marks.count("M") == len(planted["missing"])
    legend = " ".join(marks)
    for words in ("On time", "Late", "Missing", "Resubmitted"):
        assert words in legend

    # the summary at the top names the newest period's planted problems
    last = max(e["period"] for e in planted["late"] + planted["missing"])
    summary = page.locator("[data-testid='stMarkdownContainer']").filter(has_text="Pre-publication check").first
    text = summary.inner_text()
    for event in planted["missing"] + planted["late"]:
        if event["period"] == last:
            assert f"({event['provider_code']})" in text
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "completeness.png")
