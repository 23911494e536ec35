"""The Outsourced imaging page and `did export duplicates` (ADR 0010): the central team sees every
pair, a provider only pairs it is a party to (disclosure-controlled), nobody else any."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest
from test_pages import APP, run_app

from dashboard.navigation import available
from did_model.scope import CENTRAL, Scope, ScopeError
from ingest import store
from queries import duplicates
from queries.connection import Snapshot
from queries.exports import registry

RR8 = Scope("provider", providers=frozenset({"RR8"}), user="rr8-user")
RAE = Scope("provider", providers=frozenset({"RAE"}), user="rae-user")
OTHER = Scope("provider", providers=frozenset({"RX1"}), user="rx1-user")
GP = Scope("gp", practice="A81001", user="gp-user")
COMMISSIONER = Scope("commissioner", icbs=frozenset({"QWO"}), user="icb-user")


@pytest.fixture
def outsourced(outsourced_store, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(outsourced_store))
    snap = Snapshot(store.current_snapshot(outsourced_store))
    yield snap
    snap.close()


def _page(scope) -> AppTest:
    return run_app("views/outsourced.py", scope=scope)


def test_central_sees_every_pair_and_how_many_copies_are_left_out(outsourced):
    at = _page(CENTRAL)
    table = at.dataframe[0].value
    assert sorted(
        zip(
            table["provider_a"],
            table["provider_b"],
            table["match"],
            table["pairs"],
            table["copies_removed"],
            strict=True,
        )
    ) == [("RAE", "RTH", "exact", 1, 1), ("RR8", "RTH", "exact", 2, 2), ("RR8", "RTH", "near", 1, 0)]
    assert any("3 submitted copies are left out" in c.value for c in at.caption)


def test_a_provider_sees_only_the_pairs_it_is_a_party_to(outsourced):
    table = _page(RR8).dataframe[0].value
    assert set(zip(table["provider_a"], table["provider_b"], strict=True)) == {("RR8", "RTH")}
    # small counts are hidden for anyone outside the central team, like every other page
    assert table["pairs"].isna().all() and table["suppressed"].all()
    assert set(zip(*_rows(duplicates.pairs_by_month(outsourced, RAE)), strict=True)) == {("RAE", "RTH")}


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


# --- arrangements and gaps ------------------------------------------------------------------------

ARRANGEMENTS = "provider_code,performing_org_code,from_month,to_month\nRR8,RTH,2026-01,\nRAE,RTH,2026-01,2026-06\n"


def _arrangements(empty_store_template, tmp_path: Path, keeps_sending: str) -> Path:
    """RR8 has RTH perform its examinations (RTH's records name RR8 as the referring organisation).
    Both submit the same two a month January to April; in May only `keeps_sending` does. RAE
    outsources to RTH too, but none of its work is in the data."""
    from datetime import date

    import didfiles
    from ingest import loader
    from outsourced_store import _record

    store_dir = tmp_path / "store"
    shutil.copytree(empty_store_template, store_dir)
    days = [d for d in range(0, 150, 31) for d in (d, d + 2)]  # from 5 January: two a month to May
    for provider in ("RR8", "RTH"):
        # A file for 2026-07 is DIDS v2.0: the same records, their dates as procedure and report times.
        records = [
            _record(provider, n, n, day) | ({"referring_org_code": "RR8"} if provider == "RTH" else {})
            for n, day in enumerate(days)
            if day < 124 or provider == keeps_sending
        ]
        records = [
            didfiles.row_v2(
                **{k: v for k, v in r.items() if k in didfiles.VALID_V2 or k.endswith("_date")},
                waiting_list_clock_start=r["request_date"],
            )
            for r in records
        ]
        path = didfiles.write_v2(tmp_path / f"{provider}.csv", records)
        with store.writer(store_dir) as con:
            assert loader.load_file(con, path, provider, "2026-07", date(2026, 7, 10)).status == "accepted"
    (tmp_path / "arrangements.csv").write_text(ARRANGEMENTS)
    import did_cli

    assert (
        did_cli.main(["reference", "load-outsourcing", str(tmp_path / "arrangements.csv"), "--store", str(store_dir)])
        == 0
    )
    return store_dir


@pytest.fixture(scope="module")
def arrangements_store(empty_store_template, tmp_path_factory) -> Path:
    """In May the performer, RTH, sends nothing: only RR8's copies (at RR8's own site) remain.
    Built once; read-only."""
    return _arrangements(empty_store_template, tmp_path_factory.mktemp("arrangements"), keeps_sending="RR8")


@pytest.fixture
def arrangements(arrangements_store, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(arrangements_store))
    snap = Snapshot(store.current_snapshot(arrangements_store))
    yield snap
    snap.close()


def test_a_month_the_performer_sends_nothing_is_a_gap(arrangements):
    months = duplicates.arrangement_months(arrangements, CENTRAL)
    rr8 = months.filter(pl.col("provider_code") == "RR8")
    assert rr8["examinations"].to_list() == [2, 2, 2, 2, 0]  # RTH's records RR8 referred
    assert rr8["pairs"].to_list() == [2, 2, 2, 2, 0]
    assert rr8["gap"].to_list() == [False] * 4 + [True]
    rae = months.filter(pl.col("provider_code") == "RAE")
    assert rae["examinations"].to_list() == [0] * 5 and rae["gap"].to_list() == [False] * 5  # no history to fall from
    at = _page(CENTRAL)
    assert metrics_of(at)["Arrangement-months with a gap"] == "1"


def test_a_month_the_double_submissions_stop_is_no_gap(empty_store_template, tmp_path):
    """RR8 stops sending its copies in May and RTH goes on: the data now hold each examination
    once, as the DID asks — no gap, though the pairs fall to none."""
    snap = Snapshot(store.current_snapshot(_arrangements(empty_store_template, tmp_path, keeps_sending="RTH")))
    try:
        rr8 = duplicates.arrangement_months(snap, CENTRAL).filter(pl.col("provider_code") == "RR8")
    finally:
        snap.close()
    assert rr8["pairs"].to_list() == [2, 2, 2, 2, 0]
    assert rr8["examinations"].to_list() == [2] * 5
    assert rr8["gap"].to_list() == [False] * 5


def metrics_of(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_a_provider_sees_only_arrangements_it_is_a_party_to(arrangements):
    assert set(duplicates.arrangement_months(arrangements, RR8)["provider_code"]) == {"RR8"}
    assert set(duplicates.arrangement_months(arrangements, RAE)["provider_code"]) == {"RAE"}
    assert duplicates.arrangement_months(arrangements, OTHER).is_empty()
    shown = _page(RR8).dataframe[-1].value
    assert set(shown["provider_code"]) == {"RR8"}
    # small counts hidden, and their gap flags with them; a zero is no small count, and the gap
    # is worked out from the perturbed counts
    assert shown["examinations"].isna().tolist() == [True] * 4 + [False] and shown["examinations"].iloc[-1] == 0
    assert shown["gap"].isna().tolist() == [True] * 4 + [False] and shown["gap"].iloc[-1]
    for refused in (GP, COMMISSIONER):
        with pytest.raises(ScopeError):
            duplicates.arrangement_months(arrangements, refused)


@pytest.mark.parametrize("scope", [CENTRAL, RR8], ids=["central", "provider"])
def test_the_gaps_export_is_the_page_table(arrangements, scope):
    exported = registry()["outsourcing-gaps"].build(arrangements, scope, None).to_pandas()
    shown = _page(scope).dataframe[-1].value
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), exported, check_dtype=False)


def test_a_snapshot_from_before_arrangements_work_was_counted_asks_for_a_publish(
    arrangements_store, tmp_path, monkeypatch
):
    """A store published by an earlier version has no rollup_outsourced_activity: the page says
    to publish again instead of failing."""
    import duckdb

    copy = tmp_path / "store"
    shutil.copytree(arrangements_store, copy)
    with duckdb.connect(str(store.current_snapshot(copy))) as con:
        con.execute("DROP TABLE rollup_outsourced_activity")
    monkeypatch.setenv("DID_STORE_DIR", str(copy))
    at = _page(CENTRAL)
    assert not at.exception
    assert any("publish again" in i.value for i in at.info)


def test_the_provider_profiles_dose_counts_an_outsourced_examination_once(outsourced):
    """The profile's radiation-dose table counts each examination once, as every page does: RAE's
    copy of the chest radiograph RTH submitted first is left out (it read the providers' records,
    removed copies and all, until 2026-12-07)."""
    from datetime import date

    from did_model.rollups import counted_record_sql
    from queries import profile

    providers = ["RAE", "RR8", "RTH"]
    window = profile.Window(date(2026, 1, 1), date(2026, 1, 1))
    dose = profile.provider_dose(outsourced, CENTRAL, providers, window)
    shown = dict(
        dose.filter(pl.col("provider_code") != "England")
        .group_by("provider_code")
        .agg(pl.col("examinations").sum())
        .iter_rows()
    )
    counted = outsourced.query(
        counted_record_sql(
            "SELECT r.provider_code, count(*) AS n FROM record r JOIN ref_nicip n USING (nicip_code) "
            "WHERE n.dose_msv IS NOT NULL GROUP BY 1"
        )
    )
    assert shown == dict(counted.iter_rows()) and "RAE" not in shown
    every_copy = outsourced.query("SELECT count(*) AS n FROM record WHERE provider_code = 'RAE'")["n"].item()
    assert every_copy == 1  # the copy is there; it is counted at RTH
