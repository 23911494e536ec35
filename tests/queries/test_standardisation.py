"""Golden tests for queries/standardisation.py: indirect standardisation worked by hand."""

from __future__ import annotations

import polars as pl
import pytest
from scipy import stats

from queries import standardisation


def test_reference_rates_share_out_unknown_age_and_sex():
    events = pl.DataFrame(
        {"age_band": [0, 0, 50, None], "sex": ["M", "F", "M", None], "events": [10.0, 20.0, 30.0, 6.0]}
    )
    population = pl.DataFrame(
        {"age_band": [0, 0, 50, 50], "sex": ["M", "F", "M", "F"], "person_years": [1000.0, 1000.0, 500.0, 500.0]}
    )
    rates = standardisation.reference_rates(events, population).sort("age_band", "sex")
    # 66 events, 60 of known age/sex: every known rate scaled by 66/60 = 1.1.
    assert dict(zip(zip(rates["age_band"], rates["sex"], strict=True), rates["rate"], strict=True)) == pytest.approx(
        {(0, "F"): 20 * 1.1 / 1000, (0, "M"): 10 * 1.1 / 1000, (50, "F"): 0.0, (50, "M"): 30 * 1.1 / 500}
    )


def test_expected_from_a_structure_and_the_isr_interval():
    # A PCN of 300 young and 100 old patients; reference rates 0.01 and 0.1 a year.
    structure = pl.DataFrame({"pcn": ["P", "P"], "age_band": [20, 80], "sex": ["F", "F"], "patients": [300.0, 100.0]})
    rates = pl.DataFrame({"age_band": [20, 80], "sex": ["F", "F"], "rate": [0.01, 0.1]})
    per_py = standardisation.expected_rate_by_structure(structure, rates, "pcn")
    # 0.75 x 0.01 + 0.25 x 0.1 = 0.0325 expected events per person-year.
    assert per_py["expected_per_person_year"][0] == pytest.approx(0.0325)
    # A practice of 2,000 patients (the PCN's structure scaled): E = 65; it saw O = 80.
    expected = 2000 * 0.0325
    ratio, lower, upper = standardisation.standardised_ratio([80], [expected])
    assert ratio[0] == pytest.approx(80 / 65)
    assert lower[0] == pytest.approx(stats.chi2.ppf(0.025, 160) / 2 / 65)
    assert upper[0] == pytest.approx(stats.chi2.ppf(0.975, 162) / 2 / 65)
