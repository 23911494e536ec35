"""The working store and its published snapshots (architecture §4, ADR 0006).

Layout of a store directory (default `data/store/`, or `$DID_STORE_DIR`):

    did.duckdb                       the working store: only `ingest/` writes it, one writer at a time
    .lock                            held (flock) by the one writer
    snapshots/<version>.duckdb       one per publish, immutable: every table of the working store
                                     except `record`, which is a view over the Parquet files below
    records/<provider>/<version>.parquet   one provider's records as of the publish that wrote the
                                     file; immutable, shared by every later snapshot that had
                                     nothing new for that provider
    CURRENT                          the file name of the newest snapshot, replaced atomically

The directory is 0700 and the working store, its lock and the audit log beside it 0600: the
working store holds quarantined rows with patient identifiers (`writer` also tightens a store
made before this was so).

Why snapshots: DuckDB allows one writing process and no readers beside it, so the dashboard
never opens the working store. After each load the writer rewrites the Parquet file of each
provider whose records changed, writes a new snapshot database holding the small tables, the
rollups (built straight into it) and a `record` view naming the files, and swaps the CURRENT
pointer with an atomic rename. Readers attach a snapshot READ_ONLY, notice when CURRENT names a newer one and
switch; they never see half a load and never block the writer. At the end of a publish every
snapshot is removed except the new one, the one it replaced, and any replaced less than
`SNAPSHOT_GRACE_SECONDS` ago (a reader may be in the middle of a query on it); and every Parquet
file none of the kept snapshots names.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import itertools
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from did_model.layout import (
    CELL_KEY_SECRET,
    PARTITIONS_TABLE,
    POINTER,
    RECORDS,
    SNAPSHOTS,
    StoreError,
    current_snapshot,
    record_files,
)
from did_model.layout import quote_identifier as _quote_identifier
from ingest import (
    duplicates,
    incremental,  # noqa: I001 - a line of its own, for merging beside the settings change
)

SCHEMA_VERSION = "1"
STORE_FILE = "did.duckdb"
CONTENTS_TABLE = "snapshot_content"  # in each snapshot: each table's content fingerprint (_contents)
# Raw rejected rows (patient identifiers included) stay in the working store: the dashboard reads
# snapshots, so a snapshot must never hold them (architecture §7). Nor the writer's own
# bookkeeping: what the last search for outsourced duplicates looked at (ingest.duplicates).
# Nor the fingerprints the loader keeps (ingest.incremental; each snapshot has its `record_month`).
WORKING_STORE_ONLY = ("quarantine", duplicates.SEARCH_TABLE, incremental.KEPT_TABLE)
_PROVIDER_CODE = re.compile(r"[A-Za-z0-9]{1,16}")  # provider codes become directory names
_SCHEMA_SQL = Path(__file__).with_name("schema.sql")
# Bump when `_upgrade` learns a new step: a store whose recorded fingerprint differs is upgraded.
_UPGRADE_STEPS = 5  # 5: ref_timetable.final_closes (issue 19)
# How long a replaced snapshot stays readable: a reader holding it (a page being drawn, an export
# being written) finishes with it. Ten minutes is far longer than any query; a burst of publishes
# costs the disk of the snapshots it made within that time (README, "Snapshots").
SNAPSHOT_GRACE_SECONDS = 10 * 60
# `record`'s DIDS v2.0 columns (schema.sql), added to a store made before them.
V2_RECORD_COLUMNS = (
    ("priority", "VARCHAR"),
    ("activity_category", "VARCHAR"),
    ("waiting_list_clock_start", "DATE"),
    ("procedure_start_utc", "TIMESTAMP"),
    ("procedure_end_utc", "TIMESTAMP"),
    ("report_issue_utc", "TIMESTAMP"),
)


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
    _private_dir(store_dir)
    target = store_path(store_dir)
    if target.exists():
        raise StoreError(f"a store already exists at {target}")
    partial = target.with_name(STORE_FILE + ".partial")
    partial.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(partial))
        os.chmod(partial, 0o600)  # before anything is written to it (and the directory is 0700)
        try:
            con.execute(_SCHEMA_SQL.read_text())
            con.execute(
                "INSERT INTO store_meta VALUES ('schema_version', ?), ('created_at', ?), ('schema_fingerprint', ?)",
                [SCHEMA_VERSION, datetime.now(UTC).isoformat(), _schema_fingerprint()],
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
    if not exists(store_dir) and not create:
        raise StoreError(
            f"no store at {store_dir}: run `did demo` to build the demo store, or `did submit FILE` to start one"
        )
    _private_dir(store_dir)
    # held for the whole block
    lock_file = open(os.open(store_dir / ".lock", os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600), "a+")  # noqa: SIM115
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
        os.chmod(store_path(store_dir), 0o600)
        con = _connect_working(store_path(store_dir))
        try:
            _upgrade(con)
            yield con
        finally:
            con.close()
    finally:
        fcntl.flock(lock_file, fcntl.LOCK_UN)
        lock_file.close()


def _private_dir(path: Path) -> None:
    """Make (or tighten) a store directory to 0700: only the owner may list or open its files."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _schema_fingerprint() -> str:
    """What a store up to date with this code records: the schema text and the upgrade steps."""
    import hashlib

    return hashlib.sha256(_SCHEMA_SQL.read_bytes() + str(_UPGRADE_STEPS).encode()).hexdigest()[:16]


