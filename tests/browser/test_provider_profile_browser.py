"""The Provider profile page in a real browser: Chromium prints the page to PDF, and the pack's
own PDF (WeasyPrint), downloaded from the page, holds the headline figures (read back with
poppler's pdftotext)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from did_model.scope import CENTRAL
from queries import headline, profile
from queries.connection import Snapshot

pytestmark = pytest.mark.browser

TIMEOUT_MS = 120_000


def _text(pdf: Path) -> str:
    """The PDF's text, whitespace collapsed (pdftotext wraps table cells)."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is not installed (make browser installs poppler-utils)")
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


def test_the_page_prints_and_its_pdf_holds_the_headline_figures(
    synthetic_app_url, synthetic_app_store, page, tmp_path, save_screenshot
):
    from ingest.store import current_snapshot

    snap = Snapshot(current_snapshot(synthetic_app_store))
    try:
        provider = profile.profile_providers(snap, CENTRAL)["provider_code"][0]  # the page's first choice
        last = headline.latest_complete_month(snap)
        assert last is not None
        pack = profile.build_profile(snap, CENTRAL, provider, last, 12)
    finally:
        snap.close()
    figures = {r["key"]: r for r in pack.tables["measures"].iter_rows(named=True)}

    page.goto(synthetic_app_url, wait_until="domcontentloaded")
    nav = page.get_by_test_id("stSidebarNav")
    nav.wait_for(timeout=TIMEOUT_MS)
    more = nav.get_by_text("View", exact=False)  # Streamlit folds a long menu behind "View N more"
    if more.count():
        more.first.click()
    nav.get_by_text("Provider profile", exact=True).click()
    page.get_by_text("stands out", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    assert not page.get_by_test_id("stException").count()
    save_screenshot(page, "provider-profile.png")

    # Chromium's own print of the page
    page.emulate_media(media="print")
    printed = tmp_path / "printed.pdf"
    printed.write_bytes(page.pdf(format="A4", print_background=True))
    assert printed.read_bytes().startswith(b"%PDF")
    assert "Provider profile" in _text(printed)
    page.emulate_media(media="screen")

    # the pack's PDF, as the page offers it, clicked once the page's run is over (a click made
    # while a run is still going may hold the button's previous file id, which that run replaced)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.get_by_role("button", name="Download PDF").click()
    pdf = tmp_path / "pack.pdf"
    download.value.save_as(pdf)
    text = _text(pdf)
    assert f"({provider})" in text
    assert pack.summary.split(":")[0] in text  # "What stands out" / "Nothing stands out"
    for key in ("examinations", "median_request_to_test", "dqmi"):
        row = figures[key]
        assert profile.show(row["provider"], row["unit"]) in text, key
        assert profile.show(row["england"], row["unit"]) in text, key
