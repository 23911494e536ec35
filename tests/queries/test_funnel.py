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
    assert (funnel.ratio_verdicts(np.zeros(4), e, d, "additive") != "below 99.8%").all()


# --- verdicts from exact tail probabilities ---------------------------------------------------


def test_poisson_verdicts_by_hand_at_ten_expected():
    # Poisson(10): P(X >= 17) = 1 - F(16) = 0.02704 > 0.025, so 17 events are "within" although
    # they sit above the interpolated 95% limit (16.16, test above); P(X >= 18) = 0.01428.
    # Lower tail: F(3) = 0.01034, F(2) = 0.00277 (both < 0.025), F(1) = 0.000499 < 0.001.
    e = np.full(6, 10.0)
    o = np.array([17, 18, 10, 3, 2, 1])
    lower, upper = funnel.poisson_tails(o, e)
    assert upper[:2] == pytest.approx([0.0270416, 0.0142776], abs=1e-7)
    assert lower[3:] == pytest.approx([0.0103361, 0.0027694, 0.0004994], abs=1e-7)
    assert funnel.ratio_verdicts(o, e).tolist() == [
        "within",
        "above 95%",
        "within",
        "below 95%",
        "below 95%",
        "below 99.8%",
    ]
    _, drawn = funnel.poisson_limits([10.0], 0.95)
    assert 17 / 10 > drawn[0]  # outside the drawn curve, yet not significant: the curves only draw


@pytest.mark.parametrize("o,e", [(0, 0.3), (1, 0.3), (3, 2.0), (7, 57.5), (80, 57.5), (1234, 1234.0)])
def test_poisson_tails_are_scipys(o, e):
    lower, upper = funnel.poisson_tails([o], [e])
    assert lower[0] == pytest.approx(stats.poisson.cdf(o, e), rel=1e-10)
    assert upper[0] == pytest.approx(stats.poisson.sf(o - 1, e), rel=1e-10)


@pytest.mark.parametrize("r,n,p0", [(0, 1, 0.3), (1, 1, 0.3), (2, 7, 0.06), (30, 40, 0.9), (90, 333, 0.27)])
def test_binomial_tails_are_scipys(r, n, p0):
    lower, upper = funnel.binomial_tails([r], [n], p0)
    assert lower[0] == pytest.approx(stats.binom.cdf(r, n, p0), rel=1e-10)
    assert upper[0] == pytest.approx(stats.binom.sf(r - 1, n, p0), rel=1e-10)


def test_too_few_to_judge_thresholds():
    # Rate: no events at all is significantly low at 95% only when exp(-E) < 0.025, E > ln 40
    # = 3.689: exp(-3.68) = 0.02522, exp(-3.70) = 0.02472. Below that nothing is judged, not
    # even many events (the verdict could only ever go one way).
    assert funnel.ratio_verdicts([0, 0, 9], [3.68, 3.70, 0.19]).tolist() == [
        funnel.TOO_FEW,
        "below 95%",
        funnel.TOO_FEW,
    ]
    # Ratio, p0 = 0.3: none of n significantly low needs 0.7^n < 0.025: 0.7^10 = 0.0282,
    # 0.7^11 = 0.0198. p0 = 0.9: all of n significantly high needs 0.9^n < 0.025: 0.9^35 =
    # 0.02503, 0.9^36 = 0.02253.
    assert funnel.proportion_verdicts([0, 0], [10, 11], 0.3).tolist() == [funnel.TOO_FEW, "below 95%"]
    assert funnel.proportion_verdicts([35, 36], [35, 36], 0.9).tolist() == [funnel.TOO_FEW, "above 95%"]
    # Nothing to judge: no expected count, or no England proportion; no examinations: too few.
    assert funnel.ratio_verdicts([1, 1], [np.nan, 0]).tolist() == ["", ""]
    assert funnel.proportion_verdicts([1], [20], np.nan).tolist() == [""]
    assert funnel.proportion_verdicts([0], [0], 0.3).tolist() == [funnel.TOO_FEW]


def test_binomial_verdicts_by_hand():
    # Binomial(20, 0.3): P(X >= 11) = 0.01714, P(X >= 13) = 0.001279, P(X >= 14) = 0.000261,
    # P(X = 0) = 0.7^20 = 0.000798.
    got = funnel.proportion_verdicts([11, 13, 14, 6, 0], [20] * 5, 0.3)
    assert got.tolist() == ["above 95%", "above 95%", "above 99.8%", "within", "below 99.8%"]


