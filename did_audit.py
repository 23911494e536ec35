"""The audit log: who exported data or viewed record-level data (quarantine, linkage extracts).

An append-only JSON-lines file beside the store (`<store>/audit.jsonl`, or `$DID_AUDIT_LOG`),
not a table in it: the read side never writes to the store, and an audit trail should not
live in the thing it audits. Each line: time (UTC), user, role, action, details. Lines never
carry patient identifiers. The file is created 0600 (its folder, when made here, 0700): it
names who looked at what.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import did_settings
from did_model.scope import Scope


def log_path() -> Path:
    return did_settings.current().audit_log


def record(scope: Scope, action: str, **details) -> None:
    """Append one audit line and flush it to disk before returning."""
    path = log_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = json.dumps(
        {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "user": scope.user,
            "role": scope.role,
            "action": action,
            **details,
        },
        default=str,
        sort_keys=True,
    )
    with open(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def read(limit: int | None = None) -> list[dict]:
    path = log_path()
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in (lines[-limit:] if limit else lines)]
