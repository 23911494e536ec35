"""Compare two published snapshots table by table (every table, every rollup and `record`)."""

from __future__ import annotations

import math

import duckdb

# What names a snapshot itself (its files, its fingerprints), not what it holds.
_ABOUT_ITSELF = ("record_partition", "snapshot_content")


def snapshot_tables(path) -> dict[str, list]:
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
            name: con.execute(f"SELECT * FROM s.main.{name} ORDER BY ALL").fetchall()  # noqa: S608 - catalogue
            for name in names + ["record"]
        }
    finally:
        con.close()
    out["store_meta"] = [r for r in out["store_meta"] if r[0] not in ("snapshot_version", "published_at")]
    return out


def assert_same_tables(mine: dict[str, list], theirs: dict[str, list]) -> None:
    """Equal table by table; sums of floats may differ in the last bits (threads add them in any order)."""
    assert mine.keys() == theirs.keys()
    for name, rows in mine.items():
        assert len(rows) == len(theirs[name]), name
        for a_row, b_row in zip(rows, theirs[name], strict=False):
            assert all(
                math.isclose(a, b, rel_tol=1e-9) if isinstance(a, float) and isinstance(b, float) else a == b
                for a, b in zip(a_row, b_row, strict=True)
            ), (name, a_row, b_row)
