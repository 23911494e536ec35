"""`did export dm01-waiting-list` and `dm01-reconciliation`: the DM01 sections of the waiting-times
page ("Diagnostic waiting list by DM01 test" and "DM01 reconciliation")."""

from __future__ import annotations

import argparse

import polars as pl

from did_model.scope import Scope
from queries import dm01, waiting_list
from queries.connection import Snapshot
from queries.exports import Export
from queries.exports.urgency import _filters, requested_months, urgency_filter
from queries.exports.waits import _month


def add_waiting_list_arguments(p: argparse.ArgumentParser) -> None:
    _filters(p)  # --modality is accepted and ignored: the DM01 test decides it


def build_waiting_list(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> pl.DataFrame:
    args.interval = "clock_to_procedure"
    return waiting_list.dm01_waiting_list(snap, scope, urgency_filter(snap, args))


def add_reconciliation_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", help="one provider's ODS code (default: every provider you may see)")
    p.add_argument(
        "--from", dest="first", type=_month, help="first month YYYY-MM (default: the waiting-times page's period)"
    )
    p.add_argument("--to", dest="last", type=_month, help="last month YYYY-MM")
    p.add_argument("--flagged-only", action="store_true", help="only the rows differing by more than ±10%%")


def build_reconciliation(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> pl.DataFrame:
    first, last = requested_months(snap, args)
    # No DM01 file loaded: an empty table, not an error, so that exporting every table still works.
    return dm01.reconciliation(
        snap, scope, first, last, args.provider.upper() if args.provider else None, flagged_only=args.flagged_only
    )


EXPORTS = [
    Export(
        "dm01-waiting-list",
        "DIDS v2.0 diagnostic waiting list by provider and DM01 imaging test (MRI, "
        "CT, non-obstetric ultrasound, barium enema, DEXA): median weeks, 6 weeks or more, week bands",
        add_waiting_list_arguments,
        build_waiting_list,
    ),
    Export(
        "dm01-reconciliation",
        "DID activity by month, provider and DM01 test beside a loaded DM01 file's, "
        "flagging differences over ±10 per cent",
        add_reconciliation_arguments,
        build_reconciliation,
    ),
]
