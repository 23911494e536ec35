"""Outsourced imaging submitted twice: detection at publish and the copy that counts (ADR 0010).

When a provider outsources an examination, both it and the performing organisation may submit
the record. Each publish finds such pairs afresh — records from DIFFERENT submitting providers
for the same pseudonymised patient and modality, with test dates at most `DATE_TOLERANCE_DAYS`
apart — and writes them to `duplicate_pair` (one row per pair, both copies named by submission,
provider, site and accession number). A pair is "exact" when the NICIP codes are equal, "near"
when they differ but the body area is the same.

Of an exact pair one copy counts: the one whose submitter owns the copy's performing site in the
site reference, else the one from the earlier accepted submission. The other is `removed` while
the store setting `count_duplicates` is 'once' (the default); 'every' keeps every submitted copy
in the figures. Rollups read `record` through `counted_record_sql` (did_model.rollups), so every
page, export and report counts an examination once. Near pairs are reported, never removed: a
different procedure code may be a second examination.
"""

from __future__ import annotations

import hashlib
from datetime import date

import duckdb

from did_errors import UsageError
from ingest import incremental

# Test dates a day apart still match: the commissioning provider often records the booked date
# and the performer the date scanned, and a scan either side of midnight is one examination. Two
# days apart is more often a repeat (a rescan, a follow-up view) than the same examination.
DATE_TOLERANCE_DAYS = 1

SETTING = "count_duplicates"
COUNT_ONCE, COUNT_EVERY = "once", "every"
# The working store's `record` fingerprints (provider × activity month: rows, sum of submission
# ids; `store.Partition` says why they see every change) when it was last searched, and what
# else that search depended on (`_basis`, in store_meta): the next search starts from them.
SEARCH_TABLE = "duplicate_search"
_BASIS_KEY = "duplicates_basis"
_CHANGED = "duplicate_changed"  # temporary: the provider-months a search looks at again

# The copies a search compares, narrow: a hash join on (patient, modality) over a national year
# holds every record in its hash table, and the names of a copy (site, accession, submission)
# would make that table several times larger than memory allows (measured: a 20 GB publish).
# `rid` finds the rest of a copy again for the pairs found, within the same statement, and the
# patient key is a 64-bit hash of the 64-character pseudonym: the pairs found are checked again
# on the pseudonym itself, so two patients whose keys collide are never paired.
# `{changed}` is a flag (the copy's provider and month changed since the last search) and
# `{narrow}` a filter on the test date, both empty for a search of the whole store.
_COPIES = """
    SELECT r.rowid AS rid, hash(r.patient_pseudo_id) AS patient, r.modality, r.test_date, r.provider_code, r.nicip_code,
           r.body_area{changed}
    FROM record r{join}
    WHERE r.patient_pseudo_id IS NOT NULL AND r.modality IS NOT NULL{narrow}
"""
_MATCH = """a.patient = b.patient AND a.modality = b.modality
     AND a.provider_code < b.provider_code
     AND b.test_date BETWEEN a.test_date - $days AND a.test_date + $days
     AND (a.nicip_code = b.nicip_code OR a.body_area = b.body_area)"""
