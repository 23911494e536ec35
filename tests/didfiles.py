"""Hand-made DID v1.0 rows and files for tests: one valid record, then change what a test needs."""

from __future__ import annotations

import csv
from pathlib import Path

from ingest import spec

# A valid record: every item present and consistent. NHS number 9434765919 passes Modulus 11.
VALID = {
    "nhs_number": "9434765919",
    "nhs_number_status": "01",
    "birth_date": "1950-03-15",
    "ethnic_category": "A",
    "gender": "2",
    "postcode": "TS18 1HU",
    "practice_code": "A81001",
    "patient_source": "04",
    "referrer_code": "G1234567",
    "referring_org_code": "A81001",
    "request_date": "2026-01-02",
    "request_received_date": "2026-01-03",
    "test_date": "2026-01-05",
    "nicip_code": "XCHES",
    "snomed_code": "",
    "report_date": "2026-01-06",
    "site_code": "RR801",
    "accession_number": "ACC0001",
}


def nhs_number(i: int) -> str:
    """A valid (Modulus 11) NHS number, a different one for each i below 1,000,000."""
    while True:
        digits = [int(c) for c in f"943{i:06d}"]
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1))) % 11
        if check != 10:
            return "".join(map(str, digits)) + str(check % 11)
        i = (i + 1) % 1_000_000


def row(**changes) -> dict:
    out = dict(VALID)
    out.update(changes)
    return out


def rows(n: int, **changes) -> list[dict]:
    """n valid records with distinct accession numbers."""
    return [row(accession_number=f"ACC{i:05d}", **changes) for i in range(1, n + 1)]


def write(path: Path, records: list[dict], header: bool = True, line_end: str = "\n") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator=line_end)
        if header:
            w.writerow(spec.HEADER)
        for r in records:
            w.writerow([r.get(c, "") for c in spec.COLUMNS])
    return path
