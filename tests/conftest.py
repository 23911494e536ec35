"""Fixtures shared by the whole suite."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(autouse=True)
def _pseudonymisation_key(tmp_path_factory, monkeypatch):
    """Every test uses a throwaway key: the suite never creates ~/.config/did/."""
    key_dir = tmp_path_factory.getbasetemp() / "key"
    key_dir.mkdir(exist_ok=True)
    monkeypatch.setenv("DID_KEY_FILE", str(key_dir / "pseudonymisation.key"))


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
