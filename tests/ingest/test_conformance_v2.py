"""Conformance for DIDS v2.0: every rule of the shipped v2.0 pack, in CSV and in XML, with a
record that triggers it and a near-identical one that does not; the timestamp rules on the
days the clocks change; the version a file must be in for its period.

The submission is for period 2026-05 (April 2026 activity), received 2026-05-10, from RR8. The
base record (tests/didfiles.py VALID_V2) passes every rule. The v1.0 rules carried over to v2.0
reuse the v1.0 cases (tests/ingest/test_conformance.py) moved three months on, so that their
dates keep the same relation to the period.
"""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pytest
import test_conformance
from test_conformance import CASES as V1_CASES
from test_conformance import assert_trigger_and_near_miss

import didfiles
from ingest import loader, spec_pack, store
from ingest.xml_reader import write_xml

conformance_store = test_conformance.conformance_store  # the v1.0 suite's fixture, shared
PERIOD, SUBMITTED = "2026-05", date(2026, 5, 10)
PACK = spec_pack.default_pack("2.0")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _later(value: str) -> str:
    """A v1.0 case's date three months on (the v1.0 suite's period is 2026-02); other values, and
    the fixed limits the rules name (1900-01-01, 1970-01-01), as they are."""
    m = _DATE.match(value)
    if not m or int(m[1]) < 2000:
        return value
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    try:
        date(y, mo, d)
    except ValueError:
        return value  # a case's invalid date stays invalid
    y, mo = y + (mo + 2) // 12, (mo + 2) % 12 + 1
    return f"{date(y, mo, d):%Y-%m-%d}"


def _moved(changes: dict) -> dict:
    return {k: _later(v) for k, v in changes.items()}


def _ts(day: str, clock: str = "10:00:00", offset: str = "+01:00") -> str:
    return f"{day}T{clock}{offset}"


# code: (changes that trigger it, near-identical changes that do not). Timestamps are compared as
# instants: 09:30+00:00 is after 10:00+01:00 (09:00 UTC), 09:30+01:00 is not.
V2_CASES: dict[str, tuple[dict, dict]] = {
    "DIDSX11": (
        {"procedure_start_ts": "2026-04-05 10:00:00+01:00"},
        {"procedure_start_ts": "2026-04-05T10:00:00+01:00"},
    ),
    "DIDSX12": (
        {"procedure_start_ts": _ts("2026-04-05", offset="+02:00")},
        {"procedure_start_ts": _ts("2026-04-05", offset="-00:00")},
    ),
    "DIDSX13": ({"procedure_end_ts": "2026-04-05T10:20+01:00"}, {"procedure_end_ts": "2026-04-05T10:20:00+01:00"}),
    "DIDSX14": (
        {"procedure_end_ts": _ts("2026-04-05", "10:20:00", "+05:30")},
        {"procedure_end_ts": _ts("2026-04-05", "10:20:00", "Z")},
    ),
    "DIDSX15": ({"report_issue_ts": "2026-04-31T12:00:00+01:00"}, {"report_issue_ts": "2026-04-30T12:00:00+01:00"}),
    "DIDSX16": (
        {"report_issue_ts": _ts("2026-04-06", offset="-01:00")},
        {"report_issue_ts": _ts("2026-04-06", offset="+00:00")},
    ),
    "DIDSX20": ({"procedure_start_ts": ""}, {"procedure_start_ts": _ts("2026-04-05")}),
    "DIDSX21": ({"procedure_end_ts": ""}, {"procedure_end_ts": _ts("2026-04-05")}),
    "DIDSX22": (
        {"procedure_end_ts": _ts("2026-04-05", "09:30:00", "+01:00")},
        {"procedure_end_ts": _ts("2026-04-05", "09:30:00", "+00:00")},
    ),
    "DIDSX23": (
        {"report_issue_ts": _ts("2026-04-05", "09:30:00", "+01:00")},
        {"report_issue_ts": _ts("2026-04-05", "09:30:00", "Z")},
    ),
    "DIDSX24": ({"priority": ""}, {"priority": "2"}),
    "DIDSX25": ({"priority": "4"}, {"priority": "3"}),
    "DIDSX26": (
        {"activity_category": "", "waiting_list_clock_start": ""},
        {"activity_category": "03", "waiting_list_clock_start": ""},
    ),
    "DIDSX27": ({"activity_category": "04"}, {"activity_category": "02"}),
    "DIDSX28": (
        {"activity_category": "01", "waiting_list_clock_start": ""},
        {"activity_category": "02", "waiting_list_clock_start": ""},
    ),
    "DIDSX29": ({"waiting_list_clock_start": "2026-4-2"}, {"waiting_list_clock_start": "2026-04-02"}),
    # 00:30 BST on 5 April is 23:30 UTC on the 4th: the test date is the UK date, the 5th.
    "DIDSX30": (
        {"waiting_list_clock_start": "2026-04-06"},
        {
            "waiting_list_clock_start": "2026-04-05",
            "procedure_start_ts": _ts("2026-04-05", "00:30:00"),
            "procedure_end_ts": _ts("2026-04-05", "00:50:00"),
        },
    ),
    "DIDS00300302": (
        {"snomed_code": "399208008", "nicip_code": "QQQQQ"},
        {"snomed_code": "399208008", "nicip_code": "XCHES"},
    ),
    "DIDS00300402": (
        {"snomed_code": "399208007", "nicip_code": "XCHES"},
        {"snomed_code": "399208008", "nicip_code": "XCHES"},
    ),
    "DIDSX31": ({"snomed_code": "399208007", "nicip_code": "QQQQQ"}, {"snomed_code": "399208007", "nicip_code": ""}),
    "DIDSX32": ({"nicip_code": "QQQQQ"}, {"nicip_code": "XCHES"}),
    "DIDSREJ012": ({"snomed_code": "169069000"}, {"snomed_code": "399208008"}),
}
# The v1.0 rules the v2.0 pack carries over, with their v1.0 cases.
CASES = V2_CASES | {
    code: (_moved(t), _moved(n)) for code, (t, n) in V1_CASES.items() if code in {r.code for r in PACK.rules}
}


