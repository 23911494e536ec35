"""Fixtures for the dashboard tests: the hand-worked tiny store (see store_fixture.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_store_fixture() -> ModuleType:
    # Loaded by file path so it works under any pytest import mode and never collides with the
    # real `dashboard` package (tests/dashboard has no __init__.py on purpose).
    name = "did_test_store_fixture"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("store_fixture.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def tiny() -> ModuleType:
    """The store_fixture module: the builder and the hand-worked figures."""
    return _load_store_fixture()


@pytest.fixture
def tiny_store(tmp_path: Path, tiny: ModuleType) -> Path:
    """A published tiny store in a fresh directory."""
    store_dir = tmp_path / "store"
    tiny.build_tiny_store(store_dir)
    return store_dir
