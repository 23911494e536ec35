"""Statistical disclosure control, applied in one place (architecture §7).

Default (configurable): counts of 1–7 are suppressed (shown as `*`, returned as null), every
other count is rounded to the nearest 5; a rate, ratio or percentage computed from a
suppressed count is suppressed too. Zero stays zero: it discloses nothing about a person.
Central users see exact figures.

Why this default: NHS England's APC/OP/ECDS rule is 1–7 → `*` and round to 5; the DID's own
DQMI rule uses 1–2 (did-dataset.md §5.3). We take the stricter one because dashboards
combine filters freely. Both numbers are settings (`DisclosureRule`).

Secondary suppression: where a table has a total row, a single suppressed cell could be
recovered by subtraction; `protect(..., total_of=...)` also suppresses the next-smallest
cell in the same group so at least two cells are hidden.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from queries.scope import Scope

SUPPRESSED = "*"


@dataclass(frozen=True)
class DisclosureRule:
    suppress_up_to: int = 7
    round_to: int = 5

    @classmethod
    def from_env(cls) -> DisclosureRule:
        return cls(int(os.environ.get("DID_SUPPRESS_UP_TO", 7)), int(os.environ.get("DID_ROUND_TO", 5)))


def _round(col: pl.Expr, base: int) -> pl.Expr:
    # Round half up to the nearest `base` (Python's round() would round half to even).
    return ((col + base / 2) // base * base).cast(pl.Int64)


def protect(frame: pl.DataFrame, scope: Scope, counts: Iterable[str], derived: dict[str, Iterable[str]] | None = None,
            group_by: Iterable[str] | None = None, rule: DisclosureRule | None = None) -> pl.DataFrame:
    """Suppress and round `counts`; null every column in `derived[col]` whose source count is suppressed.

    `derived` maps a count column to the columns computed from it (rates, intervals,
    percentages). With `group_by`, cells in a group whose total is published are protected
    against recovery by subtraction (secondary suppression). Central scope: returned as is.
    """
    if not scope.needs_disclosure_control:
        return frame
    rule = rule or DisclosureRule.from_env()
    counts = list(counts)
    derived = derived or {}
    out = frame
    for c in counts:
        small = (pl.col(c) >= 1) & (pl.col(c) <= rule.suppress_up_to)
        flag = f"__sup_{c}"
        out = out.with_columns(small.fill_null(False).alias(flag))
        if group_by:
            out = _secondary(out, c, flag, list(group_by))
        out = out.with_columns(
            pl.when(pl.col(flag)).then(None).otherwise(_round(pl.col(c), rule.round_to)).alias(c),
            *[pl.when(pl.col(flag)).then(None).otherwise(pl.col(d)).alias(d) for d in derived.get(c, [])],
        )
    return out.drop([f"__sup_{c}" for c in counts])


def _secondary(frame: pl.DataFrame, count: str, flag: str, group_by: list[str]) -> pl.DataFrame:
    """In each group with exactly one suppressed cell, also suppress its smallest other non-zero cell."""
    ranked = frame.with_columns(
        pl.col(flag).sum().over(group_by).alias("__n_sup"),
        pl.when(~pl.col(flag) & (pl.col(count) > 0)).then(pl.col(count)).otherwise(None)
        .rank("ordinal").over(group_by).alias("__rank"),
    )
    return ranked.with_columns(
        (pl.col(flag) | ((pl.col("__n_sup") == 1) & (pl.col("__rank") == 1))).alias(flag)
    ).drop(["__n_sup", "__rank"])


def display(value) -> str:
    """How a protected count reads on a page or in a CSV: `*` for suppressed."""
    return SUPPRESSED if value is None else f"{value:,}"