def _check(store_dir, tmp_path, records, fmt, period=PERIOD, submitted=SUBMITTED, version="2.0"):
    name = f"DID_RR8_{period.replace('-', '')}"
    path = (
        didfiles.write_v2(tmp_path / f"{name}.csv", records)
        if fmt == "csv"
        else write_xml(tmp_path / f"{name}.xml", records, version)
    )
    con = duckdb.connect(str(store.store_path(store_dir)), read_only=True)
    try:
        return loader.load_file(con, path, "RR8", period, submitted, issue_limit=10_000, dry_run=True)
    finally:
        con.close()


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_the_base_v2_record_passes_every_rule(conformance_store, tmp_path, fmt):  # noqa: F811
    result = _check(conformance_store, tmp_path, [didfiles.row_v2()], fmt)
    assert result.status == "accepted" and result.issues == [], result.issues


def test_every_v2_rule_has_a_case():
    assert set(CASES) | {"DIDS071"} == {r.code for r in PACK.rules}


@pytest.mark.parametrize("fmt", ["csv", "xml"])
@pytest.mark.parametrize("code", sorted(CASES))
def test_v2_rule_triggers_and_near_miss_does_not(conformance_store, tmp_path, code, fmt):  # noqa: F811
    trigger, near_miss = CASES[code]
    records = [
        didfiles.row_v2(**({"accession_number": "T1"} | trigger)),
        didfiles.row_v2(**({"accession_number": "N1"} | near_miss)),
    ]
    assert_trigger_and_near_miss(_check(conformance_store, tmp_path, records, fmt), code, fmt, PACK.rules)


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_nicip_code_inactive_at_most_183_days_before_the_procedure_end_is_valid(conformance_store, tmp_path, fmt):  # noqa: F811
    """XABDO was made inactive on 2025-06-01 (conformance store): 183 days later is 2025-12-01."""

    def at(day):
        return didfiles.row_v2(
            nicip_code="XABDO",
            request_date="2025-11-20",
            request_received_date="2025-11-20",
            waiting_list_clock_start="2025-11-20",
            test_date=day,
            report_date=day,
            accession_number=day,
        )

    result = _check(conformance_store, tmp_path, [at("2025-12-02"), at("2025-12-01")], fmt)
    first, second = (2, 3) if fmt == "csv" else (1, 2)
    assert "DIDSX32" in {i["code"] for i in result.issues if i["line"] == first}
    assert "DIDSX32" not in {i["code"] for i in result.issues if i["line"] == second}


