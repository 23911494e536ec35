"""Radiation dose (queries/dose.py) on the hand-made store of test_official_monthly.py, worked by hand.

Financial year 2025-26 holds every record of that store (January and February 2026):

    code    exams  typical dose  collective (mSv)   age band / sex
    XCHES   12+10  0.02          0.44               65-74 M
    XCHES   8      0.02          0.16               age and sex not known
    CCHES   3      8             24                 65-74 F
    XWRIL   30     0.01          0.3                0-15 F
    MSKUH   9      -             -                  0-15 M   (MRI: no dose)
    UABDO   20+4   -             -                  40-64 F  (ultrasound: no dose)

Examinations 96, with a dose 63 (65.6%); collective dose 24.9 mSv = 0.0249 man Sv.
By examination group: CT chest 24 mSv (96.39%), Chest (PA) 0.6 mSv (2.41%), limbs 0.3 (1.2%).
The registered population is summed here from the reference file with Polars (the query sums
ref_population in SQL).
"""

from __future__ import annotations

import polars as pl
import pytest

import official_store as hand_made
from did_model import nicip
from did_model.nicip import nicip_catalogue
from did_model.scope import CENTRAL
from ingest.reference import population
from queries import dose, official
from queries.connection import get_snapshot

YEAR = official.FinancialYear.parse("2025-26")


@pytest.fixture(scope="module")
def snap(empty_store_template, tmp_path_factory):
    d = hand_made.make(empty_store_template, tmp_path_factory.mktemp("dose"))
    return get_snapshot(d)


def _population(lo: int, hi: int, sex: str | None = None) -> int:
    p = population().filter(pl.col("org_type") == "REGION", pl.col("age").is_between(lo, hi))
    if sex:
        p = p.filter(pl.col("sex") == sex)
    return int(p["patients"].sum())


def test_summary(snap):
    s = dose.dose_summary(snap, CENTRAL, YEAR).row(0, named=True)
    pop = _population(0, 200)
    assert (s["months_with_data"], s["examinations"], s["examinations_with_dose"], s["pct_with_dose"]) == (
        2,
        96,
        63,
        65.6,
    )
    assert s["collective_dose_man_sv"] == 0.0249
    assert s["population"] == pop
    assert s["per_caput_usv"] == float(f"{24.9 * 1000 / pop:.3g}")  # 3 significant figures, not 0.0


def test_by_examination_group(snap):
    rows = {r["examination"]: r for r in dose.dose_by_examination(snap, CENTRAL, YEAR).iter_rows(named=True)}
    assert list(rows) == ["CT chest", "Chest (PA)", "Limbs and joints (except hip)"]  # largest dose first
    ct, chest, limbs = rows.values()
    assert (ct["modality"], ct["typical_dose_msv"], ct["nicip_codes"], ct["examinations"]) == ("CT", 8.0, "CCHES", 3)
    assert ct["collective_dose_man_sv"] == 0.024
    assert (ct["pct_of_collective_dose"], chest["pct_of_collective_dose"], limbs["pct_of_collective_dose"]) == (
        96.39,
        2.41,
        1.2,
    )
    # exactly 0.0006 (60 / 100,000 in Polars is 0.0006000000000000001 before rounding)
    assert (chest["examinations"], chest["collective_dose_man_sv"]) == (30, 0.0006)
    assert (limbs["nicip_codes"], limbs["examinations"]) == ("XWRIL", 30)


def test_by_modality_and_what_is_left_out(snap):
    rows = {r["modality"]: r for r in dose.dose_by_modality(snap, CENTRAL, YEAR).iter_rows(named=True)}
    assert list(rows) == ["All", "Plain radiography", "Ultrasound", "CT", "MRI"]
    assert (rows["All"]["examinations"], rows["All"]["examinations_with_dose"]) == (96, 63)
    pr = rows["Plain radiography"]
    assert (pr["examinations"], pr["examinations_with_dose"], pr["pct_with_dose"]) == (60, 60, 100.0)
    assert pr["collective_dose_man_sv"] == 0.0009
    assert pr["pct_of_collective_dose"] == 3.61  # 0.9 / 24.9
    assert (rows["MRI"]["examinations_with_dose"], rows["Ultrasound"]["pct_with_dose"]) == (0, 0.0)
    left_out = dose.without_dose(snap, CENTRAL, YEAR)
    assert left_out.select("modality", "body_area", "examinations").rows() == [
        ("Ultrasound", "Abdomen", 24),
        ("MRI", "Head", 9),
    ]
    assert set(left_out["reason"]) == {"no ionising radiation"}


