"""Plain words and honest charts (issue 17): the glossary, place names, the one period line, and
charts that neither zoom a 0.2-point dip into a collapse nor draw across a missing month."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from dashboard.components import formatting as fmt
from dashboard.components import glossary
from dashboard.components.chart_gaps import with_missing_months
from dashboard.components.gp_charts import trend_on_deciles_figure
from dashboard.components.quality_charts import score_trend_figure, volume_figure
from dashboard.components.waits_charts import trend_figure as waits_trend_figure

VIEWS = Path(__file__).resolve().parents[2] / "dashboard" / "views"
OWNED = [
    "home",
    "data_quality",
    "provider_drilldown",
    "completeness",
    "official_outputs",
    "radiation_dose",
    "waiting_times",
    "submit",
    "local_codes",
    "gp_practice",
    "about",
]


def test_pages_name_no_cli_command_doc_path_or_internal_table():
    # Every page, not a list of them: a page added later (the scanner and outsourced pages) once
    # told its readers to run `did submit` / `did reference load-outsourcing`.
    pages = sorted(p.stem for p in VIEWS.glob("*.py"))
    assert set(OWNED) <= set(pages) and "outsourced" in pages
    for page in pages:
        text = (VIEWS / f"{page}.py").read_text()
        for jargon in ("`did ", "did export", "did report", "docs/", "ref_site", "issue #", ".yaml", "SOURCES"):
            assert jargon not in text, f"{page}.py shows {jargon!r}"


def test_headings_are_words_with_units_never_snake_case():
    assert glossary.heading("provider_code") == "Provider code"
    assert glossary.heading("rows_read") == "Records read"
    assert glossary.heading("p25") == "25th percentile (score 0–100)"
    assert glossary.heading("some_new_column") == "Some new column"
    config = glossary.table_config(pl.DataFrame({"p25": [98.4177], "records": [3]}))
    assert config["p25"]["type_config"]["format"] == "%.1f"  # 98.4, not 98.4177
    assert config["records"]["label"] == "Examinations"


def test_plural():
    assert glossary.plural(1, "examination") == "1 examination"
    assert glossary.plural(1204, "examination") == "1,204 examinations"
    assert glossary.plural(0, "registered patient") == "0 registered patients"


def test_sub_icb_is_named_by_its_place_and_code():
    assert glossary.sub_icb("36J", "NHS West Yorkshire ICB - 36J") == "Bradford and Craven (36J)"
    assert glossary.sub_icb("15F", "NHS West Yorkshire ICB - 15F") == "Leeds (15F)"
    assert glossary.sub_icb("ZZZ", "NHS Somewhere ICB - ZZZ") == "Somewhere (ZZZ)"


def test_rejection_message_points_a_data_manager_to_the_page_not_a_command():
    message = (
        "IMAGING CODE (NICIP) is neither a national NICIP code nor a local code notified by RAJ; notify it "
        "first (did local-codes add --provider RAJ --code <local code> --maps-to <NICIP code>, or the Local "
        "codes page) and submit the file again"
    )
    plain = glossary.for_data_manager(message)
    assert "did local-codes" not in plain and "on the Local codes page of this dashboard" in plain


def test_nicip_choice_uses_the_real_description_and_never_repeats_a_derived_one():
    official = {"nicip_code": "CCHES", "modality": "CT", "body_area": "Chest", "description": "CT Thorax"}
    derived = {"nicip_code": "CCHESB", "modality": "CT", "body_area": "Chest", "description": "CT Chest (derived)"}
    assert glossary.nicip_choice(official) == "CCHES — CT Thorax"
    assert glossary.nicip_choice(derived) == "CCHESB — CT, chest (no official description)"


def test_every_page_states_its_period_the_same_way():
    line = fmt.as_of("2025-26 (part year: 5 of 12 months)", date(2026, 8, 1), fmt.REGISTERED_BY_AGE)
    assert line.startswith("**Period:** 2025-26 (part year: 5 of 12 months) · **Denominator:** registered")
    assert "**Data up to:** August 2026 (the latest complete month is the month before" in line
    assert fmt.part_year(12) == "" and fmt.part_year(5) == " (part year: 5 of 12 months)"
    for page in (
        "home",
        "data_quality",
        "provider_drilldown",
        "completeness",
        "official_outputs",
        "radiation_dose",
        "waiting_times",
        "gp_practice",
    ):
        assert "fmt.as_of(" in (VIEWS / f"{page}.py").read_text(), page


def test_missing_month_becomes_a_gap():
    frame = pl.DataFrame({"activity_month": [date(2026, 1, 1), date(2026, 3, 1)], "records": [10, 12]})
    out = with_missing_months(frame, "activity_month")
    assert out["activity_month"].to_list() == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert out["records"].to_list() == [10, None, 12]


def test_lines_break_at_a_missing_month():
    months = [date(2026, 1, 1), date(2026, 3, 1)]
    volume = volume_figure(
        pl.DataFrame(
            {
                "activity_month": months,
                "records": [100, 110],
                "baseline": [None, 100.0],
                "flag": [None, None],
                "change": [None, 0.1],
            }
        )
    )
    assert volume.data[0].y == (100, None, 110)
    waits = waits_trend_figure(pl.DataFrame({"activity_month": months, "median_days": [5, 6], "p90_days": [9, 10]}))
    assert waits.data[0].y == (5, None, 6)
    gp = trend_on_deciles_figure(
        pl.DataFrame({"activity_month": months, "value": [1.0, 2.0]}),
        pl.DataFrame(schema={"activity_month": pl.Date, "percentile": pl.Int64, "value": pl.Float64}),
        name="This practice",
        y_title="%",
    )
    assert gp.data[-1].y == (1.0, None, 2.0)


def test_score_axis_starts_at_a_baseline_not_at_the_data():
    scores = pl.DataFrame({"period": [date(2026, 1, 1), date(2026, 2, 1)], "score": [99.9, 99.7]})
    peers = pl.DataFrame({"period": [date(2026, 1, 1)], "p25": [99.6], "p75": [99.9], "median": [99.8]})
    fig = score_trend_figure(scores, peers)
    assert tuple(fig.layout.yaxis.range) == (80.0, 100.5)
    assert "axis from 80" in fig.layout.yaxis.title.text
    low = score_trend_figure(scores.with_columns(pl.lit(62.0).alias("score")), peers)
    assert low.layout.yaxis.range[0] == 60.0


def test_volume_chart_has_no_title_over_its_legend():
    fig = volume_figure(
        pl.DataFrame(
            {"activity_month": [date(2026, 1, 1)], "records": [1], "baseline": [None], "flag": [None], "change": [None]}
        )
    )
    assert not fig.layout.title.text


def test_a_part_year_is_labelled_as_one(tiny_store):
    from dashboard.components.official_tables import year_label
    from queries.connection import get_snapshot

    snap = get_snapshot(tiny_store)
    assert year_label(snap, "2025-26") == "2025-26 (part year: 5 of 12 months)"  # the tiny store: Nov to Mar
