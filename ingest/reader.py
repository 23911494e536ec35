"""Read a DIDS v1.0 or v2.0 submission file into a staging table of text columns (Arrow, registered on the connection).

The reader decides only whether the file as a whole can be read as a DID extract: it exists,
is not over the size limit, is not empty, is text (UTF-8, with or without a byte-order mark, no
NUL byte anywhere), and every row has exactly the columns of the specification (DIDS075): the 18
items in the DID v1.0 order, or the columns a header row names, in any order. Row-level rules
belong to `validation.py`.

A header row is read, not skipped: its names are matched to the items (`spec.ITEMS`: the NHS Data
Dictionary name, our field name or the XML element name, with case, spaces and underscores
forgiven), so a file whose columns are in another order loads each value into its item. A header
naming a column twice, a column that is no DID item, or missing a mandatory item rejects the file.

The version is told by the header: a header naming an item only DIDS v2.0 has (e.g. CODED
PROCEDURE START TIMESTAMP) makes the file v2.0, whose items and names come from the v2.0 spec
pack in force (`spec_pack.pack_for`); any other file is v1.0. A v2.0 CSV must have a header.
Whether the version is the right one for the file's period is the loader's check.

The staging table has one VARCHAR column per data item of either version (named as in
`spec.STAGING_COLUMNS`; the other version's items are NULL), plus
`line`: the 1-based line number in the file, header counted, so that every issue points at the
line a provider can open in an editor.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from did_errors import EXIT_REJECTED, DidError
from did_model import spec

# The largest provider-month at national scale is about 8 MB (bench/national.py); 64 MiB leaves
# eight times that for growth and for XML's longer spelling, and keeps the cost of checking any
# file within the limit under 1 GB of memory (bench/hostile.py). The upload limit is the same.
MAX_FILE_BYTES = 64 * 1024**2
MAX_LINE_BYTES = 64 * 1024  # a DID row is < 300 bytes; anything near this is not a DID file
_SNIFF_BYTES = 64 * 1024
# DuckDB's read_csv expands these in a path as a pattern (a file named `*.csv` reads every CSV
# beside it); a DID file name never needs them.
_GLOB_CHARACTERS = frozenset("*?[]{}")


@dataclass(frozen=True)
class FileError(DidError):
    """The whole file cannot be accepted. `code` is a DIDS code where one applies."""

    exit_code = EXIT_REJECTED

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class ReadResult:
    rows: int
    has_header: bool
    sha256: str
    format: str
    version: str = "1.0"  # the DIDS version the file is written in
    # The rows as read (`line`, `file_no`, then the 18 items as text), as registered: checking
    # several files at once (loader.check_batch) stacks them into one table.
    table: pa.Table | None = field(default=None, repr=False, compare=False)


# Rows per Arrow batch: DuckDB scans an Arrow table batch by batch in parallel, so a
# national-size provider-month (~60 k rows) is checked on every core, where one table row group
# (122,880 rows) would be scanned by one thread.
BATCH_ROWS = 8192


def register_rows(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> pa.Table:
    """Make `rows` queryable as `table` on `con` (a view over the Arrow data, no copy)."""
    if not table.isidentifier():
        raise ValueError(f"{table!r} is not a table name")
    rows = pa.Table.from_batches(rows.to_batches(max_chunksize=BATCH_ROWS), rows.schema)
    con.register(table, rows)
    return rows


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Scan:
    sha256: str
    trailing_comma: bool  # some line ends in a comma: maybe an extra, empty column (see _extra_columns)


def _scan(path: Path) -> _Scan:
    """One pass over the bytes: the file's SHA-256, and the faults DuckDB's reader copes with badly.

    A NUL byte anywhere rejects the file (the sniff sees only the first 64 KB; DuckDB would load
    a later one into a record), and so does a line longer than MAX_LINE_BYTES (DuckDB takes
    gigabytes to refuse a 60 MB line of commas). DuckDB also drops empty columns at the end of a
    line, so a line ending in a comma is noted for the exact check. Vectorised per block: a
    16 MB file costs about 10 ms more than its hash alone.
    """
    digest = hashlib.sha256()
    trailing, offset, lines, run, tail = False, 0, 0, 0, b"\n\n"
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            nul = block.find(b"\x00")
            if nul >= 0:
                raise FileError(
                    "FILE",
                    f"{path.name}: line {_line_at(path, offset + nul)} holds a NUL byte (0x00); "
                    "a DID extract is text: remove it and submit the file again",
                )
            a = np.frombuffer(tail + block, np.uint8)  # two bytes of the block before, then this one
            ends = np.flatnonzero(a[2:] == 10) + 2
            too_long = np.flatnonzero(np.diff(ends, prepend=1 - run) - 1 > MAX_LINE_BYTES)
            run = len(a) - 1 - ends[-1] if ends.size else run + len(block)
            if too_long.size or run > MAX_LINE_BYTES:
                line = lines + (int(too_long[0]) if too_long.size else ends.size) + 1
                raise FileError(
                    "DIDS075",
                    f"{path.name}: line {line} is longer than {MAX_LINE_BYTES:,} bytes; "
                    "a DID CSV has one record of 18 columns per line",
                )
            before = a[ends - 1]
            trailing = trailing or bool((before == 44).any() or ((before == 13) & (a[ends - 2] == 44)).any())
            offset, lines, tail = offset + len(block), lines + ends.size, (tail + block)[-2:]
    return _Scan(sha256=digest.hexdigest(), trailing_comma=trailing or tail.endswith(b","))


def _line_at(path: Path, offset: int) -> int:
    """The 1-based line holding byte `offset` (only on the way to an error)."""
    with open(path, "rb") as f:
        return f.read(offset).count(b"\n") + 1


def _sniff(path: Path) -> tuple[bytes, str]:
    """First bytes of the file and its format; raises FileError for what is plainly not DID."""
    if not path.exists():
        raise FileError("FILE", f"{path} does not exist")
    if not path.is_file():
        raise FileError("FILE", f"{path} is not a file")
    size = path.stat().st_size
    if size == 0:
        raise FileError("FILE", f"{path.name} is empty: a DID extract has at least one record")
    if size > MAX_FILE_BYTES:
        raise FileError(
            "FILE",
            f"{path.name} is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit "
            "(the largest provider-month is about 8 MB): send one provider-month per file",
        )
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise FileError("FILE", f"{path.name} is a binary file, not a CSV or XML DID extract")
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sniff boundary is fine; anything earlier is not.
        if exc.start < len(body) - 4:
            raise FileError(
                "FILE",
                f"{path.name} is not UTF-8 text (byte {exc.start + 1} is 0x{body[exc.start]:02x}); "
                "save the extract as UTF-8 and submit it again",
            ) from None
    fmt = "xml" if body.lstrip().startswith(b"<") else "csv"
    if fmt == "csv" and b"\n" not in body and len(body) >= MAX_LINE_BYTES:
        raise FileError(
            "DIDS075",
            f"{path.name}: the first line is longer than {MAX_LINE_BYTES:,} bytes; "
            "a DID CSV has one record of 18 columns per line",
        )
    return head, fmt


def _normalise(name: str) -> str:
    """A header name as compared: case, spaces and underscores forgiven."""
    return "".join(ch for ch in name.strip().strip('"').upper() if not ch.isspace() and ch != "_")


def _aliases(items=spec.ITEMS) -> dict[str, str]:
    """Normalised header name -> field, for a version's items."""
    out: dict[str, str] = {}
    for item in items:
        for name in (item.name, item.field, item.xml_element):
            key = _normalise(name)
            if out.setdefault(key, item.field) != item.field:
                raise RuntimeError(f"{name!r} names two DID items")  # a mistake in spec.py
    return out


