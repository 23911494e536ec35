"""The hand-made store behind the official-output tests (monthly tables, KH12, dose, linkage
extract, and their pages): SUBMISSIONS and RECORDS written straight into a store with the
reference data, then published. The figures worked by hand from it are in
tests/queries/test_official_monthly.py.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from did_model import nicip
from ingest import store

PERIOD = date(2026, 3, 1)
MONTH = date(2026, 2, 1)
P1 = "A84002"  # sub-ICB 00L, ICB QHM (asserted against the reference below)
P2 = "A82003"  # sub-ICB 01K, ICB QE1 (asserted below)

# (submission id, provider, period, status)
SUBMISSIONS = [
    (1, "RAJ", date(2026, 2, 1), "accepted"),
    (2, "RBK", date(2026, 2, 1), "accepted"),
    (3, "RAJ", date(2026, 3, 1), "accepted"),
    (4, "RBK", date(2026, 3, 1), "rejected"),
    (5, "RCF", date(2025, 6, 1), "accepted"),
    (6, "RDE", date(2025, 1, 1), "accepted"),
    (7, "RBK", date(2026, 4, 1), "accepted"),  # RBK's February records arrive late
]

# (n, submission, provider, NICIP, patient source, practice, test date, request->test days,
#  test->report days or None, age, sex code)
RECORDS = [
    (12, 3, "RAJ", "XCHES", "04", P1, date(2026, 2, 10), 0, 1, 70, "1"),
    (3, 3, "RAJ", "CCHES", "04", P1, date(2026, 2, 11), 1, 1, 70, "2"),
    (9, 3, "RAJ", "MSKUH", "03", P1, date(2026, 2, 12), 20, 3, 10, "1"),
    (20, 7, "RBK", "UABDO", "04", P2, date(2026, 2, 13), 7, 1, 40, "2"),
    (8, 7, "RBK", "XCHES", "01", None, date(2026, 2, 16), 2, 1, None, "9"),
    (30, 7, "RBK", "XWRIL", "05", P2, date(2026, 2, 17), 5, 1, 10, "2"),
    (10, 1, "RAJ", "XCHES", "04", P1, date(2026, 1, 12), 0, 1, 70, "1"),
    (4, 2, "RBK", "UABDO", "04", P2, date(2026, 1, 13), 7, 1, 40, "2"),
]
NO_PSEUDO_ID = (1, 1, "RAJ", "XCHES", "04", P1, date(2026, 1, 14), 0, 1, 70, "1")  # no NHS number


def build_official_store(store_dir: Path, extra: list | None = None) -> None:
    """Write SUBMISSIONS and RECORDS (and `extra` rows without a pseudonymised id) into the empty
    store with reference data at store_dir, and publish it (which builds every rollup)."""
    with store.writer(store_dir) as con:
        con.executemany(
            """INSERT INTO submission (submission_id, provider_code, period, received_at, submitted_on, file_name,
                   sha256, format, status, timeliness, rows_read, rows_accepted, rows_rejected, rows_with_warnings)
               VALUES (?, ?, ?, ?, ?, ?, ?, 'csv', ?, 'on_time', 0, 0, 0, 0)""",
            [
                (
                    sid,
                    prov,
                    per,
                    datetime(per.year, per.month, 5),
                    per,
                    f"DID_{prov}_{per:%Y%m}.csv",
                    f"{sid:064x}",
                    status,
                )
                for sid, prov, per, status in SUBMISSIONS
            ],
        )
        rows, n_acc = [], 0
        for with_id, spec in [*[(True, r) for r in RECORDS], *[(False, r) for r in (extra or [])]]:
            n, sid, prov, code, source, practice, test, wait, report, age, sex = spec
            for _ in range(n):
                n_acc += 1
                rows.append(
                    (
                        sid,
                        prov,
                        f"{prov}01",
                        f"ACC{n_acc:05d}",
                        f"PSEUDO{n_acc:05d}" if with_id else None,
                        "01",
                        age,
                        sex,
                        practice,
                        source,
                        test - timedelta(days=wait),
                        test - timedelta(days=wait),
                        test,
                        None if report is None else test + timedelta(days=report),
                        code,
                        nicip.modality(code),
                        nicip.decode_body_area(code),
                        nicip.test_group(code),
                        test.replace(day=1),
                    )
                )
        con.executemany(
            """INSERT INTO record (submission_id, provider_code, site_code, accession_number, patient_pseudo_id,
                   nhs_number_status, age_at_test, sex, practice_code, patient_source, request_date,
                   request_received_date, test_date, report_date, nicip_code, modality, body_area, test_group,
                   activity_month)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
        store.publish(con, store_dir)


def make(empty_store_template: Path, folder: Path, extra: list | None = None) -> Path:
    """A copy of the empty store template under `folder`, with the official rows, published."""
    d = Path(folder) / "store"
    shutil.copytree(empty_store_template, d)
    build_official_store(d, extra)
    return d