# The working store is attached as `did` (what DuckDB names did.duckdb when it is opened
# directly) with 16,384 rows per row group. A load appends whole row groups straight to the
# database file as it inserts (DuckDB's optimistic writes); with the default 122,880 a
# national-size file (≈ 60,000 rows) fills none, and the commit has to write all of it (measured:
# insert + commit 0.20 s at the default, 0.145 s at 16,384). Finer row groups also give `record`'s
# zone maps (provider, submission) finer ranges to skip. Snapshots and partitions are unaffected.
_ATTACH_WORKING = "ATTACH ? AS did (ROW_GROUP_SIZE 16384)"  # ATTACH options cannot be bound


# How much memory DuckDB may hold for the writer before it spills to disk (its temporary
# directory beside the store). DuckDB's own default is 80% of the machine: at national scale the
# publish's search for outsourced duplicates (a self-join of every record on the patient) then
# took 20 GB of a 24 GB machine. Within this limit joins and aggregates spill instead.
WRITER_MEMORY_LIMIT = "6GB"
SPILL_DIR = ".spill"


def _connect_working(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection whose default database is the working store, attached as `_ATTACH_WORKING`
    says, held to `WRITER_MEMORY_LIMIT`."""
    # Spilled data goes beside the store (an in-memory connection's default is `.tmp` in the
    # working directory, wherever the command was run).
    con = duckdb.connect(config={"memory_limit": WRITER_MEMORY_LIMIT, "temp_directory": str(path.parent / SPILL_DIR)})
    try:
        con.execute(_ATTACH_WORKING, [str(path)])
        con.execute("USE did")
    except BaseException:
        con.close()
        raise
    return con


def defer_checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Leave the writer's committed changes in the working store's write-ahead log when it closes,
    instead of checkpointing them into `did.duckdb` (ADR 0015).

    For one file into a published store: its checkpoint took 1.9–3.7 s at national scale, and
    nothing needs it. The snapshot is built by reading the working store through this very
    connection, never by copying its file (ADR 0006); readers never open it; a committed
    transaction is durable in the log. The next writer to open the store replays the log, and
    DuckDB checkpoints by itself at a commit that takes the log past `checkpoint_threshold`
    (16 MB unless set), so the log stays short; so does any writer that closes without this (a
    bulk load, `did publish`). Whoever copies the store copies the directory, log included.
    """
    con.execute("PRAGMA disable_checkpoint_on_shutdown")


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Another connection to the same database instance, with the same default database.

    `con.cursor()` alone starts in the instance's in-memory database: `USE` is per connection.
    The name comes from DuckDB's catalogue (quoted), never from input.
    """
    database = con.execute("SELECT current_database()").fetchall()[0][0]
    cur = con.cursor()
    cur.execute(f"USE {_quote_identifier(database)}")
    return cur


def _upgrade(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a store made by an older version up to the current schema (tables only ever added).

    A store records the fingerprint of the schema it was brought up to; when it matches this
    code's, there is nothing to do (opening the store then costs one small query).
    """
    fingerprint = _schema_fingerprint()
    try:
        recorded = con.execute("SELECT value FROM store_meta WHERE key = 'schema_fingerprint'").fetchall()
    except duckdb.CatalogException:
        recorded = []
    if recorded == [(fingerprint,)]:
        return
    had_sites, had_fingerprints = (
        con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchall()[0][0]
        for name in ("submission_site", incremental.KEPT_TABLE)
    )
    con.execute(_SCHEMA_SQL.read_text())
    if not had_sites:
        con.execute("INSERT INTO submission_site SELECT DISTINCT submission_id, site_code FROM record")
    if not had_fingerprints:  # a store from before the loader kept them: counted once, in full
        incremental.recount(con)
    # An earlier version kept a hash of (site, accession) to find replaced records; submission_site
    # made it unnecessary.
    if con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'record' AND column_name = 'record_key'"
    ).fetchall()[0][0]:
        con.execute("ALTER TABLE record DROP COLUMN record_key")
    # DIDS v2.0 items (issue 19): nullable columns at the end of `record`, NULL for older records.
    have = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'record'"
        ).fetchall()
    }
    for column, kind in V2_RECORD_COLUMNS:
        if column not in have:
            con.execute(f"ALTER TABLE record ADD COLUMN {column} {kind}")  # names and types from code
    # The rollups live in the snapshots only (built straight into each, ADR 0006); a store
    # published before keeps copies that nothing reads. Names come from code (checked by all_rollups).
    from did_model.rollups import all_rollups

    present = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'rollup_%'"
        ).fetchall()
    }
    for name in present & set(all_rollups()):
        con.execute(f"DROP TABLE {name}")
    has_timetable = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ref_timetable'"
    ).fetchall()[0][0]
    from ingest.timetable import add_final_closes, load_timetable

    if not has_timetable:
        load_timetable(con)
    add_final_closes(con)
    from ingest.dm01 import ensure_test_map

    ensure_test_map(con)
    con.execute("INSERT OR REPLACE INTO store_meta VALUES ('schema_fingerprint', ?)", [fingerprint])


@dataclass(frozen=True)
class Partition:
    """One provider's records as published: the fingerprint they had and the file holding them.

    The fingerprint (row count, sum of submission ids, `record`'s columns) changes whenever the
    set of a provider's rows does: every row added since the last publish carries a submission
    id larger than any row present then (ids come from a sequence), so when as many rows were
    added as removed the sum still rises. It would not see an UPDATE in place; nothing updates
    `record` in place (the loader deletes and inserts), and a schema change made by `_upgrade`
    changes `columns`, which rewrites every partition.
    """

    provider_code: str
    rows: int
    submission_id_sum: int
    columns: str  # `record`'s column names and types: a schema change rewrites every partition
    file: str  # relative to the store directory: records/<provider>/<version>.parquet