_ALIASES = _aliases()  # normalised header name -> spec field (v1.0)


def _looks_like_header(values: list[str], aliases: dict[str, str] = _ALIASES) -> bool:
    """A first row at least half of whose values name DID items (a record names none)."""
    known = sum(_normalise(v) in aliases for v in values)
    return known > 0 and 2 * known >= len(values)


def _header_version(values: list[str], v2_aliases: dict[str, str]) -> str:
    """2.0 when the header names an item DIDS v2.0 added (by any of its names), else 1.0."""
    v2_only = set(v2_aliases) - set(_ALIASES)
    return "2.0" if any(_normalise(v) in v2_only for v in values) else "1.0"


def _header_fields(path: Path, values: list[str], items=spec.ITEMS, version: str = "1.0") -> list[str]:
    """The spec field of each column a header names, in file order; FileError naming every
    unknown, repeated or missing column."""
    aliases = _aliases(items)
    by_field = {i.field: i for i in items}
    fields = [aliases.get(_normalise(v)) for v in values]
    unknown = [v.strip() for v, f in zip(values, fields, strict=True) if f is None]
    if unknown:
        raise FileError(
            "DIDS075",
            f"{path.name}: the header names columns that are not DID items: "
            f"{', '.join(repr(u) for u in unknown)}; use the DIDS v{version} item names "
            "(e.g. NHS NUMBER)" + (" or send no header row" if version == "1.0" else ""),
        )
    repeated = sorted({by_field[f].name for f in fields if fields.count(f) > 1})
    if repeated:
        raise FileError(
            "DIDS075", f"{path.name}: the header names {', '.join(repeated)} more than once; each item has one column"
        )
    # Without these a file cannot be a DID extract at all; the demographic items and the two
    # procedure codes are checked per record (DIDS073, DIDS056), so a header may leave them out.
    mandatory = [i.field for i in items if i.obligation is spec.Obligation.MANDATORY]
    missing = [by_field[f].name for f in mandatory if f not in fields]
    if missing:
        raise FileError(
            "DIDS075",
            f"{path.name}: the header has no column for the mandatory "
            f"{', '.join(missing)}; add the column and submit the file again",
        )
    return [f for f in fields if f is not None]  # all of them: an unknown column was refused above


