"""Local procedure codes: a provider notifies a code of its own and the national code it means.

A record whose procedure code is neither a national NICIP code nor a code its provider has
notified is rejected (DIDS057) with a message saying how to notify it. A notified local code
is loaded as its national code; the record keeps the local code too (`record.local_code`).
Notifying applies to files submitted afterwards; records already rejected stay in quarantine
until the provider submits the file again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from did_errors import UsageError
from ingest import ownership

_CODE = re.compile(r"^[A-Z0-9]{2,18}$")


class LocalCodeError(UsageError):
    """A notification that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class LocalCode:
    provider_code: str
    local_code: str
    nicip_code: str
    notified_at: datetime
    notified_by: str | None


def _provider(con: duckdb.DuckDBPyConnection, text: str) -> str:
    """The ODS provider code `text` names, known to the reference data; LocalCodeError if not."""
    try:
        provider = ownership.provider_code(text)
        ownership.check_known(con, provider)
    except ownership.SubmissionRefused as exc:
        raise LocalCodeError(str(exc)) from None
    return provider


def add(
    con: duckdb.DuckDBPyConnection, provider: str, code: str, maps_to: str, notified_by: str | None = None
) -> LocalCode:
    """Notify (or re-map) a provider's local code. Raises LocalCodeError with what to fix."""
    provider = _provider(con, provider)
    code, maps_to = code.strip().upper(), maps_to.strip().upper()
    if not (code.isascii() and _CODE.fullmatch(code)):
        raise LocalCodeError(f"local code {code!r} must be 2-18 letters and digits")
    national = con.execute("SELECT 1 FROM ref_nicip WHERE nicip_code = ?", [code]).fetchall()
    if national:
        raise LocalCodeError(f"{code} is already a national NICIP code; it needs no notification")
    target = con.execute("SELECT 1 FROM ref_nicip WHERE nicip_code = ?", [maps_to]).fetchall()
    if not target:
        raise LocalCodeError(f"{maps_to} is not a national NICIP code; a local code must map to one")
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute("INSERT OR REPLACE INTO local_code VALUES (?, ?, ?, ?, ?)", [provider, code, maps_to, now, notified_by])
    return LocalCode(provider, code, maps_to, now, notified_by)


def remove(con: duckdb.DuckDBPyConnection, provider: str, code: str) -> None:
    provider, code = provider.strip().upper(), code.strip().upper()
    found = con.execute(
        "SELECT 1 FROM local_code WHERE provider_code = ? AND local_code = ?", [provider, code]
    ).fetchall()
    if not found:
        raise LocalCodeError(f"{provider} has not notified a local code {code}")
    con.execute("DELETE FROM local_code WHERE provider_code = ? AND local_code = ?", [provider, code])


def list_codes(con: duckdb.DuckDBPyConnection, provider: str | None = None) -> list[LocalCode]:
    rows = con.execute(
        "SELECT provider_code, local_code, nicip_code, notified_at, notified_by FROM local_code "
        "WHERE ?::VARCHAR IS NULL OR provider_code = ? ORDER BY provider_code, local_code",
        [provider and provider.upper(), provider and provider.upper()],
    ).fetchall()
    return [LocalCode(*r) for r in rows]


def _check_scope(scope, provider: str) -> None:
    """A provider user notifies and withdraws its own providers' codes; the central team anyone's."""
    try:
        ownership.check_may_submit(scope, ownership.provider_code(provider))
    except ownership.SubmissionRefused as exc:
        raise LocalCodeError(str(exc)) from None


def notify(store_dir, provider: str, code: str, maps_to: str, notified_by: str | None = None, *, scope) -> LocalCode:
    """Add a local code under the writer lock and publish (the dashboard's and CLI's front door),
    as `scope`'s user (did_model.scope.Scope): checked before the store is opened."""
    from ingest import store

    _check_scope(scope, provider)
    with store.writer(store_dir, wait_seconds=30) as con:
        lc = add(con, provider, code, maps_to, notified_by)
        store.publish(con, store_dir)
    return lc


def withdraw(store_dir, provider: str, code: str, *, scope) -> None:
    """Remove a local code under the writer lock and publish, as `scope`'s user."""
    from ingest import store

    _check_scope(scope, provider)
    with store.writer(store_dir, wait_seconds=30) as con:
        remove(con, provider, code)
        store.publish(con, store_dir)
