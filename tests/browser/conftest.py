"""Fixtures for the browser tests: a running `streamlit run dashboard/app.py` over a store, and
Debian's Chromium driven by Playwright.

Environment:
    DID_BROWSER_STORE_DIR  run against this published store instead of the hand-worked tiny one
                           (e.g. the demo store, for README screenshots)
    DID_SCREENSHOT_DIR     also save the screenshots there (e.g. docs/screenshots)
    CI                     when true, a missing Chromium fails the tests instead of skipping them
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import did_cli

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_SECONDS = 30


def _store_fixture() -> ModuleType:
    # The hand-worked tiny store, loaded by file path (see tests/dashboard/conftest.py).
    name = "did_test_store_fixture"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "dashboard" / "store_fixture.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser_store(tmp_path_factory) -> Path:
    """The store the app serves: $DID_BROWSER_STORE_DIR, or a fresh hand-worked tiny store."""
    given = os.environ.get("DID_BROWSER_STORE_DIR")
    if given:
        return Path(given)
    store_dir = tmp_path_factory.mktemp("browser") / "store"
    _store_fixture().build_tiny_store(store_dir)
    return store_dir


@contextlib.contextmanager
def running_app(store_dir: Path, log_dir: Path, startup_seconds: float = 60) -> Iterator[str]:
    """`streamlit run dashboard/app.py` over `store_dir` in demo mode (no sign-in, central role by
    default; sign-in itself is tested in-process); yields its URL and stops it afterwards."""
    port = _free_port()
    log = (Path(log_dir) / "streamlit.log").open("w+")
    env = {**os.environ, "DID_STORE_DIR": str(store_dir), "DID_DEMO_MODE": "1"}
    proc = subprocess.Popen(
        did_cli.streamlit_command(port, unattended=True),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so the finaliser stops all of it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        failed = did_cli.wait_until_serving(proc, url, startup_seconds)
        if failed:
            log.seek(0)
            pytest.fail(f"{failed}:\n{log.read()}")
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


@pytest.fixture(scope="session")
def serve_app():
    """`running_app` for tests that serve a store of their own."""
    return running_app


@pytest.fixture(scope="session")
def app_url(browser_store: Path, tmp_path_factory) -> Iterator[str]:
    """The dashboard over the hand-worked tiny store (or $DID_BROWSER_STORE_DIR)."""
    with running_app(browser_store, tmp_path_factory.mktemp("streamlit")) as url:
        yield url


@pytest.fixture(scope="session")
def synthetic_app_store(request) -> Path:
    given = os.environ.get("DID_BROWSER_STORE_DIR")
    return Path(given) if given else request.getfixturevalue("synthetic_store")[0]


@pytest.fixture(scope="session")
def synthetic_app_url(synthetic_app_store: Path, tmp_path_factory) -> Iterator[str]:
    """One dashboard over the shared synthetic store (or $DID_BROWSER_STORE_DIR) for every test that needs it."""
    with running_app(synthetic_app_store, tmp_path_factory.mktemp("streamlit-synthetic")) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright. Skipped when absent — except under CI, where it fails."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + "; browser tests must run in CI")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1900})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def save_screenshot(tmp_path):
    """save_screenshot(page, name): into tmp_path, and into $DID_SCREENSHOT_DIR when set."""

    def save(page, name: str) -> Path:
        path = tmp_path / name
        # Streamlit scrolls inside its own container, so the viewport is made tall enough for
        # the whole page rather than relying on full_page.
        page.screenshot(path=str(path))
        target_dir = os.environ.get("DID_SCREENSHOT_DIR")
        if target_dir:
            Path(target_dir).mkdir(parents=True, exist_ok=True)
            (Path(target_dir) / name).write_bytes(path.read_bytes())
        return path

    return save
