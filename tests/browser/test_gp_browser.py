"""The GP benchmarking pages in a real browser: a deep link to a practice shows its spine chart,
and its link to the measure page shows the funnel.

Served over the shared synthetic store (tests/conftest.py) — the tiny hand-made store has no
practice codes — or over $DID_BROWSER_STORE_DIR (e.g. the demo store, for the screenshots in
docs/screenshots: DID_BROWSER_STORE_DIR=data/store DID_SCREENSHOT_DIR=docs/screenshots).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_accessibility_browser import settle

from dashboard.components.gp_charts import FUNNEL_TOOLTIP
from did_model.scope import CENTRAL
from plotly_drawn import margins_widened
from queries import gp_benchmark as gb
from queries.connection import get_snapshot

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def gp_store(synthetic_app_store) -> Path:
    return synthetic_app_store


@pytest.fixture(scope="module")
def gp_app_url(synthetic_app_url) -> str:
    return synthetic_app_url


def dismiss_page_not_found(page) -> None:
    """Close Streamlit's "Page not found" dialog if a cold server showed it (see gp_app_url)."""
    dialog = page.get_by_role("dialog").filter(has_text="Page not found")
    if dialog.count():
        page.keyboard.press("Escape")


def busiest_practice(store: Path) -> dict:
    """The benchmarked practice with the most GP direct-access examinations in the default period."""
    snap = get_snapshot(store)
    bench = gb.benchmark(snap, CENTRAL, "gpda_all", *gb.default_period(snap))
    return bench.table.sort("numerator", descending=True).row(0, named=True)


def test_practice_deep_link_shows_the_spine_then_the_measure_funnel(gp_app_url, gp_store, page, save_screenshot):
    practice = busiest_practice(gp_store)
    page.goto(f"{gp_app_url}/practice?practice={practice['practice_code']}", wait_until="domcontentloaded")
    page.get_by_text("All measures at a glance").first.wait_for(timeout=TIMEOUT_MS)
    dismiss_page_not_found(page)
    page.get_by_text(practice["practice_name"].title()).first.wait_for(timeout=TIMEOUT_MS)
    spine = page.locator(".js-plotly-plot").first
    spine.wait_for(timeout=TIMEOUT_MS)
    # One row label per measure on the spine chart's y axis.
    page.locator(".js-plotly-plot .ytick").first.wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".js-plotly-plot").first.locator(".ytick").count() == len(gb.measures())
    assert page.get_by_text("Reading the spine chart").count()
    assert not page.get_by_test_id("stException").count()
    settle(page)  # the script finished and every chart drawn
    assert margins_widened(page) == []  # the spine and trend charts each drawn within their margins
    save_screenshot(page, "gp_practice.png")

    page.get_by_text("across", exact=False).filter(has_text="See ").first.click()
    page.get_by_text("Funnel plot").first.wait_for(timeout=TIMEOUT_MS)
    funnel = page.get_by_test_id("stVegaLiteChart").first
    funnel.wait_for(timeout=TIMEOUT_MS)
    settle(page)  # drawn: as SVG here (a few hundred practices), on a canvas at England's scale
    legend = " ".join(funnel.locator(".role-legend text").all_text_contents())
    for words in ("99.8% limits", "95% limits", "England", "Within the expected range"):
        assert words in legend, legend
    assert funnel.get_attribute("aria-label").startswith("Funnel plot: each practice's value")
    # the selected practice ringed and named on the chart
    assert practice["practice_name"].title() in funnel.locator(".role-mark text").all_text_contents()
    assert page.get_by_text("Outside the limits is a prompt to look, not a verdict").count()
    assert "practice=" + practice["practice_code"] in page.url
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "gp_measure.png")


