"""Golden tests for queries/deciles.py: numpy's percentiles and percent ranks by hand."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from queries import deciles


def test_deciles_are_numpys_linear_percentiles():
    rng = np.random.default_rng(3)
    values = pl.DataFrame(
        {"activity_month": [date(2026, 1, 1)] * 37 + [date(2026, 2, 1)] * 11, "value": rng.gamma(2.0, 3.0, 48)}
    )
    got = deciles.deciles(values)
    for month in (date(2026, 1, 1), date(2026, 2, 1)):
        raw = values.filter(pl.col("activity_month") == month)["value"].to_numpy()
        mine = got.filter(pl.col("activity_month") == month)
        assert mine["percentile"].to_list() == list(range(10, 100, 10))
        np.testing.assert_allclose(mine["value"].to_numpy(), np.percentile(raw, range(10, 100, 10)))


def test_percent_rank_by_hand():
    values = pl.DataFrame({"m": [1, 1, 1, 1, 2], "value": [1.0, 2.0, 2.0, 5.0, 9.0]})
    got = deciles.percentile_rank(values, by="m")["percentile_rank"].to_list()
    assert got == pytest.approx([0.0, 100 / 3, 100 / 3, 100.0, 0.0])


def test_one_definition_at_every_level():
    m1, m2 = date(2026, 1, 1), date(2026, 2, 1)
    monthly = pl.DataFrame(
        {
            "activity_month": [m1, m1, m1, m2, m2, m2],
            "practice_code": ["A", "B", "C"] * 2,
            "pcn_code": ["P1", "P1", "P2"] * 2,
            "sub_icb_code": ["S"] * 6,
            "icb_code": ["I"] * 6,
            "numerator": [2, 4, 0, 1, 0, 3],
            "denominator": [100.0, 300.0, 50.0, 100.0, 0.0, 50.0],
        }
    )
    pcn = deciles.values_by_level(monthly, "pcn", 1000).sort("activity_month", "org_code")
    # P1 in January: (2 + 4) / (100 + 300) x 1000 = 15; P2: 0 / 50 = 0; February P1: 1/100 = 10.
    assert pcn["value"].to_list() == pytest.approx([15.0, 0.0, 10.0, 60.0])
    practice = deciles.values_by_level(monthly, "practice", 1000)
    assert practice.height == 5  # B in February has no denominator and is left out
    icb = deciles.values_by_level(monthly, "icb", 1000)
    assert icb["value"].to_list() == pytest.approx([6 / 450 * 1000, 4 / 150 * 1000])
