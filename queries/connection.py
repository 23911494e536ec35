"""The read side's only door to the data: the current published snapshot, attached read-only.

Why it looks like this (architecture §4 and §8):

- The dashboard never opens the working store. `ingest/` publishes immutable snapshot files and
  swaps a `CURRENT` pointer atomically; we attach the snapshot it names READ_ONLY to an
  in-memory DuckDB database. A reader can then never see half a load, never blocks the writer,
  and cannot write to anything by mistake: the only attached file is read-only, and after
  attaching we switch external access off, so no query can read or write any other file
  (read_csv, COPY ... TO, ATTACH) or reach the network. DuckDB refuses to switch that setting
  back on while the database runs, so the protection lasts as long as the connection.
- The snapshot's `record` is a view over Parquet files under `<store>/records/` (ADR 0006), so
  before switching external access off we allow exactly those files (`allowed_paths`, listed in
  the snapshot's `record_partition` table) — not the directory: DuckDB lets a reader write into
  an allowed directory (COPY ... TO, ATTACH of a new file), and overwrite an allowed file.
  `query()` therefore also runs only SELECT statements (DESCRIBE, SHOW and SUMMARIZE parse as
  SELECT), so no COPY can reach an allowed file.
- Because external access is off, this connection can never attach a newer snapshot. When
  `CURRENT` moves we build a fresh `Snapshot` (new in-memory database, new ATTACH) and hand
  that out; queries already running on the old one finish on it undisturbed: the writer keeps
  the snapshot before the current one, and its Parquet files, until the next publish.
- Each query runs on its own cursor, so Streamlit's script threads can query the shared
  connection concurrently. In DuckDB 2.x a cursor is a new connection to the same database and
  does not inherit `USE`, so every cursor selects the snapshot catalog itself.
- Callers pass values as bound parameters (`$name` placeholders and a dict); SQL text is never
  built from values.
- A snapshot never changes, so a statement and its parameters always give the same result on it.
  The dashboard's snapshots (`get_snapshot(memo=True)`) keep recent results, bounded in bytes
  (`QueryMemo`, ADR 0016): many page functions run the same England-wide or all-provider query
  and then pick out the rows they need (a provider profile's 77 queries, 66 of them the same for
  every provider), and `st.cache_data`, keyed on whole page functions, cannot share those.

`queries/` never imports Streamlit: caching keyed on `Snapshot.version` is the dashboard's job.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from did_errors import DidError
from did_model.layout import POINTER, current_snapshot, default_store_dir, record_files

_CATALOG = "snap"  # the attached snapshot's name inside the in-memory database


# The dashboard's memo of query results per snapshot (ADR 0016): the most a snapshot keeps, and
# the largest single result it keeps (a bigger one is a page's own query, not a shared one).
MEMO_BYTES = 192 * 2**20
MEMO_ENTRY_BYTES = 16 * 2**20


class QueryMemo:
    """Results of statements already run on one snapshot, least recently used dropped first once
    they hold more than `budget` bytes (polars' estimate). Safe to share between threads; two
    threads asking the same new question both run it (the second result replaces the first).

    Each result is kept as a private clone and handed out as a new clone (cheap: the columns are
    shared, not copied), so a caller that changes its frame in place changes nobody else's."""

    def __init__(self, budget: int = MEMO_BYTES, entry_limit: int = MEMO_ENTRY_BYTES) -> None:
        self.budget = budget
        self.entry_limit = min(entry_limit, budget)
        self.held = 0
        self.hits = 0
        self._frames: OrderedDict[Hashable, tuple[pl.DataFrame, int]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(sql: str, params: dict[str, Any] | None) -> Hashable | None:
        """What identifies a result: the statement and every parameter with its type (DuckDB
        binds True and 1 differently); None when a parameter cannot be hashed (not kept)."""
        try:
            frozen = tuple(sorted((name, _frozen(value)) for name, value in (params or {}).items()))
            hash(frozen)
        except TypeError:
            return None
        return (sql, frozen)

    def get(self, key: Hashable) -> pl.DataFrame | None:
        with self._lock:
            found = self._frames.get(key)
            if found is None:
                return None
            self._frames.move_to_end(key)
            self.hits += 1
            return found[0].clone()

    def put(self, key: Hashable, frame: pl.DataFrame) -> None:
        size = int(frame.estimated_size())
        if size > self.entry_limit:
            return
        with self._lock:
            old = self._frames.pop(key, None)
            if old is not None:
                self.held -= old[1]
            self._frames[key] = (frame.clone(), size)
            self.held += size
            while self.held > self.budget:
                _, (_, dropped) = self._frames.popitem(last=False)
                self.held -= dropped

    def __len__(self) -> int:
        return len(self._frames)


def _frozen(value: Any) -> Hashable:
    """A parameter as a hashable value tagged with its type (lists and sets of values too)."""
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_frozen(v) for v in value))
    if isinstance(value, set | frozenset):
        return (type(value).__name__, frozenset(_frozen(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _frozen(v)) for k, v in value.items())))
    return (type(value).__name__, value)


class NoStoreError(DidError):
    """Nothing has been published at the store directory yet."""

    def __init__(self, store_dir: Path) -> None:
        self.store_dir = Path(store_dir)
        super().__init__(
            f"No published store at {self.store_dir}. Run `did demo` to build the demo store, "
            "or `did submit FILE` to load a provider file."
        )


