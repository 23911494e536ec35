"""The pages, run in-process with Streamlit's AppTest against the hand-worked tiny store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from did_model.nicip import TEST_GROUPS
from did_model.scope import CENTRAL
from downloads import open_lazy_tables
from ingest.store import publish
from queries import sources

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def run_app(page: str | None = None, scope=CENTRAL) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    if scope is not None:
        at.session_state["scope"] = scope
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_home_metrics_are_the_hand_worked_figures(tiny_store, tiny, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tiny_store))
    at = run_app()
    shown = metrics(at)

    assert shown["Examinations in February 2026"] == f"{tiny.THIS_MONTH_TOTAL:,}"
    assert shown["Examinations in the last 12 months"] == f"{tiny.LAST_12_MONTHS_TOTAL:,}"
    submitted, expected = tiny.PROVIDERS_SUBMITTING
    assert shown["Providers submitting for March 2026"] == f"{submitted} of {expected}"
    for modality, n in tiny.MODALITY_THIS_MONTH.items():
        assert shown[modality] == f"{n:,}"
    for group, n in tiny.GPDA_THIS_MONTH.items():
        assert shown[TEST_GROUPS[group].label] == f"{n:,}"

    headline = next(m for m in at.metric if m.label == "Examinations in February 2026")
    # 14 vs 5 a year earlier: +180.0%
    assert headline.delta == "+180.0%"
    assert "February 2026" in " ".join(c.value for c in at.caption)


def test_home_table_has_every_modality(tiny_store, tiny, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tiny_store))
    at = run_app()
    table = at.dataframe[0].value
    assert dict(zip(table["modality"], table["last_12_months"], strict=True)) == tiny.MODALITY_LAST_12


def test_sidebar_names_the_snapshot(tiny_store, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tiny_store))
    at = run_app()
    version = (tiny_store / "CURRENT").read_text().strip().removesuffix(".duckdb")
    assert any(version in c.value for c in at.sidebar.caption)


def test_home_without_a_store_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tmp_path / "nothing-here"))
    at = run_app()
    assert len(at.error) == 1
    assert at.error[0].value == (
        f"No published store at {tmp_path / 'nothing-here'}. Run `did demo` to build the demo "
        "store, or `did submit FILE` to load a provider file."
    )
    assert not at.metric


SAMPLE_SOURCES = """\
# Reference data sources

## Files

| file | publisher |
|---|---|
| nhs-ods/epraccur.csv | NHS England ODS |

## Licence summary

Most files are under the Open Government Licence v3.0.

> Contains public sector information licensed under the Open Government Licence v3.0.
> Contains OS data © Crown copyright and database right 2026.

## Notes

> Not an attribution line.
"""


def test_about_shows_the_attribution_block_from_sources_md(tiny_store, tmp_path, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tiny_store))
    sample = tmp_path / "SOURCES.md"
    sample.write_text(SAMPLE_SOURCES)
    monkeypatch.setattr(sources, "SOURCES_FILE", sample)
    at = run_app("views/about.py")
    text = "\n".join(m.value for m in at.markdown)
    assert "Contains public sector information licensed under the Open Government Licence v3.0." in text
    assert "Contains OS data © Crown copyright and database right 2026." in text
    assert "TRUD" in text  # the NICIP licence caveat
    assert any("synthetic" in w.value for w in at.warning)


def test_about_works_without_a_store(tmp_path, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tmp_path / "nothing-here"))
    at = run_app("views/about.py")
    assert not at.error
    assert at.title[0].value == "About the data"
    assert any("No store has been published" in i.value for i in at.info)


@pytest.mark.skipif(not sources.SOURCES_FILE.exists(), reason="data/reference/SOURCES.md not written yet")
def test_about_shows_the_real_attribution_block(tmp_path, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tmp_path / "nothing-here"))
    block = sources.attribution_block()
    assert block, "SOURCES.md has no '> ' lines under its licence heading"
    at = run_app("views/about.py")
    text = "\n".join(m.value for m in at.markdown)
    statements = [line.removeprefix(">").strip() for line in block.splitlines()]
    assert len(statements) >= 5
    for statement in statements:
        assert statement in text
    assert "Open Government Licence v3.0" in text


def test_attribution_block_reads_only_the_licence_section(tmp_path):
    sample = tmp_path / "SOURCES.md"
    sample.write_text(SAMPLE_SOURCES)
    assert sources.attribution_block(sample) == (
        "> Contains public sector information licensed under the Open Government Licence v3.0.  \n"
        "> Contains OS data © Crown copyright and database right 2026."
    )
    assert sources.attribution_block(tmp_path / "missing.md") is None


def test_home_with_an_accepted_file_but_no_records_shows_zeros(tmp_path, tiny, monkeypatch):
    store_dir = tmp_path / "store"
    con = tiny.open_working_store(store_dir)
    try:
        tiny.insert_submissions(con, [(1, "RAJ", date(2026, 3, 1), "accepted", "on_time")])
        publish(con, store_dir)
    finally:
        con.close()
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    at = run_app()
    shown = metrics(at)
    assert shown["Examinations in February 2026"] == "0"
    assert shown["Providers submitting for March 2026"] == "1 of 1"


def test_home_with_only_rejected_files_says_there_is_nothing_to_show(tmp_path, tiny, monkeypatch):
    store_dir = tmp_path / "store"
    con = tiny.open_working_store(store_dir)
    try:
        tiny.insert_submissions(con, [(1, "RAJ", date(2026, 3, 1), "rejected", "on_time")])
        publish(con, store_dir)
    finally:
        con.close()
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    at = run_app()
    assert not at.metric
    assert "no accepted submissions" in at.info[0].value


def test_home_trend_is_named_and_has_a_table_and_csv_alternative(tiny_store, monkeypatch):
    # The chart used to have no table alternative: a screen reader got nothing from it.
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    from queries.connection import get_snapshot
    from queries.exports import to_csv_bytes
    from queries.headline import monthly_trend

    monkeypatch.setenv("DID_STORE_DIR", str(tiny_store))
    at = run_app()
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    assert at.subheader[-1].value == "Examinations per month by modality"  # the visible name above it
    (expander,) = [e for e in at.expander if e.label == "Table: Examinations per month by modality"]
    assert not expander.dataframe and not expander.download_button  # built only once opened
    (expander,) = [e for e in open_lazy_tables(at).expander if e.label == "Table: Examinations per month by modality"]
    table = expander.dataframe[0].value
    trend = monthly_trend(get_snapshot(tiny_store), CENTRAL, 24, date(2026, 2, 1)).sort("activity_month", "modality")
    assert list(table.columns) == ["activity_month", "modality", "records"]
    assert table["records"].tolist() == trend["records"].to_list()
    (button,) = expander.download_button
    assert "Examinations per month by modality" in button.label
    # The media file id is a hash of the bytes: the same id means the same CSV.
    assert Path(button.proto.url).stem == _calculate_file_id(
        to_csv_bytes(trend), "text/csv", "examinations-by-modality-to-2026-02.csv"
    )
