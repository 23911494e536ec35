"""Read a DIDS XML extract (v1.0 XML Schema Specification Pack, or v2.0) into the same staging table as CSV.

The version is told by the root: `<DIDS version="2.0">` is DIDS v2.0, whose item elements are
the v2.0 spec pack's (`xml_element`, in the groups its `xml_group` says); a root without the
attribute (or with "1.0") is v1.0. The group structure is the same for both (the v2.0 schema
is not public: a project decision, data/reference/dids-v2/SOURCES.md).

Structure (did-dataset.md §2.1): `DIDS` holds `DIDSRecord[1..*]`; each record has
`PersonalAndDemographics[1..1]` (all children optional), `Referrals[1..1]` and
`ImagingActivity[1..*]`. Every ImagingActivity is one examination, so a record with two
activities gives two staging rows that share the demographics and referral; both carry the
record's number in `line` (issues point at "record N" for XML).

Anything else — not well-formed, another root, an unknown element, a record without its
groups — rejects the whole file (DIDS076), naming the record and element.

Parsing streams the bytes through expat with handlers that enforce the structure as each
element opens, so the cost of any file is bounded by what one record may hold: no element
deeper than the DIDS structure (`MAX_DEPTH`), each item at most once per group, at most
`MAX_ACTIVITIES` activities per record and `MAX_TEXT` characters per item. A document type
declaration (and with it every entity definition, internal or external) is refused: DIDS XML
has none, and entity expansion is how a small file becomes a huge one. The columns are handed
to DuckDB as one Arrow table, and every rule then runs set-wise exactly as for CSV.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NoReturn
from xml.parsers import expat

import duckdb
import pyarrow as pa

from did_model import spec
from ingest.reader import FileError, ReadResult, register_rows

_BY_ELEMENT = {item.xml_element: item for item in spec.ITEMS}
_GROUPS = ("PersonalAndDemographics", "Referrals", "ImagingActivity")
# Address may carry the postcode as text or in a child element; both are accepted.
_POSTCODE_CHILDREN = {"Postcode", "PostcodeOfUsualAddress", "PostCode"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _bad(path: Path, message: str) -> FileError:
    return FileError("DIDS076", f"{path.name}: {message}; the file must follow the DIDS XML schema v1.0")


# DIDS > DIDSRecord > group > item, and Address > postcode: nothing in a DIDS file is deeper.
MAX_DEPTH = 5
# A record is one patient's referral; a few activities each is usual, thousands is not a DID file.
MAX_ACTIVITIES = 1000
# The longest item is 20 characters (spec.ITEMS); longer values are still read so that the
# record-level rules can name them, up to this.
MAX_TEXT = 4096
_READ_BYTES = 1 << 20


class _Record:
    """The items of the record being read, by group, as the parser meets them."""

    def __init__(self) -> None:
        self.shared: dict[str, str] = {}  # PersonalAndDemographics and Referrals items
        self.activities: list[dict[str, str]] = []
        self.groups = {g: 0 for g in _GROUPS}


class _Walker:
    """expat handlers that check each element against the DIDS structure as it opens and
    collect the records' values into columns; every fault raises `_bad` at once."""

    def __init__(self, path: Path, file_no: int, items_by_version: dict[str, tuple] | None = None) -> None:
        self.path = path
        self.items_by_version = items_by_version or {"1.0": spec.ITEMS}
        self.version = "1.0"
        self.by_element = _BY_ELEMENT
        self.columns: dict[str, list] = {"line": [], **{c: [] for c in spec.STAGING_COLUMNS}}
        self.stack: list[str] = []
        self.record_no = 0
        self.record = _Record()  # the DIDSRecord being read; a fresh one at each start tag
        self.values: dict[str, str] = {}  # the group being read
        self.texts: list[list[str]] = []  # the text read so far of each open element, as the stack
        self.sizes: list[int] = []  # and its length
        self.postcode = ""  # the text of a postcode element inside Address

    def bad(self, message: str) -> FileError:
        return _bad(self.path, f"record {self.record_no} {message}" if self.record_no else message)

    def start(self, tag: str, attrs) -> None:
        name = _local(tag)
        depth = len(self.stack) + 1
        parent = self.stack[-1] if self.stack else None
        if depth == 1:
            if name != "DIDS":
                raise _bad(self.path, f"the root element is <{name}>, not <DIDS>")
            self._choose_version(attrs.get("version", "1.0").strip())
        elif depth == 2:
            if name != "DIDSRecord":
                raise _bad(self.path, f"<DIDS> holds an unexpected element <{name}>")
            self.record_no += 1
            self.record = _Record()
        elif depth == 3:
            self._open_group(name)
        elif depth == 4:
            item = self.by_element.get(name)
            if item is None or item.xml_group != parent:
                raise self.bad(f"has an unexpected element <{name}> in <{parent}>")
            if item.field in self.values:
                raise self.bad(f"has <{name}> twice in <{parent}>")
        elif depth == 5 and parent == "Address" and name in _POSTCODE_CHILDREN:
            pass
        else:
            raise self.bad(f"has an unexpected element <{name}> in <{parent}> (nested deeper than the DIDS structure)")
        self.stack.append(name)
        self.texts.append([])
        self.sizes.append(0)

    def _choose_version(self, version: str) -> None:
        if version not in self.items_by_version:
            raise _bad(
                self.path,
                f"the root says version {version!r}; DIDS XML is version 1.0 (no attribute) "
                f"or {', '.join(v for v in self.items_by_version if v != '1.0')}",
            )
        self.version = version
        self.by_element = {item.xml_element: item for item in self.items_by_version[version]}

    def _open_group(self, name: str) -> None:
        if name not in self.record.groups:
            raise self.bad(f"has an unexpected element <{name}>")
        self.record.groups[name] += 1
        n = self.record.groups[name]
        if name != "ImagingActivity" and n > 1:
            raise self.bad(f"has {n} <{name}> elements; exactly one is required")
        if n > MAX_ACTIVITIES:
            raise self.bad(f"has more than {MAX_ACTIVITIES:,} <{name}> elements")
        self.values = {}

    def data(self, text: str) -> None:
        if len(self.stack) < 4:
            return  # whitespace between elements
        self.texts[-1].append(text)
        self.sizes[-1] += len(text)
        if self.sizes[-1] > MAX_TEXT:
            raise self.bad(f"has a <{self.stack[-1]}> of more than {MAX_TEXT:,} characters")

    def end(self, tag: str) -> None:
        name = self.stack.pop()
        text = "".join(self.texts.pop()).strip()
        self.sizes.pop()
        depth = len(self.stack) + 1
        if depth == 5:  # a postcode inside Address: it stands for Address when Address has no text
            self.postcode = text
        elif depth == 4:
            if name == "Address" and not text:
                text = self.postcode
            self.values[self.by_element[name].field] = text
            self.postcode = ""
        elif depth == 3:
            if name == "ImagingActivity":
                self.record.activities.append(self.values)
            else:
                self.record.shared.update(self.values)
        elif depth == 2:
            self._close_record()

    def _close_record(self) -> None:
        record = self.record
        for g, minimum in (("PersonalAndDemographics", 1), ("Referrals", 1), ("ImagingActivity", 1)):
            n = record.groups[g]
            if n < minimum:
                want = "at least one" if g == "ImagingActivity" else "exactly one"
                raise self.bad(f"has {n} <{g}> elements; {want} is required")
        for activity in record.activities:
            values = {**record.shared, **activity}
            self.columns["line"].append(self.record_no)
            for c in spec.STAGING_COLUMNS:
                self.columns[c].append(values.get(c))
        self.record = _Record()


