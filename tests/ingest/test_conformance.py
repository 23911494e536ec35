"""Conformance: every DIDS rule, in CSV and in XML, with a record that triggers it and a
near-identical one that does not.

The submission is for period 2026-02, received 2026-02-10, from provider RR8. The base record
(tests/didfiles.py VALID) passes every rule; each case changes one or two items.
"""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest

import didfiles
from ingest import loader, store, validation
from ingest.xml_reader import write_xml

PERIOD, SUBMITTED = "2026-02", date(2026, 2, 10)

# code: (changes that trigger it, near-identical changes that do not)
CASES: dict[str, tuple[dict, dict]] = {
    "DIDS001": ({"nhs_number": "9434765918"}, {"nhs_number": "9434765919"}),
    "DIDS002": ({"nhs_number": "943476591"}, {"nhs_number": "943 476 5919"}),
    "DIDS003": ({"nhs_number_status": "09"}, {"nhs_number_status": "08"}),
    "DIDS005": ({"birth_date": "1950-02-30"}, {"birth_date": "1950-02-28"}),
    "DIDS006": ({"birth_date": "2026-01-06"}, {"birth_date": "2026-01-05"}),
    "DIDS008": (
        {"birth_date": "2026-01-05", "report_date": "2026-01-04"},
        {"birth_date": "2026-01-04", "report_date": "2026-01-04"},
    ),
    "DIDS009": ({"birth_date": "1900-01-01"}, {"birth_date": "1900-01-02"}),
    "DIDS010": (
        {"birth_date": "2025-07-03", "request_date": "2025-01-02", "request_received_date": "2025-01-02"},
        {"birth_date": "2025-07-02", "request_date": "2025-01-02", "request_received_date": "2025-01-02"},
    ),
    "DIDS012": ({"ethnic_category": "T"}, {"ethnic_category": "S"}),
    "DIDS014": ({"gender": "3"}, {"gender": "9"}),
    "DIDS016": ({"postcode": "LS1 4AP"}, {"postcode": "TS18 1HU"}),
    "DIDS017": ({"postcode": "TS181HU"}, {"postcode": "TS18 1HU"}),
    "DIDS018": ({"practice_code": "Q99999"}, {"practice_code": "V81999"}),
    "DIDS020": ({"patient_source": ""}, {"patient_source": "03"}),
    "DIDS021": ({"patient_source": "4"}, {"patient_source": "04"}),
    "DIDS023": ({"referrer_code": "G123456"}, {"referrer_code": "GP123456"}),
    "DIDS024": ({"referring_org_code": "ZZZZZZ"}, {"referring_org_code": "RR8"}),
    "DIDS026": ({"request_date": "2026-1-2"}, {"request_date": "2026-01-02"}),
    "DIDS027": ({"request_date": "2026-01-04"}, {"request_date": "2026-01-03"}),
    "DIDS028": (
        {"request_date": "2024-12-01", "request_received_date": "2024-12-01"},
        {"request_date": "2025-01-06", "request_received_date": "2025-01-06"},
    ),
    "DIDS031": ({"request_date": "1969-12-31"}, {"request_date": "1970-01-01"}),
    "DIDS034": (
        {"request_date": "2026-01-06", "request_received_date": "2026-01-06"},
        {"request_date": "2026-01-05", "request_received_date": "2026-01-05"},
    ),
    "DIDS035": ({"report_date": "2026-01-01"}, {"report_date": "2026-01-02"}),
    "DIDS036": ({"request_received_date": "03/01/2026"}, {"request_received_date": "2026-01-03"}),
    "DIDS038": (
        {"request_date": "2024-12-01", "request_received_date": "2024-12-01"},
        {"request_date": "2025-01-06", "request_received_date": "2025-01-06"},
    ),
    "DIDS040": (
        {"birth_date": "2025-12-01", "request_date": "2025-05-31", "request_received_date": "2025-05-31"},
        {"birth_date": "2025-12-01", "request_date": "2025-06-01", "request_received_date": "2025-06-01"},
    ),
    "DIDS041": (
        {"request_date": "1969-12-31", "request_received_date": "1969-12-31"},
        {"request_date": "1970-01-01", "request_received_date": "1970-01-01"},
    ),
    "DIDS043": ({"request_received_date": "2026-01-06"}, {"request_received_date": "2026-01-05"}),
    "DIDS044": (
        {"request_received_date": "2026-01-06", "report_date": "2026-01-05"},
        {"request_received_date": "2026-01-05", "report_date": "2026-01-05"},
    ),
    "DIDS045": ({"test_date": "2026-02-30"}, {"test_date": "2026-01-05"}),
    "DIDS048": ({"report_date": "2026-01-04"}, {"report_date": "2026-01-05"}),
    "DIDS049": (
        {
            "test_date": "2025-10-31",
            "request_date": "2025-10-20",
            "request_received_date": "2025-10-20",
            "report_date": "2025-10-31",
        },
        {
            "test_date": "2025-11-01",
            "request_date": "2025-10-20",
            "request_received_date": "2025-10-20",
            "report_date": "2025-11-01",
        },
    ),
    "DIDS050": ({"test_date": ""}, {"test_date": "2026-01-05"}),
    "DIDS051": (
        {"test_date": "2026-02-11", "report_date": "2026-02-11"},
        {"test_date": "2026-02-10", "report_date": "2026-02-10"},
    ),
    "DIDS055": (
        {
            "test_date": "2025-07-31",
            "request_date": "2025-07-01",
            "request_received_date": "2025-07-01",
            "report_date": "2025-07-31",
        },
        {
            "test_date": "2025-08-01",
            "request_date": "2025-07-01",
            "request_received_date": "2025-07-01",
            "report_date": "2025-08-01",
        },
    ),
    "DIDS056": ({"nicip_code": "", "snomed_code": ""}, {"nicip_code": "", "snomed_code": "399208008"}),
    "DIDS057": ({"nicip_code": "QQQQQ"}, {"nicip_code": "XCHES"}),
    "DIDS059": ({"snomed_code": "399208007"}, {"snomed_code": "399208008"}),
    "DIDS061": ({"report_date": "2026-13-01"}, {"report_date": "2026-01-31"}),
    "DIDS062": ({"report_date": "2026-02-06"}, {"report_date": "2026-02-05"}),
    "DIDS066": ({"report_date": "2026-02-11"}, {"report_date": "2026-02-10"}),
    "DIDS067": ({"site_code": ""}, {"site_code": "RR801"}),
    "DIDS068": ({"site_code": "RR877"}, {"site_code": "RR801"}),
    "DIDS069": ({"site_code": "RR8"}, {"site_code": "RR801"}),
    "DIDS070": ({"accession_number": ""}, {"accession_number": "A1"}),
    "DIDS072": ({"accession_number": "A" * 21}, {"accession_number": "A" * 20}),
    "DIDS073": (
        {c: "" for c in ("nhs_number", "birth_date", "ethnic_category", "gender", "postcode", "practice_code")}
        | {"nhs_number_status": ""},
        {c: "" for c in ("nhs_number", "birth_date", "ethnic_category", "postcode", "practice_code")}
        | {"nhs_number_status": ""},
    ),
    "DIDS074": (
        {c: "" for c in ("nhs_number", "birth_date", "ethnic_category", "gender", "practice_code")}
        | {"nhs_number_status": "", "postcode": "ZZ99 3VZ"},
        {c: "" for c in ("nhs_number", "birth_date", "ethnic_category", "gender", "practice_code")}
        | {"nhs_number_status": "", "postcode": "TS18 1HU"},
    ),
    "DIDS077": ({"nicip_code": "XABDO"}, {"nicip_code": "XCHES"}),
    "DIDS078": ({"snomed_code": "169069000", "nicip_code": ""}, {"snomed_code": "399208008", "nicip_code": ""}),
    "DIDS079": ({"referring_org_code": "T1CLOS"}, {"referring_org_code": "T1OPEN"}),
    "DIDS080": ({"practice_code": "T1CLOS"}, {"practice_code": "T1OPEN"}),
    "DIDS081": ({"site_code": "RR899"}, {"site_code": "RR801"}),
    "DIDSX01": ({"site_code": "RTH01"}, {"site_code": "RR801"}),  # another provider's site (project rule)
    "DIDS082": ({"snomed_code": "169069000"}, {"snomed_code": "399208008"}),
}