def read_file(con: duckdb.DuckDBPyConnection, path: Path, table: str = "staging", file_no: int = 0) -> ReadResult:
    """Read a DID extract, CSV or XML (decided by its content, not its name), into `table`.

    Every row carries `file_no` (an INTEGER column after `line`), which tells files apart when
    several are checked together.
    """
    _, fmt = _sniff(Path(path))
    if fmt == "xml":
        from ingest.xml_reader import read_xml

        return read_xml(con, path, table, file_no)
    return read_csv(con, path, table, file_no)


def _first_line(head: bytes) -> list[str]:
    """The first CSV row of the file's first bytes, parsed (for header detection only)."""
    text = (head[3:] if head.startswith(b"\xef\xbb\xbf") else head).decode("utf-8", errors="replace")
    first = text.splitlines()[0] if text else ""
    return next(csv.reader([first]), [])


def read_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str = "staging", file_no: int = 0) -> ReadResult:
    """Read a DID CSV and register its rows as `table` on `con`; raises FileError when the file
    is not readable as DID.

    One pass of DuckDB's CSV reader straight into Arrow: the header row (if any) is read for
    its names and skipped by the reader, and `line` numbers count it. Columns are read as
    `c0`, `c1`, … in file order and selected under their item's name (NULL for an item the
    header leaves out). `table` is an identifier chosen by the caller, never user input.
    """
    path = Path(path)
    if _GLOB_CHARACTERS & set(path.name):
        raise FileError(
            "FILE",
            f"{path.name}: a file name with any of * ? [ ] {{ }} cannot be read "
            "(it would be taken as a pattern); rename the file and submit it again",
        )
    head, _ = _sniff(path)
    first = _first_line(head)
    from ingest import spec_pack

    v1, v2 = spec_pack.pack_for(con, "1.0"), spec_pack.pack_for(con, "2.0")
    v2_aliases = _aliases(v2.items)
    has_header = _looks_like_header(first, {**_aliases(v1.items), **v2_aliases})
    version = _header_version(first, v2_aliases) if has_header else "1.0"
    fields = (
        _header_fields(path, first, (v1, v2)[version == "2.0"].items, version) if has_header else list(spec.COLUMNS)
    )
    scan = _scan(path)
    skip = 1 if has_header else 0
    # Generated names and spec fields only: nothing from the file reaches the SQL text.
    position = {f: i for i, f in enumerate(fields)}
    select = ", ".join(
        f"c{position[c]} AS {c}" if c in position else f"NULL::VARCHAR AS {c}" for c in spec.STAGING_COLUMNS
    )
    columns = {f"c{i}": "VARCHAR" for i in range(len(fields))}
    try:
        rows = con.sql(
            f"""
            SELECT (row_number() OVER () + $skip)::BIGINT AS line, $file_no::INTEGER AS file_no, {select} FROM read_csv(
                $path, columns = $columns, header = false, delim = ',', quote = '"',
                escape = '"', auto_detect = false, strict_mode = true, null_padding = false,
                max_line_size = $max_line, encoding = 'utf-8', all_varchar = true, skip = $skip
            )
            """,
            params={
                "path": str(path),
                "columns": columns,
                "max_line": MAX_LINE_BYTES,
                "skip": skip,
                "file_no": file_no,
            },
        ).to_arrow_table(batch_size=BATCH_ROWS)
    except duckdb.Error as exc:
        raise FileError("DIDS075", _explain_csv_error(path, exc, len(fields), has_header)) from None
    if scan.trailing_comma:  # after DuckDB's read, which has bounded every line's length
        _reject_extra_columns(path, len(fields), has_header)
    if rows.num_rows == 0:
        if has_header:
            raise FileError("FILE", f"{path.name} has a header row but no records")
        raise FileError("FILE", f"{path.name} has no records")
    rows = register_rows(con, table, rows)
    return ReadResult(
        rows=rows.num_rows, has_header=has_header, sha256=scan.sha256, format="csv", table=rows, version=version
    )