def _refuse_doctype(*_args: object) -> NoReturn:
    raise ValueError("a document type declaration")


def _parser(walker: _Walker) -> expat.XMLParserType:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = walker.start
    parser.EndElementHandler = walker.end
    parser.CharacterDataHandler = walker.data
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.ExternalEntityRefHandler = _refuse_doctype
    parser.buffer_text = True
    return parser


def read_xml(con: duckdb.DuckDBPyConnection, path: Path, table: str = "staging", file_no: int = 0) -> ReadResult:
    """Read a DIDS XML file and register its rows as `table` on `con` (same columns as the CSV reader)."""
    from ingest import spec_pack

    path = Path(path)
    walker = _Walker(path, file_no, {v: spec_pack.pack_for(con, v).items for v in spec_pack.VERSIONS})
    parser = _parser(walker)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(_READ_BYTES), b""):
                digest.update(block)
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _bad(
            path, f"it is not well-formed XML ({expat.ErrorString(exc.code)}: line {exc.lineno}, column {exc.offset})"
        ) from None
    except ValueError as exc:  # _refuse_doctype
        raise _bad(path, f"it holds {exc}, which DIDS XML never has") from None
    if walker.record_no == 0:
        raise _bad(path, "it has no <DIDSRecord>")
    columns = walker.columns
    arrow = pa.table(
        {
            "line": pa.array(columns["line"], pa.int64()),
            "file_no": pa.array([file_no] * len(columns["line"]), pa.int32()),
            **{c: pa.array(columns[c], pa.string()) for c in spec.STAGING_COLUMNS},
        }
    )
    arrow = register_rows(con, table, arrow)
    return ReadResult(
        rows=arrow.num_rows,
        has_header=False,
        sha256=digest.hexdigest(),
        format="xml",
        table=arrow,
        version=walker.version,
    )


def write_xml(path: Path, records: list[dict[str, str]], version: str = "1.0") -> Path:
    """Write records (dicts keyed by spec field names) as a DIDS XML file, one activity each;
    v2.0 with the shipped v2.0 pack's element names.

    Used by tests and by anyone who wants an XML copy of a CSV extract.
    """
    from ingest import spec_pack

    root = ET.Element("DIDS", {"version": version} if version != "1.0" else {})
    for rec in records:
        r = ET.SubElement(root, "DIDSRecord")
        group_el = {g: ET.SubElement(r, g) for g in _GROUPS}
        for item in spec_pack.default_pack(version).items:
            value = rec.get(item.field)
            if value not in (None, ""):
                ET.SubElement(group_el[item.xml_group], item.xml_element).text = value
    Path(path).write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return Path(path)
