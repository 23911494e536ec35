"""One area type (queries.areas) for the variation views, GP benchmarking and their exports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from did_errors import UsageError
from queries import gp_benchmark, variation
from queries.areas import ENGLAND, ENGLAND_AREA, LEVEL_LABELS, Area, column

ROOT = Path(__file__).resolve().parents[2]


def test_england_and_an_area():
    assert Area() == ENGLAND_AREA == Area("england", "QHM")  # England is one area, whatever code is given
    assert (ENGLAND_AREA.code, ENGLAND_AREA.is_england) == (ENGLAND, True)
    icb = Area("icb", " qhm ")
    assert (icb.code, icb.column, icb.is_england) == ("QHM", "icb_code", False)
    assert (LEVEL_LABELS["england"], LEVEL_LABELS["icb"], LEVEL_LABELS["sub_icb"]) == (
        "England",
        "ICB",
        "Sub-ICB location",
    )
    assert icb.where() == "icb_code = $area"


@pytest.mark.parametrize(
    ("level", "code", "says"),
    [("ward", "X", "unknown area level 'ward'"), ("icb", "", "needs its ODS code"), ("pcn", ENGLAND, "needs its ODS")],
)
def test_a_wrong_area_says_what_is_wrong(level, code, says):
    with pytest.raises(UsageError, match=says):
        Area(level, code)


def test_each_view_refuses_a_level_it_cannot_show():
    assert Area("pcn", "U89141").require(gp_benchmark.LEVELS).level == "pcn"
    with pytest.raises(UsageError, match="cannot be shown here; one of england, region, icb, sub_icb"):
        Area("pcn", "U89141").require(variation.LEVELS)
    with pytest.raises(UsageError, match="one of england, icb, sub_icb, pcn"):
        Area("region", "Y56").require(gp_benchmark.LEVELS)
    with pytest.raises(UsageError, match="no area column"):
        column("england")
    assert set(variation.LEVELS) | set(gp_benchmark.LEVELS) == set(LEVEL_LABELS)


def test_one_area_class_in_the_code():
    defined = [
        f"{path.relative_to(ROOT)}"
        for package in ("did_model", "ingest", "queries", "dashboard")
        for path in sorted((ROOT / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name == "Area"
    ]
    assert defined == ["queries/areas.py"]
