"""Spec packs: each DIDS version's items, code lists and rule catalogue, as data.

A pack is a folder of four CSV files (data/reference/dids-v1/, dids-v2/; SOURCES.md in each):

- `pack.csv` (key, value): `version` (1.0 / 2.0), `first_activity_month` and
  `last_activity_month` (YYYY-MM, either may be empty): the activity months the version is for.
- `items.csv`: item name (the CSV header), our field, XML element and group, format, max length,
  obligation, code list, identifying, status (CONFIRMED / CONCEPT / INFERRED / PROJECT), source.
- `codes.csv`: code_list, code, meaning, status, source.
- `rules.csv`: code, severity (reject / warning), item (our field), condition (an id of
  `validation.CONDITIONS`), message (text with `{placeholders}`), status, source.

Why data: the official DIDS v2.0 Enhanced TOS is licensed and not public, so the project ships
a pack assembled from public guidance (did-v2.md) and a licensed user replaces it with one built
from the ETOS — `did reference load-spec DIR` — without a code change. The conditions stay code
(a pack binds codes, severities, messages and code lists to them), so a pack can rename or
re-grade a rule but never inject SQL: everything it supplies is a bound parameter.

An installed pack is kept in the store (`ref_spec_pack`, the files' text) and wins over the
shipped default for its version; `pack_for` reads it back through the same checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path

import duckdb

from did_model import spec_pack as _catalogue
from did_model.spec_pack import (  # noqa: F401 - the pack format's names, read here too
    DEFAULT_DIRS,
    FILES,
    STATUSES,
    VERSIONS,
    Catalogue,
    PackError,
    check_status,
    read_rows,
    version_for_period,
)
from ingest import validation


@dataclass(frozen=True)
class Pack(Catalogue):
    """A catalogue with its rules (bound to the validation conditions) and the files' text."""

    rules: tuple[validation.Rule, ...] = ()
    texts: dict[str, str] = field(default_factory=dict)  # the files as read, for installing


def _rule(line: int, row: dict, fields: set[str]) -> validation.Rule:
    where = f"rules.csv line {line}"
    check_status("rules.csv", line, row)
    condition = validation.CONDITIONS.get(row["condition"])
    if condition is None:
        raise PackError(
            f"{where}: condition {row['condition']!r} is not one this software implements; "
            "use a condition id from the shipped packs (a new condition needs a code change)"
        )
    if not row["code"] or len(row["code"]) > 20:
        raise PackError(f"{where}: a rule needs a code of at most 20 characters")
    if row["severity"] not in validation.SEVERITIES:
        raise PackError(f"{where}: severity {row['severity']!r} is not reject or warning")
    if row["item"] and row["item"] not in fields:
        raise PackError(f"{where}: item {row['item']!r} is not a field of the pack's items.csv")
    if not row["message"]:
        raise PackError(f"{where}: a rule needs a message")
    try:
        validation.message_sql(row["message"], "m")
    except ValueError as exc:
        raise PackError(f"{where}: {exc}") from None
    return validation.Rule(
        row["code"], row["severity"], row["item"] or None, condition.sql, row["message"], condition.id
    )


def parse(texts: dict[str, str]) -> Pack:
    """A pack from its files' text, every check made; PackError at the first fault."""
    cat = _catalogue.catalogue(texts)
    fields = {i.field for i in cat.items}
    rules = tuple(_rule(line, row, fields) for line, row in read_rows("rules.csv", texts["rules.csv"]))
    codes = [r.code for r in rules]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise PackError(f"rules.csv binds {', '.join(twice)} more than once; each code names one rule")
    try:  # every code list a condition reads is in codes.csv
        validation.code_list_params(" ".join(r.condition for r in rules), cat.code_lists)
    except ValueError as exc:
        raise PackError(f"codes.csv: {exc}") from None
    first, last = cat.first_activity_month, cat.last_activity_month
    return Pack(cat.version, first, last, cat.items, cat.code_lists, rules, dict(texts))


def read_pack(folder: Path) -> Pack:
    """Read and check the pack in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PackError(f"{folder} is not a folder; give the folder holding {', '.join(FILES)}")
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise PackError(f"{folder} has no {', '.join(missing)}; a spec pack has {', '.join(FILES)}")
    try:
        return parse({f: (folder / f).read_text(encoding="utf-8") for f in FILES})
    except UnicodeDecodeError:
        raise PackError(f"a file in {folder} is not UTF-8 text; save the pack's CSV files as UTF-8") from None


@cache
def default_pack(version: str) -> Pack:
    """The pack shipped with the software for `version`."""
    return read_pack(DEFAULT_DIRS[version])


@lru_cache(maxsize=8)
def _parsed(texts: tuple[tuple[str, str], ...]) -> Pack:
    return parse(dict(texts))


def pack_for(con: duckdb.DuckDBPyConnection, version: str) -> Pack:
    """The pack in force for `version`: the one installed in the store, else the shipped one."""
    try:
        rows = con.execute(
            "SELECT file, content FROM ref_spec_pack WHERE version = ? ORDER BY file", [version]
        ).fetchall()
    except duckdb.CatalogException:  # a store from before packs could be installed
        rows = []
    return _parsed(tuple(rows)) if rows else default_pack(version)


def install(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    """Check the pack in `folder` and make it the one in force for its version (one transaction:
    a bad pack changes nothing). Returns how many rules it binds."""
    pack = read_pack(folder)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM ref_spec_pack WHERE version = ?", [pack.version])
        now = datetime.now(UTC).replace(tzinfo=None)
        con.executemany(
            "INSERT INTO ref_spec_pack VALUES (?, ?, ?, ?)", [[pack.version, f, pack.texts[f], now] for f in FILES]
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(pack.rules)
