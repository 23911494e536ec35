"""Statistical disclosure control, applied in one place (architecture §7; docs/disclosure.md, ADR 7).

Everything that leaves the central team goes through two steps, in this order:

1. `perturb` — as soon as a query has its counts, each non-zero count `n` becomes
   `p = n + e` (reflected at 1: 0 → 2, −1 → 3), where `e` in {-2, ..., +2} is drawn from a keyed hash of the cell: what
   is counted (`context` and the cell's `keys`), the true count, and a secret kept in the store
   (`cell_secret`). This is the cell-key method ONS used for Census 2021's flexible table builder:
   the same cell always gets the same `e` (asking again, from another page or export, teaches
   nothing), another cell gets an independent one, so a total minus its parts, or an area minus
   its sub-areas, leaves the hidden cell plus noise that cannot be taken out. Every rate, share,
   interval, standardised rate, expected value, funnel position, verdict and rank is then
   computed from `p`, never from `n`: nothing shown can be multiplied or solved back to `n`.
2. `protect` — what a person sees of `p`: 0 stays 0 (it discloses no one); 1–7 is suppressed
   (`*`; null in the frame) together with every figure derived from it; anything else is rounded
   to the nearest 5 (half up, so never below 10). The frame gains a `suppressed` column (true where
   something in the row is hidden) so that a CSV can write `*` for a hidden cell and leave "not
   computed" (e.g. a rate from fewer than 10 events) empty. `rank_published` ranks the published
   rows only and sorts the suppressed ones to the end, so no gap or place in an ordering is left
   where a hidden value was.

Central users see exact figures: both steps return their frame unchanged for the central scope.

The rule's numbers are settings (`DisclosureRule`): NHS England's APC/OP/ECDS rule is 1–7 → `*`
and round to 5; the DID's own DQMI rule uses 1–2 (did-dataset.md §5.3). We take the stricter.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

import did_settings
from did_model.layout import CELL_KEY_SECRET
from did_model.scope import Scope

SUPPRESSED = "*"
SUPPRESSED_COLUMN = "suppressed"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DisclosureRule:
    suppress_up_to: int = 7
    round_to: int = 5
    noise: int = 2  # largest perturbation either way; 0 turns perturbation off (attack tests)

    @classmethod
    def from_settings(cls) -> DisclosureRule:
        """The deployment's rule (did_settings: $DID_SUPPRESS_UP_TO, $DID_ROUND_TO, $DID_PERTURB_UP_TO)."""
        s = did_settings.current()
        return cls(s.suppress_up_to, s.round_to, s.perturb_up_to)


# --- the secret --------------------------------------------------------------------------------

_fallback: dict[str, bytes] = {}


def cell_secret(snap) -> bytes:
    """The store's perturbation secret, published in the snapshot's `store_meta`.

    A snapshot published before the store had one (or a hand-made test store) gets a secret for
    this process only, so its noise is not predictable from the code; the next publish records
    a lasting one.
    """
    meta = getattr(snap, "meta", None) or {}
    secret = meta.get(CELL_KEY_SECRET)
    if secret:
        return secret.encode("ascii")
    version = getattr(snap, "version", "")
    if version not in _fallback:
        log.warning("snapshot %s has no %s: perturbing with a secret for this process only", version, CELL_KEY_SECRET)
        _fallback[version] = os.urandom(20)
    return _fallback[version]


# --- step 1: perturb -----------------------------------------------------------------------------


def _noise(secret: bytes, context: str, count: str, key_text: str, n: int, width: int) -> int:
    message = "\x1f".join((context, count, key_text, str(n))).encode("utf-8")
    digest = hashlib.blake2b(message, key=secret[:64], digest_size=8).digest()
    return int.from_bytes(digest, "big") % (2 * width + 1) - width


def perturb_values(
    secret: bytes,
    context: str,
    count: str,
    keys: Sequence[str],
    values: Sequence[int | None],
    rule: DisclosureRule | None = None,
) -> list[int | None]:
    """`p` for each true count (see the module notes); `keys[i]` names cell i within `context`."""
    rule = rule or DisclosureRule.from_settings()
    out: list[int | None] = []
    for key_text, n in zip(keys, values, strict=True):
        if n is None or n <= 0 or rule.noise <= 0:
            out.append(n)
        else:  # reflected at 1, so that a true 1 is no likelier than its neighbours to show as 1
            p = int(n) + _noise(secret, context, count, key_text, int(n), rule.noise)
            out.append(p if p >= 1 else 2 - p)
    return out


def perturb(
    snap,
    frame: pl.DataFrame,
    scope: Scope,
    counts: Iterable[str],
    keys: Iterable[str],
    context: Iterable[object],
    rule: DisclosureRule | None = None,
) -> pl.DataFrame:
    """Replace each of `counts` by its perturbed value, for everyone but the central team.

    `context` says what is counted (the query and every filter that defines the set of records,
    never where it is shown); `keys` are the columns that name a cell within it. The same cell
    reached from two pages must have the same context and keys, so it gets the same noise.
    """
    if not scope.needs_disclosure_control or frame.is_empty():
        return frame
    rule = rule or DisclosureRule.from_settings()
    secret = cell_secret(snap)
    context_text = "\x1e".join("" if c is None else str(c) for c in context)
    keys = list(keys)
    key_text = (
        frame.select(
            pl.concat_str([pl.col(k).cast(pl.String).fill_null("\x00") for k in keys], separator="\x1e").alias("k")
        )["k"].to_list()
        if keys
        else [""] * frame.height
    )
    return frame.with_columns(
        pl.Series(
            c,
            perturb_values(secret, context_text, c, key_text, frame[c].to_list(), rule),
            dtype=frame.schema[c] if frame.schema[c].is_integer() else pl.Int64,
        )
        for c in counts
    )


