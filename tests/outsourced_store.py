"""A store of three providers' hand-made records with outsourced examinations planted (ADR 0010).

RR8 submits first, RTH a day later, RAE a day after that. Pairs planted: RR8/RTH exact on the
same day and a day apart, RR8/RTH near, RAE/RTH exact; and three look-alikes that are no pair
(three days apart, the same provider twice, a patient at one provider only).
"""

from __future__ import annotations

from datetime import date, timedelta

import didfiles
from ingest import loader, store


def _record(provider, n, patient, day, nicip="XCHES"):
    test = date(2026, 1, 5) + timedelta(days=day)
    return didfiles.row(
        site_code=f"{provider}01",
        accession_number=f"{provider}{n:05d}",
        nhs_number=didfiles.nhs_number(patient),
        test_date=test.isoformat(),
        report_date=(test + timedelta(days=1)).isoformat(),
        request_date="2026-01-01",
        request_received_date="2026-01-01",
        nicip_code=nicip,
    )


# (provider, accession, patient, day offset, NICIP)
RR8 = [
    ("RR8", 1, 1, 0, "XCHES"),  # exact with RTH 1 (same day)
    ("RR8", 2, 2, 0, "XCHES"),  # exact with RTH 2 (a day apart)
    ("RR8", 3, 3, 0, "XCHES"),  # near with RTH 3 (another chest radiograph)
    ("RR8", 4, 4, 0, "XCHES"),  # RTH 4 is three days later: a repeat, no pair
    ("RR8", 5, 5, 0, "XCHES"),  # RR8 6 is the same provider: never a pair
    ("RR8", 6, 5, 0, "XCHES"),
    ("RR8", 7, 6, 0, "XCHES"),
]  # patient 6 only at RR8
RTH = [
    ("RTH", 1, 1, 0, "XCHES"),
    ("RTH", 2, 2, 1, "XCHES"),
    ("RTH", 3, 3, 0, "XSTRM"),
    ("RTH", 4, 4, 3, "XCHES"),
    ("RTH", 5, 7, 0, "XCHES"),
]
RAE = [("RAE", 1, 7, 0, "XCHES")]  # exact with RTH 5: RTH submitted earlier, so RAE's copy goes
SUBMITTED = ((RR8, date(2026, 2, 3)), (RTH, date(2026, 2, 4)), (RAE, date(2026, 2, 5)))


def _load(store_dir, folder, planted, submitted_on):
    provider = planted[0][0]
    path = didfiles.write(folder / f"{provider}.csv", [_record(p, n, pt, d, c) for p, n, pt, d, c in planted])
    with store.writer(store_dir) as con:
        result = loader.load_file(con, path, provider, "2026-01", submitted_on)
    assert result.status == "accepted", result.file_errors


def build_outsourced_store(store_dir, folder):
    """Load the three providers' files into the (empty) store at `store_dir` and publish."""
    for planted, submitted_on in SUBMITTED:
        _load(store_dir, folder, planted, submitted_on)
    with store.writer(store_dir) as con:
        store.publish(con, store_dir)
    return store_dir
