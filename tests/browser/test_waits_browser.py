"""The waiting-times page in a real browser: the headline median from the store and the
distribution chart (bars and cumulative line) drawn by Plotly.

The hand-made tiny store has no request dates, so this module serves its own small store with
waits (or $DID_BROWSER_STORE_DIR, e.g. the demo store, for screenshots) from its own dashboard
process; Chromium comes from the shared `browser` fixture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from test_accessibility_browser import settle

from did_model.scope import CENTRAL
from plotly_drawn import margins_widened
from queries import waits
from queries.connection import Snapshot

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def waits_store(tmp_path_factory) -> Path:
    given = os.environ.get("DID_BROWSER_STORE_DIR")
    if given:
        return Path(given)
    from ingest import store

    store_dir = tmp_path_factory.mktemp("waits-browser") / "store"
    store.create_store(store_dir)
    rng = np.random.default_rng(3)
    rows = []
    for i in range(600):
        test = date(2026, 1, 5) + timedelta(days=int(rng.integers(0, 80)))
        wait = int(rng.lognormal(3.0, 0.8))
        rows.append(
            (
                "RAJ",
                "RAJ01",
                f"A{i:05d}",
                "03" if i % 4 else "04",
                test - timedelta(days=wait),
                test - timedelta(days=wait),
                test,
                test + timedelta(days=int(rng.integers(0, 5))),
                "MRI" if i % 2 else "CT",
                test.replace(day=1),
            )
        )
    with store.writer(store_dir) as con:
        con.executemany(
            """INSERT INTO record (submission_id, provider_code, site_code, accession_number, patient_source,
                   request_date, request_received_date, test_date, report_date, modality, activity_month)
               VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
        con.execute("""INSERT INTO submission (submission_id, provider_code, period, received_at, submitted_on,
                           file_name, sha256, format, status, rows_read, rows_accepted, rows_rejected,
                           rows_with_warnings)
                       VALUES (1, 'RAJ', DATE '2026-05-01', TIMESTAMP '2026-05-05 09:00', DATE '2026-05-05',
                           'DID_RAJ_202605.csv', 'x', 'csv', 'accepted', 600, 600, 0, 0)""")
        store.publish(con, store_dir)
    return store_dir


@pytest.fixture(scope="module")
def waits_app_url(waits_store: Path, serve_app, tmp_path_factory) -> Iterator[str]:
    with serve_app(waits_store, tmp_path_factory.mktemp("streamlit-waits")) as url:
        yield url


def open_from_menu(page, url: str, title: str) -> None:
    # From the home page through the sidebar menu, as a user arrives (a cold deep link to a page
    # in demo mode currently shows Streamlit's "Page not found" notice before the page renders).
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()


def test_waiting_times_shows_the_median_and_the_distribution_chart(waits_app_url, waits_store, page, save_screenshot):
    from ingest.store import current_snapshot

    snap = Snapshot(current_snapshot(waits_store))
    try:
        f = waits.WaitFilter(*waits.default_months(snap), modality="MRI")
        median = waits.wait_summary(snap, CENTRAL, f).row(0, named=True)["median_days"]
    finally:
        snap.close()

    open_from_menu(page, waits_app_url, "Waiting times")
    metric = page.get_by_test_id("stMetric").filter(has_text="Median wait").first
    metric.wait_for(timeout=TIMEOUT_MS)
    assert metric.get_by_test_id("stMetricValue").inner_text().strip() == f"{median} days"

    chart = page.locator(".js-plotly-plot").first
    chart.locator(".barlayer .point").first.wait_for(timeout=TIMEOUT_MS)  # drawn, not just its frame
    assert chart.locator(".barlayer .point").count() > 5  # the histogram's bars
    legend = chart.locator(".legend .legendtext").all_text_contents()
    assert legend == ["Records", "Cumulative share"]
    assert not page.get_by_test_id("stException").count()
    # Every chart drawn within the margins it asks for (waits_charts.MARGIN): none drawn again
    # because Plotly had to widen one.
    settle(page)  # the script finished and every chart drawn
    assert margins_widened(page) == []
    save_screenshot(page, "waits.png")

    # The distribution's table is sent only once its expander is opened (a rerun): by keyboard,
    # the grid and its CSV download appear inside it.
    expander = page.get_by_test_id("stExpander").filter(has_text="Distribution as a table")
    assert not expander.get_by_test_id("stDataFrame").count()
    expander.locator("summary").focus()
    page.keyboard.press("Enter")
    expander.get_by_test_id("stDataFrame").wait_for(timeout=TIMEOUT_MS)
    expander.get_by_role("button", name="Download", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    assert not page.get_by_test_id("stException").count()


def test_equipment_page_draws_its_charts(waits_app_url, page, save_screenshot):
    open_from_menu(page, waits_app_url, "Scanner utilisation")
    page.get_by_text("Sites ranked", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    # (no inventory in this store, so no scanners to rank per scanner: the sites' table only)
    # the next section runs and draws once opened: the weekday profile and the monthly trend
    page.get_by_role("tab", name="Weekday and month", exact=True).click()
    page.get_by_text("Weekday profile", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].filter(c => c.querySelector('.main-svg')).length >= 2",
        timeout=TIMEOUT_MS,
    )
    # the closed section's elements go once the run is over (Streamlit keeps them, faded, until then)
    page.get_by_text("Sites ranked", exact=False).first.wait_for(state="detached", timeout=TIMEOUT_MS)
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "equipment.png")