def publish(
    con: duckdb.DuckDBPyConnection,
    store_dir: Path,
    timings: dict[str, Any] | None = None,
    *,
    full: bool = False,
    progress: Callable[[str], None] | None = None,
    checkpoint: bool = True,
    early_copy: SnapshotCopy | None = None,
) -> str:
    """Publish the working store as a new immutable snapshot, with the rollups built into it.

    Called by the writer (holding the lock) after a load has committed. Returns the version.
    Only providers whose records changed since the current snapshot get a new Parquet file; the
    others keep theirs. Likewise the snapshot file starts as a copy of the current one when some
    of its tables are unchanged (reference data, rollups of reference data): only the tables
    whose content fingerprint changed are built again (`_contents`). Nothing a reader can see
    changes until the CURRENT pointer is replaced, the last step: a crash before it leaves the
    current snapshot and all its files untouched.
    `timings`, when given, receives the seconds each step took: fingerprints (of `record`, by
    provider and month), duplicates (finding outsourced examinations submitted twice; with
    `duplicate_keys_searched`, the provider-months it looked at), checkpoint; snapshot (the whole
    build, wall clock) and within it the summed seconds of its tasks, which overlap on two
    cursors (tables copied, rollups, partitions written); prune. Also the partitions written
    and in total (partitions_written, partitions_total), the tables and rollups kept from
    the current snapshot (tables_kept), and the rollups refreshed for the changed keys only
    and those built in full (rollups_refreshed, rollups_built; ADR 0011), and the rows of `issue`
    written into the snapshot (issue_rows_written: a resubmission's own, ADR 0015).
    `full=True` builds everything afresh, as if there were no snapshot before (`did publish
    --full`). `progress`, when given, is called with a short line as each step starts.
    `checkpoint=False` leaves the working store's write-ahead log as it is (`defer_checkpoint`).
    `early_copy` (`start_copy`, made before the load) is the copy of the current snapshot to
    build on; publish owns it from then on (uses it, or removes it when it cannot).
    """
    # Absolute: the snapshot's `record` view names its Parquet files by absolute path (ADR 0006).
    store_dir = Path(store_dir).resolve()
    timings = {} if timings is None else timings
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = now - clock
        clock = now

    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    con.execute(
        "INSERT OR REPLACE INTO store_meta VALUES ('snapshot_version', ?), ('published_at', ?)",
        [version, datetime.now(UTC).isoformat()],
    )
    # The disclosure-control secret (queries.disclosure.cell_secret): made once, kept for good,
    # so that a cell's perturbation never changes while its count does not.
    con.execute(
        "INSERT OR IGNORE INTO store_meta VALUES (?, ?)",
        [CELL_KEY_SECRET, base64.b32encode(os.urandom(20)).decode("ascii")],
    )
    say = progress or (lambda _: None)
    snap_dir = store_dir / SNAPSHOTS
    snap_dir.mkdir(exist_ok=True)
    previous = current_snapshot(store_dir)
    # An incremental publish builds the new snapshot on a copy of the current one: the copy
    # (disk work, about 1 s for a national snapshot's 500 MB) is made on a thread while the
    # duplicate search runs (DuckDB's work), or from before the load (`early_copy`, a submit's).
    # `_write_snapshot` takes it, or drops it if nothing can be kept after all.
    if early_copy is not None and (full or early_copy.source != previous):
        early_copy.discard()  # not of the snapshot this publish builds on (or not wanted)
        early_copy = None
    if early_copy is not None:
        copying, partial = early_copy.future, early_copy.target
    elif previous and not full:
        partial = _partial_path(snap_dir, version)
        copying = _copy_in_background(previous, partial)
    else:
        copying, partial = None, _partial_path(snap_dir, version)
    try:
        return _publish(
            con, store_dir, version, previous, copying, partial, timings, lap, say, full=full, checkpoint=checkpoint
        )
    except BaseException:
        if copying is not None:
            copying.exception()  # waits for the copy to end, whatever it did
            partial.unlink(missing_ok=True)
        raise


def _partial_path(snap_dir: Path, version: str) -> Path:
    """Where the snapshot `version` is built, before it is renamed into place."""
    return snap_dir / f".{version}.partial"


@dataclass
class SnapshotCopy:
    """A copy of the published snapshot `source` being made at `target` (hidden, partial) on a
    thread: `start_copy`'s, for a publish to build on (`publish(early_copy=...)`)."""

    source: Path
    target: Path
    future: Future

    def discard(self) -> None:
        """Wait for the copy to end and remove it (a file rejected, a publish that failed first)."""
        self.future.exception()
        self.target.unlink(missing_ok=True)


def start_copy(store_dir: Path) -> SnapshotCopy | None:
    """Start copying the current snapshot for the next publish to build on, under the writer lock
    (so it stays current): a submit starts it before it checks and loads the file, so the disk
    work is done beside the check instead of beside the duplicate search (issue 22). None when
    nothing is published. The caller hands it to `publish` or discards it."""
    store_dir = Path(store_dir).resolve()
    previous = current_snapshot(store_dir)
    if previous is None:
        return None
    token = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = _partial_path(store_dir / SNAPSHOTS, f"{token}-early")
    return SnapshotCopy(previous, target, _copy_in_background(previous, target))


