"""`did export waits-by-urgency`, `report-turnaround` and `waiting-list`: the DIDS v2.0 tables on
the waiting-times page ("By urgency", "Report turnaround against the 4-week standard" and
"Diagnostic waiting list")."""

from __future__ import annotations

import argparse
from datetime import date

from did_errors import UsageError
from queries import turnaround, urgency, waiting_list, waits
from queries.connection import Snapshot
from queries.exports import Export
from queries.exports.waits import add_filters


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interval", choices=list(urgency.INTERVALS), default="request_to_procedure")
    p.add_argument(
        "--by",
        choices=list(urgency.TABLES),
        default="priority",
        help="rows: one per priority type, or per modality / patient source group / provider / site / "
        "DM01 test / month and priority type; or urgent suspected cancer beside routine by modality",
    )
    _filters(p)


def add_turnaround_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--by",
        choices=list(turnaround.TABLES),
        default="priority",
        help="rows: one per priority type, modality, patient source group, provider, site or month; or "
        "the monthly share reported within 28 days as an XmR chart (Making Data Count)",
    )
    _filters(p)


def add_waiting_list_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--by",
        choices=list(waiting_list.TABLES),
        default="modality",
        help="rows: one for England, or one per modality, patient source group, provider, site, DM01 "
        "test or month; "
        "or the monthly share waiting 6 weeks or more as an XmR chart (Making Data Count)",
    )
    _filters(p)


def _filters(p: argparse.ArgumentParser) -> None:
    add_filters(p, "the waiting-times period, from April 2026; months before hold no v2.0 data: empty tables")


def requested_months(snap: Snapshot, args: argparse.Namespace) -> tuple[date, date]:
    """--from … --to, each defaulting to the waiting-times page's period."""
    default = waits.default_months(snap)
    if default is None:
        raise UsageError("the store holds no waiting-time data yet")
    first, last = args.first or default[0], args.last or default[1]
    if first > last:
        raise UsageError("the --from month is after the --to month")
    return first, last


def urgency_filter(snap: Snapshot, args: argparse.Namespace, interval: str | None = None) -> urgency.UrgencyFilter:
    """The page's filter for the command line; `interval` (default: --interval) for the tables
    that always read one."""
    first, last = requested_months(snap, args)
    # No v2.0 month in the period (they start in April 2026): the tables are empty, not an error,
    # so that exporting every table over a v1.0-only store still works.
    months = urgency.clip_months(snap, first, last) or (first, last)
    return urgency.UrgencyFilter(
        *months,
        interval=interval or args.interval,
        modality=args.modality,
        source=args.source,
        provider=args.provider.upper() if args.provider else None,
    )


def request(snap: Snapshot, args: argparse.Namespace) -> urgency.UrgencyTable:
    return urgency.UrgencyTable(urgency_filter(snap, args), args.by)


def turnaround_request(snap: Snapshot, args: argparse.Namespace) -> turnaround.TurnaroundTable:
    return turnaround.TurnaroundTable(urgency_filter(snap, args, turnaround.INTERVAL), args.by)


def waiting_list_request(snap: Snapshot, args: argparse.Namespace) -> waiting_list.WaitingListTable:
    return waiting_list.WaitingListTable(urgency_filter(snap, args, waiting_list.INTERVAL), args.by)


EXPORTS: list[Export] = [
    Export(
        "waits-by-urgency",
        "DIDS v2.0 waits by priority type (routine / urgent / urgent suspected "
        "cancer): medians, 90th percentiles, shares within 1/2/7/14/28/42 days",
        add_arguments,
        request,
        urgency.urgency_table,
    ),
    Export(
        "report-turnaround",
        "DIDS v2.0 report turnaround: reported within 28 days, over 28 days, "
        "unreported 28+ days after the procedure (as of the last day of the latest activity month)",
        add_turnaround_arguments,
        turnaround_request,
        turnaround.turnaround_table,
    ),
    Export(
        "waiting-list",
        "DIDS v2.0 diagnostic waiting list (category 01): clock start → procedure, "
        "median weeks, 6 weeks or more, week bands",
        add_waiting_list_arguments,
        waiting_list_request,
        waiting_list.waiting_list_table,
    ),
]