# Every pair of the store. Only a patient seen for one modality by two providers can have a pair:
# an aggregate finds those first (at national scale 1.2 M of 30 M patient-modalities), so the
# self-join hashes their copies only, not every record (measured on the national year: 20 s
# against 33 s, ingest/duplicates.py history).
_ALL_PAIRS = f"""
    WITH two_providers AS (
        SELECT patient, modality FROM copy GROUP BY ALL HAVING min(provider_code) <> max(provider_code)
    ),
    candidate AS (SELECT * FROM copy SEMI JOIN two_providers USING (patient, modality))
    SELECT a.rid AS a_rid, b.rid AS b_rid FROM candidate a JOIN candidate b ON {_MATCH}
"""
# The pairs with at least one copy of a changed provider and month, each once, in one join: each
# changed copy `c` against every copy `o` of another provider, the pair named in provider order
# (as _MATCH names it); a pair of two changed copies is found from both sides and kept from the
# side of the lower provider. (Two joins, one per side, hashed the copies twice: 0.36 → 0.31 s
# for a provider-month at national scale.)
_CHANGED_PAIRS = """
    SELECT CASE WHEN c.provider_code < o.provider_code THEN c.rid ELSE o.rid END AS a_rid,
           CASE WHEN c.provider_code < o.provider_code THEN o.rid ELSE c.rid END AS b_rid
    FROM (FROM copy WHERE changed) c JOIN copy o
      ON c.patient = o.patient AND c.modality = o.modality AND c.provider_code <> o.provider_code
     AND o.test_date BETWEEN c.test_date - $days AND c.test_date + $days
     AND (c.nicip_code = o.nicip_code OR c.body_area = o.body_area)
    WHERE NOT o.changed OR c.provider_code < o.provider_code
"""
_PAIRS = """
WITH copy AS ({copies}),
pair AS ({pairs}),
named AS (
    SELECT r.rowid AS rid, r.patient_pseudo_id, r.modality, r.submission_id, r.provider_code, r.site_code,
           r.accession_number, r.test_date, r.nicip_code, r.activity_month,
           -- the rank a copy has under the counting rule: site owner first, then the earlier
           -- accepted submission; submission id, site and accession make it a total order
           (coalesce(s.provider_code, '') <> r.provider_code) AS not_owner,
           sub.submitted_on, sub.received_at
    FROM record r
    JOIN submission sub USING (submission_id)
    LEFT JOIN ref_site s ON s.site_code = r.site_code
    SEMI JOIN (SELECT a_rid AS rid FROM pair UNION SELECT b_rid FROM pair) p ON p.rid = r.rowid
)
SELECT CASE WHEN a.nicip_code = b.nicip_code THEN 'exact' ELSE 'near' END AS match,
       least(a.activity_month, date_trunc('month', b.test_date)::DATE) AS activity_month,
       a.modality,
       a.submission_id AS a_submission_id, a.provider_code AS a_provider_code,
       a.site_code AS a_site_code, a.accession_number AS a_accession_number, a.test_date AS a_test_date,
       b.submission_id AS b_submission_id, b.provider_code AS b_provider_code,
       b.site_code AS b_site_code, b.accession_number AS b_accession_number, b.test_date AS b_test_date,
       CASE WHEN (a.not_owner, a.submitted_on, a.received_at, a.submission_id, a.site_code, a.accession_number)
              <= (b.not_owner, b.submitted_on, b.received_at, b.submission_id, b.site_code, b.accession_number)
            THEN 'a' ELSE 'b' END AS counted,
       CASE WHEN a.not_owner <> b.not_owner THEN 'site_owner' ELSE 'earliest_submission' END AS decided_by,
       (a.nicip_code = b.nicip_code AND $once) AS removed
FROM pair p
JOIN named a ON a.rid = p.a_rid
JOIN named b ON b.rid = p.b_rid
WHERE a.patient_pseudo_id = b.patient_pseudo_id
"""


