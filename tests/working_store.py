"""Read a test's working store directly (read-only), as a user of the store could see it."""

from __future__ import annotations

import duckdb

from ingest import store


def rows(store_dir, sql: str, params=None) -> list[tuple]:
    """The rows of `sql` run against the working store in `store_dir` (nothing may be writing it)."""
    con = duckdb.connect(str(store.store_path(store_dir)), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