@pytest.fixture(scope="module")
def conformance_store(empty_store_template, tmp_path_factory):
    """A store whose reference data holds what the rules are checked against."""
    d = tmp_path_factory.mktemp("conformance") / "store"
    shutil.copytree(empty_store_template, d)
    con = duckdb.connect(str(store.store_path(d)))
    con.execute(
        "INSERT INTO ref_site (site_code, provider_code, site_name, close_date) VALUES "
        "('RR801', 'RR8', 'Open site', NULL), ('RR899', 'RR8', 'Closed site', DATE '2025-12-31'), "
        "('RTH01', 'RTH', 'Another trust''s site', NULL)"
    )
    con.execute("INSERT INTO ref_postcode VALUES ('TS18 1HU', 'E01012000')")
    con.execute("INSERT INTO ref_snomed VALUES ('399208008', true), ('169069000', false)")
    con.execute("INSERT INTO ref_nicip_retired VALUES ('XABDO', DATE '2025-06-01')")
    con.execute("UPDATE ref_nicip SET snomed_code = '399208008' WHERE nicip_code = 'XCHES'")
    con.execute(
        "INSERT INTO ref_org (org_code, org_type, name, open_date, close_date) VALUES "
        "('T1CLOS', 'GP_PRACTICE', 'Closed practice', DATE '2000-01-01', DATE '2025-06-30'), "
        "('T1OPEN', 'GP_PRACTICE', 'Open practice', DATE '2000-01-01', NULL)"
    )
    con.close()
    return d


