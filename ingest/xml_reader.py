"""Read a DIDS XML extract (XML Schema Specification Pack v1.0) into the same staging table as CSV.

Structure (did-dataset.md §2.1): `DIDS` holds `DIDSRecord[1..*]`; each record has
`PersonalAndDemographics[1..1]` (all children optional), `Referrals[1..1]` and
`ImagingActivity[1..*]`. Every ImagingActivity is one examination, so a record with two
activities gives two staging rows that share the demographics and referral; both carry the
record's number in `line` (issues point at "record N" for XML).

Anything else — not well-formed, another root, an unknown element, a record without its
groups — rejects the whole file (DIDS076), naming the record and element.

Parsing walks the elements with the C parser (iterparse, streaming, memory bounded by one
record); the columns are handed to DuckDB as one Arrow table, and every rule then runs
set-wise exactly as for CSV.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest import spec
from ingest.reader import FileError, ReadResult, register_rows, sha256_of

_BY_ELEMENT = {item.xml_element: item for item in spec.ITEMS}
_GROUP_OF = {item.xml_element: item.xml_group for item in spec.ITEMS}
_GROUPS = ("PersonalAndDemographics", "Referrals", "ImagingActivity")
# Address may carry the postcode as text or in a child element; both are accepted.
_POSTCODE_CHILDREN = {"Postcode", "PostcodeOfUsualAddress", "PostCode"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _bad(path: Path, message: str) -> FileError:
    return FileError("DIDS076", f"{path.name}: {message}; the file must follow the DIDS XML schema v1.0")


def _values(group: ET.Element, record_no: int, path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    gname = _local(group.tag)
    for child in group:
        name = _local(child.tag)
        item = _BY_ELEMENT.get(name)
        if item is None or _GROUP_OF[name] != gname:
            raise _bad(path, f"record {record_no} has an unexpected element <{name}> in <{gname}>")
        if item.field in out:
            raise _bad(path, f"record {record_no} has <{name}> twice in <{gname}>")
        text = (child.text or "").strip()
        if name == "Address" and not text:
            text = next(((c.text or "").strip() for c in child if _local(c.tag) in _POSTCODE_CHILDREN), "")
        out[item.field] = text
    return out


def read_xml(con: duckdb.DuckDBPyConnection, path: Path, table: str = "staging", file_no: int = 0) -> ReadResult:
    """Read a DIDS XML file and register its rows as `table` on `con` (same columns as the CSV reader)."""
    path = Path(path)
    columns: dict[str, list] = {"line": [], **{c: [] for c in spec.COLUMNS}}
    record_no = 0
    root_seen = False
    try:
        for event, elem in ET.iterparse(path, events=("start", "end")):
            name = _local(elem.tag)
            if event == "start":
                if not root_seen:
                    root_seen = True
                    if name != "DIDS":
                        raise _bad(path, f"the root element is <{name}>, not <DIDS>")
                continue
            if name != "DIDSRecord":
                continue
            record_no += 1
            groups: dict[str, list[ET.Element]] = {g: [] for g in _GROUPS}
            for child in elem:
                cname = _local(child.tag)
                if cname not in groups:
                    raise _bad(path, f"record {record_no} has an unexpected element <{cname}>")
                groups[cname].append(child)
            for g, minimum, maximum in (("PersonalAndDemographics", 1, 1), ("Referrals", 1, 1),
                                        ("ImagingActivity", 1, None)):
                n = len(groups[g])
                if n < minimum or (maximum is not None and n > maximum):
                    want = "exactly one" if maximum == 1 else "at least one"
                    raise _bad(path, f"record {record_no} has {n} <{g}> elements; {want} is required")
            shared = _values(groups["PersonalAndDemographics"][0], record_no, path)
            shared.update(_values(groups["Referrals"][0], record_no, path))
            for activity in groups["ImagingActivity"]:
                values = {**shared, **_values(activity, record_no, path)}
                columns["line"].append(record_no)
                for c in spec.COLUMNS:
                    columns[c].append(values.get(c))
            elem.clear()
    except ET.ParseError as exc:
        raise _bad(path, f"it is not well-formed XML ({exc})") from None
    if record_no == 0:
        raise _bad(path, "it has no <DIDSRecord>")
    arrow = pa.table({"line": pa.array(columns["line"], pa.int64()),
                      "file_no": pa.array([file_no] * len(columns["line"]), pa.int32()),
                      **{c: pa.array(columns[c], pa.string()) for c in spec.COLUMNS}})
    arrow = register_rows(con, table, arrow)
    return ReadResult(rows=arrow.num_rows, has_header=False, sha256=sha256_of(path), format="xml", table=arrow)


def write_xml(path: Path, records: list[dict[str, str]]) -> Path:
    """Write records (dicts keyed by spec field names) as a DIDS XML file, one activity each.

    Used by tests and by anyone who wants an XML copy of a CSV extract.
    """
    root = ET.Element("DIDS")
    for rec in records:
        r = ET.SubElement(root, "DIDSRecord")
        group_el = {g: ET.SubElement(r, g) for g in _GROUPS}
        for item in spec.ITEMS:
            value = rec.get(item.field)
            if value not in (None, ""):
                ET.SubElement(group_el[item.xml_group], item.xml_element).text = value
    Path(path).write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return Path(path)