def counting_once(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store counts an outsourced examination once (the default) or every copy."""
    rows = con.execute("SELECT value FROM store_meta WHERE key = ?", [SETTING]).fetchall()
    return not rows or rows[0][0] != COUNT_EVERY


def set_counting(con: duckdb.DuckDBPyConnection, how: str) -> None:
    """Record the central team's choice, 'once' or 'every'; the next publish applies it."""
    if how not in (COUNT_ONCE, COUNT_EVERY):
        raise UsageError(f"count duplicates {how!r}: say 'once' or 'every'")
    con.execute("INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [SETTING, how])


def detect(
    con: duckdb.DuckDBPyConnection,
    months: list[tuple[str, date, int, int]] | None = None,
    *,
    full: bool = False,
    timings: dict[str, float] | None = None,
) -> int:
    """Bring `duplicate_pair` up to date with the working store's records; returns the pairs.

    A pair depends on its two copies, the site reference (who owns a site) and the counting
    setting. So a search looks again only at the copies of the providers and activity months
    whose records changed since the last one (their fingerprints, `months`, compared with those
    kept in `duplicate_search`): it drops the pairs with a copy there and finds the pairs with a
    copy there afresh, against every record within the tolerance of those months. A change of
    the site reference, the setting or this search's SQL, a store never searched, or
    `full=True` searches the whole store. `timings`, when given, receives
    `duplicate_keys_searched`: the provider-months looked at (every one for a whole search).

    Either way one self-join on (patient key, modality) with a band on the test date: DuckDB
    hashes the equality keys, so the cost grows with the records searched and per patient, not
    with the square of the store. One transaction: a failure leaves the last search in place.
    """
    # Here and in _search_changed, the table names and SQL formatted into statements are this
    # module's constants; every value (dates, tolerance, setting, keys) is bound.
    months = incremental.month_fingerprints(con) if months is None else months
    basis = _basis(con)
    previous = con.execute("SELECT value FROM store_meta WHERE key = ?", [_BASIS_KEY]).fetchall()
    params = {"days": DATE_TOLERANCE_DAYS, "once": counting_once(con)}
    con.execute("BEGIN TRANSACTION")
    try:
        if full or not previous or previous[0][0] != basis:
            con.execute("DELETE FROM duplicate_pair")
            sql = _PAIRS.format(copies=_COPIES.format(changed="", join="", narrow=""), pairs=_ALL_PAIRS)
            con.execute(f"INSERT INTO duplicate_pair {sql}", params)
            searched = len(months)
        else:
            searched = _search_changed(con, months, params)
        con.execute(f"DELETE FROM {SEARCH_TABLE}")
        incremental.insert_rows(con, SEARCH_TABLE, ("VARCHAR", "DATE", "BIGINT", "HUGEINT"), months)
        con.execute("INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [_BASIS_KEY, basis])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if timings is not None:
        timings["duplicate_keys_searched"] = searched
    return con.execute("SELECT count(*) FROM duplicate_pair").fetchall()[0][0]


def _search_changed(con: duckdb.DuckDBPyConnection, months: list[tuple[str, date, int, int]], params: dict) -> int:
    """The pairs of the provider-months whose records changed since the last search, found
    again (within `detect`'s transaction); returns how many provider-months that was."""
    before = {(p, m): (rows, ids) for p, m, rows, ids in con.execute(f"FROM {SEARCH_TABLE}").fetchall()}
    now = {(p, m): (rows, ids) for p, m, rows, ids in months}
    changed = sorted(key for key in before.keys() | now.keys() if before.get(key) != now.get(key))
    if not changed:
        return 0
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_CHANGED} (provider_code VARCHAR, activity_month DATE)")
    incremental.insert_rows(con, _CHANGED, ("VARCHAR", "DATE"), changed)
    con.execute(f"""
        DELETE FROM duplicate_pair d WHERE EXISTS (
            SELECT 1 FROM {_CHANGED} c
            WHERE (c.provider_code = d.a_provider_code AND c.activity_month = date_trunc('month', d.a_test_date))
               OR (c.provider_code = d.b_provider_code AND c.activity_month = date_trunc('month', d.b_test_date)))""")
    copies = _COPIES.format(
        changed=", c.provider_code IS NOT NULL AS changed",
        join=f" LEFT JOIN {_CHANGED} c USING (provider_code, activity_month)",
        # every copy a changed one can pair with: those within the tolerance of the changed months
        narrow=" AND r.test_date BETWEEN $first - $days AND last_day($last) + $days",
    )
    con.execute(
        f"INSERT INTO duplicate_pair {_PAIRS.format(copies=copies, pairs=_CHANGED_PAIRS)}",
        {**params, "first": min(m for _, m in changed), "last": max(m for _, m in changed)},
    )
    con.execute(f"DROP TABLE {_CHANGED}")
    return len(changed)


def _basis(con: duckdb.DuckDBPyConnection) -> str:
    """What every pair depends on besides its two copies: this search's SQL and tolerance, the
    counting setting, and who owns each site. When it changes, the whole store is searched."""
    sites, owners = con.execute(
        "SELECT count(*), coalesce(sum(hash(site_code, provider_code)), 0) FROM ref_site"
    ).fetchall()[0]
    sql = hashlib.sha256((_PAIRS + _COPIES + _ALL_PAIRS + _CHANGED_PAIRS).encode()).hexdigest()[:16]
    return f"{sql}|{DATE_TOLERANCE_DAYS}|{counting_once(con)}|{sites}|{owners}"