def test_measure_page_names_the_selected_practice(gp_app_url, gp_store, page):
    practice = busiest_practice(gp_store)
    page.goto(
        f"{gp_app_url}/measure?measure=gpda_all&level=icb&area={practice['icb_code']}"
        f"&practice={practice['practice_code']}",
        wait_until="domcontentloaded",
    )
    page.get_by_test_id("stVegaLiteChart").first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_text(f"Open {practice['practice_name']}'s practice page").first.wait_for(timeout=TIMEOUT_MS)
    assert not page.get_by_test_id("stException").count()


def icb_funnel_marks(page, url: str, store: Path):
    """The funnel of the busiest practice's ICB, drawn (as SVG: a few hundred practices): its
    practices' marks (then the ring, if any)."""
    practice = busiest_practice(store)
    page.goto(f"{url}/measure?measure=gpda_all&level=icb&area={practice['icb_code']}", wait_until="domcontentloaded")
    funnel = page.get_by_test_id("stVegaLiteChart").first
    funnel.wait_for(timeout=TIMEOUT_MS)
    settle(page)
    return funnel.locator(".mark-symbol").first.locator("path")


def test_a_practices_tooltip_on_the_funnel_reads_a_line_a_figure(gp_app_url, gp_store, page):
    """The tooltip is one text per practice (drawn faster than seven fields); Streamlit's style
    would run its lines together, the app's keeps them."""
    marks = icb_funnel_marks(page, gp_app_url, gp_store)
    marks.nth(marks.count() // 2).hover(force=True)
    tip = page.locator("#vg-tooltip-element.visible")
    tip.wait_for(timeout=TIMEOUT_MS)
    lines = tip.inner_text().split("\n")  # as drawn: the text's breaks only if the style keeps them
    assert [line.split(":")[0] for line in lines[1:]] == [title for _, title in FUNNEL_TOOLTIP[1:]], lines
    assert lines[0] and ":" not in lines[0]  # the practice first, on a line of its own


def test_a_click_on_a_practice_in_the_funnel_opens_its_page(gp_app_url, gp_store, page):
    marks = icb_funnel_marks(page, gp_app_url, gp_store)
    assert marks.count() > 10
    marks.nth(marks.count() // 2).click(force=True)  # marks overlap: whichever is on top is clicked
    page.get_by_text("All measures at a glance").first.wait_for(timeout=TIMEOUT_MS)
    assert "practice=" in page.url and "/practice" in page.url
    assert not page.get_by_test_id("stException").count()


def test_a_practice_found_by_keyboard_in_the_pop_over_is_ringed_on_the_funnel(gp_app_url, gp_store, page):
    """The practice picker waits in a pop-over (a drop-down of every practice costs the page
    ~0.25 s each time it is drawn): reached, opened and used with the keyboard alone."""
    practice = busiest_practice(gp_store)
    page.goto(
        f"{gp_app_url}/measure?measure=gpda_all&level=icb&area={practice['icb_code']}", wait_until="domcontentloaded"
    )
    page.get_by_test_id("stVegaLiteChart").first.wait_for(timeout=TIMEOUT_MS)
    settle(page)
    assert not page.get_by_label("Practice (type a name or code)").count()  # not drawn until opened
    opener = page.get_by_role("button", name="Find a practice on the funnel")
    opener.focus()
    page.keyboard.press("Enter")
    box = page.get_by_role("combobox", name="Practice (type a name or code)")
    box.wait_for(timeout=TIMEOUT_MS)
    box.focus()
    page.keyboard.type(practice["practice_code"])
    page.get_by_role("option", name=f"{practice['practice_name']} ({practice['practice_code']})").wait_for(
        timeout=TIMEOUT_MS
    )
    page.keyboard.press("Enter")
    page.get_by_text(f"Open {practice['practice_name']}'s practice page").first.wait_for(timeout=TIMEOUT_MS)
    settle(page)
    assert "practice=" + practice["practice_code"] in page.url
    funnel = page.get_by_test_id("stVegaLiteChart").first
    assert practice["practice_name"].title() in funnel.locator(".role-mark text").all_text_contents()
    assert not page.get_by_test_id("stException").count()
