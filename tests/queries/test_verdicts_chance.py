"""Verdicts keep their promise: under pure chance, no more practices are flagged than the level says.

Practices are simulated with no real difference between them — every count drawn from the
model the verdicts test against (Poisson(E) for rate measures, Binomial(n, p0) for ratio
measures) — at a spread of expected counts like the synthetic store's: lognormal from 0.05 to 200
(CT chest's median is about 0.2, all imaging's over 100). A verdict at 95% may then flag at most
2.5% of practices on each side, at 99.8% at most 0.1%, plus the Monte-Carlo margin (4 standard
errors of a share over the simulated practices). The interpolated curves, which the verdicts
used to be read from, break that promise at small expected counts; a test keeps the evidence.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from did_model.measures import load_measures
from queries import funnel
from queries import gp_benchmark as gb

PRACTICES = 200_000
LEVEL_TAILS = {"95%": 0.025, "99.8%": 0.001}
ABOVE = {"95%": ("above 95%", "above 99.8%"), "99.8%": ("above 99.8%",)}
BELOW = {"95%": ("below 95%", "below 99.8%"), "99.8%": ("below 99.8%",)}
# Over-dispersion as the page may find it: none (the estimate from the simulated practices,
# which under chance finds none), and widened limits that chance alone does not call for.
DISPERSIONS = [
    ("none", None),
    ("additive", None),
    ("multiplicative", None),
    ("additive", funnel.Dispersion(6000, 1.4, 0.004)),
    ("multiplicative", funnel.Dispersion(6000, 1.4, 0.0)),
]


def expected_counts(rng: np.random.Generator, size: int = PRACTICES) -> np.ndarray:
    """Lognormal expected counts between 0.05 and 200 (median 3.2, about 1 in 400 clipped at each end)."""
    low, high = np.log(0.05), np.log(200)
    return np.exp(np.clip(rng.normal((low + high) / 2, (high - low) / 6, size), low, high))


def margin(tail: float, size: int = PRACTICES) -> float:
    return 4 * np.sqrt(tail * (1 - tail) / size)


def assert_at_most_nominal(verdicts: np.ndarray) -> dict[str, float]:
    """Each side's flagged share at each level is within its nominal tail plus the margin."""
    shares = {}
    for level, tail in LEVEL_TAILS.items():
        for side, words in (("above", ABOVE[level]), ("below", BELOW[level])):
            share = float(np.isin(verdicts, words).mean())
            shares[f"{side} {level}"] = share
            assert share <= tail + margin(tail, verdicts.size), (side, level, share)
    return shares


def _dispersion(given, y, target, s):
    return given if given is not None else funnel.estimate_dispersion(y, target, s)


@pytest.mark.parametrize("method,given", DISPERSIONS)
def test_rate_verdicts_under_pure_chance(method, given):
    rng = np.random.default_rng(17)
    e = expected_counts(rng)
    o = rng.poisson(e)
    y, s = funnel.ratio_scale(o, e)
    verdicts = funnel.ratio_verdicts(o, e, _dispersion(given, y, 1.0, s), method)
    assert_at_most_nominal(verdicts)
    # Too few to judge below E = ln 40 (unadjusted), and nowhere else.
    if method == "none":
        assert ((verdicts == funnel.TOO_FEW) == (e <= np.log(40))).all()


@pytest.mark.parametrize("p0", [0.06, 0.3, 0.9])
@pytest.mark.parametrize("method,given", DISPERSIONS)
def test_ratio_verdicts_under_pure_chance(p0, method, given):
    rng = np.random.default_rng(18)
    n = np.maximum(np.round(expected_counts(rng) / p0), 1)
    r = rng.binomial(n.astype(np.int64), p0)
    y, s = funnel.proportion_scale(r, n, p0)
    verdicts = funnel.proportion_verdicts(r, n, p0, _dispersion(given, y, p0, s), method)
    assert_at_most_nominal(verdicts)


def test_the_drawn_curves_would_not_keep_the_promise():
    # Why the verdicts are no longer read from the curves: at these expected counts, being
    # above the interpolated 95% curve happens to about 1 practice in 10 by chance alone.
    rng = np.random.default_rng(17)
    e = expected_counts(rng, 50_000)
    o = rng.poisson(e)
    _, upper = funnel.poisson_limits(e, 0.95)
    assert (o / e > upper).mean() > 0.025 + margin(0.025, e.size)


# --- the same through the measure table (compute_table), practices of realistic sizes ---------------


