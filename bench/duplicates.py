"""Outsourced duplicates (ADR 0010): detection's share of publish time and the page query's p95.

    python bench/duplicates.py [--records 4000000] [--share 0.01] [--repeat 20] [--out bench/results/duplicates.json]

Builds a throwaway working store whose `record` holds `--records` examinations over twelve
months at 140 providers (about three examinations per patient a year, the national ratio),
`--share` of them submitted a second time by another provider (a day later for half of those),
then times `ingest.duplicates.detect` alone, a whole publish (detection included), and the
Outsourced imaging page's query (central and one provider) on the published snapshot. It also
counts planted copies found (recall) and pairs found that were not planted: chance
coincidences of the random data, a ceiling on false positives (real repeat examinations of one
code at two providers within a day are rarer than uniform random dates make them).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import duckdb  # noqa: E402

from bench.ingest import _time as seconds  # noqa: E402 - wall-clock seconds of one call
from bench.quality import _time as p50_p95  # noqa: E402 - (p50, p95) milliseconds over repeats
from did_model.scope import CENTRAL, Scope  # noqa: E402
from ingest import duplicates, store  # noqa: E402
from queries import duplicates as duplicate_queries  # noqa: E402
from queries.connection import Snapshot  # noqa: E402

PROVIDERS = 140
CODES = ["XCHES", "XSTRM", "CCHAP", "UABDO", "UPELV", "MAAOA", "NPET", "XABDO"]  # all in the shipped ref_nicip


def _fill(con: duckdb.DuckDBPyConnection, records: int, share: float) -> None:
    """Synthetic records in SQL: providers P000..P139, one submission each; patients drawn so that
    each has about three examinations; `share` copied to the next provider (test date + 0 or 1)."""
    con.execute(
        """
        INSERT INTO submission (submission_id, provider_code, period, received_at, submitted_on, file_name,
            sha256, format, status, rows_read, rows_accepted, rows_rejected, rows_with_warnings)
        SELECT i + 1, printf('P%03d', i), DATE '2026-01-01', TIMESTAMP '2026-01-05 09:00' + i * INTERVAL 1 MINUTE,
               DATE '2026-01-05', 'bench.csv', 'x', 'csv', 'accepted', 0, 0, 0, 0
        FROM range($n) t(i)""",
        {"n": PROVIDERS},
    )
    con.execute(
        """
        CREATE TEMP TABLE base AS
        SELECT i, (hash(i::VARCHAR || 'p') % $providers)::INT AS p,
               md5((hash(i::VARCHAR || 'pt') % ($records // 3))::VARCHAR) AS patient,
               $codes[1 + (hash(i::VARCHAR || 'c') % len($codes))::INT] AS nicip,
               $start + (hash(i::VARCHAR || 'd') % 365)::INT AS test_date
        FROM range($records) t(i)""",
        {"providers": PROVIDERS, "records": records, "codes": CODES, "start": date(2025, 4, 1)},
    )
    select = """
        SELECT p + 1, printf('P%03d', p), printf('P%03d01', p), $prefix || i, patient, '04', test_date, b.nicip,
               n.modality, n.body_area, date_trunc('month', test_date)::DATE
        FROM {source} b JOIN ref_nicip n ON n.nicip_code = b.nicip"""
    columns = (
        "(submission_id, provider_code, site_code, accession_number, patient_pseudo_id, patient_source, "
        "test_date, nicip_code, modality, body_area, activity_month)"
    )
    con.execute(f"INSERT INTO record {columns} {select.format(source='base')}", {"prefix": "A"})
    copies = (
        "(SELECT i, (p + 1) % $providers AS p, patient, nicip, test_date + (i % 2)::INT AS test_date "
        "FROM base WHERE hash(i::VARCHAR || 'dup') % 10000 < $share)"
    )
    con.execute(
        f"INSERT INTO record {columns} {select.format(source=copies)}",
        {"prefix": "B", "share": int(share * 10000), "providers": PROVIDERS},
    )


def _planted_vs_found(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    """(copies planted, planted copies found as an exact pair with their original, pairs found
    that were not planted). A copy is accession 'B<i>', its original 'A<i>'. The pairs not
    planted are chance coincidences of the random data (one patient, code and day at two
    providers), indistinguishable from a real duplicate by construction."""
    return con.execute("""
        SELECT (SELECT count(*) FROM record WHERE accession_number LIKE 'B%'),
               count(*) FILTER (WHERE match = 'exact' AND planted),
               count(*) FILTER (WHERE NOT planted)
        FROM (SELECT substr(a_accession_number, 2) = substr(b_accession_number, 2)
                     AND a_accession_number[1] <> b_accession_number[1] AS planted, match FROM duplicate_pair)
    """).fetchall()[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=4_000_000)
    p.add_argument("--share", type=float, default=0.01)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "duplicates.json"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store_dir = Path(tmp)
        store.create_store(store_dir)
        with store.writer(store_dir) as con:
            _fill(con, args.records, args.share)
            con.execute("CHECKPOINT")
            records = con.execute("SELECT count(*) FROM record").fetchall()[0][0]
            detect_s = seconds(lambda: duplicates.detect(con))
            timings: dict[str, float] = {}
            publish_s = seconds(lambda: store.publish(con, store_dir, timings))
            pairs, removed = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE removed) FROM duplicate_pair"
            ).fetchall()[0]
            planted, found, unplanted = _planted_vs_found(con)
        snap = Snapshot(store.current_snapshot(store_dir))
        own = Scope("provider", providers=frozenset({"P001"}), user="bench")
        central = p50_p95(lambda: duplicate_queries.pairs_by_month(snap, CENTRAL), args.repeat)
        provider = p50_p95(lambda: duplicate_queries.pairs_by_month(snap, own), args.repeat)
        snap.close()
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}",
        "records": records,
        "planted_share": args.share,
        "pairs": pairs,
        "copies_removed": removed,
        "planted": planted,
        "planted_found_exact": found,
        "recall": round(found / planted, 4) if planted else None,
        "pairs_not_planted": unplanted,
        "detect_s": round(detect_s, 2),
        "publish_s": round(publish_s, 2),
        "detect_in_publish_s": round(timings["duplicates"], 2),
        "detect_share_of_publish": round(timings["duplicates"] / publish_s, 3),
        "page_query_ms": {
            "central_p50": round(central[0], 1),
            "central_p95": round(central[1], 1),
            "provider_p50": round(provider[0], 1),
            "provider_p95": round(provider[1], 1),
        },
    }
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
