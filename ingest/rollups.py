"""Small aggregate tables built at publish time for the dashboard's hot paths (architecture §8).

Every dashboard query reads one of these, never the record table per rerun. They are rebuilt
from `record` in full on each publish: simple, and at 45 M records a year a single GROUP BY
pass is seconds. Each rollup is declared once here as (name, SELECT); the tests compare each
with a naive recomputation.
"""

from __future__ import annotations

import duckdb

ROLLUPS: dict[str, str] = {
    # Activity by month, provider, modality, patient source and GP-direct-access test group.
    "rollup_activity": """
        SELECT activity_month, provider_code, modality, patient_source, test_group,
               count(*)::BIGINT AS records
        FROM record
        GROUP BY ALL
    """,
}


def build_rollups(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every rollup table from the current records, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for name, select in ROLLUPS.items():
            # `name` comes from the constant above, never from input.
            con.execute(f"CREATE OR REPLACE TABLE {name} AS {select}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