def _copy_in_background(source: Path, target: Path) -> Future:
    """shutil.copyfile(source, target) on a thread of its own; the Future's result is `target`."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot-copy")
    try:
        return pool.submit(shutil.copyfile, source, target)
    finally:
        pool.shutdown(wait=False)  # the copy runs on; the Future says when it is done


def _publish(
    con: duckdb.DuckDBPyConnection,
    store_dir: Path,
    version: str,
    previous: Path | None,
    copying: Future | None,
    partial: Path,
    timings: dict[str, Any],
    lap: Callable[[str], None],
    say: Callable[[str], None],
    *,
    full: bool,
    checkpoint: bool,
) -> str:
    snap_dir = store_dir / SNAPSHOTS
    # `record`'s fingerprints as the loader kept them (ADR 0015); counted afresh for --full.
    months = incremental.recount(con) if full else incremental.kept_fingerprints(con)
    issues = incremental.issue_fingerprints(con)
    lap("fingerprints")
    # Outsourced examinations submitted twice (ADR 0010): found before the rollups, which read
    # `record` without the copies it removes.
    say("finding outsourced examinations submitted twice")
    duplicates.detect(con, months, full=full, timings=timings)
    lap("duplicates")
    if checkpoint:  # keeps the working store's WAL short; loads do not checkpoint
        con.execute("CHECKPOINT")
    lap("checkpoint")
    before, contents_before = _published(con, previous) if previous is not None and not full else ({}, {})
    say("comparing with the published snapshot")
    partitions, to_write = _plan_partitions(con, store_dir, version, before, months)
    # `record`'s columns changed (an upgrade): every rollup over records is built in full.
    same_columns = all(
        p.columns == partitions[p.provider_code].columns for p in before.values() if p.provider_code in partitions
    )
    # The previous snapshot's issues by submission: those of the changed submissions are all
    # that need writing into the new one (`_write_snapshot`).
    issues_before = (
        incremental.published_issue_fingerprints(con, previous) if previous is not None and contents_before else None
    )
    changes = (
        incremental.changes(con, previous, months, issues, issues_before)
        if previous is not None and contents_before and same_columns
        else None
    )
    say(f"writing {len(to_write)} provider file(s) and the rollups")
    final = _write_snapshot(
        con,
        store_dir,
        version,
        partitions,
        to_write,
        previous if contents_before else None,
        contents_before,
        timings,
        changes=changes,
        months=months,
        issues=issues,
        issues_before=issues_before,
        copying=copying,
        partial=partial,
    )
    lap("snapshot")
    say("switching readers to the new snapshot")
    pointer_tmp = store_dir / (POINTER + ".tmp")
    pointer_tmp.write_text(final.name + "\n")
    _fsync(pointer_tmp)
    os.replace(pointer_tmp, store_dir / POINTER)
    _fsync(store_dir)
    keep = {final.name} | ({previous.name} if previous is not None else set())
    referenced = {p.file for p in partitions.values()} | {p.file for p in before.values()}
    for held in _in_grace(snap_dir, previous.name, time.time()) if previous is not None else set():
        keep.add(held)
        referenced |= _partition_files(con, snap_dir / held)
    _prune(store_dir, keep, referenced)
    lap("prune")
    timings["partitions_written"] = len(to_write)
    timings["partitions_total"] = len(partitions)
    return version


def _published(con: duckdb.DuckDBPyConnection, snapshot: Path) -> tuple[dict[str, Partition], dict[str, str]]:
    """What a published snapshot holds: the partitions its `record` view reads, by provider, and
    the content fingerprint of each of its tables and rollups (see `_contents`).

    Both empty for a snapshot made before ADR 0006 (a full copy, with `record` a table), and for
    one published from another working store (a store deleted and created again in the same
    directory starts its submission ids afresh, so fingerprints could match by chance): the
    next publish then writes every partition and builds every table. The fingerprints are empty
    for a snapshot made before they were recorded.
    """
    con.execute("ATTACH ? AS published_before (READ_ONLY)", [str(snapshot)])
    try:
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'published_before' "
                "AND schema_name = 'main' AND table_name IN (?, ?)",
                [PARTITIONS_TABLE, CONTENTS_TABLE],
            ).fetchall()
        }
        if PARTITIONS_TABLE not in present:
            return {}, {}
        same_store = con.execute(
            "SELECT (SELECT value FROM published_before.main.store_meta WHERE key = 'created_at') "
            "IS NOT DISTINCT FROM (SELECT value FROM store_meta WHERE key = 'created_at')"
        ).fetchall()[0][0]
        if not same_store:
            return {}, {}
        rows = con.execute(
            f"SELECT provider_code, rows, submission_id_sum, columns, file "  # noqa: S608 - our constant
            f"FROM published_before.main.{PARTITIONS_TABLE}"
        ).fetchall()
        contents = (
            dict(
                con.execute(f"SELECT name, fingerprint FROM published_before.main.{CONTENTS_TABLE}").fetchall()  # noqa: S608
            )
            if CONTENTS_TABLE in present
            else {}
        )
    finally:
        con.execute("DETACH published_before")
    return {r[0]: Partition(*r) for r in rows}, contents


def _contents(
    con: duckdb.DuckDBPyConnection,
    tables: list[str],
    partitions: dict[str, Partition],
    issues: incremental.IssueFingerprints | None = None,
) -> dict[str, str]:
    """A fingerprint of what each snapshot table would hold: the working store's `tables` and
    every rollup. Equal fingerprints mean the previous snapshot's copy can be kept.

    - A table: its row count, the sum of its rows' hashes (order-free: a changed, added or
      removed row changes it) and its column names and types.
      `issue`'s is the same, added up from its fingerprints by submission (`issues`) when given.
    - `record`: the partitions' fingerprints.
    - A rollup: its SQL and the fingerprints of every table whose name its SQL mentions as a
      word. A query can only read a table it names, so a rollup of reference data alone
      (population by deprivation, say) is kept until that data or the SQL changes, and every
      rollup that reads `record` is refreshed whenever any provider's records change (for the
      changed keys only where it can be, `_refreshable`).
    """
    signature = dict(
        con.execute(
            "SELECT table_name, string_agg(column_name || ' ' || data_type, ',' ORDER BY column_index) "
            "FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' "
            "GROUP BY table_name"
        ).fetchall()
    )
    fingerprints: dict[str, str] = {}
    counted = [t for t in tables if issues is None or t != "issue"]
    if counted:
        # Table names come from the working store's catalogue, quoted; nothing here is input.
        union = " UNION ALL ".join(
            f"SELECT {_quote_literal(t)}, count(*), sum(hash(x)) FROM {_quote_identifier(t)} x" for t in counted
        )
        for name, rows, hashes in con.execute(union).fetchall():
            fingerprints[name] = _digest(f"{rows}:{hashes}:{signature.get(name, '')}")
    if issues is not None and "issue" in tables:
        # The same text as counting the whole table: sum() of nothing is NULL there.
        rows = sum(n for n, _ in issues.values())
        hashes = sum(h for _, h in issues.values()) if issues else None
        fingerprints["issue"] = _digest(f"{rows}:{hashes}:{signature.get('issue', '')}")
    fingerprints["record"] = _digest(
        ";".join(f"{p.provider_code}:{p.rows}:{p.submission_id_sum}:{p.columns}" for _, p in sorted(partitions.items()))
        + "|"
        + signature.get("record", "")
    )
    return fingerprints | _rollup_fingerprints(fingerprints)


def _digest(text: str) -> str:
    """A fingerprint of `text`; base32: no long runs of digits for an identifier scan to trip on."""
    import hashlib

    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode().rstrip("=")


def _rollup_fingerprints(tables: dict[str, str]) -> dict[str, str]:
    """Each rollup's fingerprint: its SQL and the fingerprints, among `tables` and the rollups of
    earlier stages, of those it reads."""
    from did_model.rollups import all_rollups, stages, tables_read

    rollups = all_rollups()
    known = dict(tables)
    out: dict[str, str] = {}
    for stage in stages():
        inputs = sorted(known)
        for name in stage:
            sql = rollups[name]
            out[name] = _digest(sql + "".join(f"|{t}={known[t]}" for t in tables_read(sql, inputs)))
        known |= {name: out[name] for name in stage}
    return out


def _refreshable(
    contents: dict[str, str], contents_before: dict[str, str], changes: incremental.Changes | None
) -> dict:
    """The rollups of the previous snapshot to refresh for the changed keys only (ADR 0011),
    name → `rollups.Refresh`; every other changed rollup is built in full.

    One qualifies when it declares keys, its SQL is the one the previous copy was built with,
    and of the tables it reads only records (with the outsourced pairs) changed — or, split by
    provider alone, also submissions and issues, which `changes.providers` covers. A changed
    reference table (practices, say) makes every rollup reading it build in full. A rollup that
    reads other rollups (a sum over providers, ADR 0013) qualifies when each of those that
    changed is itself refreshed for the changed keys.
    """
    from did_model.rollups import Refresh, all_rollups, refresh_policies, stages, tables_read

    if changes is None:
        return {}
    rollups = all_rollups()
    policies = refresh_policies()
    tables_before = {t: fp for t, fp in contents_before.items() if t not in rollups}
    built_alike = _rollup_fingerprints(tables_before)
    names = sorted(tables_before.keys() | (contents.keys() - rollups.keys()) | rollups.keys())
    out: dict[str, Refresh] = {}
    for name in (name for stage in stages() for name in stage):
        refresh = policies[name]
        if refresh.full or name not in contents_before or built_alike[name] != contents_before[name]:
            continue
        if contents.get(name) == contents_before[name]:
            continue  # kept as it is
        changed = {t for t in tables_read(rollups[name], names) if contents.get(t) != contents_before.get(t)}
        allowed = {"record", "duplicate_pair"} | ({"submission", "issue"} if refresh.month is None else set())
        # A rollup read must have changed only within this one's keys: split by month where
        # this one is, by provider where this one is.
        within = {
            r
            for r, how in out.items()
            if (refresh.month is None or how.month) and (refresh.provider is None or how.provider)
        }
        if changed <= allowed | within:
            out[name] = refresh
    return out


def _record_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """`record`'s (column name, type) in table order, from the working store's catalogue."""
    return [
        tuple(r)
        for r in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = 'record' ORDER BY column_index"
        ).fetchall()
    ]


def _plan_partitions(
    con: duckdb.DuckDBPyConnection, store_dir: Path, version: str, before: dict[str, Partition], months: list[tuple]
) -> tuple[dict[str, Partition], list[Partition]]:
    """One Parquet file per provider: reused when its fingerprint is unchanged, else rewritten.

    Returns every provider's partition after this publish and those whose file must be written
    (`_write_partition`). A provider with no records any more gets no partition. `months` are
    `record`'s provider × month fingerprints (`incremental.month_fingerprints`), summed here.
    """
    columns = ",".join(f"{name} {dtype}" for name, dtype in _record_columns(con))
    totals: dict[str, tuple[int, int]] = {}
    for provider, _, rows, id_sum in months:
        rows_before, ids_before = totals.get(provider, (0, 0))
        totals[provider] = (rows_before + rows, ids_before + id_sum)
    now = [(provider, rows, id_sum) for provider, (rows, id_sum) in sorted(totals.items())]
    out: dict[str, Partition] = {}
    to_write: list[Partition] = []
    for provider, rows, id_sum in now:
        if not _PROVIDER_CODE.fullmatch(provider):
            raise StoreError(f"provider code {provider!r} is not 1-16 letters and digits; nothing was published")
        old = before.get(provider)
        if (
            old is not None
            and (old.rows, old.submission_id_sum, old.columns) == (rows, id_sum, columns)
            and (store_dir / old.file).is_file()
        ):
            out[provider] = old
            continue
        out[provider] = Partition(provider, rows, id_sum, columns, f"{RECORDS}/{provider}/{version}.parquet")
        to_write.append(out[provider])  # provider validated just above: it names a directory
    return out, to_write


def _write_partition(con: duckdb.DuckDBPyConnection, store_dir: Path, partition: Partition) -> None:
    """Write one provider's records to its new file: under a hidden partial name, then renamed.

    Until the pointer moves no snapshot names the file. Sorted by month and site so that the
    row groups' statistics let a month's query skip the rest; zstd level 1 is both smaller and
    faster to write here than the default level.
    """
    target = store_dir / partition.file
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    con.execute(
        "COPY (SELECT * FROM record WHERE provider_code = ? ORDER BY activity_month, site_code, accession_number) "
        "TO ? (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)",
        [partition.provider_code, str(partial)],
    )
    _fsync(partial)
    os.replace(partial, target)
    _fsync(target.parent)


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _write_snapshot(
    con: duckdb.DuckDBPyConnection,
    store_dir: Path,
    version: str,
    partitions: dict[str, Partition],
    to_write: list[Partition],
    previous: Path | None,
    contents_before: dict[str, str],
    timings: dict[str, Any],
    *,
    changes: incremental.Changes | None = None,
    months: Sequence[tuple] = (),
    issues: incremental.IssueFingerprints | None = None,
    issues_before: incremental.IssueFingerprints | None = None,
    copying: Future | None = None,
    partial: Path,
) -> Path:
    """snapshots/<version>.duckdb: every table but `record` and `quarantine`, the rollups, the
    partition list, the month fingerprints (`months`), the issue fingerprints by submission
    (`issues`), the content fingerprints and the `record` view; and the new partition files
    `to_write`. Starts from a copy of `previous` when some of its tables can be kept as they are
    or refreshed for the `changes` (`_refreshable`); its `issue` (fingerprinted `issues_before`)
    is then patched: the rows of the submissions whose issues changed are deleted and written
    again, instead of the whole table (1.7 M rows at national scale) being copied.
    """
    snap_dir = store_dir / SNAPSHOTS
    final = snap_dir / f"{version}.duckdb"
    if copying is None:  # `partial`: where the new snapshot is built (and `copying` copies to)
        partial.unlink(missing_ok=True)
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND NOT temporary AND table_name <> 'record' "
            "AND NOT list_contains(?::VARCHAR[], table_name) ORDER BY table_name",
            [[PARTITIONS_TABLE, CONTENTS_TABLE, *WORKING_STORE_ONLY]],
        ).fetchall()
    ]
    issues = incremental.issue_fingerprints(con) if issues is None else issues
    contents = _contents(con, tables, partitions, issues)
    # `record` has a fingerprint only as the rollups' input: its view, like the partition list
    # and the fingerprints themselves, is written again every time.
    keep = (
        {name for name, fp in contents_before.items() if contents.get(name) == fp and name != "record"}
        if previous
        else set()
    )
    refresh = _refreshable(contents, contents_before, changes) if previous else {}
    # `issue` changed but the previous copy's columns are the same: patched by submission.
    patch_issues = (
        previous is not None
        and issues_before is not None
        and "issue" in tables
        and "issue" in contents_before
        and "issue" not in keep
    )
    start_from = previous if keep or refresh or patch_issues else None  # the snapshot built upon, if any
    try:
        if copying is not None:  # a copy of the current snapshot, made while the file was loaded or the
            # duplicates were searched
            copying.result()
            if start_from is None:
                partial.unlink()  # nothing to keep after all: the snapshot is built afresh
        elif start_from is not None:
            shutil.copyfile(start_from, partial)
        con.execute("ATTACH ? AS snapshot_build", [str(partial)])
        try:
            _fill_snapshot(
                con,
                store_dir,
                tables,
                partitions,
                to_write,
                contents,
                keep,
                timings,
                refresh=refresh,
                changes=changes,
                months=list(months),
                issues=issues,
                issues_before=issues_before if patch_issues else None,
            )
        finally:
            con.execute("DETACH snapshot_build")
        if Path(str(partial) + ".wal").exists():
            raise StoreError(f"the new snapshot {partial} kept a write-ahead log; nothing was published")
        _fsync(partial)
        os.replace(partial, final)
        _fsync(snap_dir)
    except BaseException:
        partial.unlink(missing_ok=True)
        Path(str(partial) + ".wal").unlink(missing_ok=True)
        raise
    timings["tables_kept"] = len(keep)
    return final


def _fill_snapshot(
    con: duckdb.DuckDBPyConnection,
    store_dir: Path,
    tables: list[str],
    partitions: dict[str, Partition],
    to_write: list[Partition],
    contents: dict[str, str],
    keep: set[str],
    timings: dict[str, Any],
    *,
    refresh: dict,
    changes: incremental.Changes | None,
    months: list[tuple],
    issues: incremental.IssueFingerprints,
    issues_before: incremental.IssueFingerprints | None,
) -> None:
    """`issues_before`, when given, are the fingerprints of the copied snapshot's `issue`, to
    patch by submission (`_patch_issues`); otherwise `issue` is copied whole unless kept."""
    from did_model.rollups import refresh_statements, rollup_statements, stages

    # DDL takes no bound parameters. Table and column names come from the working store's own
    # catalogue, and the view's file paths are the store directory plus a validated provider
    # code and our version string; all are quoted anyway.
    carried = keep | refresh.keys() | ({"issue"} if issues_before is not None else set())
    if carried:  # a copy of the previous snapshot: everything else in it goes
        for name, kind in con.execute(
            "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = 'snapshot_build' "
            "UNION ALL SELECT view_name, 'VIEW' FROM duckdb_views() "
            "WHERE database_name = 'snapshot_build' AND NOT internal"
        ).fetchall():
            if name not in carried:
                con.execute(f"DROP {kind} snapshot_build.main.{_quote_identifier(name)}")
        # Free the dropped tables' blocks now, so that the tables built next reuse them instead
        # of growing the file by their size at every publish.
        con.execute("CHECKPOINT snapshot_build")
    tasks: list[tuple[str, str | list[str]]] = [
        ("tables", f"CREATE TABLE snapshot_build.main.{_quote_identifier(t)} AS SELECT * FROM {_quote_identifier(t)}")
        for t in tables
        if t not in carried
    ]
    built = [(name, sql) for name, sql in rollup_statements("snapshot_build") if name not in carried]
    # A rollup that reads other rollups (a sum over providers) waits for them: the tasks run in
    # stages, the partition files and tables with the first.
    stage_of = {name: i for i, stage in enumerate(stages()) for name in stage}
    staged: list[list[tuple[str, str | list[str]]]] = [tasks] + [[] for _ in stages()[1:]]
    named: dict[int, str] = {}  # a rollup task's statement(s) -> the rollup's name
    for name, sql in built:
        staged[stage_of[name]].append(("rollups", sql))
        named[id(sql)] = name
    if refresh and changes is not None:  # (refresh is empty without changes)
        _changed_keys(con, changes)
        for name, how in refresh.items():
            statements = refresh_statements("snapshot_build", name, how)
            staged[stage_of[name]].append(("rollups", statements))
            named[id(statements)] = name
    # Independent statements, each small enough that DuckDB runs it on one thread: two cursors
    # use both cores. Each reads the working store, which the writer lock keeps still; the
    # snapshot is not visible to anyone until it is renamed, so no transaction spans them.
    seconds = {"tables": 0.0, "rollups": 0.0, "partitions": 0.0, "rollup_rows_refreshed": 0}
    started = time.perf_counter()
    if issues_before is not None:
        timings["issue_rows_written"] = _patch_issues(con, issues_before, issues)
    elif "issue" in tables and "issue" not in keep:
        timings["issue_rows_written"] = sum(n for n, _ in issues.values())
    else:
        timings["issue_rows_written"] = 0
    seconds["tables"] += time.perf_counter() - started
    each: dict[str, float] = {}  # seconds per rollup built or refreshed
    cursors = [cursor(con) for _ in range(2)]
    free = list(cursors)
    tally = threading.Lock()

    def run(kind: str, work) -> None:
        cur = free.pop()
        started = time.perf_counter()
        try:
            if kind == "partitions":
                _write_partition(cur, store_dir, work)
            else:
                for statement in [work] if isinstance(work, str) else work:
                    cur.execute(statement)
                if not isinstance(work, str):  # a refresh: DELETE, then INSERT, which counts its rows
                    inserted = cur.fetchall()[0][0]
                    with tally:
                        seconds["rollup_rows_refreshed"] += inserted
        finally:
            with tally:  # the two threads add to the same totals
                seconds[kind] += time.perf_counter() - started
                if id(work) in named:
                    each[named[id(work)]] = round(time.perf_counter() - started, 3)
            free.append(cur)

    try:
        with ThreadPoolExecutor(max_workers=len(cursors)) as pool:
            for i, stage_tasks in enumerate(staged):
                # The partition files first: at national scale they are the longest tasks.
                futures = [pool.submit(run, "partitions", p) for p in (to_write if i == 0 else [])]
                futures += [pool.submit(run, kind, sql) for kind, sql in stage_tasks]
                try:
                    for f in futures:
                        f.result()
                except BaseException:
                    for f in futures:
                        f.cancel()  # the ones not started; leaving the block waits for the running ones
                    raise
    finally:
        for cur in cursors:
            cur.close()
    timings.update(seconds)
    timings["rollup_seconds"] = dict(sorted(each.items(), key=lambda kv: -kv[1]))
    timings["rollups_refreshed"], timings["rollups_built"] = len(refresh), len(built)
    incremental.write_month_fingerprints(con, "snapshot_build", months)
    incremental.write_issue_fingerprints(con, "snapshot_build", issues)
    con.execute(
        f"CREATE TABLE snapshot_build.main.{CONTENTS_TABLE} (name VARCHAR PRIMARY KEY, fingerprint VARCHAR NOT NULL)"
    )
    # One statement each (a row at a time cost about a millisecond a row: 0.15 s a publish).
    incremental.insert_rows(
        con, f"snapshot_build.main.{CONTENTS_TABLE}", ("VARCHAR", "VARCHAR"), sorted(contents.items())
    )
    con.execute(f"""CREATE TABLE snapshot_build.main.{PARTITIONS_TABLE} (
        provider_code VARCHAR NOT NULL, rows BIGINT NOT NULL, submission_id_sum HUGEINT NOT NULL,
        columns VARCHAR NOT NULL, file VARCHAR NOT NULL, path VARCHAR NOT NULL)""")
    incremental.insert_rows(
        con,
        f"snapshot_build.main.{PARTITIONS_TABLE}",
        ("VARCHAR", "BIGINT", "HUGEINT", "VARCHAR", "VARCHAR", "VARCHAR"),
        [
            (p.provider_code, p.rows, p.submission_id_sum, p.columns, p.file, str(store_dir / p.file))
            for p in partitions.values()
        ],
    )
    columns = _record_columns(con)
    if partitions:
        files = ", ".join(_quote_literal(str(store_dir / p.file)) for p in partitions.values())
        select = f"SELECT {', '.join(_quote_identifier(c) for c, _ in columns)} FROM read_parquet([{files}])"
    else:  # nothing loaded yet: an empty view with the table's columns and types
        select = (
            "SELECT "
            + ", ".join(f"CAST(NULL AS {dtype}) AS {_quote_identifier(c)}" for c, dtype in columns)
            + " WHERE false"
        )
    con.execute(f"CREATE VIEW snapshot_build.main.record AS {select}")
    con.execute("CHECKPOINT snapshot_build")


def _patch_issues(
    con: duckdb.DuckDBPyConnection, before: incremental.IssueFingerprints, now: incremental.IssueFingerprints
) -> int:
    """Bring the copied snapshot's `issue` (fingerprinted `before`) up to the working store's
    (`now`): the rows of every submission whose issues differ are deleted, and those it has now
    inserted. Returns the rows inserted. A load adds a submission's issues and nothing changes
    them after, so a resubmission writes its own issues only."""
    changed = incremental.changed_submissions(before, now)
    gone = sorted(changed & before.keys())
    new = sorted(changed & now.keys())
    if gone:
        con.execute("DELETE FROM snapshot_build.main.issue WHERE submission_id IN (SELECT unnest(?::BIGINT[]))", [gone])
    if not new:
        return 0
    return con.execute(
        "INSERT INTO snapshot_build.main.issue SELECT * FROM issue WHERE submission_id IN (SELECT unnest(?::BIGINT[]))",
        [new],
    ).fetchall()[0][0]


def _changed_keys(con: duckdb.DuckDBPyConnection, changes: incremental.Changes) -> None:
    """The keys whose rollup rows are built again, in the in-memory tables every cursor of the
    publish sees (`did_model.rollups.CHANGED_PAIRS` and its kin; they vanish with the connection)."""
    from did_model.rollups import CHANGED_MONTHS, CHANGED_PAIRS, CHANGED_PROVIDERS

    # `store.writer`'s connection starts in-memory, so `memory` is there; a connection opened on
    # the store's file itself (a tool, a test) has none until it is attached.
    if not con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = 'memory'").fetchall()[0][0]:
        con.execute("ATTACH ':memory:' AS memory")
    for table, columns, rows in (
        (CHANGED_PAIRS, {"provider_code": "VARCHAR", "activity_month": "DATE"}, sorted(changes.pairs)),
        (CHANGED_MONTHS, {"activity_month": "DATE"}, [(m,) for m in sorted(changes.months)]),
        (CHANGED_PROVIDERS, {"provider_code": "VARCHAR"}, [(p,) for p in sorted(changes.providers)]),
    ):
        # names and types from code
        con.execute(f"CREATE OR REPLACE TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
        incremental.insert_rows(con, table, tuple(columns.values()), rows)


def _fsync(path: Path) -> None:
    """Flush a file or directory to disk, so a rename that names it survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _in_grace(snap_dir: Path, previous: str, now: float) -> set[str]:
    """The snapshots before `previous` replaced less than SNAPSHOT_GRACE_SECONDS before `now`.

    A snapshot was replaced when the next one (version names sort in time order) was written;
    that file's modification time is when it was, to within the pointer's rename. Only those
    older than `previous` can have been current: one between it and the new snapshot is left by
    a publish that failed before moving the pointer, and no reader ever opened it.
    """
    if SNAPSHOT_GRACE_SECONDS <= 0:  # switched off (a file's time may even be ahead of `now`)
        return set()
    snapshots = sorted(p for p in snap_dir.glob("*.duckdb") if p.name <= previous)
    return {
        older.name
        for older, newer in itertools.pairwise(snapshots)
        if now - newer.stat().st_mtime < SNAPSHOT_GRACE_SECONDS
    }


