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

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from pathlib import Path

import duckdb

from did_errors import UsageError
from ingest import spec, validation

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "reference"
DEFAULT_DIRS = {"1.0": REFERENCE / "dids-v1", "2.0": REFERENCE / "dids-v2"}
VERSIONS = tuple(DEFAULT_DIRS)
FILES = ("pack.csv", "items.csv", "codes.csv", "rules.csv")
STATUSES = frozenset({"CONFIRMED", "CONCEPT", "INFERRED", "PROJECT"})
_COLUMNS = {
    "pack.csv": ("key", "value"),
    "items.csv": (
        "item",
        "field",
        "xml_element",
        "xml_group",
        "format",
        "max_length",
        "obligation",
        "code_list",
        "identifying",
        "status",
        "source",
    ),
    "codes.csv": ("code_list", "code", "meaning", "status", "source"),
    "rules.csv": ("code", "severity", "item", "condition", "message", "status", "source"),
}
# The fields each version's items may be: v2.0 has no test or report date of its own (they are
# the local dates of its timestamps) and v1.0 none of the v2.0 additions.
FIELDS = {"1.0": frozenset(spec.COLUMNS), "2.0": frozenset(spec.STAGING_COLUMNS) - {"test_date", "report_date"}}
# Without these a record cannot be stored (`record`'s NOT NULL columns and its key).
REQUIRED_FIELDS = {
    "1.0": ("patient_source", "test_date", "site_code", "accession_number"),
    "2.0": ("patient_source", "procedure_start_ts", "site_code", "accession_number"),
}


class PackError(UsageError):
    """A pack that cannot be used: one line, naming the file and line and what to fix."""


@dataclass(frozen=True)
class Pack:
    version: str
    first_activity_month: date | None
    last_activity_month: date | None
    items: tuple[spec.DataItem, ...]
    rules: tuple[validation.Rule, ...]
    code_lists: dict[str, tuple[str, ...]]
    texts: dict[str, str]  # the files as read, for installing

    @property
    def mandatory(self) -> tuple[str, ...]:
        """Fields a CSV header must name (the reader's file-level check)."""
        return tuple(i.field for i in self.items if i.obligation is spec.Obligation.MANDATORY)

    def covers(self, activity_month: date) -> bool:
        return (self.first_activity_month is None or activity_month >= self.first_activity_month) and (
            self.last_activity_month is None or activity_month <= self.last_activity_month
        )

    @property
    def months(self) -> str:
        """The activity months it is for, in words (for messages)."""
        first, last = self.first_activity_month, self.last_activity_month
        if first and last:
            return f"activity from {first:%Y-%m} to {last:%Y-%m}"
        return f"activity from {first:%Y-%m}" if first else f"activity up to {last:%Y-%m}" if last else "any month"


