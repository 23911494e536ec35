"""The files themselves: names, layout, the timetable, planted problems and the site inventory."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest
from synth_checks import first_line, n_columns, read_all, read_items, recount

from did_model import spec
from ingest import timetable
from ingest.synth import Manifest
from ingest.synth import targets as T


@pytest.fixture(scope="module")
def rows(synth_out):
    out, manifest = synth_out
    return read_all(out, manifest)


@pytest.fixture(scope="module")
def recounted(rows, catalogue):
    return recount(rows, catalogue["nicip_code"])


def test_manifest_reads_back(synth_out):
    out, manifest = synth_out
    again = Manifest.read(out)
    assert again.files == manifest.files
    assert again.planted == manifest.planted
    assert [f.order for f in again.files] == list(range(1, len(again.files) + 1))
    assert again.totals["records"] == sum(f.records for f in again.files)


def test_file_names_and_periods(synth_out):
    out, manifest = synth_out
    for f in manifest.files:
        name = f.path.split("/")[-1]
        m = spec.FILE_NAME.match(name)
        assert m and m["provider"] == f.provider_code and m["period"] == f.period.replace("-", ""), f.path
        y, mo = map(int, f.activity_month.split("-"))
        assert f.period == f"{y + mo // 12}-{mo % 12 + 1:02d}"
        assert (out / f.path).exists()
    written = {str(p.relative_to(out)) for p in out.rglob("DID_*.csv")}
    assert written == {f.path for f in manifest.files}


def test_rows_match_manifest_and_columns(synth_out, rows):
    _, manifest = synth_out
    n = dict(rows.group_by("path").len().iter_rows())
    for f in manifest.files:
        if f.kind != "file_reject":
            assert n[f.path] == f.records, f.path


def test_header_row_for_most_providers(rows):
    v1 = rows.filter(pl.col("file_activity_month") < "2026-04")  # DIDS v1.0: a header is optional
    by_provider = v1.group_by("provider_code").agg(pl.col("header").n_unique().alias("k"), pl.col("header").first())
    assert (by_provider["k"] == 1).all(), "a provider keeps one habit"
    no_header = 1 - by_provider["header"].mean()
    assert 0.08 <= no_header <= 0.35
    assert rows.filter(pl.col("file_activity_month") >= "2026-04")["header"].all()  # v2.0 needs one


def test_no_date_after_submission(rows):
    sub = pl.col("submitted_on").str.to_date()
    for c in ("test_date", "report_date", "request_date", "request_received_date", "birth_date"):
        d = pl.col(c).str.to_date("%Y-%m-%d", strict=False)
        assert rows.filter(d > sub).height == 0, c


def test_every_planted_record_defect_is_in_the_files(synth_out, recounted):
    _, manifest = synth_out
    planted = manifest.planted["record_defects"]
    for row in recounted.iter_rows(named=True):
        p = dict(planted[row["path"]])
        p["late_records"] += p["corrections"]  # a correction is also dated in an earlier month
        for k, v in row.items():
            if k != "path":
                assert p[k] == v, (row["path"], k, p[k], v)


def test_nothing_unplanted(synth_out, rows, catalogue):
    """NHS numbers valid, codes known, accessions unique — except where planted."""
    _, manifest = synth_out
    totals = {
        k: sum(v[k] for v in manifest.planted["record_defects"].values())
        for k in ("nhs_number_invalid", "unknown_procedure", "duplicate_accession")
    }
    assert totals["nhs_number_invalid"] > 0 and totals["unknown_procedure"] > 0 and totals["duplicate_accession"] > 0
    assert not rows["nhs_number"].drop_nulls().is_in(["1234567890", "0123456789"]).any()
    assert not rows["nhs_number"].drop_nulls().str.contains(r"^[1-9]00000000[0-9]$").any()
    assert rows.filter(~pl.col("postcode").str.contains(r"^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$")).height == 0
    assert rows["gender"].is_in(list(spec.PERSON_GENDER)).all()
    assert rows["ethnic_category"].is_in(list(spec.ETHNIC_CATEGORY)).all()
    assert (rows["accession_number"].str.len_chars() <= 20).all()
    assert rows["snomed_code"].is_null().all()


def test_referrers_and_referring_orgs(rows):
    ok = rows.filter(pl.col("referrer_code").str.contains(r"^[A-Z][0-9]{7}$"))
    gp = ok.filter(pl.col("patient_source") == "04")
    assert gp["referrer_code"].str.starts_with("G").all()
    assert (gp["referring_org_code"] == gp["practice_code"]).all()
    other = ok.filter(pl.col("patient_source") != "04")
    assert other["referrer_code"].str.starts_with("C").all()
    assert (other["referring_org_code"].str.len_chars() == 3).all()


def test_timetable(synth_out):
    _, manifest = synth_out
    for f in manifest.files:
        sent = date.fromisoformat(f.submitted_on)
        period = date.fromisoformat(f.period + "-01")
        if f.kind == "regular":
            assert (sent.year, sent.month) == (period.year, period.month) and 3 <= sent.day <= 18, f
        if f.kind == "late":
            assert sent > period.replace(day=20), f
        final = timetable.final_closes(period)  # no planned file is one the loader would refuse
        assert final is None or sent <= final, f


def test_provider_month_events(synth_out):
    out, manifest = synth_out
    p = manifest.planted
    files = {(f.provider_code, f.period): [] for f in manifest.files}
    for f in manifest.files:
        files[(f.provider_code, f.period)].append(f)
    for x in p["missing"]:
        assert (x["provider_code"], x["period"]) not in files
    assert {(x["provider_code"], x["period"]) for x in p["late"]} == {
        (f.provider_code, f.period) for f in manifest.files if f.kind == "late"
    }
    for x in p["resubmitted"]:
        first, again = sorted(files[(x["provider_code"], x["period"])], key=lambda f: f.order)
        assert first.path == x["first_path"] and again.path == x["path"] == f"resubmitted/{first.path}"
        assert again.kind == "resubmission" and again.submitted_on > first.submitted_on
        if x["problem"] == "missing_chunk":
            assert again.records - first.records == x["records_missing"] > 0
        else:
            assert x["bad_rows"] >= 5 and x["bad_rule"] in ("DIDS020", "DIDS045")
    assert len(p["file_reject"]) >= 1
    for x in p["file_reject"]:
        line = first_line(out / x["path"])
        assert line.count(",") + 1 == n_columns(out / x["path"]) - 1
        again = [f for f in files[(x["provider_code"], x["period"])] if f.kind == "resubmission"]
        assert again and again[0].path == x["resubmission_path"]
    assert len(p["volume_drop"]) >= 1
    drop = p["volume_drop"][0]
    mine = [f.records for f in manifest.effective() if f.provider_code == drop["provider_code"]]
    dropped = next(
        f.records
        for f in manifest.effective()
        if f.provider_code == drop["provider_code"] and f.period == drop["period"]
    )
    assert 0.25 <= dropped / (sum(mine) / len(mine)) <= 0.6


def test_bad_batches_are_bad(synth_out):
    out, manifest = synth_out
    for x in manifest.planted["resubmitted"]:
        if x["problem"] != "bad_batch":
            continue
        path = out / x["first_path"]
        df = read_items(path)
        if x["bad_rule"] == "DIDS020":
            assert df["patient_source"].is_null().sum() == x["bad_rows"]
        else:
            assert df["test_date"].str.contains(r"^\d{2}/\d{2}/\d{4}$").sum() == x["bad_rows"]


def test_late_data_and_corrections(synth_out, kept_records):
    _, manifest = synth_out
    eff = {f.path for f in manifest.effective()}
    late = sum(v["late_records"] for k, v in manifest.planted["record_defects"].items() if k in eff)
    corr = sum(v["corrections"] for k, v in manifest.planted["record_defects"].items() if k in eff)
    total = sum(f.records for f in manifest.effective())
    assert 0.006 <= late / total <= 0.012
    assert 0.001 <= corr / total <= 0.004


def test_sites_and_equipment(synth_out, kept_records):
    out, _ = synth_out
    sites = pl.read_csv(out / "sites.csv", infer_schema_length=0)
    equipment = pl.read_csv(out / "equipment.csv", schema_overrides={"site_code": pl.String})
    assert sites["synthetic"].eq("true").all()
    pairs = sites.select("site_code", "provider_code").iter_rows()
    assert all(re.fullmatch(re.escape(p) + r"\d{2}", s) for s, p in pairs)
    n = sites.group_by("provider_code").len()["len"]
    assert n.min() >= 1 and n.max() <= 8
    ind = sites.filter(pl.col("provider_type") == "Independent sector")
    assert ind["provider_name"].str.starts_with("Synthetic Independent Imaging").all()
    assert ind["provider_code"].n_unique() == 6
    totals = dict(equipment.group_by("modality").agg(pl.col("scanners").sum()).iter_rows())
    assert totals == {"CT": T.SCANNERS["CT"], "MRI": T.SCANNERS["MR"]}
    for mod, name in (("CT", "CT"), ("MR", "MRI")):
        holders = equipment.filter(pl.col("modality") == name)["site_code"]
        used = kept_records.filter(pl.col("modality") == mod)["site_code"].unique()
        assert used.is_in(holders.implode()).all(), mod


def test_every_practice_and_provider_present(synth_out, kept_records, practice_model):
    out, manifest = synth_out
    practices = set(practice_model.practices["practice_code"].to_list())
    assert practices <= set(kept_records["practice_code"].unique().to_list())
    sites = pl.read_csv(out / "sites.csv", infer_schema_length=0)
    assert {f.provider_code for f in manifest.files} == set(sites["provider_code"].to_list())
    assert len({f.provider_code for f in manifest.files}) >= 130 + 6  # open acute trusts + independents


def test_birth_dates_consistent_with_age(kept_records):
    age = kept_records.select(
        ((pl.col("d_test_date") - pl.col("d_birth_date")).dt.total_days() / 365.25).alias("years")
    )["years"]
    assert age.min() >= 0 and age.max() < 110
