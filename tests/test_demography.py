"""One age-band and one sex definition (did_model.demography), used by every rollup and query."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from did_model import demography
from did_model.demography import AGE_BAND_LABELS, age_band, age_band_sql, dose_age_band_sql, sex_sql

ROOT = Path(__file__).resolve().parent.parent


def _sql(expression: str, rows: list[tuple]) -> list:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (i INTEGER, age INTEGER, sex VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, *row) for i, row in enumerate(rows)])
    return [r[0] for r in con.sql(f"SELECT {expression} FROM t ORDER BY i").fetchall()]


def test_bands_by_hand():
    # ESP2013: 0-4 is band 0, 85-89 band 17, 90 and over band 18; no band for an unknown age.
    cases = {0: 0, 4: 0, 5: 1, 44: 8, 45: 9, 89: 17, 90: 18, 95: 18, 120: 18, -1: None, None: None}
    assert {age: age_band(age) for age in cases} == cases
    assert len(AGE_BAND_LABELS) == 19
    assert (AGE_BAND_LABELS[0], AGE_BAND_LABELS[8], AGE_BAND_LABELS[17], AGE_BAND_LABELS[18]) == (
        "0-4",
        "40-44",
        "85-89",
        "90+",
    )


def test_sql_bands_equal_the_python_bands():
    ages = [None, -3, -1, *range(121)]
    assert _sql(age_band_sql("age"), [(a, None) for a in ages]) == [age_band(a) for a in ages]


def test_sex_recode():
    codes = ["1", "2", "0", "9", None, "X"]
    assert _sql(sex_sql("sex"), [(None, c) for c in codes]) == ["M", "F", "U", "U", "U", "U"]
    assert set(demography.KNOWN_SEXES) <= set(demography.SEX_LABELS)


@pytest.mark.parametrize(("age", "band"), [(0, "0-15"), (15, "0-15"), (16, "16-39"), (84, "75-84"), (85, "85+")])
def test_dose_bands(age, band):
    assert _sql(dose_age_band_sql("age"), [(age, None)]) == [band]
    assert _sql(dose_age_band_sql("age"), [(None, None)]) == ["Not known"]


def test_no_second_definition_in_the_code():
    """Bands and the sex recode are written nowhere else: a module banding ages by hand
    (`// 5`) or recoding PERSON GENDER CODE itself would count or divide differently."""
    own = re.compile(r"//\s*5\b|WHEN\s+'1'\s+THEN\s+'M'|least\(\s*\w+\s*//")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in ("did_model", "ingest", "queries", "dashboard")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "demography.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if own.search(line)
    ]
    assert found == []
