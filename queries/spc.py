"""Statistical process control: the XmR chart of NHS England's "Making Data Count" (MDC), with
its variation and assurance icons (docs/spc.md gives the method and its sources).

For a monthly series x₁ … xₙ, split at the stated change points into segments, each segment
gets its own:
- mean, and moving ranges |xᵢ − xᵢ₋₁| (within the segment), with their mean MR̄;
- natural process limits mean ± 2.66 × MR̄ (2.66 = 3 / d₂, d₂ = 1.128 for ranges of two), so
  one sigma is MR̄ / 1.128;
- special-cause rules, as MDC states them (NHS England, "Making Data Count: strengthening your
  decisions", 2019; the NHS-R "plot the dots" implementation of it), each read within a segment:
  `outside`: a point above the upper or below the lower limit;
  `shift`: a run of 7 or more consecutive points all above, or all below, the mean (a point on
  the mean breaks the run) — every point of the run is marked;
  `trend`: 7 or more consecutive points each higher (or each lower) than the one before (a tie
  breaks the run) — every point of the run is marked;
  `two_of_three`: 2 or 3 of 3 consecutive points beyond two sigma, all three on the same side
  of the mean — the points beyond are marked.
Limits move only at a change point: a change the people who own the measure can name (the
`CHANGE_POINTS` list), never because the data moved. Fewer than 2 points in a segment give no
limits; MDC advises at least 15 points before limits are trusted, so a page says how many there
are.

The icons read the latest point (variation) and the latest segment's limits (assurance):
`variation` is common cause, or special cause improvement / concern, high or low, by which
direction is better for the measure; `assurance` is consistently passing, consistently failing
or hit and miss against a target, from where the target lies relative to the process limits.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from did_model.rollup_defs.urgency import V2_FIRST_MONTH

LIMIT_FACTOR = 2.66
D2 = 1.128
SHIFT_RUN = 7
TREND_RUN = 7
RULES = ("outside", "shift", "trend", "two_of_three")
_NUMBERS = ("moving_range", "mean", "lower_limit", "upper_limit")

# The stated change points of every monthly series on the waiting-times page: the first month of
# a new process. DIDS v2.0 (activity from April 2026) changed how the dates behind each wait
# are collected (timestamps with a UK offset, a priority type, a clock start), so a series that
# crosses it is two processes.
CHANGE_POINTS: tuple[tuple[date, str], ...] = (
    (date.fromisoformat(V2_FIRST_MONTH), "DIDS v2.0 collection starts: timestamps, priority type, clock start"),
)
CHANGE_POINT_MONTHS: tuple[date, ...] = tuple(month for month, _ in CHANGE_POINTS)

# Targets the assurance icon reads (docs/spc.md): DM01's operational standard, fewer than 1% of
# patients waiting 6 weeks or more for a diagnostic test (NHS Constitution; lower is better), and
# NHS England's reporting guidance (August 2023), no examination waiting more than 4 weeks for its
# report, so 100% reported within 28 days (higher is better). A median wait has no national target.
SIX_WEEK_TARGET = 0.01
REPORT_TARGET = 1.0


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


def _trend_runs(values: Sequence[float]) -> list[int]:
    """+1 / −1 for each point in a run of TREND_RUN or more points each above (each below) the
    one before, else 0."""
    steps = [0] + [(v > u) - (v < u) for u, v in itertools.pairwise(values)]
    marked = [0] * len(values)
    i = 1
    while i < len(values):
        j = i
        while j + 1 < len(values) and steps[j + 1] == steps[i] != 0:
            j += 1
        if steps[i] != 0 and j - i + 2 >= TREND_RUN:  # steps i..j join points i-1..j
            marked[i - 1 : j + 1] = [steps[i]] * (j - i + 2)
        i = j + 1
    return marked


def _two_of_three(side: list[int], beyond: list[int]) -> list[bool]:
    """Points beyond two sigma that are 2 (or 3) of 3 consecutive points beyond it on one side,
    the three all on that side of the mean (plot the dots' reading, which stops a point across
    the mean from completing a pattern)."""
    marked = [False] * len(side)
    for i in range(len(side) - 2):
        for s in (1, -1):
            window = range(i, i + 3)
            hits = [j for j in window if beyond[j] == s]
            if len(hits) >= 2 and all(side[j] == s for j in window):
                for j in hits:
                    marked[j] = True
    return marked


def _segment(x: list[float]) -> dict[str, list]:
    """The chart columns of one segment (its own mean, limits and rules) plus `direction`: the
    side of each special-cause point, +1 high, −1 low (a trend point by the trend's direction)."""
    n = len(x)
    steps = [abs(b - a) for a, b in itertools.pairwise(x)]
    ranges: list[float | None] = [None, *steps]
    if n < 2:
        return {
            "moving_range": ranges[:n],
            "mean": [x[0]] * n if x else [],
            "lower_limit": [None] * n,
            "upper_limit": [None] * n,
            **{r: [False] * n for r in RULES},
            "direction": [0] * n,
        }
    mean = sum(x) / n
    mr_bar = sum(steps) / (n - 1)
    upper, lower = mean + LIMIT_FACTOR * mr_bar, mean - LIMIT_FACTOR * mr_bar
    sigma = mr_bar / D2
    side = [(v > mean) - (v < mean) for v in x]
    beyond = [(v > mean + 2 * sigma) - (v < mean - 2 * sigma) for v in x]
    trend = _trend_runs(x)
    rules = {
        "outside": [v > upper or v < lower for v in x],
        "shift": _mark_runs(side, SHIFT_RUN),
        "trend": [t != 0 for t in trend],
        "two_of_three": _two_of_three(side, beyond),
    }
    direction = [
        side[i]
        if rules["outside"][i]
        else trend[i]
        if trend[i]
        else side[i]
        if rules["two_of_three"][i] or rules["shift"][i]
        else 0
        for i in range(n)
    ]
    return {
        "moving_range": ranges,
        "mean": [mean] * n,
        "lower_limit": [lower] * n,
        "upper_limit": [upper] * n,
        **rules,
        "direction": direction,
    }


def xmr(values: Sequence[float], change_points: Sequence[int] = ()) -> pl.DataFrame:
    """value, segment, moving_range, mean, lower_limit, upper_limit, one column per rule in RULES,
    `special_cause` (any rule) and `direction` (+1 / −1: the special cause is high / low; 0 none),
    one row per point in order. `change_points` are the indices where a new segment starts: its
    mean, limits, moving ranges and rules are its own. A null value is not allowed (a month
    without a figure has no place on an XmR chart: leave it out and say so)."""
    x = [float(v) for v in values]
    starts = sorted({0, *(i for i in change_points if 0 < i < len(x))})
    columns: dict[str, list] = {
        "segment": [],
        "moving_range": [],
        "mean": [],
        "lower_limit": [],
        "upper_limit": [],
        **{r: [] for r in RULES},
        "direction": [],
    }
    for k, (a, b) in enumerate(zip(starts, [*starts[1:], len(x)], strict=True)):
        part = _segment(x[a:b])
        columns["segment"] += [k] * (b - a)
        for name, col in part.items():
            columns[name] += col
    special = [any(columns[r][i] for r in RULES) for i in range(len(x))]
    return pl.DataFrame(
        {
            "value": x,
            **{k: v for k, v in columns.items() if k != "direction"},
            "special_cause": special,
            "direction": columns["direction"],
        },
        schema_overrides={"segment": pl.Int32, "direction": pl.Int8, **{c: pl.Float64 for c in _NUMBERS}},
    )


def with_xmr(
    by_month: pl.DataFrame,
    value: str,
    month: str = "activity_month",
    change_points: Sequence[date] = CHANGE_POINT_MONTHS,
) -> pl.DataFrame:
    """A by-month table's `value` series as an XmR chart: month, the value and the chart columns.
    Months whose value is hidden or not worked out (null) are left out of the chart (the page
    says how many points there are), never filled in. A change point month starts a new segment
    at the first month shown on or after it; one at or before the first month shown changes nothing."""
    shown = by_month.filter(pl.col(value).is_not_null()).sort(month)
    months = shown[month].to_list()
    starts = [next((i for i, m in enumerate(months) if m >= c), len(months)) for c in change_points]
    chart = xmr(shown[value].to_list(), starts).drop("value")
    return shown.select(month, value).hstack(chart)


@dataclass(frozen=True)
class Icon:
    """An MDC icon: `key` names the picture (and its letter), `label` says it in words."""

    key: str
    label: str
    letter: str = ""


VARIATION = {
    "common": Icon("common", "Common cause variation: no significant change"),
    "improvement_high": Icon("improvement_high", "Special cause variation: improvement (higher)", "H"),
    "improvement_low": Icon("improvement_low", "Special cause variation: improvement (lower)", "L"),
    "concern_high": Icon("concern_high", "Special cause variation: concern (higher)", "H"),
    "concern_low": Icon("concern_low", "Special cause variation: concern (lower)", "L"),
}
ASSURANCE = {
    "pass": Icon(
        "pass",
        "Consistently passing the target: it lies outside the process limits, on the side the process meets",
        "P",
    ),
    "fail": Icon(
        "fail",
        "Consistently failing the target: it lies outside the process limits, on the side the process misses",
        "F",
    ),
    "hit_and_miss": Icon(
        "hit_and_miss",
        "Hit and miss: the target lies inside the process limits, so the "
        "process will sometimes meet it and sometimes not",
        "?",
    ),
}


def variation(chart: pl.DataFrame, higher_is_better: bool) -> Icon | None:
    """The variation icon of the latest point: special cause improvement or concern, high or
    low, when that point meets any rule; else common cause. None for an empty chart."""
    if chart.is_empty():
        return None
    last = chart.row(-1, named=True)
    if not last["special_cause"] or not last["direction"]:
        return VARIATION["common"]
    high = last["direction"] > 0
    return VARIATION[f"{'improvement' if high == higher_is_better else 'concern'}_{'high' if high else 'low'}"]


def assurance(chart: pl.DataFrame, target: float | None, higher_is_better: bool) -> Icon | None:
    """Will the process meet `target`? From the latest segment's limits: a target beyond the
    upper limit is always missed when higher is better (always met when lower is better), below
    the lower limit the reverse, between them hit and miss. None without a target or limits."""
    if target is None or chart.is_empty() or chart["upper_limit"][-1] is None:
        return None
    upper, lower = chart["upper_limit"][-1], chart["lower_limit"][-1]
    if target > upper:
        return ASSURANCE["fail" if higher_is_better else "pass"]
    if target < lower:
        return ASSURANCE["pass" if higher_is_better else "fail"]
    return ASSURANCE["hit_and_miss"]
