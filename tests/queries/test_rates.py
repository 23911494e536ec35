"""Golden tests for queries/rates.py: numbers worked out independently of the module.

Published values used:
- Exact Poisson 95% limits for 10 events: 4.795 to 18.390 (Garwood 1936; the table in Breslow &
  Day 1987, vol. II, Appendix II, and the PHE "Confidence intervals" technical guide).
- Wilson score 95% intervals from Newcombe, "Two-sided confidence intervals for the single
  proportion: comparison of seven methods", Statistics in Medicine 17 (1998) 857-872, Table II,
  method 3: 81/263 -> 0.2553 to 0.3662; 15/148 -> 0.0624 to 0.1605; 0/20 -> 0 to 0.1611;
  1/29 -> 0.0061 to 0.1718.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from queries import rates


def test_exact_poisson_matches_the_published_table():
    lower, upper = rates.poisson_interval(10)
    assert float(lower) == pytest.approx(4.795, abs=5e-4)
    assert float(upper) == pytest.approx(18.390, abs=5e-4)


@pytest.mark.parametrize("count", [0, 1, 2, 7, 33, 150, 388])
def test_exact_poisson_is_the_chi_squared_quantile(count):
    lower, upper = rates.poisson_interval(count)
    expected_lower = 0.0 if count == 0 else stats.chi2.ppf(0.025, 2 * count) / 2
    assert float(lower) == pytest.approx(expected_lower, rel=1e-12)
    assert float(upper) == pytest.approx(stats.chi2.ppf(0.975, 2 * count + 2) / 2, rel=1e-12)


@pytest.mark.parametrize("count", [389, 1000, 25_000])
def test_byar_above_388_by_hand_and_close_to_exact(count):
    z = 1.959963984540054
    by_hand_lower = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    by_hand_upper = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
    lower, upper = rates.poisson_interval(count)
    assert float(lower) == pytest.approx(by_hand_lower, rel=1e-12)
    assert float(upper) == pytest.approx(by_hand_upper, rel=1e-12)
    exact_lower, exact_upper = rates.poisson_interval(count, byar_above=None)
    assert float(lower) == pytest.approx(float(exact_lower), rel=1e-3)
    assert float(upper) == pytest.approx(float(exact_upper), rel=1e-3)


def test_crude_rate_per_1000_with_interval_over_the_same_denominator():
    # 10 events among 4,000 patients over a year: 2.5 per 1,000, limits 4.795/4 and 18.390/4.
    rate, lower, upper = rates.crude_rate([10, 0], [4000, 0])
    assert rate[0] == pytest.approx(2.5)
    assert lower[0] == pytest.approx(1.19885, abs=2e-4)
    assert upper[0] == pytest.approx(4.5975, abs=2e-4)
    assert np.isnan(rate[1]) and np.isnan(lower[1])


@pytest.mark.parametrize(
    ("r", "n", "lo", "hi"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998(r, n, lo, hi):
    lower, upper = rates.wilson_interval(r, n)
    assert float(lower) == pytest.approx(lo, abs=5e-5)
    assert float(upper) == pytest.approx(hi, abs=5e-5)


def test_wilson_by_the_formula_and_percentage():
    r, n, z = 37, 120, stats.norm.ppf(0.975)
    p = r / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    value, lower, upper = rates.proportion(r, n)
    assert float(value) == pytest.approx(100 * p)
    assert float(lower) == pytest.approx(100 * (centre - half), rel=1e-12)
    assert float(upper) == pytest.approx(100 * (centre + half), rel=1e-12)
    nan_value, nan_lower, _ = rates.proportion(0, 0)
    assert np.isnan(nan_value) and np.isnan(nan_lower)
