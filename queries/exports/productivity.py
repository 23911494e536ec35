"""`did export scanner-productivity`: the tables of "Scans per operating hour" on the scanner page
(dashboard/views/equipment.py; queries/productivity.py)."""

from __future__ import annotations

import argparse

import polars as pl

from did_errors import UsageError
from did_model.scope import Scope
from queries import equipment, productivity
from queries.connection import Snapshot
from queries.exports import Export, check_choice
from queries.exports.equipment import _site_codes, add_scanner_filters


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_scanner_filters(
        p,
        ("site", "hour"),
        "England then one per site, or one per weekday and hour the examinations started",
        "--by hour",
        "; months before April 2026 hold no times",
    )


def productivity_filter(snap: Snapshot, args: argparse.Namespace) -> productivity.ProductivityFilter:
    """The page's period (its months with procedure times). With none, the months asked for, so
    the tables are empty rather than an error (exporting every table over a v1.0-only store works)."""
    default = equipment.default_months(snap)
    if default is None:
        raise UsageError("the store holds no examinations yet")
    first, last = args.first or default[0], args.last or default[1]
    if first > last:
        raise UsageError("the --from month is after the --to month")
    months = productivity.timed_months(snap, first, last) if productivity.has_timestamps(snap) else None
    return productivity.ProductivityFilter(args.modality, *(months or (first, last)))


def build(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> pl.DataFrame:
    if not productivity.has_timestamps(snap):
        raise UsageError("this snapshot was published before scans per operating hour were added: publish again")
    f = productivity_filter(snap, args)
    provider = args.provider.upper() if args.provider else None
    site = args.site.upper() if args.site else None
    if site is not None and (args.by != "hour" or provider is None):
        raise UsageError("--site goes with --by hour and the site's --provider")
    if site is not None:
        check_choice("site" + (f" of {provider}" if provider else ""), site, _site_codes(snap, provider))
    if args.by == "site":
        return productivity.site_productivity(snap, scope, f, provider)
    return productivity.hour_weekday(snap, scope, f, provider, site)


EXPORTS = [
    Export(
        "scanner-productivity",
        "scans per operating hour (DIDS v2.0 procedure times) by site against "
        "the national guidance bands, or by weekday and hour; measured utilisation of scheduled hours",
        add_arguments,
        build,
    )
]