# --- step 2: protect -------------------------------------------------------------------------------


def _round(col: pl.Expr, base: int) -> pl.Expr:
    # Round half up to the nearest `base` (Python's round() would round half to even).
    return ((col + base / 2) // base * base).cast(pl.Int64)


def protect(
    frame: pl.DataFrame,
    scope: Scope,
    counts: Iterable[str],
    derived: dict[str, Iterable[str]] | None = None,
    rule: DisclosureRule | None = None,
) -> pl.DataFrame:
    """Suppress and round the (already perturbed) `counts`; null every column in `derived[c]` where
    count `c` is suppressed; add the `suppressed` column. Central scope: returned as is.

    `derived` maps a count column to the columns that must not be shown without it: anything
    computed from it, and anything that would place the hidden count (a denominator, an
    expected value, a funnel position, a rank).
    """
    if not scope.needs_disclosure_control:
        return frame
    rule = rule or DisclosureRule.from_settings()
    counts = list(counts)
    derived = derived or {}
    flags = [f"__sup_{c}" for c in counts]
    out = frame.with_columns(
        ((pl.col(c) >= 1) & (pl.col(c) <= rule.suppress_up_to)).fill_null(False).alias(f)
        for c, f in zip(counts, flags, strict=True)
    )
    hidden: dict[str, pl.Expr] = {}
    for c, f in zip(counts, flags, strict=True):
        for col in (c, *derived.get(c, [])):
            hidden[col] = hidden[col] | pl.col(f) if col in hidden else pl.col(f)
    out = out.with_columns(
        *[
            pl.when(cond)
            .then(None)
            .otherwise(_round(pl.col(col), rule.round_to) if col in counts else pl.col(col))
            .alias(col)
            for col, cond in hidden.items()
        ],
        pl.any_horizontal([pl.col(f) for f in flags]).alias("__any"),
    )
    if SUPPRESSED_COLUMN in frame.columns:
        out = out.with_columns((pl.col(SUPPRESSED_COLUMN) | pl.col("__any")).alias(SUPPRESSED_COLUMN))
    else:
        out = out.with_columns(pl.col("__any").alias(SUPPRESSED_COLUMN))
    return out.drop([*flags, "__any"])


def rank_published(
    frame: pl.DataFrame, by: str, name: str, descending: bool = True, over: str | None = None
) -> pl.DataFrame:
    """Rank the rows whose `by` is shown (1 = highest when descending), leaving suppressed rows
    unranked; ties share the lower rank. Works for any scope (central has no suppressed rows)."""
    shown = pl.col(by).is_not_null()
    if SUPPRESSED_COLUMN in frame.columns:
        shown = shown & ~pl.col(SUPPRESSED_COLUMN)
    rank = pl.when(shown).then(pl.col(by)).otherwise(None).rank("min", descending=descending)
    if over is not None:
        rank = rank.over(over)
    return frame.with_columns(rank.cast(pl.Int64).alias(name))


def suppressed_last(frame: pl.DataFrame) -> pl.DataFrame:
    """Suppressed rows after every published one, otherwise in the order given (stable)."""
    if SUPPRESSED_COLUMN not in frame.columns:
        return frame
    return frame.sort(SUPPRESSED_COLUMN, maintain_order=True)


# Columns that say which row it is, not what was counted: an empty one is never a hidden figure
# (an unnamed practice has no code; a generalised one no IMD quintile).
_IDENTITY_SUFFIXES = ("_code", "_name", "_band", "_label")
_IDENTITY = frozenset({"code", "name", "label", "level", "imd_quintile", "list_size"})


def for_csv(frame: pl.DataFrame) -> pl.DataFrame:
    """A protected frame as a CSV shows it: on a row with something suppressed, every empty
    figure reads `*`; elsewhere an empty cell means "not computed" or "no data"."""
    if SUPPRESSED_COLUMN not in frame.columns:
        return frame
    hidden = pl.col(SUPPRESSED_COLUMN).fill_null(False)
    figures = [
        c
        for c, t in frame.schema.items()
        if c != SUPPRESSED_COLUMN
        and c not in _IDENTITY
        and not c.endswith(_IDENTITY_SUFFIXES)
        and (t.is_numeric() or t == pl.String)
    ]
    return frame.with_columns(
        pl.when(hidden & pl.col(c).is_null()).then(pl.lit(SUPPRESSED)).otherwise(pl.col(c).cast(pl.String)).alias(c)
        for c in figures
    )


def display(value) -> str:
    """How a protected count reads on a page: `*` for suppressed."""
    return SUPPRESSED if value is None else f"{value:,}"