def _check(store_dir, tmp_path, records, fmt):
    path = (
        didfiles.write(tmp_path / "DID_RR8_202602.csv", records)
        if fmt == "csv"
        else write_xml(tmp_path / "DID_RR8_202602.xml", records)
    )
    con = duckdb.connect(str(store.store_path(store_dir)), read_only=True)
    try:
        return loader.load_file(con, path, "RR8", PERIOD, SUBMITTED, issue_limit=10_000, dry_run=True)
    finally:
        con.close()


def test_the_base_record_passes_every_rule(conformance_store, tmp_path):
    for fmt in ("csv", "xml"):
        result = _check(conformance_store, tmp_path, [didfiles.row()], fmt)
        assert result.issues == [], fmt


def test_every_record_rule_has_a_case():
    assert set(CASES) | {"DIDS071"} == {r.code for r in validation.RULES}


@pytest.mark.parametrize("fmt", ["csv", "xml"])
@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_triggers_and_near_miss_does_not(conformance_store, tmp_path, code, fmt):
    trigger, near_miss = CASES[code]
    records = [
        didfiles.row(**({"accession_number": "T1"} | trigger)),
        didfiles.row(**({"accession_number": "N1"} | near_miss)),
    ]
    assert_trigger_and_near_miss(_check(conformance_store, tmp_path, records, fmt), code, fmt, validation.RULES)


def assert_trigger_and_near_miss(result, code: str, fmt: str, rules) -> None:
    """The first record raises `code` with its rule's severity, the second does not."""
    first, second = (2, 3) if fmt == "csv" else (1, 2)
    codes_at = lambda line: {i["code"] for i in result.issues if i["line"] == line}  # noqa: E731
    assert code in codes_at(first), result.issues
    assert code not in codes_at(second), result.issues
    rule = next(r for r in rules if r.code == code)
    issue = next(i for i in result.issues if i["line"] == first and i["code"] == code)
    assert issue["severity"] == rule.severity
    # The message names the item in words and never echoes a patient identifier.
    assert issue["message"] and "9434765919" not in issue["message"] and "1950-03-15" not in issue["message"]


@pytest.mark.parametrize("fmt", ["csv", "xml"])
def test_duplicate_site_and_accession_within_a_file_rejects_the_repeat(conformance_store, tmp_path, fmt):
    records = [
        didfiles.row(accession_number="A1"),
        didfiles.row(accession_number="A1"),
        didfiles.row(accession_number="A2"),
    ]
    result = _check(conformance_store, tmp_path, records, fmt)
    lines = (2, 3, 4) if fmt == "csv" else (1, 2, 3)
    assert [(i["line"], i["code"]) for i in result.issues] == [(lines[1], "DIDS071")]
    assert f"line {lines[0]}" in result.issues[0]["message"]
    assert result.counts["accepted"] == 2


@pytest.mark.parametrize(
    ("fmt", "content", "code"),
    [
        ("csv", ",".join(["x"] * 17) + "\n", "DIDS075"),
        ("csv", ",".join(["x"] * 19) + "\n", "DIDS075"),
        ("xml", "<DIDS><Record/></DIDS>", "DIDS076"),
    ],
)
def test_file_level_rules(conformance_store, tmp_path, fmt, content, code):
    path = tmp_path / f"f.{fmt}"
    path.write_text(content)
    con = duckdb.connect(str(store.store_path(conformance_store)), read_only=True)
    result = loader.load_file(con, path, "RR8", PERIOD, SUBMITTED, dry_run=True)
    con.close()
    assert result.status == "rejected" and result.file_errors[0]["code"] == code
    # and the near-miss: the right shape is read
    good = (
        didfiles.write(tmp_path / "g.csv", [didfiles.row()])
        if fmt == "csv"
        else write_xml(tmp_path / "g.xml", [didfiles.row()])
    )
    con = duckdb.connect(str(store.store_path(conformance_store)), read_only=True)
    assert loader.load_file(con, good, "RR8", PERIOD, SUBMITTED, dry_run=True).status == "accepted"
    con.close()