def _partition_files(con: duckdb.DuckDBPyConnection, snapshot: Path) -> set[str]:
    """The Parquet files (relative to the store) a snapshot's `record` view reads."""
    con.execute("ATTACH ? AS held_snapshot (READ_ONLY)", [str(snapshot)])
    try:
        return set(record_files(con, "held_snapshot", column="file"))
    finally:
        con.execute("DETACH held_snapshot")


def _prune(store_dir: Path, keep: set[str], referenced: set[str]) -> None:
    """Remove every snapshot but `keep`, every Parquet file not `referenced`, and stale partials.

    Runs under the writer lock, after the pointer has moved: nothing removed here is named by
    the current snapshot, the one before it or one still in its grace period.
    """
    snap_dir = store_dir / SNAPSHOTS
    for old in snap_dir.glob("*.duckdb"):
        if old.name not in keep:
            old.unlink(missing_ok=True)
            Path(str(old) + ".wal").unlink(missing_ok=True)
    for stale in snap_dir.glob(".*.partial*"):
        stale.unlink(missing_ok=True)
    records = store_dir / RECORDS
    if not records.is_dir():
        return
    for provider_dir in records.iterdir():
        if not provider_dir.is_dir():
            continue
        for f in provider_dir.iterdir():
            rel = f"{RECORDS}/{provider_dir.name}/{f.name}"
            unreferenced = f.name.endswith(".parquet") and not f.name.startswith(".") and rel not in referenced
            if unreferenced or f.name.endswith(".partial") or f.name.startswith("tmp_"):
                f.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            provider_dir.rmdir()  # only when empty: a provider with no records any more


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
