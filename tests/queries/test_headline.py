"""queries.headline: each function on hand-written rows with numbers worked out by hand, and
modality_totals against a naive polars recomputation over a few hundred generated records."""

from __future__ import annotations

import importlib.util
import random
import shutil
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from did_model.nicip import TEST_GROUPS
from did_model.scope import CENTRAL
from did_months import add_months
from ingest.store import publish, store_path
from queries import headline
from queries.connection import Snapshot, get_snapshot


def _store_fixture() -> ModuleType:
    # The hand-worked tiny store shared with the dashboard tests, loaded by file path (see
    # tests/dashboard/conftest.py for why).
    name = "did_test_store_fixture"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "dashboard" / "store_fixture.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


tiny = _store_fixture()


@pytest.fixture(scope="module")
def working_store_template(tmp_path_factory) -> Path:
    """An empty working store (schema, reference tables, timetable), made once: loading the
    reference tables is most of what making one costs."""
    store_dir = tmp_path_factory.mktemp("headline") / "store"
    tiny.open_working_store(store_dir).close()
    return store_dir


@pytest.fixture
def store_with(tmp_path: Path, working_store_template: Path):
    """store_with(records, submissions): a published store of the tiny store's kind holding them."""

    def build(records, submissions) -> Snapshot:
        store_dir = tmp_path / "store"
        shutil.copytree(working_store_template, store_dir)
        con = duckdb.connect(str(store_path(store_dir)))
        try:
            tiny.insert_submissions(con, submissions)
            tiny.insert_records(con, records)
            publish(con, store_dir)
        finally:
            con.close()
        return get_snapshot(store_dir)

    return build


@pytest.fixture
def snap(tiny_store) -> Snapshot:
    return get_snapshot(tiny_store)


# --- the hand-worked tiny store (figures in tests/dashboard/store_fixture.py) -----------------


def test_latest_complete_month_is_the_month_before_the_newest_accepted_period(snap):
    assert headline.latest_period(snap) == date(2026, 3, 1)
    assert headline.latest_complete_month(snap) == date(2026, 2, 1)


def test_modality_totals(snap):
    got = headline.modality_totals(snap, CENTRAL, date(2026, 2, 1))
    expected = pl.DataFrame(
        {
            "modality": ["Plain radiography", "CT", "Ultrasound", "MRI", "Fluoroscopy", "Unknown"],
            "this_month": [7, 2, 3, 1, 0, 1],
            "same_month_last_year": [3, 0, 0, 2, 0, 0],
            "last_12_months": [13, 5, 5, 2, 1, 1],
        },
        schema_overrides={c: pl.Int64 for c in ("this_month", "same_month_last_year", "last_12_months")},
    )
    assert_frame_equal(got, expected)


def test_headline_figures_are_protected_for_other_roles(snap):
    """The home page was exact for every role; now a commissioner gets perturbed, suppressed and
    rounded figures, the same as the official activity-by-month table's for the month."""
    from did_model.scope import Scope
    from queries import official

    commissioner = Scope("commissioner", icbs=frozenset({"QE1"}))
    month = date(2026, 2, 1)
    table = headline.modality_totals(snap, commissioner, month)
    assert table["suppressed"].any()  # every modality this month is 1-7
    counts = [v for c in ("this_month", "same_month_last_year", "last_12_months") for v in table[c].to_list()]
    assert all(v is None or v % 5 == 0 for v in counts)
    assert table["suppressed"].to_list() == sorted(table["suppressed"].to_list())
    totals = headline.activity_totals(snap, commissioner, month)
    assert all(v is None or v % 5 == 0 for v in totals)
    by_month = official.activity_by_month(snap, date(2026, 3, 1)).filter(pl.col("activity_month") == month)
    assert totals.this_month == by_month["total"][0]
    trend = headline.monthly_trend(snap, commissioner, end=month).filter(pl.col("activity_month") == month)
    for row in trend.iter_rows(named=True):
        assert row["records"] == by_month[row["modality"]][0]
    gpda = headline.gp_direct_access_tests(snap, commissioner, month)
    assert all(v is None or v % 5 == 0 for v in gpda["records"]) and "suppressed" in gpda.columns


def test_activity_totals(snap):
    assert headline.activity_totals(snap, CENTRAL, date(2026, 2, 1)) == (14, 5, 27)
    # Jan 2026: 7; Jan 2025: 4; Feb 2025 .. Jan 2026: 5 + 3 + 3 + 7 = 18.
    assert headline.activity_totals(snap, CENTRAL, date(2026, 1, 1)) == (7, 4, 18)


