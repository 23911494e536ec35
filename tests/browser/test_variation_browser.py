"""The geographic variation view in a real browser: the sub-ICB map draws every area.

Runs its own `streamlit run` over the shared synthetic store (the tiny hand-worked store has no
practices, so it would draw an empty map), or over $DID_BROWSER_STORE_DIR when set (e.g. the
demo store, for docs/screenshots/variation_*.png). Demo mode: no sign-in, central role.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def variation_url(request, tmp_path_factory):
    given = os.environ.get("DID_BROWSER_STORE_DIR")
    store_dir = Path(given) if given else request.getfixturevalue("synthetic_store")[0]
    port = _free_port()
    log = (tmp_path_factory.mktemp("streamlit-variation") / "streamlit.log").open("w+")
    env = {**os.environ, "DID_STORE_DIR": str(store_dir), "DID_DEMO_MODE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("streamlit did not answer within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


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
