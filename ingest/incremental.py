"""What changed since the last publish, as keys of rollup rows to build again (ADR 0011).

A publish compares the working store with the snapshot it replaces:

- records: each snapshot holds one fingerprint per provider and activity month (`record_month`:
  rows, sum of submission ids; `store.Partition` says why that sees every change). A key whose
  fingerprint differs, or that appears or disappears, changed. The working store's own are kept
  by the loader in `record_fingerprint` (ADR 0015), not counted at each publish.
- outsourced duplicates (ADR 0010): a copy that is left out now and was not before, or the other
  way round, changes the figures of its own provider and month although its records did not.
- submissions and issues: a provider with a submission added or changed (a whole-file
  rejection, a superseded file) or whose issues changed; these key only the rollups split by
  provider alone (the quality tables), which read them.

`None` means the previous snapshot cannot say (made before these fingerprints, or lacking the
tables compared): the publish then builds every changed rollup in full.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

RECORD_MONTHS_TABLE = "record_month"  # in each snapshot: provider × month fingerprints of `record`
KEPT_TABLE = "record_fingerprint"  # in the working store: the same, kept up to date by the loader
_PREVIOUS = "incremental_before"  # the previous snapshot, attached read-only while comparing

# A removed copy of an exact pair: its provider, activity month (that of its test date), site and
# accession number (ingest.duplicates names copies by site and accession).
_REMOVED_COPIES = """
    SELECT CASE counted WHEN 'a' THEN b_provider_code ELSE a_provider_code END AS provider_code,
           date_trunc('month', CASE counted WHEN 'a' THEN b_test_date ELSE a_test_date END)::DATE AS activity_month,
           CASE counted WHEN 'a' THEN b_site_code ELSE a_site_code END AS site_code,
           CASE counted WHEN 'a' THEN b_accession_number ELSE a_accession_number END AS accession_number
    FROM {db}.main.duplicate_pair WHERE removed
