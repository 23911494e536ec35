"""`did export duplicates` and `did export outsourcing-gaps`: the two tables on the Outsourced
imaging page (dashboard/views/outsourced.py)."""

from __future__ import annotations

import argparse

import polars as pl

from did_model.scope import Scope
from queries import duplicates
from queries.connection import Snapshot
from queries.exports import Export


def _pairs(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> pl.DataFrame:
    return duplicates.pairs_by_month(snap, scope)


def _arrangements(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> pl.DataFrame:
    return duplicates.arrangement_months(snap, scope)


EXPORTS = [
    Export(
        "duplicates",
        "outsourced examinations submitted by two providers, by month and provider pair",
        lambda p: None,
        _pairs,
    ),
    Export(
        "outsourcing-gaps",
        "each outsourcing arrangement's examinations by month, and its gaps",
        lambda p: None,
        _arrangements,
    ),
]
