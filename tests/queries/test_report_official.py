"""`did report monthly|kh12|dose|linkage` end to end on the hand-made store of test_official_monthly.py."""

from __future__ import annotations

import json
import re
import zipfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest

import did_cli
import official_store as hand_made
from did_model.scope import CENTRAL, Scope, ScopeError
from queries import reports
from queries.connection import get_snapshot
from queries.exports import to_csv_bytes
from queries.official import ENGLAND_CODE, PUBLICATION, FinancialYear
from queries.reports.kh12 import build_kh12
from queries.reports.linkage import COLUMNS, build_linkage
from queries.reports.monthly import build_monthly


@pytest.fixture(scope="module")
def official_store(empty_store_template, tmp_path_factory):
    d = hand_made.make(empty_store_template, tmp_path_factory.mktemp("reports"), extra=[hand_made.NO_PSEUDO_ID])
    return d


@pytest.fixture(autouse=True)
def _audit_log(tmp_path, monkeypatch):
    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))


def _sheets(xlsx: Path) -> list[str]:
    with zipfile.ZipFile(xlsx) as z:
        workbook = z.read("xl/workbook.xml").decode()
    return [part.split('"')[0] for part in workbook.split('<sheet name="')[1:]]


def test_the_four_reports_are_registered():
    found = reports.registry()
    assert {"monthly", "kh12", "dose", "linkage"} <= set(found)
    assert found["linkage"].audited and not any(found[n].audited for n in ("monthly", "kh12", "dose"))


def test_monthly_writes_the_page_tables_and_is_reproducible(official_store, tmp_path):
    args = ["report", "monthly", "--period", "2026-03", "--store", str(official_store)]
    assert did_cli.main([*args, "--out", str(tmp_path / "a")]) == 0
    assert did_cli.main([*args, "--out", str(tmp_path / "b"), "--no-xlsx"]) == 0
    output = build_monthly(get_snapshot(official_store), CENTRAL, date(2026, 3, 1))
    for name, frame in output.tables.items():
        written = (tmp_path / "a" / f"monthly_2026-03_{name}.csv").read_bytes()
        assert written == to_csv_bytes(frame) == (tmp_path / "b" / f"monthly_2026-03_{name}.csv").read_bytes()
    assert _sheets(tmp_path / "a" / "monthly_2026-03.xlsx") == ["Notes", *output.tables]
    notes = (tmp_path / "a" / "monthly_2026-03_notes.md").read_text()
    assert "previous 12 periods" in notes and "nearest 5" in notes and "registered GP practice" in notes
    assert not (tmp_path / "audit.jsonl").exists()  # aggregate outputs are not audited


def test_monthly_counts_organisations_as_the_completeness_page_does(empty_store_template, tmp_path):
    """RZZ has an imaging site open since 2025 but has never sent a file: completeness expects it
    in every period, so the report's "% of organisations included" must too (2 of 4 in January 2026,
    where the history-only definition said 2 of 3)."""
    from ingest import store
    from queries import completeness

    d = hand_made.make(empty_store_template, tmp_path)
    with store.writer(d) as con:
        con.execute(
            "INSERT INTO ref_site (site_code, provider_code, open_date) VALUES ('RZZ01', 'RZZ', DATE '2025-01-01')"
        )
        store.publish(con, d)
    snap = get_snapshot(d)
    table = build_monthly(snap, CENTRAL, date(2026, 3, 1)).tables["activity_by_month"]
    coverage = completeness.coverage_by_period(
        completeness.provider_months(snap, CENTRAL, date(2026, 2, 1), date(2026, 3, 1))
    )
    assert (
        table.select("organisations_included", "organisations_expected").rows()
        == coverage.select("included", "expected").rows()
        == [(2, 4), (1, 4)]
    )
    assert table["pct_organisations_included"].to_list() == [50.0, 25.0]


def test_monthly_is_publication_safe_for_every_scope(official_store):
    snap = get_snapshot(official_store)
    central = build_monthly(snap, CENTRAL, date(2026, 3, 1)).tables
    other = build_monthly(snap, Scope("gp", practice="A84002"), date(2026, 3, 1)).tables
    for name in central:
        assert central[name].equals(other[name])
    counts = central["activity_by_provider"].select(pl.col(pl.Int64)).to_numpy().ravel()
    assert all(v % 5 == 0 for v in counts if v == v)  # NaN for suppressed cells


