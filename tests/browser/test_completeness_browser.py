"""The completeness matrix in a real browser, over the shared synthetic store: the late and
missing provider-months the generator planted are there, in the cells and in the summary."""

from __future__ import annotations

import json
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
TIMEOUT_MS = 90_000
STARTUP_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def synthetic_app(synthetic_store, tmp_path_factory):
    """The dashboard over the synthetic store, in demo mode (the role picker starts at central)."""
    store_dir, extracts = synthetic_store
    port = _free_port()
    log = (tmp_path_factory.mktemp("streamlit-quality") / "streamlit.log").open("w+")
    env = {**os.environ, "DID_STORE_DIR": str(store_dir), "DID_DEMO_MODE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
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
                pytest.fail(f"streamlit did not answer within {STARTUP_SECONDS} s")
            time.sleep(0.2)
        yield url, json.loads((extracts / "planted.json").read_text())
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def test_the_matrix_shows_the_planted_late_and_missing_months(synthetic_app, page, save_screenshot):
    url, planted = synthetic_app
    # A deep link straight to the page: the router runs first (demo mode: the central view).
    page.goto(url.rstrip("/") + "/completeness", wait_until="domcontentloaded")
    page.get_by_text("Pre-publication check", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    heatmap = page.locator(".js-plotly-plot").first
    heatmap.locator("svg").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .heatmaplayer text, .js-plotly-plot g.textpoint text')"
        ".length > 0", timeout=TIMEOUT_MS)
    marks = heatmap.evaluate(
        "el => Array.from(el.querySelectorAll('text')).map(t => t.textContent.trim())")
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
