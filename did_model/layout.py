"""The published store as its readers see it: where the current snapshot is, which Parquet files
hold `record`, and the store_meta key of the disclosure secret. ingest/store.py writes this
layout; queries/connection.py reads it."""

from __future__ import annotations

from pathlib import Path

import duckdb

import did_settings
from did_errors import DidError

POINTER = "CURRENT"
SNAPSHOTS = "snapshots"
RECORDS = "records"  # the Parquet partitions behind the snapshots' `record` view
PARTITIONS_TABLE = "record_partition"  # in each snapshot: which file holds which provider's records


class StoreError(DidError):
    """A problem with the store a user can act on (missing, locked, wrong version)."""


# store_meta key of the secret that keys disclosure control's perturbation (base32, so no run of
# digits for the identifier scans to trip on). Snapshots carry it: only the server reads them.
CELL_KEY_SECRET = "cell_key_secret"


def default_store_dir() -> Path:
    """The store the running entry point was given (did_settings: --store, $DID_STORE_DIR, data/store)."""
    return did_settings.current().store_dir


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def current_snapshot(store_dir: Path | None = None) -> Path | None:
    """The newest published snapshot, or None when nothing has been published yet."""
    store_dir = Path(store_dir) if store_dir else default_store_dir()
    try:
        name = (store_dir / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    path = store_dir / SNAPSHOTS / name
    return path if path.exists() else None


def record_files(con: duckdb.DuckDBPyConnection, catalog: str, column: str = "path") -> list[str]:
    """The absolute paths of the Parquet files behind `record` in the snapshot attached as `catalog`
    (`column="file"`: relative to the store directory).

    Readers that switch external access off allow exactly these files (queries/connection.py).
    Empty for a snapshot made before ADR 0006, whose `record` is a table.
    """
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main' AND table_name = ?",
        [catalog, PARTITIONS_TABLE],
    ).fetchall()[0][0]
    if not found:
        return []
    if column not in ("path", "file"):
        raise ValueError(f"{column!r} is not a column of {PARTITIONS_TABLE}")
    # The catalog name is the caller's constant (an identifier, quoted), not a value; the column
    # one of two names checked above.
    return [
        r[0]
        for r in con.execute(
            f"SELECT {column} FROM {quote_identifier(catalog)}.main.{PARTITIONS_TABLE} "  # noqa: S608
            "ORDER BY provider_code"
        ).fetchall()
    ]
