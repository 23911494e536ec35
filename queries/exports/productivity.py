"""`did export scanner-productivity`: the tables of "Scans per operating hour" on the scanner page
(dashboard/views/equipment.py; queries/productivity.py)."""

from __future__ import annotations

import argparse

from did_errors import UsageError
from queries import equipment, productivity
from queries.connection import Snapshot
from queries.exports import Export
from queries.exports.equipment import add_scanner_filters, drill_down


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_scanner_filters(
        p,
        productivity.TABLES,
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


def request(snap: Snapshot, args: argparse.Namespace) -> productivity.ProductivityTable:
    if not productivity.has_timestamps(snap):
        raise UsageError("this snapshot was published before scans per operating hour were added: publish again")
    f = productivity_filter(snap, args)
    if args.site and (args.by != "hour" or not args.provider):
        raise UsageError("--site goes with --by hour and the site's --provider")
    return productivity.ProductivityTable(f, args.by, *drill_down(snap, args))


EXPORTS: list[Export] = [
    Export(
        "scanner-productivity",
        "scans per operating hour (DIDS v2.0 procedure times) by site against "
        "the national guidance bands, or by weekday and hour; measured utilisation of scheduled hours",
        add_arguments,
        request,
        productivity.productivity_table,
    )
]
