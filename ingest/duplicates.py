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
in the figures. Rollups read `record` through `counted_record_sql` (ingest.rollups), so every
page, export and report counts an examination once. Near pairs are reported, never removed: a
different procedure code may be a second examination.
"""

from __future__ import annotations

import duckdb

from did_errors import UsageError

# Test dates a day apart still match: the commissioning provider often records the booked date
# and the performer the date scanned, and a scan either side of midnight is one examination. Two
# days apart is more often a repeat (a rescan, a follow-up view) than the same examination.
DATE_TOLERANCE_DAYS = 1

SETTING = "count_duplicates"
COUNT_ONCE, COUNT_EVERY = "once", "every"

_PAIRS = """
WITH copy AS (
    SELECT r.submission_id, r.provider_code, r.site_code, r.accession_number, r.patient_pseudo_id,
           r.test_date, r.modality, r.body_area, r.nicip_code, r.activity_month,
           -- the rank a copy has under the counting rule: site owner first, then the earlier
           -- accepted submission; submission id, site and accession make it a total order
           (coalesce(s.provider_code, '') <> r.provider_code) AS not_owner,
           sub.submitted_on, sub.received_at
    FROM record r
    JOIN submission sub USING (submission_id)
    LEFT JOIN ref_site s ON s.site_code = r.site_code
    WHERE r.patient_pseudo_id IS NOT NULL AND r.modality IS NOT NULL
),
pair AS (
    SELECT a.*, b.submission_id AS b_submission_id, b.provider_code AS b_provider_code,
           b.site_code AS b_site_code, b.accession_number AS b_accession_number,
           b.test_date AS b_test_date, b.nicip_code AS b_nicip_code, b.not_owner AS b_not_owner,
           b.submitted_on AS b_submitted_on, b.received_at AS b_received_at
    FROM copy a JOIN copy b
      ON a.patient_pseudo_id = b.patient_pseudo_id AND a.modality = b.modality
     AND a.provider_code < b.provider_code
     AND b.test_date BETWEEN a.test_date - $days AND a.test_date + $days
    WHERE a.nicip_code = b.nicip_code OR a.body_area = b.body_area
)
SELECT CASE WHEN nicip_code = b_nicip_code THEN 'exact' ELSE 'near' END AS match,
       least(activity_month, date_trunc('month', b_test_date)::DATE) AS activity_month,
       modality,
       submission_id AS a_submission_id, provider_code AS a_provider_code,
       site_code AS a_site_code, accession_number AS a_accession_number, test_date AS a_test_date,
       b_submission_id, b_provider_code, b_site_code, b_accession_number, b_test_date,
       CASE WHEN (not_owner, submitted_on, received_at, submission_id, site_code, accession_number)
              <= (b_not_owner, b_submitted_on, b_received_at, b_submission_id, b_site_code, b_accession_number)
            THEN 'a' ELSE 'b' END AS counted,
       CASE WHEN not_owner <> b_not_owner THEN 'site_owner' ELSE 'earliest_submission' END AS decided_by,
       (nicip_code = b_nicip_code AND $once) AS removed
FROM pair
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


def detect(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild `duplicate_pair` from the working store's records; returns the pairs found.

    One self-join of `record` on (patient key, modality) with a band on the test date: DuckDB
    hashes the equality keys, so the cost grows with records per patient and modality, not with
    the square of the store.
    """
    con.execute("DELETE FROM duplicate_pair")
    con.execute(f"INSERT INTO duplicate_pair {_PAIRS}", {"days": DATE_TOLERANCE_DAYS, "once": counting_once(con)})
    return con.execute("SELECT count(*) FROM duplicate_pair").fetchall()[0][0]


def counted_record_sql(select: str, restrict: str = "") -> str:
    """`select` (a rollup) reading `record` without the removed copies of exact pairs.

    A CTE named `record` shadows the table inside the rollup's own query, so no rollup changes;
    `main.record` inside it is the table. The rollup's text names `duplicate_pair`, so the
    publish's content fingerprints rebuild it whenever the pairs or the setting change.
    `restrict`, a join clause on `main.record r` from code, narrows the records read to the keys
    an incremental publish builds again (`ingest.rollups.refresh_statements`).
    """
    return (
        "WITH removed_copy AS (SELECT "
        "CASE counted WHEN 'a' THEN b_site_code ELSE a_site_code END AS site_code, "
        "CASE counted WHEN 'a' THEN b_accession_number ELSE a_accession_number END AS accession_number "
        "FROM duplicate_pair WHERE removed), "
        f"record AS (SELECT r.* FROM main.record r {restrict} "
        "ANTI JOIN removed_copy USING (site_code, accession_number)) "
        f"SELECT * FROM ({select})"
    )
