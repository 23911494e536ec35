"""Compare two published snapshots table by table (every table, every rollup and `record`)."""

from __future__ import annotations

import math

import duckdb
import pyarrow as pa

from did_model.layout import quote_identifier

# What names a snapshot itself (its files, its fingerprints), not what it holds.
_ABOUT_ITSELF = ("record_partition", "snapshot_content")
_ITS_OWN_META = ("snapshot_version", "published_at")


def snapshot_tables(path) -> dict[str, pa.Table]:
    """Every table of a snapshot file and its `record` view, rows sorted; less what names the
    snapshot itself (its version, its files, its fingerprints)."""
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS s (READ_ONLY)", [str(path)])
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 's' AND table_name NOT IN (?, ?)",
                list(_ABOUT_ITSELF),
            ).fetchall()
        ]
        out = {
            # A table name from the catalogue, quoted as an identifier (DDL-like names take no parameters).
            name: con.sql(f"SELECT * FROM s.main.{quote_identifier(name)} ORDER BY ALL").to_arrow_table()  # noqa: S608
            for name in names + ["record"]
            if name != "store_meta"
        }
        out["store_meta"] = con.sql(
            "SELECT * FROM s.main.store_meta WHERE key NOT IN (?, ?) ORDER BY ALL", params=list(_ITS_OWN_META)
        ).to_arrow_table()
    finally:
        con.close()
    return out


def assert_same_tables(mine: dict[str, pa.Table], theirs: dict[str, pa.Table]) -> None:
    """Equal table by table; sums of floats may differ in the last bits (threads add them in any order)."""
    assert mine.keys() == theirs.keys()
    for name, table in mine.items():
        other = theirs[name]
        assert table.num_rows == other.num_rows, name
        if table.equals(other):  # most tables: compared whole, in Arrow
            continue
        for a_row, b_row in zip(_rows(table), _rows(other), strict=True):
            if a_row == b_row:
                continue
            assert all(
                math.isclose(a, b, rel_tol=1e-9) if isinstance(a, float) and isinstance(b, float) else a == b
                for a, b in zip(a_row, b_row, strict=True)
            ), (name, a_row, b_row)


def _rows(table: pa.Table) -> list[tuple]:
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return list(zip(*columns, strict=True))
