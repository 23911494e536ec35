"""Statistical process control: the XmR chart of NHS England's "Making Data Count" (MDC).

For a monthly series x₁ … xₙ (one baseline: every point; limits are not recalculated):
- the mean, and the moving ranges |xᵢ − xᵢ₋₁|, with their mean MR̄;
- the natural process limits mean ± 2.66 × MR̄ (2.66 = 3 / d₂, d₂ = 1.128 for ranges of two), so
  one sigma is MR̄ / 1.128;
- special-cause rules, as MDC states them (NHS England, "Making Data Count", 2019; its SPC tool):
  `outside`: a point above the upper or below the lower limit;
  `shift`: a run of 7 or more consecutive points all above, or all below, the mean (a point on
  the mean breaks the run) — every point of the run is marked;
  `trend`: 6 or more consecutive points each higher (or each lower) than the one before (a tie
  breaks the run) — every point of the run is marked;
  `two_of_three`: 2 or 3 of 3 consecutive points beyond two sigma on the same side of the mean —
  the points beyond are marked.
Fewer than 2 points give no limits; MDC advises at least 15 points before limits are trusted, so
a page says how many there are.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import polars as pl

LIMIT_FACTOR = 2.66
D2 = 1.128
SHIFT_RUN = 7
TREND_RUN = 6
RULES = ("outside", "shift", "trend", "two_of_three")


def _mark_runs(flags: list[int], length: int) -> list[bool]:
    """True for each index inside a run of at least `length` equal non-zero flags."""
    marked = [False] * len(flags)
    start = 0
    for i in range(1, len(flags) + 1):
        if i == len(flags) or flags[i] != flags[start]:
            if flags[start] != 0 and i - start >= length:
                marked[start:i] = [True] * (i - start)
            start = i
    return marked


def _trend_runs(values: Sequence[float]) -> list[bool]:
    """Points in a run of TREND_RUN or more points each above (or each below) the one before."""
    steps = [0] + [(v > u) - (v < u) for u, v in itertools.pairwise(values)]
    marked = [False] * len(values)
    i = 1
    while i < len(values):
        j = i
        while j + 1 < len(values) and steps[j + 1] == steps[i] != 0:
            j += 1
        if steps[i] != 0 and j - i + 2 >= TREND_RUN:  # steps i..j join points i-1..j
            marked[i - 1:j + 1] = [True] * (j - i + 2)
        i = j + 1
    return marked


def xmr(values: Sequence[float]) -> pl.DataFrame:
    """value, moving_range, mean, lower_limit, upper_limit, one column per rule in RULES and
    `special_cause` (any rule), one row per point in order. A null value is not allowed (a month
    without a figure has no place on an XmR chart: leave it out and say so)."""
    x = [float(v) for v in values]
    n = len(x)
    ranges = [abs(b - a) for a, b in itertools.pairwise(x)]
    if n < 2:
        mean = x[0] if x else None
        return pl.DataFrame({"value": x, "moving_range": [None] * n, "mean": [mean] * n,
                             "lower_limit": [None] * n, "upper_limit": [None] * n,
                             **{r: [False] * n for r in RULES}, "special_cause": [False] * n},
                            schema_overrides={c: pl.Float64 for c in ("moving_range", "mean", "lower_limit",
                                                                      "upper_limit")})
    mean = sum(x) / n
    mr_bar = sum(ranges) / len(ranges)
    upper, lower = mean + LIMIT_FACTOR * mr_bar, mean - LIMIT_FACTOR * mr_bar
    sigma = mr_bar / D2
    side = [(v > mean) - (v < mean) for v in x]
    beyond = [(v > mean + 2 * sigma) - (v < mean - 2 * sigma) for v in x]
    two_of_three = [False] * n
    for i in range(n - 2):
        for s in (1, -1):
            hits = [j for j in range(i, i + 3) if beyond[j] == s]
            if len(hits) >= 2:
                for j in hits:
                    two_of_three[j] = True
    rules = {
        "outside": [v > upper or v < lower for v in x],
        "shift": _mark_runs(side, SHIFT_RUN),
        "trend": _trend_runs(x),
        "two_of_three": two_of_three,
    }
    return pl.DataFrame({
        "value": x, "moving_range": [None, *ranges], "mean": [mean] * n,
        "lower_limit": [lower] * n, "upper_limit": [upper] * n, **rules,
        "special_cause": [any(rules[r][i] for r in RULES) for i in range(n)],
    }, schema_overrides={"moving_range": pl.Float64})


def with_xmr(by_month: pl.DataFrame, value: str, month: str = "activity_month") -> pl.DataFrame:
    """A by-month table's `value` series as an XmR chart: month, the value and the chart columns.
    Months whose value is hidden or not worked out (null) are left out of the chart (the page
    says how many points there are), never filled in."""
    shown = by_month.filter(pl.col(value).is_not_null()).sort(month)
    chart = xmr(shown[value].to_list()).drop("value")
    return shown.select(month, value).hstack(chart)
