"""The working store and its published snapshots (architecture §4).

Layout of a store directory (default `data/store/`, or `$DID_STORE_DIR`):

    did.duckdb               the working store: only `ingest/` writes it, one writer at a time
    .lock                    held (flock) by the one writer
    snapshots/<version>.duckdb   immutable read-only copies, one per publish
    CURRENT                  the file name of the newest snapshot, replaced atomically

Why snapshots: DuckDB allows one writing process and no readers beside it, so the dashboard
never opens the working store. After each load the writer checkpoints, copies the file to a
new snapshot and swaps the CURRENT pointer with an atomic rename. Readers attach a snapshot
READ_ONLY, notice when CURRENT names a newer one and switch; they never see half a load and
never block the writer. Old snapshots are removed once two newer ones exist (a reader still
holding one keeps its open file on POSIX).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import duckdb

SCHEMA_VERSION = "1"
STORE_FILE = "did.duckdb"
POINTER = "CURRENT"
SNAPSHOTS = "snapshots"
KEEP_SNAPSHOTS = 2
_SCHEMA_SQL = Path(__file__).with_name("schema.sql")
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


class StoreError(Exception):
    """A problem with the store a user can act on (missing, locked, wrong version)."""


def default_store_dir() -> Path:
    env = os.environ.get("DID_STORE_DIR")
    return Path(env) if env else _PROJECT_ROOT / "data" / "store"


def store_path(store_dir: Path) -> Path:
    return Path(store_dir) / STORE_FILE


def exists(store_dir: Path) -> bool:
    return store_path(store_dir).exists()


def create_store(store_dir: Path) -> None:
    """Create an empty working store with the schema and the reference tables.

    Builds in a temporary file and renames it into place, so a failure leaves nothing behind.
    """
    from ingest.reference import load_reference
    from ingest.timetable import load_timetable

    store_dir = Path(store_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    target = store_path(store_dir)
    if target.exists():
        raise StoreError(f"a store already exists at {target}")
    partial = target.with_name(STORE_FILE + ".partial")
    partial.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(partial))
        try:
            con.execute(_SCHEMA_SQL.read_text())
            con.execute(
                "INSERT INTO store_meta VALUES ('schema_version', ?), ('created_at', ?)",
                [SCHEMA_VERSION, datetime.now(timezone.utc).isoformat()],
            )
            load_reference(con)
            load_timetable(con)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        Path(str(partial) + ".wal").unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def writer(store_dir: Path, create: bool = False, wait_seconds: float = 0.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single writer: an exclusive lock, then a connection to the working store.

    `create=True` makes an empty store first when there is none. Raises StoreError when
    there is no store, or when another writer holds the lock for longer than `wait_seconds`.
    """
    store_dir = Path(store_dir)
    if not exists(store_dir):
        if not create:
            raise StoreError(
                f"no store at {store_dir}: run `did demo` to build the demo store, "
                "or `did submit FILE` to start one"
            )
        store_dir.mkdir(parents=True, exist_ok=True)
    lock_file = open(store_dir / ".lock", "a+")  # noqa: SIM115 - held for the whole block
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"another load is writing to {store_dir}; try again when it has finished"
                    ) from None
                time.sleep(0.2)
        if not exists(store_dir):
            create_store(store_dir)
        con = duckdb.connect(str(store_path(store_dir)))
        try:
            _upgrade(con)
            yield con
        finally:
            con.close()
    finally:
        fcntl.flock(lock_file, fcntl.LOCK_UN)
        lock_file.close()


def _upgrade(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a store made by an older version up to the current schema (tables only ever added)."""
    con.execute(_SCHEMA_SQL.read_text())
    con.execute("ALTER TABLE record ADD COLUMN IF NOT EXISTS record_key UBIGINT")
    con.execute("UPDATE record SET record_key = md5_number_lower(site_code || '|' || accession_number) "
                "WHERE record_key IS NULL")
    has_timetable = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ref_timetable'").fetchall()[0][0]
    if not has_timetable:
        from ingest.timetable import load_timetable

        load_timetable(con)


def publish(con: duckdb.DuckDBPyConnection, store_dir: Path) -> str:
    """Build the rollups, then publish the working store as a new immutable snapshot.

    Called by the writer (holding the lock) after a load has committed. Returns the version.
    """
    from ingest.rollups import build_rollups

    store_dir = Path(store_dir)
    build_rollups(con)
    version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    con.execute(
        "INSERT OR REPLACE INTO store_meta VALUES ('snapshot_version', ?), ('published_at', ?)",
        [version, datetime.now(timezone.utc).isoformat()],
    )
    con.execute("CHECKPOINT")
    snap_dir = store_dir / SNAPSHOTS
    snap_dir.mkdir(exist_ok=True)
    final = snap_dir / f"{version}.duckdb"
    partial = snap_dir / f".{version}.partial"
    shutil.copyfile(store_path(store_dir), partial)
    os.replace(partial, final)
    pointer_tmp = store_dir / (POINTER + ".tmp")
    pointer_tmp.write_text(final.name + "\n")
    os.replace(pointer_tmp, store_dir / POINTER)
    _prune(snap_dir, keep=final.name)
    return version


def current_snapshot(store_dir: Path | None = None) -> Path | None:
    """The newest published snapshot, or None when nothing has been published yet."""
    store_dir = Path(store_dir) if store_dir else default_store_dir()
    try:
        name = (store_dir / POINTER).read_text().strip()
    except FileNotFoundError:
        return None
    path = store_dir / SNAPSHOTS / name
    return path if path.exists() else None


def _prune(snap_dir: Path, keep: str) -> None:
    snaps = sorted(p for p in snap_dir.glob("*.duckdb"))
    for old in snaps[:-KEEP_SNAPSHOTS]:
        if old.name != keep:
            old.unlink(missing_ok=True)
    for stale in snap_dir.glob(".*.partial"):
        stale.unlink(missing_ok=True)


def checking_connection(store_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A connection for checking a file without loading it (`did validate`).

    It sees the newest published snapshot's reference data and local codes when there is one
    (read-only: nothing is written), otherwise an in-memory copy of the shipped reference data.
    """
    snapshot = current_snapshot(store_dir)
    con = duckdb.connect()
    if snapshot is not None:
        con.execute("ATTACH ? AS published (READ_ONLY)", [str(snapshot)])
        con.execute("USE published")
        return con
    from ingest.reference import load_reference
    from ingest.timetable import load_timetable

    con.execute(_SCHEMA_SQL.read_text())
    load_reference(con)
    load_timetable(con)
    return con
