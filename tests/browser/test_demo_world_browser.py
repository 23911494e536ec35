"""The demo world in a real browser (issue 18): the Home page reads England's rate per 1,000
registered patients, every page says the data are synthetic, and a typical practice (median list
size) gets a verdict on GP direct-access chest X-ray and on all GP direct-access imaging.

Served over a small full-scale slice of England built like `did demo` (one ICB, 12 months,
did_cli.build_demo), or over $DID_BROWSER_STORE_DIR (e.g. the real demo store).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from test_accessibility_browser import settle

import shared_builds
from dashboard.components.gp_charts import VERDICTS
from did_model.scope import CENTRAL
from ingest.synth import targets as T
from plotly_drawn import margins_widened
from queries import gp_benchmark as gb
from queries.connection import get_snapshot
from queries.sources import demo_examples

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
RATE_LABEL = "Examinations a year per 1,000 registered patients"


@pytest.fixture(scope="module")
def world_store(tmp_path_factory) -> Path:
    given = os.environ.get("DID_BROWSER_STORE_DIR")
    if given:
        return Path(given)
    return shared_builds.wait(shared_builds.shared_root(tmp_path_factory.getbasetemp()), "demo_world")


@pytest.fixture(scope="module")
def world_url(world_store, serve_app, tmp_path_factory):
    with serve_app(world_store, tmp_path_factory.mktemp("streamlit-world")) as url:
        yield url


def test_home_reads_englands_rate_under_the_synthetic_banner(world_url, page, save_screenshot):
    page.goto(world_url, wait_until="domcontentloaded")
    metric = page.get_by_test_id("stMetric").filter(has_text=RATE_LABEL).first
    metric.wait_for(timeout=TIMEOUT_MS)
    rate = float(metric.get_by_test_id("stMetricValue").inner_text().strip().replace(",", ""))
    england = sum(T.ANNUAL_VOLUME.values()) * 1000 / T.REGISTERED_ENGLAND
    assert abs(rate - england) <= T.RATE_TOLERANCE * england, rate
    banner = page.get_by_text("not real patients", exact=False).first
    assert "Synthetic data" in banner.inner_text()
    assert "full-scale slice of England" in banner.inner_text()
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "demo_home.png")


@pytest.mark.parametrize("measure", ["gpda_chest_xray", "gpda_all"])
def test_a_typical_practice_gets_a_verdict(world_url, world_store, page, measure):
    snap = get_snapshot(world_store)
    code = demo_examples(snap, {"gp": ""})["gp"]  # the median-list-size practice demo mode opens on
    practice = gb.check_practice(snap, CENTRAL, code)
    page.goto(f"{world_url}/measure?measure={measure}&practice={code}", wait_until="domcontentloaded")
    sentence = page.get_by_text(f"({code}):", exact=False).first
    sentence.wait_for(timeout=TIMEOUT_MS)
    text = sentence.inner_text()
    verdict = re.search(r"events, (.+?)\.", text)
    assert verdict, text
    assert verdict.group(1) in {w.lower() for w, _, _ in VERDICTS.values()} - {"too few to judge"}, text
    assert practice["benchmarked"]
    assert page.get_by_text("Synthetic data", exact=False).count()
    assert not page.get_by_test_id("stException").count()


def _open(page, url: str, heading: str):
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)


def _drawn_charts(page, at_least: int) -> None:
    """Wait until at least `at_least` Plotly charts have drawn. Streamlit mounts each Plotly element
    once its lazily loaded code arrives: the script having finished is not the charts having mounted."""
    page.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
        ".filter((c) => c.querySelector('.main-svg')).length >= n",
        arg=at_least,
        timeout=TIMEOUT_MS,
    )


def _icons_named_on_screen(page, at_least: int) -> None:
    """The Making Data Count icons drawn, each named in words on screen (not colour alone)."""
    icons = page.locator('[data-testid="stMain"] svg[role="img"]')
    assert icons.count() >= at_least
    for i in range(icons.count()):
        label = icons.nth(i).get_attribute("aria-label")
        assert label and page.get_by_text(label, exact=True).count(), label


def _open_tab(page, name: str, shows: str) -> None:
    page.get_by_role("tab", name=name, exact=True).first.click()
    page.get_by_text(shows, exact=False).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)


def test_waiting_times_shows_urgency_spc_icons_in_words_and_the_dm01_reconciliation(world_url, page, save_screenshot):
    """Issue 20 in the browser: the XmR charts are drawn with their Making Data Count icons, each
    named in words (not colour alone), and the DM01 reconciliation lists the demo's DM01 file. The
    page's sections open one at a time; a link names the one it opens."""
    _open(page, f"{world_url}/waiting-times?section=Waiting+list+%28DM01%29", "DM01 reconciliation")
    assert page.get_by_role("tab", name="Waiting list (DM01)", selected=True).count()
    # the toggle's code is loaded once a page first shows one: it may mount after the script ends
    page.get_by_text("Flagged rows only").first.wait_for(timeout=TIMEOUT_MS)
    _drawn_charts(page, 1)  # the 6-week XmR chart
    _icons_named_on_screen(page, 2)  # its variation and assurance
    settle(page)
    assert margins_widened(page) == []  # each section's charts drawn within their margins, once
    # the target is the XmR chart's own annotation: drawn once Plotly has rendered the chart
    _open_tab(page, "Report turnaround", "Target: 100% within 4 weeks")
    assert "section=Report+turnaround" in page.url
    _drawn_charts(page, 2)  # the turnaround by priority and its XmR chart
    _icons_named_on_screen(page, 2)
    settle(page)
    assert margins_widened(page) == []
    # the closed section is not drawn (its elements go, faded until then, once the run is over)
    page.get_by_text("DM01 reconciliation").first.wait_for(state="detached", timeout=TIMEOUT_MS)
    # a closed tab runs nothing until opened: "By month" then draws the trend and the median
    # wait's XmR chart with its variation icon (no national target: no assurance icon)
    _open_tab(page, "Waits", "Distribution of waits")
    _open_tab(page, "By month", "Median wait (days)")
    _drawn_charts(page, 3)  # the distribution, the trend and the median wait's XmR chart
    _icons_named_on_screen(page, 1)
    settle(page)
    assert margins_widened(page) == []
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "demo_waiting_times.png")


def test_scanner_page_draws_the_hour_by_weekday_heat_map(world_url, page, save_screenshot):
    _open(page, f"{world_url}/equipment?section=Scans+per+operating+hour", "Scans per operating hour")
    heat = page.locator('[data-testid="stPlotlyChart"]').filter(has=page.locator(".heatmaplayer"))
    heat.first.wait_for(timeout=TIMEOUT_MS)
    assert heat.locator(".heatmaplayer image, .heatmaplayer .hm").count()
    assert page.get_by_text("operating hour", exact=False).count()
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "demo_scanner_hours.png")


def test_outsourced_imaging_finds_the_planted_pairs_and_a_gap(world_url, page, save_screenshot):
    _open(page, f"{world_url}/outsourced", "Outsourcing arrangements")
    gaps = page.get_by_test_id("stMetric").filter(has_text="Arrangement-months with a gap")
    gaps.first.wait_for(timeout=TIMEOUT_MS)  # drawn after the heading above it
    assert int(gaps.get_by_test_id("stMetricValue").inner_text().replace(",", "")) >= 1
    page.get_by_test_id("stDataFrame").nth(1).wait_for(timeout=TIMEOUT_MS)  # the pairs and the arrangements
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "demo_outsourced.png")
