"""The Outsourced imaging page and `did export duplicates` (ADR 0010): the central team sees every
pair, a provider only pairs it is a party to (disclosure-controlled), nobody else any."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.navigation import available
from ingest import store
from outsourced_store import build_outsourced_store
from queries import duplicates
from queries.connection import Snapshot
from queries.exports import registry
from queries.scope import CENTRAL, Scope, ScopeError

from test_pages import APP, run_app

RR8 = Scope("provider", providers=frozenset({"RR8"}), user="rr8-user")
RAE = Scope("provider", providers=frozenset({"RAE"}), user="rae-user")
OTHER = Scope("provider", providers=frozenset({"RX1"}), user="rx1-user")
GP = Scope("gp", practice="A81001", user="gp-user")
COMMISSIONER = Scope("commissioner", icbs=frozenset({"QWO"}), user="icb-user")


@pytest.fixture
def outsourced(store_dir, tmp_path, monkeypatch):
    build_outsourced_store(store_dir, tmp_path)
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    snap = Snapshot(store.current_snapshot(store_dir))
    yield snap
    snap.close()


def _page(scope) -> AppTest:
    return run_app("views/outsourced.py", scope=scope)


def test_central_sees_every_pair_and_how_many_copies_are_left_out(outsourced):
    at = _page(CENTRAL)
    table = at.dataframe[0].value
    assert sorted(zip(table["provider_a"], table["provider_b"], table["match"], table["pairs"],
                      table["copies_removed"])) == [("RAE", "RTH", "exact", 1, 1), ("RR8", "RTH", "exact", 2, 2),
                                                    ("RR8", "RTH", "near", 1, 0)]
    assert any("3 submitted copies are left out" in c.value for c in at.caption)


def test_a_provider_sees_only_the_pairs_it_is_a_party_to(outsourced):
    table = _page(RR8).dataframe[0].value
    assert set(zip(table["provider_a"], table["provider_b"])) == {("RR8", "RTH")}
    # small counts are hidden for anyone outside the central team, like every other page
    assert table["pairs"].isna().all() and table["suppressed"].all()
    assert set(zip(*_rows(duplicates.pairs_by_month(outsourced, RAE)))) == {("RAE", "RTH")}


def _rows(frame: pl.DataFrame):
    return frame["provider_a"].to_list(), frame["provider_b"].to_list()


def test_a_provider_party_to_no_arrangement_sees_no_pair_and_others_are_refused(outsourced):
    assert duplicates.pairs_by_month(outsourced, OTHER).is_empty()
    assert "No examination was found" in _page(OTHER).info[0].value
    for refused in (GP, COMMISSIONER):
        with pytest.raises(ScopeError):
            duplicates.pairs_by_month(outsourced, refused)
        assert "outsourced.py" not in {e.file for entries in available(refused.role).values() for e in entries}
        # opened directly (a deep link bypassing the menu), the page itself refuses
        at = AppTest.from_file(str(Path(APP).parent / "views" / "outsourced.py"), default_timeout=30)
        at.session_state["scope"] = refused
        at.run()
        assert "may not see outsourced duplicates" in at.error[0].value
        assert not at.dataframe


@pytest.mark.parametrize("scope", [CENTRAL, RR8])
def test_the_export_is_the_page_table(outsourced, scope):
    exported = registry()["duplicates"].build(outsourced, scope, None).to_pandas()
    shown = _page(scope).dataframe[0].value
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), exported, check_dtype=False)


def test_home_and_completeness_tell_the_central_team_how_duplicates_count(outsourced):
    home = run_app()
    assert any("3 submitted copies are left out" in c.value for c in home.caption)
    completeness = run_app("views/completeness.py")
    assert any("3 submitted copies are left out" in c.value for c in completeness.caption)
    provider_home = run_app(scope=RR8)
    assert not any("left out" in c.value for c in provider_home.caption)