"""
_SUBMISSIONS = "SELECT provider_code, hash(s) AS h FROM {db}.main.submission s"
# Per submission: its issues' rows and the sum of their hashes (order-free). The loader writes a
# submission's issues in its own transaction and nothing changes them after (an undone load
# deletes them all), so these say which submissions' issues a snapshot must rewrite.
ISSUE_SUBMISSIONS_TABLE = "issue_submission"  # in each snapshot: the fingerprints below
_ISSUE_FINGERPRINTS = "SELECT submission_id, count(*), sum(hash(i))::HUGEINT FROM {db}.main.issue i GROUP BY ALL"

IssueFingerprints = dict[int, tuple[int, int]]  # submission id -> (rows, sum of the rows' hashes)


@dataclass(frozen=True)
class Changes:
    """The keys whose rollup rows a publish builds again."""

    pairs: frozenset[tuple[str, date]]  # (provider, activity month) whose counted records changed
    providers: frozenset[str]  # those providers, and any whose submissions or issues changed

    @property
    def months(self) -> frozenset[date]:
        return frozenset(month for _, month in self.pairs)


def month_fingerprints(con: duckdb.DuckDBPyConnection) -> list[tuple[str, date, int, int]]:
    """(provider, activity month, rows, sum of submission ids) of the working store's `record`,
    counted over every record (0.9–1.7 s at national scale; a publish reads `kept_fingerprints`)."""
    return [
        tuple(r)
        for r in con.execute(
            "SELECT provider_code, activity_month, count(*), sum(submission_id)::HUGEINT FROM record "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    ]


def refingerprint(con: duckdb.DuckDBPyConnection, providers: set[str]) -> None:
    """Count the months of `providers` again into `record_fingerprint`, inside the transaction
    that changed their records (the loader's): the kept fingerprints never disagree with a
    committed `record`. One provider's records (a file's, those it supersedes or replaces are all
    its provider's), found through `record`'s zone maps: milliseconds, whatever the store's size."""
    for provider in sorted(providers):
        con.execute(f"DELETE FROM {KEPT_TABLE} WHERE provider_code = ?", [provider])
        con.execute(
            f"INSERT INTO {KEPT_TABLE} SELECT provider_code, activity_month, count(*), sum(submission_id)::HUGEINT "
            "FROM record WHERE provider_code = ? GROUP BY ALL",
            [provider],
        )


def recount(con: duckdb.DuckDBPyConnection) -> list[tuple[str, date, int, int]]:
    """Count every record again into `record_fingerprint` (one transaction); returns the fingerprints."""
    months = month_fingerprints(con)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {KEPT_TABLE}")
        insert_rows(con, KEPT_TABLE, ("VARCHAR", "DATE", "BIGINT", "HUGEINT"), months)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return months


def kept_fingerprints(con: duckdb.DuckDBPyConnection) -> list[tuple[str, date, int, int]]:
    """`month_fingerprints` as the loader kept them, checked against `record`'s totals (rows, sum
    of submission ids: one column read, no grouping). When they disagree — a store upgraded
    before the table was filled, `record` changed by something other than the loader (a tool, a
    test) — every record is counted again and the table rewritten (`recount`)."""
    kept = [
        tuple(r)
        for r in con.execute(
            f"SELECT provider_code, activity_month, rows, submission_id_sum FROM {KEPT_TABLE} WHERE rows > 0 "
            "ORDER BY ALL"
        ).fetchall()
    ]
    rows, ids = con.execute("SELECT count(*), coalesce(sum(submission_id), 0)::HUGEINT FROM record").fetchall()[0]
    if (rows, ids) == (sum(r[2] for r in kept), sum(r[3] for r in kept)):
        return kept
    log.warning("the kept record fingerprints disagree with record (%s rows, id sum %s): counted again", rows, ids)
    return recount(con)


def write_month_fingerprints(
    con: duckdb.DuckDBPyConnection, into: str, months: list[tuple[str, date, int, int]]
) -> None:
    """The `record_month` table of the snapshot being built (attached as `into`, a name from code)."""
    con.execute(f"""CREATE TABLE {into}.main.{RECORD_MONTHS_TABLE} (
        provider_code VARCHAR NOT NULL, activity_month DATE NOT NULL, rows BIGINT NOT NULL,
        submission_id_sum HUGEINT NOT NULL)""")
    insert_rows(con, f"{into}.main.{RECORD_MONTHS_TABLE}", ("VARCHAR", "DATE", "BIGINT", "HUGEINT"), months)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, types: tuple[str, ...], rows: list[tuple]) -> None:
    """`rows` into `table` (a name from code) in one statement, each column bound as a list:
    executemany costs about a millisecond a row, seconds for a national year's provider-months."""
    if not rows:
        return
    columns = [list(column) for column in zip(*rows, strict=False)]
    unnest = ", ".join(f"unnest(${i}::{kind}[])" for i, kind in enumerate(types, start=1))
    con.execute(f"INSERT INTO {table} SELECT {unnest}", columns)


def issue_fingerprints(con: duckdb.DuckDBPyConnection) -> IssueFingerprints:
    """The working store's `issue`, fingerprinted by submission (one pass over the table)."""
    working = _quoted(con.execute("SELECT current_database()").fetchall()[0][0])
    return {sid: (rows, h) for sid, rows, h in con.execute(_ISSUE_FINGERPRINTS.format(db=working)).fetchall()}


def published_issue_fingerprints(con: duckdb.DuckDBPyConnection, snapshot: Path) -> IssueFingerprints | None:
    """The `issue` of the snapshot `snapshot`, fingerprinted by submission: read from its
    `issue_submission`, or counted from its `issue` when it was published before that table
    existed. None when it has no `issue`, or one whose columns differ from the working store's
    (an upgrade): its rows cannot be patched, only copied afresh."""
    con.execute(f"ATTACH ? AS {_PREVIOUS} (READ_ONLY)", [str(snapshot)])
    try:
        columns = (
            "SELECT list(column_name || ' ' || data_type ORDER BY column_index) FROM duckdb_columns() "
            "WHERE database_name = ? AND schema_name = 'main' AND table_name = ?"
        )
        working = con.execute("SELECT current_database()").fetchall()[0][0]
        before = con.execute(columns, [_PREVIOUS, "issue"]).fetchall()[0][0]
        if before is None or before != con.execute(columns, [working, "issue"]).fetchall()[0][0]:
            return None
        if con.execute(columns, [_PREVIOUS, ISSUE_SUBMISSIONS_TABLE]).fetchall()[0][0] is None:
            sql = _ISSUE_FINGERPRINTS.format(db=_PREVIOUS)
        else:
            sql = f"SELECT submission_id, rows, hash_sum FROM {_PREVIOUS}.main.{ISSUE_SUBMISSIONS_TABLE}"
        return {sid: (rows, h) for sid, rows, h in con.execute(sql).fetchall()}
    finally:
        con.execute(f"DETACH {_PREVIOUS}")


