"""Read a DID v1.0 submission file into a staging table of text columns (Arrow, registered on the connection).

The reader decides only whether the file as a whole can be read as a DID extract: it exists,
is not empty, is text (UTF-8, with or without a byte-order mark), and every row has exactly the
18 columns of the specification (DIDS075). Row-level rules belong to `validation.py`.

The staging table has one VARCHAR column per data item (named as in `spec.COLUMNS`), plus
`line`: the 1-based line number in the file, header counted, so that every issue points at the
line a provider can open in an editor.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest import spec

MAX_FILE_BYTES = 4 * 1024**3  # 4 GiB: far above a national-size provider-month (~0.5 GiB)
MAX_LINE_BYTES = 64 * 1024  # a DID row is < 300 bytes; anything near this is not a DID file
_SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileError(Exception):
    """The whole file cannot be accepted. `code` is a DIDS code where one applies."""

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
        raise FileError("FILE", f"{path.name} is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit")
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


def _looks_like_header(values: list[str]) -> bool:
    names = [v.strip().strip('"').upper() for v in values]
    return sum(n == h for n, h in zip(names, spec.HEADER)) >= len(spec.HEADER) // 2


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

    One pass of DuckDB's CSV reader straight into Arrow: the header row (if any) is skipped
    by the reader, and `line` numbers count it. `table` is an identifier chosen by the caller,
    never user input.
    """
    path = Path(path)
    head, _ = _sniff(path)
    has_header = _looks_like_header(_first_line(head))
    skip = 1 if has_header else 0
    columns = {name: "VARCHAR" for name in spec.COLUMNS}
    try:
        rows = con.sql(
            """
            SELECT (row_number() OVER () + $skip)::BIGINT AS line, $file_no::INTEGER AS file_no, * FROM read_csv(
                $path, columns = $columns, header = false, delim = ',', quote = '"',
                escape = '"', auto_detect = false, strict_mode = true, null_padding = false,
                max_line_size = $max_line, encoding = 'utf-8', all_varchar = true, skip = $skip
            )
            """,
            params={"path": str(path), "columns": columns, "max_line": MAX_LINE_BYTES, "skip": skip,
                    "file_no": file_no},
        ).to_arrow_table(batch_size=BATCH_ROWS)
    except duckdb.Error as exc:
        raise FileError("DIDS075", _explain_csv_error(path, exc)) from None
    if rows.num_rows == 0:
        if has_header:
            raise FileError("FILE", f"{path.name} has a header row but no records")
        raise FileError("FILE", f"{path.name} has no records")
    rows = register_rows(con, table, rows)
    return ReadResult(rows=rows.num_rows, has_header=has_header, sha256=sha256_of(path), format="csv", table=rows)


def _explain_csv_error(path: Path, exc: duckdb.Error) -> str:
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
        return (f"{path.name}: a line{line} is longer than {MAX_LINE_BYTES:,} bytes; "
                "a DID CSV has one record of 18 columns per line")
    if "unicode" in text.lower() or "utf" in text.lower():
        return f"{path.name} is not valid UTF-8 text{line}; save the extract as UTF-8 and submit it again"
    return (f"{path.name}: every row must have exactly {spec.N_COLUMNS} comma-separated columns "
            f"in the DID v1.0 order; a row{line} does not")