def test_kh12_hand_worked(official_store, tmp_path, monkeypatch):
    # Perturbation off so the figures can be worked by hand (tests/disclosure checks it).
    # 2025-26 holds January and February 2026 (and, in this store, one more RAJ chest X-ray without a
    # pseudonymised id). RAJ: X-ray 12+10+1 = 23 -> 25, CT 3 -> *, MRI 9 -> 10, total 35.
    # RBK: X-ray 8+30 = 38 -> 40, ultrasound 20+4 = 24 -> 25, total 62 -> 60.
    # England: X-ray 61 -> 60, ultrasound 25, CT *, MRI 10, total 97 -> 95.
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")
    assert (
        did_cli.main(["report", "kh12", "--year", "2025-26", "--store", str(official_store), "--out", str(tmp_path)])
        == 0
    )
    table = pl.read_csv(tmp_path / "kh12_2025-26_kh12.csv")
    cols = [
        "provider_code",
        "xray_radiographs",
        "ultrasound",
        "ct",
        "mri",
        "fluoroscopy",
        "radio_isotopes",
        "other",
        "total",
    ]
    # A hidden cell reads * in the CSV (queries.disclosure.for_csv), so that column is text.
    assert table.select(cols).rows() == [
        (ENGLAND_CODE, 60, 25, "*", 10, 0, 0, 0, 95),
        ("RAJ", 25, 0, "*", 10, 0, 0, 0, 35),
        ("RBK", 40, 25, "0", 0, 0, 0, 0, 60),
    ]
    notes = (tmp_path / "kh12_2025-26_notes.md").read_text()
    assert "2 of the 12 months" in notes and "Radio-isotopes" in notes


def test_kh12_year_before_the_store_is_empty_but_well_formed(official_store):
    out = build_kh12(get_snapshot(official_store), CENTRAL, FinancialYear(2019))
    assert out.tables["kh12"]["provider_code"].to_list() == [ENGLAND_CODE]
    assert out.tables["kh12"]["total"].to_list() == [0]
    assert "0 of the 12 months" in out.notes


def test_dose_report_files(official_store, tmp_path):
    assert (
        did_cli.main(["report", "dose", "--year", "2025-26", "--store", str(official_store), "--out", str(tmp_path)])
        == 0
    )
    summary = pl.read_csv(tmp_path / "dose_2025-26_summary.csv").row(0, named=True)
    assert (summary["examinations"], summary["examinations_with_dose"]) == (97, 64)  # with the record lacking an id
    notes = (tmp_path / "dose_2025-26_notes.md").read_text()
    assert "HPA" in notes or "Health Protection Agency" in notes
    assert "MRI, Ultrasound" in notes or "Ultrasound, MRI" in notes  # the modalities with no dose
    assert "66.0%" in notes  # 64 of 97 records carry a dose
    assert "3 significant figures" in notes
    by_examination = (tmp_path / "dose_2025-26_by_examination.csv").read_text()
    assert "Chest (PA),0.02,XCHES,31,0.00062," in by_examination  # 31 x 0.02 mSv, not 0.0006200000000000001
    every_csv = "".join(p.read_text() for p in tmp_path.glob("dose_2025-26_*.csv"))
    assert not re.search(r"\d\.\d*(0000000|9999999)\d", every_csv)  # no float noise anywhere


def test_linkage_extract_is_pseudonymised_and_audited(official_store, tmp_path):
    assert (
        did_cli.main(
            ["report", "linkage", "--period", "2026-02", "--store", str(official_store), "--out", str(tmp_path / "out")]
        )
        == 0
    )
    extract = pl.read_csv(tmp_path / "out" / "linkage_2026-02_records.csv", infer_schema=False)
    # Period 2026-02: files 1 (RAJ) and 2 (RBK): 10 chest X-rays + 4 ultrasounds; the record with no
    # NHS number (no pseudonymised id) is left out.
    assert tuple(extract.columns) == COLUMNS
    assert extract.height == 14 and extract["patient_pseudo_id"].null_count() == 0
    assert sorted(extract["nicip_code"].unique()) == ["UABDO", "XCHES"]
    assert set(extract["submission_id"]) == {"1", "2"}
    assert not {"nhs_number", "date_of_birth", "postcode", "accession_number"} & set(extract.columns)
    notes = (tmp_path / "out" / "linkage_2026-02_notes.md").read_text()
    assert "1 records of the period have no NHS number" in notes
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["action"] == "report linkage" and lines[0]["rows"] == {"records": 14}
    assert "PSEUDO" not in (tmp_path / "audit.jsonl").read_text()


@pytest.mark.parametrize(
    "scope",
    [
        Scope("provider", providers=frozenset({"RAJ"})),
        Scope("commissioner", icbs=frozenset({"QHM"})),
        Scope("gp", practice="A84002"),
        PUBLICATION,
    ],
)
def test_linkage_is_for_the_central_team_only(official_store, scope):
    with pytest.raises(ScopeError):
        build_linkage(get_snapshot(official_store), scope, date(2026, 2, 1))


def test_bad_arguments_are_refused(official_store, tmp_path, capsys):
    for args in (["monthly", "--period", "2026-13"], ["kh12", "--year", "2025-27"]):
        with pytest.raises(SystemExit):
            did_cli.main(["report", *args, "--store", str(official_store), "--out", str(tmp_path)])
    assert not any(tmp_path.iterdir())