def test_same_month_last_year_is_none_when_the_store_did_not_cover_it(snap):
    # Nothing at all in June 2024, so no comparison — not a comparison with zero.
    totals = headline.modality_totals(snap, CENTRAL, date(2025, 6, 1))
    assert totals["same_month_last_year"].null_count() == totals.height
    assert headline.activity_totals(snap, CENTRAL, date(2025, 6, 1)) == (3, None, 12)


def test_monthly_trend_is_zero_filled_and_starts_with_the_store(snap):
    trend = headline.monthly_trend(snap, CENTRAL)  # 24 months requested; the store begins Jan 2025
    months = trend["activity_month"].unique().sort().to_list()
    assert months[0] == date(2025, 1, 1)
    assert months[-1] == date(2026, 2, 1)  # the latest complete month, not March's stray record
    assert len(months) == 14
    assert trend.height == 14 * 6  # every modality has every month
    by_month = trend.group_by("activity_month").agg(pl.col("records").sum())
    totals = dict(by_month.iter_rows())
    assert totals[date(2025, 12, 1)] == 3
    assert totals[date(2026, 1, 1)] == 7
    assert totals[date(2026, 2, 1)] == 14
    assert totals[date(2025, 4, 1)] == 0


def test_monthly_trend_window(snap):
    trend = headline.monthly_trend(snap, CENTRAL, months=3)
    assert trend["activity_month"].unique().sort().to_list() == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    # Fluoroscopy has no records in the window, so it is not listed.
    assert sorted(trend["modality"].unique()) == ["CT", "MRI", "Plain radiography", "Ultrasound", "Unknown"]
    row = trend.filter(pl.col("activity_month") == date(2025, 12, 1), pl.col("modality") == "MRI")
    assert row["records"].to_list() == [1]


def test_providers_submitting(snap):
    # RAJ and RBK accepted for March 2026; RCF's file was rejected but it was accepted in
    # July 2025; RDE was last accepted in February 2025, 13 periods back, so is not expected.
    assert headline.providers_submitting(snap, date(2026, 3, 1)) == (2, 3)
    # February 2026: RAJ accepted; RAJ (Mar 2025), RCF (Jul 2025), RBK (Jan 2026),
    # RDE (Feb 2025) were all accepted within the 12 periods before.
    assert headline.providers_submitting(snap, date(2026, 2, 1)) == (1, 4)


def test_gp_direct_access_tests(snap):
    got = headline.gp_direct_access_tests(snap, CENTRAL, date(2026, 2, 1))
    assert got.columns == ["test_group", "label", "records"]
    # All five groups, in the declared order, zero-filled.
    assert dict(got.select("test_group", "records").iter_rows()) == tiny.GPDA_THIS_MONTH
    assert got["test_group"].to_list() == list(TEST_GROUPS)
    assert got["label"].to_list() == [g.label for g in TEST_GROUPS.values()]

    def by_group(month: date) -> dict[str, int]:
        return dict(headline.gp_direct_access_tests(snap, CENTRAL, month).select("test_group", "records").iter_rows())

    # Jan 2026: the CT abdomen & pelvis record only. Feb 2025: 3 GPDA chest X-rays.
    assert by_group(date(2026, 1, 1)) == {**dict.fromkeys(TEST_GROUPS, 0), "ct_abdo_pelvis": 1}
    assert by_group(date(2025, 2, 1))["chest_xray"] == 3


def test_a_test_group_not_declared_in_nicip_is_still_counted(store_with):
    snap = store_with(
        [(date(2026, 2, 3), "RAJ", "CT", "04", "ct_colon", 2)], [(1, "RAJ", date(2026, 3, 1), "accepted", "on_time")]
    )
    got = headline.gp_direct_access_tests(snap, CENTRAL, date(2026, 2, 1))
    assert got.row(-1) == ("ct_colon", "ct_colon", 2)
    assert got["records"].sum() == 2


def test_an_empty_store_has_no_latest_month(store_with):
    snap = store_with(records=[], submissions=[(1, "RAJ", date(2026, 3, 1), "rejected", "on_time")])
    assert headline.latest_complete_month(snap) is None
    assert headline.monthly_trend(snap, CENTRAL).is_empty()
    assert headline.providers_submitting(snap, date(2026, 3, 1)) == (0, 1)
    assert headline.gp_direct_access_tests(snap, CENTRAL, date(2026, 2, 1))["records"].to_list() == [0] * 5


# --- against a naive recomputation ----------------------------------------------------------

