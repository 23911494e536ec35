"""Rates and proportions with confidence intervals, vectorised over numpy arrays.

Methods (the same as the Public Health England / OHID Fingertips technical guidance,
"Confidence intervals" in the PHE Technical Guide, 2018, and APHO Technical Briefing 3,
"Commonly used public health statistics and their confidence intervals", 2008):

- Exact Poisson interval for a count O (Garwood 1936, via the chi-squared distribution):
  lower = chi2_{a/2}(2O) / 2, upper = chi2_{1-a/2}(2O + 2) / 2, and lower = 0 when O = 0.
- Byar's approximation (Breslow & Day 1987, vol. II p. 69) for large counts, which PHE uses
  above 388 events, where it agrees with the exact interval to better than 0.1%:
  lower = O (1 - 1/(9O) - z/(3 sqrt O))^3, upper = (O+1) (1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3.
- Crude rate = O / person-years x multiplier, its interval the count's interval over the
  same denominator (the denominator is treated as fixed, as for registered lists).
- Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3):
  (2r + z^2 +- z sqrt(z^2 + 4 r (1 - r/n))) / (2 (n + z^2)), on r successes of n.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

BYAR_ABOVE = 388  # counts above this use Byar's approximation (PHE Technical Guide)


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def poisson_interval(count, level: float = 0.95, byar_above: int | None = BYAR_ABOVE) -> tuple[np.ndarray, np.ndarray]:
    """Confidence interval for the mean of a Poisson count: exact below `byar_above`, Byar above.

    `count` is a scalar or array of non-negative integers; NaN in, NaN out. Pass
    `byar_above=None` for the exact interval everywhere.
    """
    o = np.asarray(count, dtype=float)
    alpha = 1 - level
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(o > 0, stats.chi2.ppf(alpha / 2, 2 * o) / 2, 0.0)
        upper = stats.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2
        if byar_above is not None:
            z = _z(level)
            big = o > byar_above
            safe = np.where(big, o, 1.0)
            byar_lower = safe * (1 - 1 / (9 * safe) - z / (3 * np.sqrt(safe))) ** 3
            byar_upper = (safe + 1) * (1 - 1 / (9 * (safe + 1)) + z / (3 * np.sqrt(safe + 1))) ** 3
            lower = np.where(big, byar_lower, lower)
            upper = np.where(big, byar_upper, upper)
    nan = np.isnan(o)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)


def crude_rate(count, person_years, multiplier: float | np.ndarray = 1000, level: float = 0.95):
    """(rate, lower, upper): count / person_years x multiplier with a Poisson interval.

    NaN where person_years is zero or missing.
    """
    o = np.asarray(count, dtype=float)
    py = np.asarray(person_years, dtype=float)
    lower, upper = poisson_interval(o, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(py > 0, multiplier / py, np.nan)
    return o * scale, lower * scale, upper * scale


def wilson_interval(successes, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion, as fractions (0..1). NaN where n is zero."""
    r = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = _z(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = 2 * r + z**2
        spread = z * np.sqrt(z**2 + 4 * r * (1 - r / n))
        denom = 2 * (n + z**2)
        lower = np.where(n > 0, (centre - spread) / denom, np.nan)
        upper = np.where(n > 0, (centre + spread) / denom, np.nan)
    return np.clip(lower, 0, 1), np.clip(upper, 0, 1)


def proportion(successes, n, multiplier: float = 100, level: float = 0.95):
    """(value, lower, upper): successes / n x multiplier with a Wilson interval."""
    r = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    lower, upper = wilson_interval(r, n, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(n > 0, r / n, np.nan)
    return value * multiplier, lower * multiplier, upper * multiplier
