"""`did export NAME`: the tables behind the dashboard's views, as CSV or Parquet.

Each module in this package defines `EXPORTS: list[Export]`. An export keeps the command line
apart from the table: `add_arguments` declares its options, `request` turns the parsed command line
into a typed, frozen request object (the filters, with their defaults applied and checked) and is the
only place a Namespace is read, and `table(snap, scope, request)` returns the table. The request
types live in `queries/` beside the filters they wrap, and the page builds the same object from its
widgets and calls the same `table` function, so a page and its export give the same table by
construction (tests check it too), scoped to the user and disclosure-controlled alike.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import polars as pl

from did_errors import UsageError
from did_model.nicip import MODALITIES, PET_MODALITY
from did_model.scope import Scope
from queries.connection import Snapshot
from queries.disclosure import for_csv
from queries.plugins import discover

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Every modality a record can have, as the pages name them ('Unknown': no NICIP modality).
MODALITY_NAMES: tuple[str, ...] = tuple(dict.fromkeys([*MODALITIES.values(), PET_MODALITY, "Unknown"]))


def modality(text: str) -> str:
    """An argparse type for `--modality`: a modality name, any case. An unknown one is an error
    listing the choices (a filter matching nothing would give an empty table that looks like data)."""
    for name in MODALITY_NAMES:
        if text.strip().casefold() == name.casefold():
            return name
    raise argparse.ArgumentTypeError(f"{text!r} is not a modality; choose one of: {', '.join(MODALITY_NAMES)}")


def check_choice(what: str, value: str, valid: list[str]) -> None:
    """ValueError listing the valid values when `value` is not one of them (after the command line
    is parsed, for values only the store knows, such as site codes)."""
    if value not in valid:
        listed = ", ".join(valid[:40]) + (f" and {len(valid) - 40} more" if len(valid) > 40 else "")
        raise UsageError(f"there is no {what} {value!r}; choose one of: {listed or 'none in the store'}")


R = TypeVar("R")


@dataclass(frozen=True)
class Export(Generic[R]):
    """`did export NAME`: its options, the request they make, and the table for a request."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    request: Callable[[Snapshot, argparse.Namespace], R]
    table: Callable[[Snapshot, Scope, R], pl.DataFrame]

    def build(self, snap: Snapshot, scope: Scope, args: argparse.Namespace) -> pl.DataFrame:
        """The table for a parsed command line (what `did export` writes)."""
        return self.table(snap, scope, self.request(snap, args))


def or_empty(
    table: Callable[[Snapshot, Scope, R], pl.DataFrame],
) -> Callable[[Snapshot, Scope, R | None], pl.DataFrame]:
    """`table`, or an empty table for no request (the store holds no period to ask about), so that
    exporting every table over an empty store still works."""

    def table_or_empty(snap: Snapshot, scope: Scope, request: R | None) -> pl.DataFrame:
        return pl.DataFrame() if request is None else table(snap, scope, request)

    return table_or_empty


def no_arguments(p: argparse.ArgumentParser) -> None:
    """An export without options (its page has no filters)."""


def no_request(snap: Snapshot, args: argparse.Namespace | None) -> None:
    """The request of an export without options: there is nothing to choose."""
    return None


def registry() -> dict[str, Export]:
    return discover(sys.modules[__name__], "EXPORTS")


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula get a leading apostrophe (OWASP CSV injection)."""
    text_cols = [c for c, t in frame.schema.items() if t == pl.String]
    pattern = "^[" + "".join("\\" + ch if ch in "-+" else ch for ch in FORMULA_START) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(pattern)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text_cols
    )


def write(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    """Write atomically: a partial file never appears under the final name."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        if fmt == "csv":
            for_csv(neutralise_formulas(frame)).write_csv(tmp)
        elif fmt == "parquet":
            frame.write_parquet(tmp)
        else:
            raise UsageError(f"unknown format {fmt!r}; use csv or parquet")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    """The CSV a page offers for download: the same bytes `did export --format csv` writes
    (a suppressed figure reads `*`: `queries.disclosure.for_csv`)."""
    return for_csv(neutralise_formulas(frame)).write_csv().encode("utf-8")
