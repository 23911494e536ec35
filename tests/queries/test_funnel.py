"""Golden tests for queries/funnel.py, against Spiegelhalter (2005) worked independently here.

Spiegelhalter, "Funnel plots for comparing institutional performance", Stat Med 24:1185-1202,
Appendix A.1.1 (interpolated limits) and section 3.3 / Spiegelhalter, QSHC 14:347-351
(winsorised phi, additive tau^2) — recomputed with scipy.stats and numpy in each test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from queries import funnel


def spiegelhalter_limit(dist, p: float) -> float:
    """Appendix A.1.1, written out: r_p, then the interpolation alpha."""
    r_p = dist.ppf(p)
    alpha = (dist.cdf(r_p) - p) / (dist.cdf(r_p) - dist.cdf(r_p - 1))
    return r_p - alpha


@pytest.mark.parametrize("expected", [0.3, 2.0, 10.0, 57.5, 1234.0])
@pytest.mark.parametrize("level", funnel.LEVELS)
def test_poisson_limits_are_spiegelhalters_interpolated_quantiles(expected, level):
    p = (1 - level) / 2
    lower, upper = funnel.poisson_limits([expected], level)
    dist = stats.poisson(expected)
    assert upper[0] == pytest.approx(spiegelhalter_limit(dist, 1 - p) / expected, rel=1e-9)
    assert lower[0] == pytest.approx(max(spiegelhalter_limit(dist, p), 0) / expected, rel=1e-9, abs=1e-12)


def test_poisson_upper_995_for_ten_expected_by_hand():
    # Poisson(10): F(16) = 0.97296, F(17) = 0.98572; p = 0.975 -> r_p = 17,
    # alpha = (0.98572 - 0.975) / (0.98572 - 0.97296) = 0.8400 -> limit (17 - 0.8400) / 10.
    f16, f17 = stats.poisson.cdf(16, 10), stats.poisson.cdf(17, 10)
    assert f16 == pytest.approx(0.97296, abs=5e-6) and f17 == pytest.approx(0.98572, abs=5e-6)
    _, upper = funnel.poisson_limits([10.0], 0.95)
    assert upper[0] == pytest.approx((17 - (f17 - 0.975) / (f17 - f16)) / 10)
    assert upper[0] == pytest.approx(1.6160, abs=1e-4)


@pytest.mark.parametrize("n", [1, 7, 40, 333, 5000])
@pytest.mark.parametrize("target", [0.06, 0.27, 0.9])
def test_binomial_limits_are_spiegelhalters_interpolated_quantiles(n, target):
    dist = stats.binom(n, target)
    lower, upper = funnel.binomial_limits([n], target, 0.998)
    assert upper[0] == pytest.approx(min(spiegelhalter_limit(dist, 0.999), n) / n, rel=1e-9)
    assert lower[0] == pytest.approx(max(spiegelhalter_limit(dist, 0.001), 0) / n, rel=1e-9, abs=1e-12)


def test_dispersion_by_hand():
    y = np.array([0.8, 0.9, 1.0, 1.05, 1.1, 1.2, 1.5, 0.6, 1.0, 1.3])
    s = np.array([0.05, 0.1, 0.08, 0.05, 0.1, 0.07, 0.1, 0.1, 0.02, 0.09])
    z = (y - 1) / s
    lo, hi = np.quantile(z, [0.1, 0.9])
    z_w = np.clip(z, lo, hi)
    phi = (z_w**2).mean()
    w = 1 / s**2
    tau2 = (10 * phi - 9) / (w.sum() - (w**2).sum() / w.sum())
    got = funnel.estimate_dispersion(y, 1.0, s)
    assert got.units == 10
    assert got.phi == pytest.approx(phi)
    assert got.tau2 == pytest.approx(tau2)
    assert got.overdispersed


def test_no_overdispersion_keeps_exact_limits():
    d = funnel.Dispersion(units=100, phi=0.8, tau2=0.0)
    e = np.array([5.0, 50.0, 500.0])
    for method in funnel.METHODS:
        lo, hi = funnel.ratio_limits(e, 0.998, d, method)
        exact_lo, exact_hi = funnel.poisson_limits(e, 0.998)
        np.testing.assert_allclose(lo, exact_lo)
        np.testing.assert_allclose(hi, exact_hi)


def test_additive_and_multiplicative_limits_on_the_square_root_scale():
    e, tau2, phi = 400.0, 0.01, 2.5
    d = funnel.Dispersion(units=500, phi=phi, tau2=tau2)
    z = stats.norm.ppf(0.999)
    s = 1 / (2 * math.sqrt(e))
    lo, hi = funnel.ratio_limits([e], 0.998, d, "additive")
    assert lo[0] == pytest.approx((1 - z * math.sqrt(s * s + tau2)) ** 2)
    assert hi[0] == pytest.approx((1 + z * math.sqrt(s * s + tau2)) ** 2)
    lo, hi = funnel.ratio_limits([e], 0.998, d, "multiplicative")
    assert lo[0] == pytest.approx((1 - z * math.sqrt(phi) * s) ** 2)
    assert hi[0] == pytest.approx((1 + z * math.sqrt(phi) * s) ** 2)
    p0, n = 0.3, 200
    sp = math.sqrt(p0 * (1 - p0) / n)
    lo, hi = funnel.proportion_limits([n], p0, 0.95, d, "additive")
    z95 = stats.norm.ppf(0.975)
    assert lo[0] == pytest.approx(p0 - z95 * math.sqrt(sp * sp + tau2))
    assert hi[0] == pytest.approx(p0 + z95 * math.sqrt(sp * sp + tau2))


def test_adjusted_limits_never_narrower_than_exact():
    # Small expected counts: the normal approximation alone would put 0 events outside.
    d = funnel.Dispersion(units=500, phi=1.2, tau2=0.0001)
    e = np.array([0.2, 1.0, 3.0, 6.0])  # P(0 events) > 0.001 for each: never "below 99.8%"
    lo, hi = funnel.ratio_limits(e, 0.998, d, "additive")
    exact_lo, exact_hi = funnel.poisson_limits(e, 0.998)
    assert (lo <= exact_lo + 1e-12).all() and (hi >= exact_hi - 1e-12).all()
    assert (funnel.classify(np.zeros(4), lo, hi, lo, hi) != "below 99.8%").all()


def test_classify_words():
    got = funnel.classify([5, 3.5, 2, 0.5, 0.1, np.nan], [1] * 6, [3] * 6, [0.2] * 6, [4] * 6)
    assert got.tolist() == ["above 99.8%", "above 95%", "within", "below 95%", "below 99.8%", ""]


def test_pure_chance_flags_about_one_in_five_hundred():
    rng = np.random.default_rng(7)
    e = rng.uniform(20, 400, 20_000)
    o = rng.poisson(e)
    lo, hi = funnel.poisson_limits(e, 0.998)
    outside = ((o / e < lo) | (o / e > hi)).mean()
    assert 0.0005 < outside < 0.0045
    y, s = funnel.ratio_scale(o, e)
    assert funnel.estimate_dispersion(y, 1.0, s).tau2 == 0.0


def test_overdispersion_is_found_and_widens_the_funnel():
    rng = np.random.default_rng(8)
    e = rng.uniform(50, 800, 5000)
    o = rng.poisson(e * rng.lognormal(0, 0.25, e.size))
    y, s = funnel.ratio_scale(o, e)
    d = funnel.estimate_dispersion(y, 1.0, s)
    assert d.phi > 2 and d.tau2 > 0
    lo, hi = funnel.ratio_limits(e, 0.998)
    adj_lo, adj_hi = funnel.ratio_limits(e, 0.998, d, "additive")
    before = ((o / e < lo) | (o / e > hi)).mean()
    after = ((o / e < adj_lo) | (o / e > adj_hi)).mean()
    assert before > 0.2 and after < 0.05
