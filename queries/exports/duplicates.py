"""`did export duplicates` and `did export outsourcing-gaps`: the two tables on the Outsourced
imaging page (dashboard/views/outsourced.py), built by the functions the page calls. The page has
no filters, so there is nothing to request."""

from __future__ import annotations

import polars as pl

from did_model.scope import Scope
from queries import duplicates
from queries.connection import Snapshot
from queries.exports import Export, no_arguments, no_request


def _pairs(snap: Snapshot, scope: Scope, request: None) -> pl.DataFrame:
    return duplicates.pairs_by_month(snap, scope)


def _arrangements(snap: Snapshot, scope: Scope, request: None) -> pl.DataFrame:
    return duplicates.arrangement_months(snap, scope)


EXPORTS: list[Export] = [
    Export(
        "duplicates",
        "outsourced examinations submitted by two providers, by month and provider pair",
        no_arguments,
        no_request,
        _pairs,
    ),
    Export(
        "outsourcing-gaps",
        "each outsourcing arrangement's examinations by month, and its gaps",
        no_arguments,
        no_request,
        _arrangements,
    ),
]
