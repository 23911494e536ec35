"""Map boundaries: the right number of valid polygons, keyed on the codes the data uses."""

from __future__ import annotations

import pytest

from ingest import geography, reference


@pytest.mark.parametrize(("level", "count"), [("region", 7), ("icb", 36), ("sub_icb", 106)])
def test_boundaries_are_complete_and_valid(level, count):
    frame = geography.boundaries(level)
    assert len(frame) == count
    assert list(frame.columns) == ["code", "ons_code", "name", "geometry"]
    assert frame.crs.to_epsg() == 4326
    assert frame["code"].is_unique
    assert frame[["code", "ons_code", "name"]].notna().all().all()
    assert frame.geometry.is_valid.all()
    assert set(frame.geom_type) <= {"Polygon", "MultiPolygon"}


def test_codes_match_the_practice_map():
    practices = reference.practices()
    assert set(geography.boundaries("icb")["code"]) == set(practices["icb_code"])
    assert set(geography.boundaries("region")["code"]) == set(practices["region_code"])
    # One 2023 sub-ICB (Frimley, D4U1Y) has no 2026 code; its practices moved to U2G6B and others.
    assert set(geography.boundaries("sub_icb")["code"]) ^ set(practices["sub_icb_code"]) == {"D4U1Y", "U2G6B"}


def test_frimley_goes_to_the_icb_with_most_of_its_patients():
    assignment = dict(geography.sub_icb_to_icb().select("polygon_code", "icb_code").iter_rows())
    assert assignment["D4U1Y"] == "S0E4D"  # Thames Valley
    assert assignment["16C"] == "QHM"


def test_icb_polygons_cover_the_sub_icbs():
    icb_area = geography.boundaries("icb").to_crs(27700).area.sum()
    sub_area = geography.boundaries("sub_icb").to_crs(27700).area.sum()
    assert icb_area == pytest.approx(sub_area, rel=1e-3)


def test_callers_get_their_own_copy():
    first = geography.boundaries("region")
    first["value"] = 1
    assert "value" not in geography.boundaries("region").columns


def test_unknown_level_is_a_clear_error():
    with pytest.raises(ValueError, match="use one of region, icb, sub_icb"):
        geography.boundaries("lsoa")


def test_caption_says_how_icbs_were_made():
    assert "sub-ICB" in geography.ICB_CAPTION and "36" in geography.ICB_CAPTION
