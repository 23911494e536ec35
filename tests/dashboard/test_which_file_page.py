"""The Completeness page says which file counts (issue 19): the central team for every provider,
a provider for its own, with the rule in one sentence and a download equal to the table (tiny store)."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

import polars as pl
from streamlit.testing.v1 import AppTest

from did_model.scope import CENTRAL, Scope
from queries import completeness
from queries.connection import get_snapshot

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def _run(store_dir, monkeypatch, scope: Scope) -> AppTest:
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["scope"] = scope
    at.run()
    at.switch_page("views/completeness.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _which(at: AppTest) -> pl.DataFrame:
    found = [d.value for d in at.dataframe if "counts_file" in d.value.columns and "status" not in d.value.columns]
    assert len(found) == 1
    return pl.from_pandas(found[0])


def test_the_central_team_sees_which_file_counts_and_the_rule(tiny_store, monkeypatch):
    at = _run(tiny_store, monkeypatch, CENTRAL)
    shown = _which(at)
    assert list(shown.columns) == list(completeness.WHICH_FILE_COLUMNS)
    snap = get_snapshot(tiny_store)
    periods = completeness.periods(snap)
    expected = completeness.files_that_count(snap, CENTRAL, max(periods[0], periods[-12]), periods[-1], date.today())
    assert shown["counts_file"].to_list() == expected["counts_file"].to_list()
    assert shown.filter(pl.col("provider_code") == "RAJ")["counts_file"].drop_nulls().len() > 0
    assert any(completeness.WHICH_FILE_RULE in c.value for c in at.caption)


def test_a_provider_sees_only_its_own_and_the_download_is_the_table(tiny_store, monkeypatch):
    at = _run(tiny_store, monkeypatch, Scope("provider", providers=frozenset({"RAJ"}), user="raj"))
    assert "central data team" in at.info[0].value
    assert len(at.dataframe) == 1
    shown = _which(at)
    assert set(shown["provider_code"]) == {"RAJ"} and shown.height > 0
    assert any(completeness.WHICH_FILE_RULE in c.value for c in at.caption)
    snap = get_snapshot(tiny_store)
    own = completeness.files_that_count(
        snap,
        Scope("provider", providers=frozenset({"RAJ"}), user="raj"),
        *completeness.periods(snap)[:: len(completeness.periods(snap)) - 1],
    )
    downloaded = pl.read_csv(BytesIO(own.write_csv().encode()))
    assert downloaded["counts_file"].to_list() == shown["counts_file"].to_list()