def test_by_age_and_sex(snap):
    table = dose.dose_by_age_sex(snap, CENTRAL, YEAR)
    rows = {(r["age_band"], r["sex"]): r for r in table.iter_rows(named=True)}
    old_men = rows[("65-74", "Male")]
    assert (old_men["examinations"], old_men["examinations_with_dose"]) == (22, 22)
    assert old_men["population"] == _population(65, 74, "M")
    assert old_men["per_caput_usv"] == float(f"{0.44 * 1000 / _population(65, 74, 'M'):.3g}")  # 0.000152
    assert old_men["examinations_per_1000"] == round(22 * 1000 / _population(65, 74, "M"), 2)
    assert rows[("65-74", "Female")]["collective_dose_man_sv"] == 0.024
    girls = rows[("0-15", "Female")]
    assert (girls["examinations"], girls["per_caput_usv"]) == (30, float(f"{0.3 * 1000 / _population(0, 15, 'F'):.3g}"))
    assert rows[("0-15", "Male")]["collective_dose_man_sv"] == 0.0  # MRI only
    unknown = rows[("Not known", "Not known")]
    assert (unknown["examinations"], unknown["population"], unknown["per_caput_usv"]) == (8, None, None)
    assert unknown["collective_dose_man_sv"] == 0.00016
    # every band with a population is listed, even with no examinations
    assert rows[("85+", "Male")]["examinations"] == 0
    assert sum(r["examinations"] for r in rows.values()) == 96


def test_other_roles_see_published_counts_and_doses_built_on_them(snap, monkeypatch):
    noisy = dose.dose_by_examination(snap, official.PUBLICATION, YEAR).filter(pl.col("examinations").is_not_null())
    assert noisy["collective_dose_man_sv"].to_list() == pytest.approx(
        (noisy["examinations"] * noisy["typical_dose_msv"] / 1000).to_list()
    )
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")  # hand-worked below; tests/disclosure checks the noise
    public = {
        r["examination"]: r for r in dose.dose_by_examination(snap, official.PUBLICATION, YEAR).iter_rows(named=True)
    }
    assert public["CT chest"]["examinations"] is None and public["CT chest"]["collective_dose_man_sv"] is None
    assert public["Chest (PA)"]["examinations"] == 30
    assert public["Chest (PA)"]["collective_dose_man_sv"] == pytest.approx(30 * 0.02 / 1000)
    summary = dose.dose_summary(snap, official.PUBLICATION, YEAR).row(0, named=True)
    assert (summary["examinations"], summary["examinations_with_dose"]) == (95, 65)


def test_a_year_without_data_gives_zeros_not_errors(snap):
    s = dose.dose_summary(snap, CENTRAL, official.FinancialYear.parse("2030-31")).row(0, named=True)
    assert (s["months_with_data"], s["examinations"], s["pct_with_dose"], s["collective_dose_man_sv"]) == (
        0,
        0,
        None,
        0.0,
    )


def test_every_code_with_a_dose_has_an_hpa_group():
    catalogue = nicip_catalogue().filter(pl.col("dose_msv").is_not_null())
    for row in catalogue.iter_rows(named=True):
        label = dose.examination_group(row["modality"], row["body_area"], row["dose_msv"])
        assert label in dose.GROUPS.values(), (row["nicip_code"], label)


def test_one_mSv_nuclear_medicine_rows_are_told_apart_by_body_area():
    nm = "Nuclear medicine"
    assert [
        dose.examination_group(nm, nicip.decode_body_area(c), nicip.dose_msv(c)) for c in ("NLUPS", "NDMSA", "NTHYS")
    ] == ["Lung perfusion", "Kidney (Tc-99m DMSA)", "Thyroid (Tc-99m)"]
