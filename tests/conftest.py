"""Fixtures shared by the whole suite."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(autouse=True)
def _settings_from_the_environment(monkeypatch):
    """The test is the entry point: library code it calls sees the settings of the environment as
    the test has set it, unless the code under test activated its own (the CLI, the app)."""
    import did_settings

    monkeypatch.setattr(did_settings, "_active", None)
    monkeypatch.setattr(did_settings, "_fallback", did_settings.Settings.from_env)


@pytest.fixture(autouse=True)
def _pseudonymisation_key(tmp_path_factory, monkeypatch):
    """Every test uses a throwaway key: the suite never creates ~/.config/did/."""
    key_dir = tmp_path_factory.getbasetemp() / "key"
    key_dir.mkdir(exist_ok=True)
    monkeypatch.setenv("DID_KEY_FILE", str(key_dir / "pseudonymisation.key"))


@pytest.fixture(autouse=True)
def _audit_log(tmp_path_factory, monkeypatch):
    """Audit lines go to a throwaway file (a test may point DID_AUDIT_LOG elsewhere to read them)."""
    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path_factory.getbasetemp() / "audit.jsonl"))


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
