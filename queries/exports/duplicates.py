"""`did export duplicates`: the table on the Outsourced imaging page (dashboard/views/outsourced.py)."""

from __future__ import annotations

import argparse

import polars as pl

from queries import duplicates
from queries.connection import Snapshot
from queries.exports import Export
from queries.scope import Scope


def _build(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> pl.DataFrame:
    return duplicates.pairs_by_month(snap, scope)


EXPORTS = [Export("duplicates", "outsourced examinations submitted by two providers, by month and provider pair",
                  lambda p: None, _build)]
