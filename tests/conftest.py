"""Fixtures shared by the whole suite."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    # pyproject's `timeout` belongs to pytest-timeout (the [test] extras). Until an existing
    # environment has it installed the option is accepted and does nothing, rather than every
    # run stopping on "Unknown config option".
    if importlib.util.find_spec("pytest_timeout") is None:
        parser.addini("timeout", "per-test timeout in seconds (needs pytest-timeout)")


# The shared synthetic runs (a minute or more each to build on two cores): a test that uses one
# is marked `slow`, so `pytest -m "not slow"` is a quick loop. The default run runs them all.
SLOW_FIXTURES = frozenset({"synthetic_store", "synth_out"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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
    """Every test uses a throwaway key: the suite never creates ~/.config/did/."""
    key_dir = tmp_path_factory.getbasetemp() / "key"
    key_dir.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DID_KEY_FILE", str(key_dir / "pseudonymisation.key"))
        yield


@pytest.fixture(scope="session", autouse=True)
def _audit_log(tmp_path_factory):
    """Audit lines go to a throwaway file (a test may point DID_AUDIT_LOG elsewhere to read them)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DID_AUDIT_LOG", str(tmp_path_factory.getbasetemp() / "audit.jsonl"))
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


SYNTHETIC_MONTHS = ("2025-11", "2026-04")  # activity months of the shared synthetic store
SYNTHETIC_SCALE = 0.004


@pytest.fixture(scope="session")
def synthetic_store(tmp_path_factory):
    """A published store built the way real data arrives: `did synth` files through `did load`.

    Six activity months at scale 0.004 (~200 k examinations, ~880 files), seed 1, with the
    generator's planted defects. Built once per test session (about a minute); read-only for
    tests — copy it (shutil.copytree) before writing to it. Returns (store_dir, extracts_dir).
    """
    import did_cli
    from ingest import store, synth

    base = tmp_path_factory.mktemp("synthetic")
    extracts, store_dir = base / "extracts", base / "store"
    synth.generate(*SYNTHETIC_MONTHS, SYNTHETIC_SCALE, extracts, seed=1)
    with store.writer(store_dir, create=True) as con:
        did_cli.load_manifest(con, extracts, progress=None)
        did_cli._mark_synthetic(con, extracts)
        store.publish(con, store_dir)
    return store_dir, extracts