class Snapshot:
    """One published snapshot, attached read-only. Create through `get_snapshot()`.

    `version` is the snapshot's version string — its file name without `.duckdb`, the value
    `ingest.store.publish()` returned and `store_meta.snapshot_version` holds. Use it as the
    cache key for anything computed from this snapshot.
    """

    def __init__(self, path: Path, *, memo: QueryMemo | None = None) -> None:
        self.path = Path(path)
        self.version = self.path.stem
        self.memo = memo  # results kept for the dashboard (ADR 0016); None runs every query
        self._con = duckdb.connect(":memory:")
        try:
            # ATTACH takes no bound parameters; the path is ours (from the pointer file), but
            # quote it properly anyway.
            quoted = str(self.path).replace("'", "''")
            self._con.execute(f"ATTACH '{quoted}' AS {_CATALOG} (READ_ONLY)")
            self._con.execute(f"USE {_CATALOG}")
            files = record_files(self._con, _CATALOG)
            if files:
                self._con.execute("SET allowed_paths = ?", [files])
            self._con.execute("SET enable_external_access = false")
        except BaseException:
            self._con.close()
            raise
        self._meta: dict[str, str] | None = None

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
        """Run one read-only statement on a new cursor and return its result as polars.

        Anything but a single SELECT raises duckdb.PermissionException before it runs. With a
        memo, a statement already run with the same parameters is answered from it (only
        SELECTs that ran are kept, so the check above cannot be skipped that way).
        """
        key = None if self.memo is None else self.memo.key(sql, params)
        if key is not None and self.memo is not None and (kept := self.memo.get(key)) is not None:
            return kept
        cursor = self._con.cursor()
        try:
            kinds = [st.type for st in cursor.extract_statements(sql)]
            if kinds != [duckdb.StatementType.SELECT]:
                raise duckdb.PermissionException(
                    "a snapshot runs one SELECT statement per query, not "
                    + (", ".join(k.name for k in kinds) or "nothing")
                )
            cursor.execute(f"USE {_CATALOG}")
            frame = cursor.sql(sql, params=params).pl()
        finally:
            cursor.close()
        if key is not None and self.memo is not None:
            self.memo.put(key, frame)
        return frame

    def remember(self, key: Hashable, compute: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        """`compute()`, kept in the memo under `key` (a tuple naming the function and every
        argument the frame depends on besides the snapshot) for the next caller: for a frame
        derived from queries in Python that several tables of a page start from. Without a memo
        it is worked out every time."""
        if self.memo is None:
            return compute()
        tagged = ("derived", key)
        kept = self.memo.get(tagged)
        if kept is not None:
            return kept
        frame = compute()
        self.memo.put(tagged, frame)
        return frame

    @property
    def meta(self) -> dict[str, str]:
        """The snapshot's `store_meta` table as a dict (schema_version, published_at, ...)."""
        if self._meta is None:
            rows = self.query("SELECT key, value FROM store_meta")
            self._meta = dict(zip(rows["key"].to_list(), rows["value"].to_list(), strict=True))
        return self._meta

    @property
    def published_at(self) -> str | None:
        """When the snapshot was published (ISO 8601, UTC), if the store recorded it."""
        return self.meta.get("published_at")

    def close(self) -> None:
        self._con.close()

    def __repr__(self) -> str:
        return f"Snapshot({self.version!r})"


def has_tables(snap: Snapshot, *tables: str) -> bool:
    """Whether the snapshot holds every one of `tables` (a store published before a rollup
    existed does not hold it)."""
    found = snap.query(
        "SELECT DISTINCT table_name FROM information_schema.tables WHERE list_contains($names, table_name)",
        {"names": list(tables)},
    )
    return found.height == len(set(tables))


@dataclass
class _Current:
    pointer_stamp: tuple[int, int, int]  # CURRENT's (inode, size, mtime_ns)
    snapshot: Snapshot


_lock = threading.Lock()
_current: dict[tuple[Path, bool], _Current] = {}


def get_snapshot(store_dir: Path | str | None = None, *, memo: bool = False) -> Snapshot:
    """The shared Snapshot for the newest published snapshot of `store_dir`.

    `store_dir` defaults to `did_model.layout.default_store_dir()` ($DID_STORE_DIR or data/store).
    `memo=True` (the dashboard) gives a Snapshot that keeps its recent query results (QueryMemo);
    without it every query runs (benchmarks time the queries themselves).
    Each call stats the CURRENT pointer (cheap); only when it has changed is it read, and a new
    Snapshot attached if it names a different file. Raises NoStoreError when nothing is
    published. Safe to call from several threads.
    """
    store_dir = Path(store_dir) if store_dir else default_store_dir()
    key = (store_dir.resolve(), memo)
    with _lock:
        try:
            st = os.stat(store_dir / POINTER)
        except FileNotFoundError:
            _current.pop(key, None)
            raise NoStoreError(store_dir) from None
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        held = _current.get(key)
        if held is not None and held.pointer_stamp == stamp:
            return held.snapshot
        path = current_snapshot(store_dir)
        if path is None:
            _current.pop(key, None)
            raise NoStoreError(store_dir)
        if held is not None and held.snapshot.path == path:
            held.pointer_stamp = stamp
            return held.snapshot
        # The old Snapshot is not closed here: another thread may still be reading from it.
        # It closes when the last reference goes.
        snapshot = Snapshot(path, memo=QueryMemo() if memo else None)
        _current[key] = _Current(stamp, snapshot)
        return snapshot