def _rows(name: str, text: str) -> list[tuple[int, dict[str, str]]]:
    """(line, row) of a pack CSV; PackError when its header lacks a column."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in _COLUMNS[name] if c not in header]
    if missing:
        raise PackError(f"{name} lacks the column(s) {', '.join(missing)}")
    reader.fieldnames = header
    return [(n, {k: (v or "").strip() for k, v in row.items() if k}) for n, row in enumerate(reader, start=2)]


def _month(name: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise PackError(f"pack.csv: {name} {value!r} is not a month YYYY-MM") from None


def _status(name: str, line: int, row: dict) -> None:
    if row["status"] not in STATUSES:
        raise PackError(f"{name} line {line}: status {row['status']!r} is not one of {', '.join(sorted(STATUSES))}")


def _meta(texts: dict[str, str]) -> tuple[str, date | None, date | None]:
    meta = {row["key"]: row["value"] for _, row in _rows("pack.csv", texts["pack.csv"])}
    version = meta.get("version", "")
    if version not in VERSIONS:
        raise PackError(f"pack.csv: version {version!r} is not one this software reads ({', '.join(VERSIONS)})")
    return (
        version,
        _month("first_activity_month", meta.get("first_activity_month", "")),
        _month("last_activity_month", meta.get("last_activity_month", "")),
    )


def _code_lists(texts: dict[str, str]) -> dict[str, tuple[str, ...]]:
    lists: dict[str, list[str]] = {}
    for line, row in _rows("codes.csv", texts["codes.csv"]):
        _status("codes.csv", line, row)
        if not row["code_list"] or not row["code"]:
            raise PackError(f"codes.csv line {line}: code_list and code are required")
        if row["code"] in lists.setdefault(row["code_list"], []):
            raise PackError(f"codes.csv line {line}: {row['code_list']} lists {row['code']!r} twice")
        lists[row["code_list"]].append(row["code"])
    return {k: tuple(v) for k, v in lists.items()}


def _item(version: str, line: int, row: dict, code_lists: dict[str, tuple[str, ...]]) -> spec.DataItem:
    where = f"items.csv line {line}"
    _status("items.csv", line, row)
    if row["field"] not in FIELDS[version]:
        raise PackError(
            f"{where}: field {row['field']!r} is not a DIDS v{version} field of this software "
            f"({', '.join(sorted(FIELDS[version]))})"
        )
    if not row["item"] or not row["xml_element"].isidentifier():
        raise PackError(f"{where}: an item needs a name and an XML element name (letters and digits)")
    try:
        obligation = spec.Obligation(row["obligation"])
        max_length = int(row["max_length"])
    except ValueError:
        raise PackError(
            f"{where}: obligation must be one of {', '.join(o.value for o in spec.Obligation)} "
            "and max_length a whole number"
        ) from None
    if row["code_list"] and row["code_list"] not in code_lists:
        raise PackError(f"{where}: code list {row['code_list']!r} is not in codes.csv")
    return spec.DataItem(
        line - 1,
        row["item"],
        row["field"],
        row["xml_element"],
        row["xml_group"],
        obligation,
        row["format"],
        max_length,
        {c: c for c in code_lists.get(row["code_list"], ())},
        identifying=row["identifying"].lower() in ("yes", "true", "y", "1"),
    )


def _items(version: str, texts: dict[str, str], code_lists) -> tuple[spec.DataItem, ...]:
    items = tuple(_item(version, line, row, code_lists) for line, row in _rows("items.csv", texts["items.csv"]))
    for attr in ("field", "name", "xml_element"):
        seen = [getattr(i, attr) for i in items]
        twice = sorted({v for v in seen if seen.count(v) > 1})
        if twice:
            raise PackError(f"items.csv names {', '.join(twice)} more than once ({attr})")
    missing = [f for f in REQUIRED_FIELDS[version] if f not in {i.field for i in items}]
    if missing:
        raise PackError(f"items.csv has no item for {', '.join(missing)}, without which no record can be stored")
    return items


def _rule(line: int, row: dict, fields: set[str]) -> validation.Rule:
    where = f"rules.csv line {line}"
    _status("rules.csv", line, row)
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
    version, first, last = _meta(texts)
    code_lists = _code_lists(texts)
    items = _items(version, texts, code_lists)
    fields = {i.field for i in items}
    rules = tuple(_rule(line, row, fields) for line, row in _rows("rules.csv", texts["rules.csv"]))
    codes = [r.code for r in rules]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise PackError(f"rules.csv binds {', '.join(twice)} more than once; each code names one rule")
    try:  # every code list a condition reads is in codes.csv
        validation.code_list_params(" ".join(r.condition for r in rules), code_lists)
    except ValueError as exc:
        raise PackError(f"codes.csv: {exc}") from None
    return Pack(version, first, last, items, rules, code_lists, dict(texts))


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


def version_for_period(period: date) -> str:
    """The version a file for submission month `period` must be: the one whose activity months
    hold the month before it (a file normally reports the month before it is sent, so April
    2026 activity, the first DIDS v2.0 month, arrives in files for 2026-05)."""
    activity = date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1)
    for version in VERSIONS:
        if default_pack(version).covers(activity):
            return version
    return VERSIONS[-1]
