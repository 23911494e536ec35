"""Completeness, Data quality and Provider detail pages (AppTest over the shared synthetic store),
page = export, scope, and the figure builders."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from dashboard.components.quality_charts import STATUS_COLOURS, matrix_figure, volume_figure
from did_model.scope import CENTRAL, Scope
from did_months import add_months
from downloads import offered, open_lazy_tables
from queries import completeness, quality, volumes
from queries.completeness import STATUS_LABELS
from queries.connection import get_snapshot
from queries.exports import registry

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = Path(__file__).resolve().parents[2] / "dashboard" / "views"


@pytest.fixture
def store(synthetic_store, monkeypatch):
    store_dir, extracts = synthetic_store
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    return get_snapshot(store_dir), json.loads((extracts / "planted.json").read_text())


def _run(page: str, scope: Scope = CENTRAL, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["scope"] = scope
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(f"views/{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# AppTest does not expose a dataframe's key, so each table is found by columns only it has.
TABLES = {
    "matrix_table": {"status_label", "window_closes"},
    "volume_flags": {"flag", "baseline"},
    "data_quality_table": {"provider_code", "default_excess", "period"},
    "history": {"file_name", "rows_read"},
    "issue_summary": {"code", "severity", "issues", "lines"},
}


def _requested(snap, name: str, args: argparse.Namespace, page_request, scope: Scope = CENTRAL) -> pl.DataFrame:
    """The export's table for the page's request, once the command line for the same filters is
    seen to make the same request."""
    export = registry()[name]
    assert export.request(snap, args) == page_request
    return export.table(snap, scope, page_request)


def _default_periods(snap) -> tuple[date, date]:
    """The periods the Completeness and Data quality pages open on: the last 12 with a file."""
    known = completeness.periods(snap)
    return max(known[0], add_months(known[-1], -11)), known[-1]


def _frame(at: AppTest, key: str) -> pl.DataFrame:
    found = [d.value for d in at.dataframe if TABLES[key] <= set(d.value.columns)]
    assert len(found) == 1, f"{len(found)} tables look like {key}"
    return pl.from_pandas(found[0])


def _args(**kw) -> argparse.Namespace:
    base = {
        "first": None,
        "last": None,
        "region": None,
        "provider_type": None,
        "as_of": None,
        "provider": None,
        "level": "item",
        "period": None,
    }
    return argparse.Namespace(**{**base, **kw})


def test_completeness_page_shows_the_planted_problems_and_agrees_with_the_export(store):
    snap, planted = store
    at = _run("completeness.py")
    known = completeness.periods(snap)
    last = known[-1]
    summary = " ".join(m.value for m in at.markdown)
    for event in planted["missing"] + planted["late"]:
        if event["period"] == f"{last:%Y-%m}":
            assert f"({event['provider_code']})" in summary
    shown = _frame(open_lazy_tables(at), "matrix_table")
    page_request = completeness.CompletenessTable(*_default_periods(snap), date.today())
    exported = _requested(snap, "completeness", _args(), page_request)
    assert_frame_equal(shown, exported, check_dtypes=False)
    assert offered(at, "completeness.csv", exported)
    metrics = {m.label: m.value for m in at.metric}
    row = completeness.coverage_by_period(exported).filter(pl.col("period") == last).row(0, named=True)
    assert metrics[f"Included, {last:%B %Y}"] == f"{row['included']} of {row['expected']}"
    assert metrics["Missing"] == str(row["missing"])
    flags = _frame(at, "volume_flags")
    volume_args = argparse.Namespace(drop=-0.3, spike=0.3, by_modality=False, provider=None, flagged_only=True)
    page_flags = volumes.VolumeTable(volumes.VolumeRule(drop=-0.3, spike=0.3), flagged_only=True)
    assert_frame_equal(flags, _requested(snap, "volume-checks", volume_args, page_flags), check_dtypes=False)
    drop = planted["volume_drop"][0]
    assert drop["provider_code"] in flags["provider_code"].to_list()


def test_pre_publication_download_is_the_export(store):
    snap, _ = store
    at = _run("completeness.py")
    period = completeness.periods(snap)[-1]
    page_request = completeness.PrePublication(period, date.today())
    exported = _requested(snap, "pre-publication", _args(period=period), page_request)
    assert_frame_equal(completeness.pre_publication(snap, CENTRAL, period, as_of=date.today()), exported)
    assert offered(at, f"pre-publication-{period:%Y-%m}.csv", exported)
    assert any("Pre-publication check" in m.value for m in at.markdown)


def test_data_quality_page_agrees_with_the_export(store):
    snap, _ = store
    at = _run("data_quality.py")
    shown = _frame(at, "data_quality_table")
    first, last = _default_periods(snap)
    exported = _requested(snap, "data-quality", _args(), quality.QualityTable(first, last))
    # on screen the heat map's month for every provider; the download every month
    assert exported["period"].n_unique() > 1
    assert_frame_equal(shown, exported.filter(pl.col("period") == last), check_dtypes=False)
    assert offered(at, "data-quality.csv", exported)
    assert {m.label for m in at.metric} >= {"Median provider", "Middle half of providers"}


def test_a_provider_sees_only_its_own_quality_and_files(store):
    snap, _ = store
    provider = Scope("provider", providers=frozenset({"RTP"}), user="rtp")
    at = _run("data_quality.py", provider)
    assert at.selectbox[0].options == ["RTP"]
    assert set(_frame(at, "data_quality_table")["provider_code"]) == {"RTP"}
    page_request = quality.QualityTable(*_default_periods(snap), "RTP")
    exported = _requested(snap, "data-quality", _args(provider="RTP"), page_request, provider)
    assert_frame_equal(_frame(at, "data_quality_table"), exported, check_dtypes=False)

    at = _run("provider_drilldown.py", provider, provider="RBQ")  # a deep link to someone else's
    assert [o.split(" — ")[0] for o in at.selectbox(key="provider").options] == ["RTP"]
    history = _frame(at, "history")
    assert (
        history["submission_id"].to_list()
        == completeness.submission_history(snap, CENTRAL, "RTP")["submission_id"].to_list()
    )


def test_drilldown_shows_a_resubmitted_providers_issue_report(store):
    _snap, planted = store
    event = next(e for e in planted["resubmitted"] if e["problem"] == "bad_batch")
    at = _run("provider_drilldown.py", provider=event["provider_code"])
    history = _frame(at, "history")
    first = history.filter(pl.col("status") == "superseded").row(0, named=True)
    at.selectbox(key="submission").set_value(first["submission_id"]).run()
    summary = _frame(at, "issue_summary")
    assert event["bad_rule"] in summary["code"].to_list()


def test_drilldown_charts_are_named_and_have_table_and_csv_alternatives(store):
    snap, planted = store
    provider = planted["resubmitted"][0]["provider_code"]
    at = _run("provider_drilldown.py", provider=provider)
    headings = [h.value for h in at.subheader]
    assert {"Data quality by month", "Examinations per month"} <= set(headings)  # visible names above them
    labels = [e.label for e in at.expander]
    closed = [e for e in at.expander if e.label.startswith("Table: ")]
    assert len(closed) == 2 and not any(e.dataframe or e.download_button for e in closed)  # built once opened
    open_lazy_tables(at)
    for title in (f"Data quality by month, {provider}", f"Examinations per month, {provider}"):
        found = [e for e in at.expander if e.label == f"Table: {title}"]
        assert len(found) == 1, labels
        assert len(found[0].download_button) == 1
    volume = pl.from_pandas(
        next(e for e in at.expander if e.label.startswith("Table: Examinations")).dataframe[0].value
    )
    drawn = volumes.volume_checks(snap, CENTRAL, volumes.DEFAULT_RULE, by_modality=False, provider=provider)
    assert volume["records"].to_list() == drawn.sort("activity_month")["records"].to_list()


def test_matrix_figure_has_a_legend_in_words():
    matrix = pl.DataFrame(
        {
            "provider_code": ["RAA", "RAA", "RBB"],
            "provider_name": ["A", "A", "B"],
            "period": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 1, 1)],
            "status": ["on_time", "late", "missing"],
            "files": [1, 1, 0],
            "submitted_on": [date(2026, 1, 5), date(2026, 2, 25), None],
            "records": [10, 12, None],
            "window_closes": [date(2026, 1, 20), date(2026, 2, 20), date(2026, 1, 20)],
        }
    )
    fig = matrix_figure(matrix)
    heat = fig.data[0]
    assert list(heat.colorbar.ticktext)[:5] == ["On time", "Late L", "Resubmitted R", "Rejected X", "Missing M"]
    assert {c for _, c in heat.colorscale} == set(STATUS_COLOURS.values())
    # rows are providers (B above A reading down), columns periods; RBB has no February cell
    assert list(heat.x) == ["Jan 2026", "Feb 2026"]
    assert heat.z[0][1] is None and heat.text[1][1] == "L"
    assert set(STATUS_LABELS) == set(STATUS_COLOURS)


def test_volume_figure_marks_the_flags():
    series = pl.DataFrame(
        {
            "activity_month": [date(2025, m, 1) for m in (7, 8, 9, 10, 11)],
            "records": [100, 110, 90, 100, 40],
            "baseline": [None, None, None, 100.0, 100.0],
            "change": [None, None, None, 0.0, -0.6],
            "flag": [None, None, None, None, "drop"],
        }
    )
    fig = volume_figure(series)
    flagged = [t for t in fig.data if t.name == "Flagged drop"]
    assert len(flagged) == 1 and list(flagged[0].y) == [40]


def test_no_data_quality_table_heads_two_columns_alike(store):
    """The issue table had two columns headed "Data item" (the field and its name) and the item
    table a "Data item number" that held field names: every heading says one thing."""
    import json

    at = open_lazy_tables(_run("data_quality.py"))
    assert at.dataframe
    for table in at.dataframe:
        config = json.loads(table.proto.columns or "{}")
        shown = [c for c in table.value.columns if (config.get(c) or {}).get("hidden") is not True]
        labels = [(config.get(c) or {}).get("label") or c for c in shown]
        assert len(labels) == len(set(labels)), labels
        assert "Data item number" not in labels
