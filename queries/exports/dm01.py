"""`did export dm01-waiting-list` and `dm01-reconciliation`: the DM01 sections of the waiting-times
page ("Diagnostic waiting list by DM01 test" and "DM01 reconciliation")."""

from __future__ import annotations

import argparse

from queries import dm01, urgency, waiting_list
from queries.connection import Snapshot
from queries.exports import Export
from queries.exports.urgency import _filters, requested_months, urgency_filter
from queries.exports.waits import _month


def add_waiting_list_arguments(p: argparse.ArgumentParser) -> None:
    _filters(p)  # --modality is accepted and ignored: the DM01 test decides it


def waiting_list_request(snap: Snapshot, args: argparse.Namespace) -> urgency.UrgencyFilter:
    return waiting_list.dm01_filter(urgency_filter(snap, args, waiting_list.INTERVAL))


def add_reconciliation_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", help="one provider's ODS code (default: every provider you may see)")
    p.add_argument(
        "--from", dest="first", type=_month, help="first month YYYY-MM (default: the waiting-times page's period)"
    )
    p.add_argument("--to", dest="last", type=_month, help="last month YYYY-MM")
    p.add_argument("--flagged-only", action="store_true", help="only the rows differing by more than ±10%%")


def reconciliation_request(snap: Snapshot, args: argparse.Namespace) -> dm01.Reconciliation:
    # No DM01 file loaded: an empty table, not an error, so that exporting every table still works.
    return dm01.Reconciliation(
        *requested_months(snap, args),
        provider=args.provider.upper() if args.provider else None,
        flagged_only=args.flagged_only,
    )


EXPORTS: list[Export] = [
    Export(
        "dm01-waiting-list",
        "DIDS v2.0 diagnostic waiting list by provider and DM01 imaging test (MRI, "
        "CT, non-obstetric ultrasound, barium enema, DEXA): median weeks, 6 weeks or more, week bands",
        add_waiting_list_arguments,
        waiting_list_request,
        waiting_list.dm01_waiting_list,
    ),
    Export(
        "dm01-reconciliation",
        "DID activity by month, provider and DM01 test beside a loaded DM01 file's, "
        "flagging differences over ±10 per cent",
        add_reconciliation_arguments,
        reconciliation_request,
        dm01.reconciliation_table,
    ),
]
