"""The pseudonymisation scan at national scale: one activity month of a national store.

    .venv/bin/python bench/privacy_scan.py --store /work/national/store --extracts /work/national/extracts \
        [--period 2026-07]

Reads the NHS numbers, birth dates and full postcodes of every extract file for that
submission period, then looks for them (and for anything shaped like an NHS number or a full
postcode) in the record, issue and submission tables of the published snapshot (quarantine is
where they are allowed). The same check as tests/test_pseudonymisation_scan.py, at scale.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from did_model import spec  # noqa: E402
from ingest import store  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", required=True)
    p.add_argument("--extracts", required=True)
    p.add_argument("--period", default="2026-07", help="submission month whose files are read")
    args = p.parse_args()
    started = time.perf_counter()
    files = sorted(Path(args.extracts).glob(f"DID_*_{args.period.replace('-', '')}.csv"))
    raw = pl.concat(
        [
            pl.read_csv(
                f,
                has_header=f.read_text(encoding="utf-8")[:10] == spec.HEADER[0][:10],
                new_columns=list(spec.COLUMNS),
                infer_schema=False,
            )
            for f in files
            if f.read_bytes()[:200].count(b",") >= 17
        ],
        how="vertical_relaxed",
    )
    ids = {c: raw[c].drop_nulls().unique() for c in ("nhs_number", "birth_date", "postcode")}
    con = duckdb.connect()
    con.execute("ATTACH ? AS snap (READ_ONLY)", [str(store.current_snapshot(Path(args.store)))])
    con.execute("USE snap")
    con.register("nhs_ids", pl.DataFrame({"v": ids["nhs_number"]}).to_arrow())
    con.register("postcodes", pl.DataFrame({"v": ids["postcode"]}).to_arrow())
    con.register("dobs", pl.DataFrame({"v": ids["birth_date"].str.to_date(strict=False)}).to_arrow())

    def scalar(sql, params=None):
        return con.execute(sql, params or []).fetchall()[0][0]

    checks = {}
    for table in ("record", "issue", "submission"):
        cols = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = 'snap' AND table_name = ?",
            [table],
        ).fetchall()
        for name, dtype in cols:
            if dtype == "VARCHAR":
                n = scalar(
                    f"SELECT count(*) AS n FROM {table} WHERE {name} IN (SELECT v FROM nhs_ids) "  # noqa: S608
                    f"OR {name} IN (SELECT v FROM postcodes) OR regexp_matches({name}, "
                    "'(^|[^0-9A-Za-z])[0-9]{10}([^0-9A-Za-z]|$)') "
                    f"OR regexp_matches({name}, '[A-Z]{{1,2}}[0-9][0-9A-Z]? [0-9][A-Z]{{2}}')"
                )
            elif dtype == "DATE":
                n = scalar(
                    f"SELECT count(*) AS n FROM {table} WHERE {name} < DATE '2024-01-01' "  # noqa: S608
                    f"AND {name} IN (SELECT v FROM dobs)"
                )
            else:
                continue
            checks[f"{table}.{name}"] = int(n)
    leaks = {k: v for k, v in checks.items() if v}
    records = scalar("SELECT count(*) FROM record")
    print(
        f"{len(files)} files of period {args.period}: {len(ids['nhs_number']):,} NHS numbers, "
        f"{len(ids['postcode']):,} postcodes, {len(ids['birth_date']):,} birth dates; "
        f"{len(checks)} columns over {records:,} records scanned in {time.perf_counter() - started:.0f} s"
    )
    print("LEAKS: " + (", ".join(f"{k} ({v})" for k, v in leaks.items()) if leaks else "none"))
    sys.exit(1 if leaks else 0)


if __name__ == "__main__":
    main()
