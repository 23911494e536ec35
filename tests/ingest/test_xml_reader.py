"""DIDS XML extracts read into the same rows as the CSV of the same records."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

import didfiles
from did_model import spec
from ingest import loader, reader, store
from ingest.xml_reader import write_xml


def _staging(path):
    con = duckdb.connect()
    reader.read_file(con, path)
    return con.execute(
        f"SELECT line, {', '.join(spec.COLUMNS)} FROM staging ORDER BY line, accession_number"
    ).fetchall()


def test_xml_and_csv_of_the_same_records_read_the_same(tmp_path):
    records = didfiles.rows(3)
    records[1]["snomed_code"] = ""  # absent element
    csv_rows = _staging(didfiles.write(tmp_path / "f.csv", records, header=False))
    xml_rows = _staging(write_xml(tmp_path / "f.xml", records))
    # CSV gives '' or NULL for an empty field, XML a missing element: compare values, not blanks.
    norm = lambda rows: [tuple(v or None for v in r) for r in rows]  # noqa: E731
    assert norm(xml_rows) == norm(csv_rows)


def test_a_record_with_two_activities_gives_two_examinations_with_the_record_number(tmp_path):
    path = tmp_path / "f.xml"
    path.write_text(
        "<DIDS><DIDSRecord><PersonalAndDemographics><NHSNumber>9434765919</NHSNumber>"
        "<PersonGenderCode>1</PersonGenderCode></PersonalAndDemographics>"
        "<Referrals><PatientSourceSetting>03</PatientSourceSetting></Referrals>"
        "<ImagingActivity><ImagingCodeNICIP>XCHES</ImagingCodeNICIP><DiagnosticTestDate>2026-01-05"
        "</DiagnosticTestDate><ImagingSiteCode>RR801</ImagingSiteCode>"
        "<RadiologicalAccessionNumber>A1</RadiologicalAccessionNumber></ImagingActivity>"
        "<ImagingActivity><ImagingCodeNICIP>CSKUH</ImagingCodeNICIP><DiagnosticTestDate>2026-01-05"
        "</DiagnosticTestDate><ImagingSiteCode>RR801</ImagingSiteCode>"
        "<RadiologicalAccessionNumber>A2</RadiologicalAccessionNumber></ImagingActivity>"
        "</DIDSRecord></DIDS>"
    )
    con = duckdb.connect()
    assert reader.read_file(con, path).rows == 2
    assert con.execute("SELECT line, nhs_number, patient_source, nicip_code FROM staging ORDER BY 4").fetchall() == [
        (1, "9434765919", "03", "CSKUH"),
        (1, "9434765919", "03", "XCHES"),
    ]


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        ("<DIDS><DIDSRecord><Referrals/>", "not well-formed"),
        ("<Other/>", "root element is <Other>"),
        ("<DIDS/>", "no <DIDSRecord>"),
        ("<DIDS><DIDSRecord><PersonalAndDemographics/><Referrals/></DIDSRecord></DIDS>", "<ImagingActivity>"),
        (
            "<DIDS><DIDSRecord><PersonalAndDemographics><Shoe>1</Shoe></PersonalAndDemographics><Referrals/>"
            "<ImagingActivity/></DIDSRecord></DIDS>",
            "unexpected element <Shoe>",
        ),
        (
            "<DIDS><DIDSRecord><PersonalAndDemographics/><Referrals><DiagnosticTestDate>2026-01-01"
            "</DiagnosticTestDate></Referrals><ImagingActivity/></DIDSRecord></DIDS>",
            "<DiagnosticTestDate>",
        ),
    ],
)
def test_wrong_xml_structure_rejects_the_whole_file(tmp_path, xml, words):
    path = tmp_path / "f.xml"
    path.write_text(xml)
    result = loader.load_file(
        store.checking_connection(tmp_path / "none"), path, "RR8", "2026-02", date(2026, 2, 10), dry_run=True
    )
    assert result.status == "rejected"
    assert result.file_errors[0]["code"] == "DIDS076"
    assert words in result.file_errors[0]["message"]


def test_xml_issues_point_at_record_numbers(tmp_path):
    records = didfiles.rows(3)
    records[2]["gender"] = "5"
    result = loader.load_file(
        store.checking_connection(tmp_path / "none"),
        write_xml(tmp_path / "f.xml", records),
        "RR8",
        "2026-02",
        date(2026, 2, 10),
        dry_run=True,
    )
    assert [(i["line"], i["code"]) for i in result.issues] == [(3, "DIDS014")]
