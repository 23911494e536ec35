"""The NICIP catalogue: what a chart or a filter relies on."""

from __future__ import annotations

import polars as pl
import pytest

import did_model.nicip as nicip


@pytest.fixture(scope="module")
def catalogue() -> pl.DataFrame:
    return nicip.nicip_catalogue()


def test_catalogue_has_every_shipped_code_once(catalogue):
    assert catalogue.height == 2787
    assert catalogue["nicip_code"].n_unique() == 2787
    assert catalogue.columns == ["nicip_code", "modality", "body_area", "test_group", "dose_msv", "description"]


def test_every_code_has_a_modality_from_the_stable_list(catalogue):
    allowed = set(nicip.MODALITIES.values()) | {nicip.PET_MODALITY}
    assert catalogue["modality"].null_count() == 0
    assert set(catalogue["modality"]) <= allowed


def test_chest_xray():
    assert nicip.modality("XCHES") == "Plain radiography"
    assert nicip.decode_body_area("XCHES") == "Chest"
    assert nicip.test_group("XCHES") == "chest_xray"
    assert nicip.dose_msv("XCHES") == pytest.approx(0.02)


def test_mri_head_is_in_mri_brain():
    assert nicip.modality("MSKUH") == "MRI"
    assert nicip.decode_body_area("MSKUH") == "Head"
    assert nicip.test_group("MSKUH") == "mri_brain"
    assert nicip.dose_msv("MSKUH") is None  # no ionising radiation


@pytest.mark.parametrize(
    ("code", "area"),
    [
        ("CABDO", "Abdomen"),
        ("CCHAP", "Chest, abdomen & pelvis"),
        ("CCHAPC", "Chest, abdomen & pelvis"),
        ("CSKUH", "Head"),
        ("MLSPN", "Lumbar spine"),
        ("XCSPN", "Cervical spine"),
        ("MTSPN", "Thoracic spine"),
        ("MSPNW", "Whole spine"),
        ("XKNEB", "Lower limb"),
        ("XWRIL", "Upper limb"),
        ("UPELV", "Pelvis"),
        ("XMAMB", "Breast"),
        ("UABPE", "Abdomen & pelvis"),
        ("UNECK", "Neck"),
        ("UKIDB", "Kidney & urinary tract"),
        ("UTHYD", "Thyroid"),
        ("MCARD", "Heart"),
        ("ULLVB", "Vascular"),
        ("NBONW", "Whole body"),
        ("XMAND", "Head"),
        ("UORBB", "Head"),
        ("NBHIP", "Lower limb"),
    ],
)
def test_body_area_decoding(code, area):
    assert nicip.decode_body_area(code) == area


def test_body_areas_come_from_the_stable_list(catalogue):
    assert set(catalogue["body_area"]) == set(nicip.BODY_AREAS)


def test_most_codes_decode_to_a_body_area(catalogue):
    decoded = (catalogue["body_area"] != "Other").mean()
    assert decoded > 0.65


def test_pet_is_its_own_modality():
    assert nicip.modality("NPET") == "PET-CT"
    assert nicip.modality("NBONW") == "Nuclear medicine"


def test_test_groups_use_shipped_codes_and_do_not_overlap(catalogue):
    codes = set(catalogue["nicip_code"])
    seen: set[str] = set()
    for group in nicip.TEST_GROUPS.values():
        assert set(group.codes) <= codes, group.id
        assert not seen & set(group.codes), group.id
        seen |= set(group.codes)
    assert list(nicip.TEST_GROUPS) == ["chest_xray", "ct_chest", "ct_abdo_pelvis", "us_abdo_pelvis", "mri_brain"]
    assert nicip.test_group("CCHAPC") == "ct_abdo_pelvis"
    assert nicip.test_group("CCHES") == "ct_chest"
    assert nicip.test_group("XKNEB") is None


def test_doses_follow_the_hpa_table():
    assert nicip.dose_msv("CSKUH") == 2.0
    assert nicip.dose_msv("CCHESC") == 8.0
    assert nicip.dose_msv("CABPE") == 10.0
    assert nicip.dose_msv("XLSPN") == 1.3
    assert nicip.dose_msv("XHIPL") == 0.3
    assert nicip.dose_msv("XKNEB") == 0.01
    assert nicip.dose_msv("FBAEN") == 7.0
    assert nicip.dose_msv("NBONW") == 4.0
    assert nicip.dose_msv("UABDO") is None


def test_a_nuclear_medicine_code_takes_its_studys_dose_whatever_letters_follow():
    # HPA: lung perfusion, kidney (DMSA) and thyroid (Tc-99m) 1 mSv each; S/O/C add technique only.
    for code in ("NLUPE", "NLUPS", "NDMSA", "NDMSAC", "NDMSAO", "NTHYS"):
        assert nicip.dose_msv(code) == 1.0, code
    assert nicip.dose_msv("NBONEO") == nicip.dose_msv("NBHIPD") == 4.0
    # SPECT-CT adds a CT dose the table has no row for; parathyroid, ventilation and NDMSV are other studies.
    for code in ("NCLUPE", "NCDMSA", "NCBONW", "NPTHY", "NLUNV", "NLUVE", "NDMSV"):
        assert nicip.dose_msv(code) is None, code
    # The shipped list: 174 codes carry a dose, 5 more than the exact-stem rule gave (NDMSA, NDMSAC,
    # NDMSAO, NLUPS, NTHYS).
    catalogue = nicip.nicip_catalogue()
    assert catalogue["dose_msv"].is_not_null().sum() == 174


def test_descriptions_say_they_are_derived(catalogue):
    assert catalogue.filter(pl.col("nicip_code") == "XCHES")["description"].item() == "XR Chest (derived)"
    assert catalogue["description"].str.ends_with("(derived)").all()
