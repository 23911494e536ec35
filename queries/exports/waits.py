"""`did export waiting-times`: the tables behind the waiting-times page (dashboard/views/waiting_times.py)."""

from __future__ import annotations

import argparse
from datetime import date

from did_errors import UsageError
from queries import waits
from queries.connection import Snapshot
from queries.exports import Export, modality


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--interval", choices=list(waits.INTERVALS), default="request_to_test")
    p.add_argument(
        "--by",
        choices=list(waits.TABLES),
        default="modality",
        help="rows: one per modality, patient source group, provider or month; the day-by-day "
        "distribution; records with missing dates per interval; or the monthly median as an "
        "XmR chart (Making Data Count)",
    )
    add_filters(p, "12 months to the latest complete month")


def add_filters(p: argparse.ArgumentParser, default_period: str) -> None:
    """The page's filters: modality, patient source group, provider and activity months."""
    p.add_argument("--modality", type=modality, help="one modality, as the page names it (default: all)")
    p.add_argument("--source", choices=list(waits.SOURCE_GROUPS), help="patient source group (default: all)")
    p.add_argument("--provider", help="one provider's ODS code (default: all)")
    p.add_argument(
        "--from", dest="first", type=_month, help=f"first activity month YYYY-MM (default: {default_period})"
    )
    p.add_argument("--to", dest="last", type=_month, help="last activity month YYYY-MM")


def wait_filter(snap: Snapshot, args: argparse.Namespace) -> waits.WaitFilter:
    default = waits.default_months(snap)
    if default is None:
        raise UsageError("the store holds no waiting-time data yet")
    return waits.WaitFilter(
        first_month=args.first or default[0],
        last_month=args.last or default[1],
        interval=args.interval,
        modality=args.modality,
        source=args.source,
        provider=args.provider.upper() if args.provider else None,
    )


def request(snap: Snapshot, args: argparse.Namespace) -> waits.WaitTable:
    return waits.WaitTable(wait_filter(snap, args), args.by)


EXPORTS: list[Export] = [
    Export(
        "waiting-times",
        "waiting-time medians, 90th percentiles and shares within 1/7/14/42 days",
        add_arguments,
        request,
        waits.wait_table,
    )
]
