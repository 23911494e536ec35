"""Spec packs' catalogues: each DIDS version's items and code lists, and which activity months it
is for, read from the pack's pack.csv, items.csv and codes.csv (the format is in ingest/spec_pack.py,
which adds the rule catalogue, rules.csv, bound to the validation conditions).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

from did_errors import UsageError
from did_model import spec

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
class Catalogue:
    version: str
    first_activity_month: date | None
    last_activity_month: date | None
    items: tuple[spec.DataItem, ...]
    code_lists: dict[str, tuple[str, ...]]

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


def read_rows(name: str, text: str) -> list[tuple[int, dict[str, str]]]:
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


def check_status(name: str, line: int, row: dict) -> None:
    if row["status"] not in STATUSES:
        raise PackError(f"{name} line {line}: status {row['status']!r} is not one of {', '.join(sorted(STATUSES))}")


def _meta(texts: dict[str, str]) -> tuple[str, date | None, date | None]:
    meta = {row["key"]: row["value"] for _, row in read_rows("pack.csv", texts["pack.csv"])}
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
    for line, row in read_rows("codes.csv", texts["codes.csv"]):
        check_status("codes.csv", line, row)
        if not row["code_list"] or not row["code"]:
            raise PackError(f"codes.csv line {line}: code_list and code are required")
        if row["code"] in lists.setdefault(row["code_list"], []):
            raise PackError(f"codes.csv line {line}: {row['code_list']} lists {row['code']!r} twice")
        lists[row["code_list"]].append(row["code"])
    return {k: tuple(v) for k, v in lists.items()}


def _item(version: str, line: int, row: dict, code_lists: dict[str, tuple[str, ...]]) -> spec.DataItem:
    where = f"items.csv line {line}"
    check_status("items.csv", line, row)
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
    items = tuple(_item(version, line, row, code_lists) for line, row in read_rows("items.csv", texts["items.csv"]))
    for attr in ("field", "name", "xml_element"):
        seen = [getattr(i, attr) for i in items]
        twice = sorted({v for v in seen if seen.count(v) > 1})
        if twice:
            raise PackError(f"items.csv names {', '.join(twice)} more than once ({attr})")
    missing = [f for f in REQUIRED_FIELDS[version] if f not in {i.field for i in items}]
    if missing:
        raise PackError(f"items.csv has no item for {', '.join(missing)}, without which no record can be stored")
    return items


def catalogue(texts: dict[str, str]) -> Catalogue:
    """The version, activity months, items and code lists of a pack's files, checked; PackError at
    the first fault."""
    version, first, last = _meta(texts)
    code_lists = _code_lists(texts)
    return Catalogue(version, first, last, _items(version, texts, code_lists), code_lists)


@cache
def default_catalogue(version: str) -> Catalogue:
    """The catalogue of the pack shipped with the software for `version`."""
    return catalogue({f: (DEFAULT_DIRS[version] / f).read_text(encoding="utf-8") for f in FILES[:3]})


def version_for_period(period: date) -> str:
    """The version a file for submission month `period` must be: the one whose activity months
    hold the month before it (a file normally reports the month before it is sent, so April
    2026 activity, the first DIDS v2.0 month, arrives in files for 2026-05)."""
    activity = date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1)
    for version in VERSIONS:
        if default_catalogue(version).covers(activity):
            return version
    return VERSIONS[-1]
