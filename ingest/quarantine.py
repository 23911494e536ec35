"""Quarantine: the raw text of rejected records, the only place raw identifiers are kept.

Only the submitting provider and the central team may read it (enforced in queries/). It is
purged after a retention period: `did quarantine purge --older-than DAYS`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from did_errors import UsageError


def purge(con: duckdb.DuckDBPyConnection, older_than_days: int, now: datetime | None = None) -> int:
    """Delete quarantined rows older than `older_than_days`; returns how many were deleted."""
    if older_than_days < 0:
        raise UsageError("--older-than must be 0 or more days")
    now = now or datetime.now(UTC).replace(tzinfo=None)
    cutoff = now - timedelta(days=older_than_days)
    return con.execute("DELETE FROM quarantine WHERE quarantined_at < ?", [cutoff]).fetchall()[0][0]