def test_adjusted_verdicts_scale_the_counts():
    # Multiplicative phi = 4: O = 40 against E = 20 is judged as 10 against 5: P(Poisson(5) >= 10)
    # = 0.03183, "within"; unadjusted P(Poisson(20) >= 40) = 5.3e-5, "above 99.8%". Additive
    # tau^2 = 0.0375 gives the same scale at E = 20: 1 / (1 + 4 x 20 x 0.0375) = 1/4.
    assert funnel.ratio_verdicts([40], [20]).tolist() == ["above 99.8%"]
    assert funnel.ratio_verdicts([40], [20], funnel.Dispersion(500, 4.0, 0.0), "multiplicative").tolist() == ["within"]
    assert funnel.ratio_verdicts([40], [20], funnel.Dispersion(500, 1.5, 0.0375), "additive").tolist() == ["within"]
    # No over-dispersion found (tau^2 0, phi <= 1): the exact verdicts, whatever the method.
    calm = funnel.Dispersion(500, 0.7, 0.0)
    for method in funnel.METHODS:
        assert funnel.ratio_verdicts([40], [20], calm, method).tolist() == ["above 99.8%"]
    # Proportions: additive tau^2 on the proportion scale. n = 40, p0 = 0.3: s^2 = 0.21 / 40 =
    # 0.00525; tau^2 = 0.00525 -> f = 1/2: 20 of 40 is judged as 10 of 20, P(Bin(20, 0.3) >= 10)
    # = 0.0480 -> "within" (unadjusted P(Bin(40, 0.3) >= 20) = 0.00625, "above 95%").
    wide = funnel.Dispersion(500, 1.5, 0.00525)
    assert funnel.proportion_verdicts([20], [40], 0.3).tolist() == ["above 95%"]
    assert funnel.proportion_verdicts([20], [40], 0.3, wide, "additive").tolist() == ["within"]
    # n = 20 under tau^2 = 0.0315 (f = 1/4) counts as 5: 0.7^5 = 0.168, too few to judge.
    assert funnel.proportion_verdicts([11], [20], 0.3, funnel.Dispersion(500, 1.5, 0.0315), "additive").tolist() == [
        funnel.TOO_FEW
    ]


def test_an_adjusted_verdict_never_flags_what_chance_alone_would_not():
    rng = np.random.default_rng(3)
    e = np.exp(rng.uniform(np.log(0.05), np.log(200), 5000))
    o = rng.poisson(e * rng.lognormal(0, 0.6, e.size))
    strength = {
        "": 0,
        "too few to judge": 0,
        "within": 0,
        "above 95%": 1,
        "below 95%": 1,
        "above 99.8%": 2,
        "below 99.8%": 2,
    }
    exact = funnel.ratio_verdicts(o, e)
    for method in ("additive", "multiplicative"):
        adjusted = funnel.ratio_verdicts(o, e, funnel.Dispersion(500, 1.3, 0.002), method)
        flagged = np.array([strength[v] for v in adjusted]) > 0
        assert flagged.any() and (adjusted != exact).any()
        # Same direction, never stronger than the exact verdict.
        assert all(
            strength[a] <= strength[x] and a[:5] == x[:5]
            for a, x in zip(adjusted[flagged], exact[flagged], strict=True)
        )


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


@pytest.mark.parametrize("method", funnel.METHODS)
def test_no_flagged_mark_sits_inside_its_drawn_line(method):
    # Over-dispersed practices, so the adjusted lines (normal on the square-root scale) and the
    # adjusted probabilities (scaled counts) differ: a verdict never goes past its line.
    rng = np.random.default_rng(1)
    e = np.exp(rng.uniform(np.log(0.5), np.log(300), 20_000))
    o = rng.poisson(e * rng.lognormal(0, 0.3, e.size))
    y, s = funnel.ratio_scale(o, e)
    d = funnel.estimate_dispersion(y, 1.0, s)
    assert d.tau2 > 0 and d.phi > 1
    verdicts = funnel.ratio_verdicts(o, e, d, method)
    for level, tag in zip(funnel.LEVELS, ("95%", "99.8%"), strict=True):
        lo, hi = funnel.ratio_limits(e, level, d, method)
        above = np.isin(verdicts, ["above 99.8%"] if tag == "99.8%" else ["above 95%", "above 99.8%"])
        below = np.isin(verdicts, ["below 99.8%"] if tag == "99.8%" else ["below 95%", "below 99.8%"])
        assert above.any() and (o / e > hi)[above].all() and (o / e < lo)[below].all()
    n = np.maximum(np.round(e / 0.3), 1)
    r = rng.binomial(n.astype(np.int64), np.clip(0.3 * rng.lognormal(0, 0.3, n.size), 0, 1))
    y, s = funnel.proportion_scale(r, n, 0.3)
    d = funnel.estimate_dispersion(y, 0.3, s)
    verdicts = funnel.proportion_verdicts(r, n, 0.3, d, method)
    lo, hi = funnel.proportion_limits(n, 0.3, 0.998, d, method)
    assert (r / n > hi)[verdicts == "above 99.8%"].all() and (r / n < lo)[verdicts == "below 99.8%"].all()
