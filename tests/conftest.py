"""Fixtures shared by the whole suite."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

import shared_builds


def pytest_addoption(parser: pytest.Parser) -> None:
    # pyproject's `timeout` belongs to pytest-timeout (the [test] extras). Until an existing
    # environment has it installed the option is accepted and does nothing, rather than every
    # run stopping on "Unknown config option".
    if importlib.util.find_spec("pytest_timeout") is None:
        parser.addini("timeout", "per-test timeout in seconds (needs pytest-timeout)")


# The shared synthetic runs (tests/shared_builds.py: half a minute to a minute and a half each):
# a test that uses one is marked `slow`, so `pytest -m "not slow"` is a quick loop. The default run
# runs them all. Fixture → the build it waits for.
SHARED_BUILD_FIXTURES = {
    "synthetic_store": "synthetic_store",
    "synthetic_app_store": "synthetic_store",  # the browser tests' (unless $DID_BROWSER_STORE_DIR)
    "synth_out": "synth_year",
    "world_store": "demo_world",
    "clean_run": "clean_run",
}
SLOW_FIXTURES = frozenset(SHARED_BUILD_FIXTURES)


SERVED_INSTEAD = frozenset({"synthetic_app_store", "world_store"})  # not built when $DID_BROWSER_STORE_DIR is given


def _builds(item) -> set[str]:
    given = os.environ.get("DID_BROWSER_STORE_DIR")
    return {
        SHARED_BUILD_FIXTURES[f]
        for f in getattr(item, "fixturenames", ())
        if f in SHARED_BUILD_FIXTURES and not (given and f in SERVED_INSTEAD)
    }


# Each test file's seconds in a recent run (tests/durations.json), to hand out the longest first.
# A file not listed counts as DEFAULT_SECONDS a test. Refresh it after a run that wrote JUnit XML:
# `.venv/bin/pytest --junitxml=/tmp/junit.xml && .venv/bin/python tests/durations.py /tmp/junit.xml`.
DURATIONS = Path(__file__).with_name("durations.json")
DEFAULT_SECONDS = 0.5


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    # The order xdist hands the files out in (pyproject: --no-loadscope-reorder keeps it). Those
    # that need a shared build come after those that need none, so the workers have tests to run
    # while the builder makes them; within each, the longest first, so that the run does not end
    # with one worker on a long file while the other has nothing left.
    waiting = {_file(item) for item in items if _builds(item)}
    seconds = _file_seconds(items)
    items.sort(key=lambda item: (_file(item) in waiting, -seconds[_file(item)]))


def _file_seconds(items: list[pytest.Item]) -> dict[str, float]:
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    counts = Counter(_file(item) for item in items)
    return {f: known.get(f, DEFAULT_SECONDS * n) for f, n in counts.items()}


def _file(item) -> str:
    return getattr(item, "nodeid", "").split("::")[0]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the one builder for the shared stores the selected tests need, in BUILDS order."""
    needed = set().union(*(_builds(item) for item in session.items)) if session.items else set()
    shared_builds.start(_root(session.config), [name for name in shared_builds.BUILDS if name in needed])


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # a worker's end, possibly before the other's
        shared_builds.release()
    else:  # the end of the run: xdist's controller, or a run without workers
        shared_builds.stop(_root(config))