def write_issue_fingerprints(con: duckdb.DuckDBPyConnection, into: str, issues: IssueFingerprints) -> None:
    """The `issue_submission` table of the snapshot being built (attached as `into`, a name from code)."""
    con.execute(f"""CREATE TABLE {into}.main.{ISSUE_SUBMISSIONS_TABLE} (
        submission_id BIGINT NOT NULL, rows BIGINT NOT NULL, hash_sum HUGEINT NOT NULL)""")
    rows = [(sid, n, h) for sid, (n, h) in sorted(issues.items())]
    insert_rows(con, f"{into}.main.{ISSUE_SUBMISSIONS_TABLE}", ("BIGINT", "BIGINT", "HUGEINT"), rows)


def changed_submissions(before: IssueFingerprints, now: IssueFingerprints) -> set[int]:
    """The submissions whose issues differ between two fingerprintings (added, changed, gone)."""
    return {sid for sid in before.keys() | now.keys() if before.get(sid) != now.get(sid)}


def changes(
    con: duckdb.DuckDBPyConnection,
    previous: Path,
    months: list[tuple[str, date, int, int]],
    issues: IssueFingerprints,
    issues_before: IssueFingerprints | None,
) -> Changes | None:
    """What changed between the snapshot `previous` and the working store (whose `record` has
    the fingerprints `months`, whose `issue` has `issues` where the snapshot's has
    `issues_before`, and whose `duplicate_pair` this publish has just found)."""
    con.execute(f"ATTACH ? AS {_PREVIOUS} (READ_ONLY)", [str(previous)])
    try:
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'main'", [_PREVIOUS]
            ).fetchall()
        }
        if issues_before is None or not {RECORD_MONTHS_TABLE, "duplicate_pair", "submission"} <= present:
            return None
        before = {
            (p, m): (rows, ids)
            for p, m, rows, ids in con.execute(
                "SELECT provider_code, activity_month, rows, submission_id_sum "
                f"FROM {_PREVIOUS}.main.{RECORD_MONTHS_TABLE}"
            ).fetchall()
        }
        now = {(p, m): (rows, ids) for p, m, rows, ids in months}
        pairs = {key for key in before.keys() | now.keys() if before.get(key) != now.get(key)}
        pairs |= {(p, m) for p, m in _differing(con, _REMOVED_COPIES, "provider_code, activity_month")}
        providers = {p for p, _ in pairs}
        providers |= {r[0] for r in _differing(con, _SUBMISSIONS, "provider_code")}
        # The provider of a submission whose issues changed: as the working store has it, or
        # as the snapshot had it for a submission no longer there.
        changed = sorted(changed_submissions(issues_before, issues))
        if changed:
            working = _quoted(con.execute("SELECT current_database()").fetchall()[0][0])
            providers |= {
                r[0]
                for r in con.execute(
                    f"SELECT coalesce(now.provider_code, before.provider_code) FROM unnest(?::BIGINT[]) c(id) "
                    f"LEFT JOIN {working}.main.submission now ON now.submission_id = c.id "
                    f"LEFT JOIN {_PREVIOUS}.main.submission before ON before.submission_id = c.id",
                    [changed],
                ).fetchall()
                if r[0] is not None
            }
    finally:
        con.execute(f"DETACH {_PREVIOUS}")
    return Changes(frozenset(pairs), frozenset(providers))


def _differing(con: duckdb.DuckDBPyConnection, rows_sql: str, columns: str) -> list[tuple]:
    """`columns` of the rows of `rows_sql` found in the working store or the previous snapshot
    but not in both (the SQL and the column names are this module's constants)."""
    working = _quoted(con.execute("SELECT current_database()").fetchall()[0][0])
    now, before = rows_sql.format(db=working), rows_sql.format(db=_PREVIOUS)
    return con.execute(
        f"SELECT DISTINCT {columns} FROM (({now} EXCEPT ALL {before}) UNION ALL ({before} EXCEPT ALL {now}))"
    ).fetchall()


def _quoted(name: str) -> str:
    """A database name from DuckDB's catalogue, quoted as an identifier."""
    return '"' + name.replace('"', '""') + '"'
