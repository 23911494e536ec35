"""Hand-made DID v1.0 rows and files for tests: one valid record, then change what a test needs."""

from __future__ import annotations

import csv
from pathlib import Path

from did_model import spec

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
        check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
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


# A valid DIDS v2.0 record (a file for 2026-05, April 2026 activity): the v1.0 items carried over,
# the test and report dates as timestamps, and the v2.0 additions.
_V2_BASE = {k: v for k, v in VALID.items() if k not in ("test_date", "report_date")}
VALID_V2 = _V2_BASE | {
    "request_date": "2026-04-02",
    "request_received_date": "2026-04-03",
    "priority": "1",
    "activity_category": "01",
    "waiting_list_clock_start": "2026-04-02",
    "procedure_start_ts": "2026-04-05T10:00:00+01:00",
    "procedure_end_ts": "2026-04-05T10:20:00+01:00",
    "report_issue_ts": "2026-04-06T12:00:00+01:00",
}


def row_v2(**changes) -> dict:
    """VALID_V2 with `changes`; a `test_date` / `report_date` change (as for a v1.0 record) sets
    the procedure start (end 20 minutes later) / report issue to that day, in UK summer time."""
    out = dict(VALID_V2)
    test_date, report_date = changes.pop("test_date", None), changes.pop("report_date", None)
    if test_date is not None:
        out["procedure_start_ts"] = f"{test_date}T10:00:00+01:00" if test_date else ""
        out["procedure_end_ts"] = f"{test_date}T10:20:00+01:00" if test_date else ""
    if report_date is not None:
        out["report_issue_ts"] = f"{report_date}T12:00:00+01:00" if report_date else ""
    out.update(changes)
    return out


def write_v2(path: Path, records: list[dict]) -> Path:
    """A DIDS v2.0 CSV: a header of the shipped v2.0 pack's item names, in its order."""
    from ingest import spec_pack

    items = spec_pack.default_pack("2.0").items
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([i.name for i in items])
        for r in records:
            w.writerow([r.get(i.field, "") for i in items])
    return path
