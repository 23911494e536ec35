"""Submitting a file that arrived as bytes (the dashboard's upload), through the same front door.

The bytes are written to a private temporary folder under a sanitised name, checked and
(unless `dry_run`) loaded under the store's writer lock and published (`load_and_publish`, which
`did submit` uses too: a load that cannot be published is taken back).
Nothing of the upload is kept outside the store: the temporary copy is always removed.
Who may submit what (`ownership`) is checked here, for the user's scope, before anything is
written: the page's drop-down is a convenience, not the control.
"""

from __future__ import annotations

import contextlib
import errno
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from did_errors import UsageError
from did_model.layout import default_store_dir
from ingest import loader, ownership, pseudonymise, reader, store

MAX_UPLOAD_BYTES = reader.MAX_FILE_BYTES  # why 64 MiB: see reader.MAX_FILE_BYTES; .streamlit/config.toml matches
CHECKING = "checking every record against the DIDS rules"  # the first step `progress` hears
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_name(name: str) -> str:
    """A file name with no path, no odd characters and a bounded length (the extension kept)."""
    base = Path(name.replace("\\", "/")).name or "upload"
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _UNSAFE.sub("_", stem).strip("._") or "upload"
    ext = _UNSAFE.sub("", ext)[:8]
    return f"{stem[:100]}.{ext}" if ext else stem[:100]


def audit_date_set(scope, file_name: str, provider: str, period: str, submitted_on: date | None, dry_run: bool) -> None:
    """Write an audit line when a submission date other than today is given (central only, to
    re-check an old file): timeliness and the date rules count from it, so who set it is kept."""
    if submitted_on is None or submitted_on == date.today():
        return
    import did_audit as audit

    audit.record(
        scope,
        "check with a set submission date" if dry_run else "submit with a set submission date",
        file=file_name,
        provider=provider,
        period=period,
        submitted_on=submitted_on,
    )


ONE_FILE_MEMORY_LIMIT = "1GB"


def load_and_publish(
    con,
    store_dir: Path,
    path: Path,
    provider: str,
    period: str,
    submitted_on: date | None = None,
    issue_limit: int = 200,
    progress: Callable[[str], None] | None = None,
    verdict: Callable[[loader.LoadResult], None] | None = None,
) -> loader.LoadResult:
    """Load one file under the writer lock held by `con`, and publish it (`progress`, when given,
    hears each step: checking, loading, then the publish's own, `store.publish`; `verdict`, when
    given, hears the load's result as soon as the load commits, before the publish).

    Into a published store the working store is not checkpointed (`store.defer_checkpoint`), for
    the rest of `con`'s life. If publishing fails before the new snapshot is in place, the load is
    taken back (`loader.undo`) and StoreError says so in one line: the store is as it was, and
    readers never see a working store that its snapshots cannot show.
    """
    say = progress or (lambda _: None)
    published = store.current_snapshot(store_dir)
    lean = published is not None
    early = None
    if lean:
        # One file into a published store: its load and the incremental publish read a few
        # provider-months, so DuckDB is held to less memory than a bulk load or a first publish
        # needs (it evicts cached blocks sooner; issue 22: a resubmission in at most 2 GB).
        con.execute("SET memory_limit = ?", [ONE_FILE_MEMORY_LIMIT])
        # Nor is the working store checkpointed, by the publish or when the writer closes: a
        # file's changes stay in its write-ahead log until that grows (store.defer_checkpoint).
        store.defer_checkpoint(con)
        # The publish builds on a copy of the current snapshot: made now, beside the check and
        # the load, not beside the publish's own work (0.2 s of disk, or 1 s with a full page
        # cache); removed again if the file is rejected.
        early = store.start_copy(store_dir)
    try:
        say(CHECKING)
        checked = loader.check(con, path, provider, period, submitted_on, issue_limit, pseudonymise.load_key())
        say("loading the accepted records")
        result = loader.load_checked(con, checked, undoable=True)
        if verdict:
            verdict(result)
        if result.submission_id is None:
            return result
        assert checked.undo is not None  # load_checked(undoable=True) keeps it
        try:
            handed, early = early, None  # the publish owns the copy from here
            store.publish(con, store_dir, progress=progress, checkpoint=not lean, early_copy=handed)
        except Exception as exc:
            if store.current_snapshot(store_dir) != published:
                raise  # the new snapshot is in place: the load is published
            loader.undo(con, checked.undo)
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            if getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in reason:
                raise store.StoreError(
                    f"{result.file} was not loaded: publishing failed (No space left on device): the disk holding "
                    "the store is full; free space there (old exports, logs or other files) and submit the file "
                    "again; the store is as it was"
                ) from None
            raise store.StoreError(
                f"{result.file} was not loaded: publishing failed ({reason}); "
                "the store is as it was, submit the file again once that is fixed"
            ) from None
        return result
    finally:
        if early is not None:  # the file was rejected, or the check failed: nothing builds on the copy
            early.discard()
        if lean:  # back to the writer's limit, unless the connection is past using (it is closed next)
            with contextlib.suppress(duckdb.Error):
                con.execute("SET memory_limit = ?", [store.WRITER_MEMORY_LIMIT])


def submit_bytes(
    data: bytes,
    file_name: str,
    provider: str,
    period: str,
    submitted_on: date | None = None,
    *,
    scope,
    store_dir: Path | None = None,
    dry_run: bool = False,
    issue_limit: int = 200,
    progress: Callable[[str], None] | None = None,
    verdict: Callable[[loader.LoadResult], None] | None = None,
) -> loader.LoadResult:
    """Check (and unless `dry_run`, load and publish) an uploaded file as `scope`'s user.

    ValueError for bad arguments; ownership.NotYours (also a PermissionError) when the user may
    not submit for `provider` or set `submitted_on`. Both before anything is written.
    `progress`, when given, hears each step of the load and the publish; `verdict` the load's
    result before the publish starts (the Submit page shows the verdict while it publishes).
    """
    provider = ownership.provider_code(provider)
    ownership.check_may_submit(scope, provider, submitted_on)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UsageError(f"the file is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}")
    store_dir = Path(store_dir) if store_dir else default_store_dir()
    tmp = Path(tempfile.mkdtemp(prefix="did-upload-"))
    try:
        path = tmp / safe_file_name(file_name)
        path.write_bytes(data)
        audit_date_set(scope, path.name, provider, period, submitted_on, dry_run)
        if dry_run:
            if progress:
                progress(CHECKING)
            con = store.checking_connection(store_dir)
            try:
                return loader.load_file(con, path, provider, period, submitted_on, issue_limit, dry_run=True)
            finally:
                con.close()
        with store.writer(store_dir, create=True, wait_seconds=30) as con:
            return load_and_publish(
                con, store_dir, path, provider, period, submitted_on, issue_limit, progress, verdict
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