def _reject_extra_columns(path: Path, n_columns: int, has_header: bool) -> None:
    """FileError at the first row with more than `n_columns` columns, empty ones included.

    DuckDB's reader drops empty columns at the end of a line, so `a,…,r,` would load as 18
    columns; Python's csv module counts them. Run only when some line ends in a comma (`_scan`),
    which a well-formed file has only where its last item is empty.
    """
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        rows = csv.reader(f)
        for values in rows:
            if len(values) > n_columns:
                raise FileError(
                    "DIDS075",
                    f"{path.name}: line {rows.line_num} has {len(values)} columns; "
                    f"{_columns_wanted(n_columns, has_header)}",
                )


def _columns_wanted(n_columns: int, has_header: bool) -> str:
    if has_header:
        return f"every row must have the {n_columns} comma-separated columns its header names"
    return f"every row must have exactly {spec.N_COLUMNS} comma-separated columns in the DID v1.0 order"


def _explain_csv_error(path: Path, exc: duckdb.Error, n_columns: int = spec.N_COLUMNS, has_header: bool = False) -> str:
    text = str(exc)
    line = ""
    for marker in ("line ", "Line: "):
        if marker in text:
            tail = text.split(marker, 1)[1]
            digits = "".join(ch for ch in tail[:12] if ch.isdigit())
            if digits:
                line = f" at line {int(digits)}"
                break
    if "maximum line size" in text.lower() or "max_line_size" in text.lower():
        return (
            f"{path.name}: a line{line} is longer than {MAX_LINE_BYTES:,} bytes; "
            "a DID CSV has one record of 18 columns per line"
        )
    if "unicode" in text.lower() or "utf" in text.lower():
        return f"{path.name} is not valid UTF-8 text{line}; save the extract as UTF-8 and submit it again"
    return f"{path.name}: {_columns_wanted(n_columns, has_header)}; a row{line} does not"