def _root(config: pytest.Config) -> Path:
    return shared_builds.shared_root(config._tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session", autouse=True)
def _settings_fallback_from_the_environment():
    """From before any shared store is built (session fixtures run before function-scoped ones),
    library code reads the environment's settings, not the defaults."""
    import did_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(did_settings, "_fallback", did_settings.Settings.from_env)
        yield


@pytest.fixture(autouse=True)
def _settings_from_the_environment(monkeypatch):
    """The test is the entry point: library code it calls sees the settings of the environment as
    the test has set it, unless the code under test activated its own (the CLI, the app)."""
    import did_settings

    monkeypatch.setattr(did_settings, "_active", None)
    monkeypatch.setattr(did_settings, "_fallback", did_settings.Settings.from_env)


# Session-scoped so that they are in place before any shared store is built: pytest sets up a
# test's session fixtures before its function-scoped ones, autouse or not.
@pytest.fixture(scope="session", autouse=True)
def _pseudonymisation_key(tmp_path_factory):
    """Every test uses a throwaway key: the suite never creates ~/.config/did/. One key for the
    run, shared by the workers and the shared-store builder."""
    key = shared_builds.make_key(shared_builds.shared_root(tmp_path_factory.getbasetemp()))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DID_KEY_FILE", str(key))
        yield


@pytest.fixture(scope="session", autouse=True)
def _audit_log(tmp_path_factory):
    """Audit lines go to a throwaway file (a test may point DID_AUDIT_LOG elsewhere to read them)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DID_AUDIT_LOG", str(tmp_path_factory.getbasetemp() / "audit.jsonl"))
        yield


@pytest.fixture(scope="session", autouse=True)
def _component_manifests_scanned_once():
    """Each new Streamlit AppTest scans every installed package's metadata for custom components
    (about 0.1 s of CPU each time, and the suite makes hundreds). The installed packages do not
    change during a run: the scan is made once and its answer kept. A run with no AppTest among
    its tests (they import it as they are collected) does not import Streamlit for this."""
    if "streamlit.testing.v1" not in sys.modules:
        yield
        return
    from streamlit.components.v2 import manifest_scanner

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            manifest_scanner, "scan_component_manifests", functools.cache(manifest_scanner.scan_component_manifests)
        )
        yield


@pytest.fixture(scope="session")
def empty_store_template(tmp_path_factory):
    """An empty working store with the reference tables, built once."""
    from ingest.store import create_store

    d = tmp_path_factory.mktemp("store-template")
    create_store(d)
    return d


@pytest.fixture
def store_dir(empty_store_template, tmp_path):
    """A fresh copy of the empty store for one test."""
    d = tmp_path / "store"
    shutil.copytree(empty_store_template, d)
    return d


def _load_store_fixture() -> ModuleType:
    # Loaded by file path so it works under any pytest import mode and never collides with the
    # real `dashboard` package (tests/dashboard has no __init__.py on purpose).
    name = "did_test_store_fixture"
    if name not in sys.modules:
        path = Path(__file__).with_name("dashboard") / "store_fixture.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def tiny() -> ModuleType:
    """The hand-worked tiny store's module (tests/dashboard/store_fixture.py): builder and figures."""
    return _load_store_fixture()


@pytest.fixture(scope="session")
def tiny_store_template(tmp_path_factory, tiny: ModuleType) -> Path:
    """The published tiny store, built once (reference tables and a publish: seconds); never
    written — tests take a copy (`tiny_store`)."""
    store_dir = tmp_path_factory.mktemp("tiny-template") / "store"
    tiny.build_tiny_store(store_dir)
    return store_dir


@pytest.fixture
def tiny_store(tmp_path: Path, tiny_store_template: Path) -> Path:
    """A published tiny store in a fresh directory: a copy of the template, so a test may write to
    it. Its snapshot's `record` view still names the template's Parquet files (a publish writes
    absolute paths), which are immutable; a publish in the copy writes and names its own."""
    store_dir = tmp_path / "store"
    shutil.copytree(tiny_store_template, store_dir)
    return store_dir


@pytest.fixture(scope="session")
def outsourced_store_template(empty_store_template, tmp_path_factory) -> Path:
    """tests/outsourced_store.py's three providers, loaded and published once; never written."""
    from outsourced_store import build_outsourced_store

    base = tmp_path_factory.mktemp("outsourced")
    shutil.copytree(empty_store_template, base / "store")
    return build_outsourced_store(base / "store", base)


@pytest.fixture
def outsourced_store(outsourced_store_template: Path, tmp_path: Path) -> Path:
    """A copy of the outsourced store for one test (the `record` view as in `tiny_store`)."""
    store_dir = tmp_path / "store"
    shutil.copytree(outsourced_store_template, store_dir)
    return store_dir


SYNTHETIC_MONTHS = shared_builds.SYNTHETIC_MONTHS  # activity months of the shared synthetic store
SYNTHETIC_SCALE = shared_builds.SYNTHETIC_SCALE


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory) -> tuple[Path, Path]:
    """A published store built the way real data arrives: `did synth` files through `did load`.

    Six activity months at scale 0.004 (~200 k examinations, ~880 files), seed 1, with the
    generator's planted defects. Built once per run, by the shared builder (tests/shared_builds.py),
    for both workers; read-only for tests — copy it (shutil.copytree) before writing to it.
    Returns (store_dir, extracts_dir).
    """
    return shared_builds.wait(shared_builds.shared_root(tmp_path_factory.getbasetemp()), "synthetic_store")