MODALITIES = ["Plain radiography", "Ultrasound", "CT", "MRI", "Fluoroscopy", "Nuclear medicine", None]
GROUPS = [*TEST_GROUPS, None, None, None, None]


def generated_records(n: int, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        test_date = date(rng.choice([2023, 2024, 2025]), rng.randint(1, 12), rng.randint(1, 28))
        rows.append(
            (
                test_date,
                rng.choice(["RAJ", "RBK", "RCF"]),
                rng.choice(MODALITIES),
                rng.choice(["01", "03", "04", "04", "05"]),
                rng.choice(GROUPS),
                1,
            )
        )
    return rows


def naive_modality_totals(records: pl.DataFrame, month: date) -> pl.DataFrame:
    year_ago = date(month.year - 1, month.month, 1)
    first = add_months(month, -11)
    df = records.with_columns(pl.col("modality").fill_null(headline.UNKNOWN_MODALITY))
    in_window = df.filter(pl.col("activity_month").is_between(year_ago, month))
    covered = records.filter(pl.col("activity_month") == year_ago).height > 0
    rows = []
    for modality in in_window["modality"].unique():
        mine = in_window.filter(pl.col("modality") == modality)
        rows.append(
            {
                "modality": modality,
                "this_month": mine.filter(pl.col("activity_month") == month).height,
                "same_month_last_year": mine.filter(pl.col("activity_month") == year_ago).height if covered else None,
                "last_12_months": mine.filter(pl.col("activity_month").is_between(first, month)).height,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "modality": pl.String,
            "this_month": pl.Int64,
            "same_month_last_year": pl.Int64,
            "last_12_months": pl.Int64,
        },
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_modality_totals_agrees_with_a_naive_count_of_records(store_with, seed):
    snap = store_with(generated_records(400, seed), [(1, "RAJ", date(2026, 1, 1), "accepted", "on_time")])
    records = snap.query("SELECT modality, activity_month FROM record")
    assert records.height == 400
    for month in (date(2023, 6, 1), date(2024, 1, 1), date(2024, 12, 1), date(2025, 12, 1)):
        got = headline.modality_totals(snap, CENTRAL, month)
        want = naive_modality_totals(records, month)
        assert_frame_equal(got, want, check_row_order=False)
        assert got["last_12_months"].to_list() == sorted(got["last_12_months"].to_list(), reverse=True)


@pytest.mark.parametrize("seed", [3])
def test_trend_and_gpda_agree_with_a_naive_count_of_records(store_with, seed):
    snap = store_with(generated_records(300, seed), [(1, "RAJ", date(2026, 1, 1), "accepted", "on_time")])
    records = snap.query("SELECT * FROM record")
    trend = headline.monthly_trend(snap, CENTRAL, months=36)
    assert trend["records"].sum() == records.height  # every record is in one month and modality
    month = date(2025, 7, 1)
    want = (
        records.filter(
            pl.col("activity_month") == month, pl.col("patient_source") == "04", pl.col("test_group").is_not_null()
        )
        .group_by("test_group")
        .len()
    )
    got = headline.gp_direct_access_tests(snap, CENTRAL, month)
    assert dict(got.filter(pl.col("records") > 0).select("test_group", "records").iter_rows()) == dict(want.iter_rows())


def test_latest_complete_month_waits_for_most_providers_not_the_first_file(store_with):
    # Three providers sent February and March; one has already sent April. April is not the
    # complete period until most expected providers are in, so the latest month stays February.
    subs = [
        (i, p, date(2026, m, 1), "accepted", "on_time")
        for i, (p, m) in enumerate([(p, m) for m in (2, 3) for p in ("RAJ", "RBB", "RCC")], start=1)
    ]
    snap = store_with(records=[], submissions=subs + [(7, "RAJ", date(2026, 4, 1), "accepted", "on_time")])
    assert headline.latest_period(snap) == date(2026, 4, 1)
    assert headline.complete_period(snap) == date(2026, 3, 1)
    assert headline.latest_complete_month(snap) == date(2026, 2, 1)


def test_latest_complete_month_moves_once_most_providers_are_in(store_with):
    subs = [
        (i, p, date(2026, m, 1), "accepted", "on_time")
        for i, (p, m) in enumerate([(p, m) for m in (3, 4) for p in ("RAJ", "RBB", "RCC")], start=1)
    ]
    snap = store_with(records=[], submissions=subs[:-1])  # RCC has not sent April
    assert headline.latest_complete_month(snap) == date(2026, 3, 1)