def _practices(rng: np.random.Generator, size: int) -> pl.DataFrame:
    codes = [f"P{k:05d}" for k in range(size)]
    return pl.DataFrame(
        {
            "practice_code": codes,
            "practice_name": codes,
            "pcn_code": ["N"] * size,
            "pcn_name": ["N"] * size,
            "sub_icb_code": ["S"] * size,
            "sub_icb_name": ["S"] * size,
            "icb_code": ["I"] * size,
            "icb_name": ["I"] * size,
            "list_size": np.clip(rng.lognormal(np.log(8000), 0.6, size), 750, 60_000).astype(np.int64),
            "imd_score": [10.0] * size,
            "imd_quintile": [3] * size,
        }
    )


@pytest.mark.parametrize("method", funnel.METHODS)
@pytest.mark.parametrize("per_thousand", [0.3, 8.0])  # a year's events per 1,000 patients: E ~0.1-20, ~4-500
def test_measure_table_rate_verdicts_under_pure_chance(method, per_thousand):
    rng = np.random.default_rng(19)
    practices = _practices(rng, 40_000)
    measure = dataclasses.replace(load_measures()["gpda_ct_chest"], standardise=False)
    e = practices["list_size"].to_numpy() * per_thousand / 1000
    counts = pl.DataFrame(
        {"practice_code": practices["practice_code"], "numerator": rng.poisson(e), "denominator": None},
        schema_overrides={"denominator": pl.Int64},
    )
    table, _, _ = gb.compute_table(measure, practices, counts, pl.DataFrame(), pl.DataFrame(), 12, method)
    for column in ("comparison", "comparison_unadjusted"):
        assert_at_most_nominal(table[column].to_numpy())


@pytest.mark.parametrize("method", funnel.METHODS)
def test_measure_table_ratio_verdicts_under_pure_chance(method):
    rng = np.random.default_rng(20)
    practices = _practices(rng, 40_000)
    measure = load_measures()["gpda_mri_lumbar_spine_share"]
    n = np.round(practices["list_size"].to_numpy() / 200 * rng.uniform(0.1, 2, practices.height)).astype(np.int64)
    counts = pl.DataFrame(
        {"practice_code": practices["practice_code"], "numerator": rng.binomial(n, 0.3), "denominator": n}
    )
    table, _, _ = gb.compute_table(measure, practices, counts, pl.DataFrame(), pl.DataFrame(), 12, method)
    for column in ("comparison", "comparison_unadjusted"):
        assert_at_most_nominal(table[column].to_numpy())


# --- the words next to the chart agree with it --------------------------------------------------


def test_caption_reports_each_limits_share_next_to_chance():
    from dashboard.components import gp_text

    verdicts = pl.Series(["within"] * 90 + ["above 95%"] * 4 + ["below 99.8%"] * 2 + [funnel.TOO_FEW] * 4 + [None, ""])
    calm = funnel.Dispersion(6094, 0.93, 0.0)
    caption = gp_text.dispersion_caption(calm, "additive", verdicts)
    assert caption.startswith(
        "Of the 100 practices shown with figures: 6 (6.0%) called higher or lower at 95% "
        "(chance alone: at most 5%); 2 (2.0%) called higher or lower at 99.8% (chance "
        "alone: at most 0.2%); 4 too few to judge."
    )
    # phi is not said to be 1 under chance (winsorised, it is about 0.68), and limits that the
    # method left as they were are not called widened.
    assert "1 means chance alone" not in caption and "phi = 0.93 (about 0.68 by chance alone" in caption
    assert caption.endswith("Limits: chance alone (no spread beyond chance found).")
    wide = funnel.Dispersion(6094, 1.8, 0.01)
    assert gp_text.dispersion_caption(wide, "additive", verdicts).endswith(
        "Limits: widened for real differences (additive)."
    )
    assert gp_text.dispersion_caption(wide, "none", verdicts).endswith("Limits: chance alone.")


def test_winsorised_phi_under_chance_is_about_068():
    # E z_w^2 for a standard normal clipped at its 10th and 90th percentiles (+-1.2816):
    # integral of z^2 phi(z) over |z| < 1.2816 (0.3501) + 0.2 x 1.2816^2 (0.3285) = 0.6787.
    rng = np.random.default_rng(21)
    e = rng.uniform(200, 2000, PRACTICES)
    y, s = funnel.ratio_scale(rng.poisson(e), e)
    assert funnel.estimate_dispersion(y, 1.0, s).phi == pytest.approx(0.6787, abs=0.01)