@pytest.mark.parametrize(
    ("fmt", "version", "period", "submitted", "wanted"),
    [
        ("csv", "1.0", "2026-05", date(2026, 5, 10), "2.0"),
        ("xml", "1.0", "2026-05", date(2026, 5, 10), "2.0"),
        ("csv", "2.0", "2026-04", date(2026, 4, 10), "1.0"),
        ("xml", "2.0", "2026-04", date(2026, 4, 10), "1.0"),
    ],
)
def test_a_file_in_the_wrong_version_for_its_period_is_rejected(
    conformance_store,
    tmp_path,
    fmt,
    version,  # noqa: F811
    period,
    submitted,
    wanted,
):
    name = f"DID_RR8_{period.replace('-', '')}.{fmt}"
    if version == "1.0":
        row = didfiles.row(
            test_date="2026-04-05",
            report_date="2026-04-06",
            request_date="2026-04-02",
            request_received_date="2026-04-03",
        )
        path = didfiles.write(tmp_path / name, [row]) if fmt == "csv" else write_xml(tmp_path / name, [row])
    else:
        row = didfiles.row_v2(
            test_date="2026-03-05",
            report_date="2026-03-06",
            request_date="2026-03-02",
            request_received_date="2026-03-03",
            waiting_list_clock_start="2026-03-02",
        )
        path = didfiles.write_v2(tmp_path / name, [row]) if fmt == "csv" else write_xml(tmp_path / name, [row], "2.0")
    con = duckdb.connect(str(store.store_path(conformance_store)), read_only=True)
    result = loader.load_file(con, path, "RR8", period, submitted, dry_run=True)
    con.close()
    assert result.status == "rejected"
    assert result.file_errors[0]["code"] == "DIDSX10"
    assert f"DIDS v{version} file" in result.file_errors[0]["message"]
    assert f"sent in DIDS v{wanted}" in result.file_errors[0]["message"]


# (procedure start as sent, its UK date: the record's test date). The clocks went forward at
# 01:00 UTC on 2026-03-29 and back at 01:00 UTC on 2026-10-25.
CLOCK_CHANGE_DAYS = {
    "2026-05": [
        ("2026-03-28T23:30:00-00:00", date(2026, 3, 28)),
        ("2026-03-29T00:30:00+00:00", date(2026, 3, 29)),
        ("2026-03-29T23:30:00+01:00", date(2026, 3, 29)),
        # the month's edge: 23:30 UTC on 30 April is 00:30 on 1 May in the UK
        ("2026-04-30T23:30:00+00:00", date(2026, 5, 1)),
        ("2026-04-30T23:30:00+01:00", date(2026, 4, 30)),
    ],
    "2026-11": [
        ("2026-10-25T00:30:00+01:00", date(2026, 10, 25)),
        ("2026-10-24T23:30:00+00:00", date(2026, 10, 25)),
        ("2026-10-24T23:30:00+01:00", date(2026, 10, 24)),
        ("2026-10-25T23:30:00Z", date(2026, 10, 25)),
    ],
}


@pytest.mark.parametrize("fmt", ["csv", "xml"])
@pytest.mark.parametrize("period", sorted(CLOCK_CHANGE_DAYS))
def test_the_test_date_is_the_uk_date_of_the_procedure_start(store_dir, tmp_path, fmt, period):
    cases = CLOCK_CHANGE_DAYS[period]
    records = [
        didfiles.row_v2(
            procedure_start_ts=start,
            procedure_end_ts=start,
            report_issue_ts=start,
            request_date="2026-03-01",
            request_received_date="2026-03-01",
            waiting_list_clock_start="2026-03-01",
            accession_number=f"BST{i}",
        )
        for i, (start, _) in enumerate(cases)
    ]
    name = f"DID_RR8_{period.replace('-', '')}.{fmt}"
    path = didfiles.write_v2(tmp_path / name, records) if fmt == "csv" else write_xml(tmp_path / name, records, "2.0")
    with store.writer(store_dir) as con:
        result = loader.load_file(con, path, "RR8", period, date(int(period[:4]), int(period[5:]), 10))
        assert result.counts["rejected"] == 0, result.issues
        got = dict(con.execute("SELECT accession_number, test_date FROM record").fetchall())
        utc, report, month = con.execute(
            "SELECT procedure_start_utc, report_date, activity_month FROM record WHERE accession_number = 'BST0'"
        ).fetchall()[0]
    assert got == {f"BST{i}": day for i, (_, day) in enumerate(cases)}
    start, day = cases[0]
    assert report == day and month == day.replace(day=1)
    offset = 0 if start.endswith(("Z", "00:00")) else 1
    assert utc.hour == (int(start[11:13]) - offset) % 24


def test_validate_reports_either_version_in_the_same_json(conformance_store, tmp_path, capsys):  # noqa: F811
    import json

    import did_cli

    v1 = didfiles.write(tmp_path / "DID_RR8_202602.csv", [didfiles.row()])
    v2 = didfiles.write_v2(tmp_path / "DID_RR8_202605.csv", [didfiles.row_v2(priority="9")])
    reports = []
    for path, day in ((v1, "2026-02-10"), (v2, "2026-05-10")):
        did_cli.main(["validate", str(path), "--submitted-on", day, "--json", "--store", str(conformance_store)])
        reports.append(json.loads(capsys.readouterr().out))
    assert reports[0].keys() == reports[1].keys()
    assert [r["version"] for r in reports] == ["1.0", "2.0"]
    assert [i["code"] for i in reports[1]["issues"]] == ["DIDSX25"]
