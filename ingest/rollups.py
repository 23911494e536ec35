"""Small aggregate tables built at publish time for the dashboard's hot paths (architecture §8).

Every dashboard query reads one of these (or a narrow scan), never the whole record table per
rerun. The definitions live in `ingest/rollup_defs/`, one module per area; each is rebuilt in
full at a publish unless none of the tables it names changed (`store._contents`, ADR 0006) —
simple, and at 45 M records a year a GROUP BY pass is seconds.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from ingest import rollup_defs
from ingest.duplicates import counted_record_sql


def all_rollups() -> dict[str, str]:
    """Every rollup definition, table name → SELECT, from every module in ingest/rollup_defs."""
    found: dict[str, str] = {}
    raw: set[str] = set()
    for mod in sorted(pkgutil.iter_modules(rollup_defs.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{rollup_defs.__name__}.{mod.name}")
        for name, select in getattr(module, "ROLLUPS", {}).items():
            if not name.startswith("rollup_") or not name.replace("_", "").isalnum():
                raise ValueError(f"rollup name {name!r} in {mod.name} must be rollup_<letters/digits/_>")
            if name in found:
                raise ValueError(f"rollup {name} is defined twice")
            found[name] = select
        raw |= set(getattr(module, "EVERY_COPY", ()))
    # Every rollup over records counts an outsourced examination once (ADR 0010), but those a
    # module lists in EVERY_COPY, which are about the copies themselves; one reading reference
    # data alone is left as written, so it is still kept while only records change.
    return {name: counted_record_sql(select) if re.search(r"\brecord\b", select) and name not in raw else select
            for name, select in found.items()}


def rollup_statements(into: str) -> list[tuple[str, str]]:
    """(rollup name, CREATE TABLE statement) for every rollup, built into the attached database `into`.

    The SELECTs read the connection's default database (the working store); the tables are
    created in `into` (publishing builds them straight into the new snapshot, ADR 0006). The
    statements are independent of each other, so publishing runs them on two cursors at once.
    """
    if not into.isidentifier():
        raise ValueError(f"database name {into!r} must be an identifier")
    # `name` is checked by all_rollups and `into` above; both come from code, never input.
    return [(name, f"CREATE OR REPLACE TABLE {into}.main.{name} AS {select}") for name, select in all_rollups().items()]
