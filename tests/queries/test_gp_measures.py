"""Every measure file in did_model/measures/ loads and follows the schema; bad files are refused
with a message naming the file and the field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from did_model.measures import MEASURES_DIR, MeasureError, load_measure_file, load_measures, parse_measure
from did_model.nicip import TEST_GROUPS


def test_every_measure_file_loads_and_validates():
    files = sorted(MEASURES_DIR.glob("*.yaml"))
    measures = load_measures()
    assert [f.stem for f in files] == list(measures)
    for path in files:
        m = load_measure_file(path)
        assert m.reviewed_by and m.authored_by and isinstance(m.review_date, date)
        assert m.caveats and m.why_it_matters
        assert m.numerator["patient_source"] == ("04",), f"{path.name}: GP direct access"


def test_the_issue_lists_are_all_there():
    measures = load_measures().values()
    groups = {g for m in measures for g in m.numerator.get("test_group", ())}
    assert groups == set(TEST_GROUPS)  # the five GP-direct-access cancer tests
    assert any(set(m.numerator) == {"patient_source"} for m in measures)  # all GP direct access
    modalities = {m.numerator["modality"][0] for m in measures if not m.is_ratio and "modality" in m.numerator}
    assert {"Plain radiography", "Ultrasound", "CT", "MRI"} <= modalities
    ratios = [m for m in measures if m.is_ratio]
    assert len(ratios) >= 2 and all(m.multiplier == 100 and not m.standardise for m in ratios)


def _good() -> dict:
    return yaml.safe_load((MEASURES_DIR / "gpda_mri_lumbar_spine_share.yaml").read_text())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("reviewed_by"), "reviewed_by: required field is missing"),
        (lambda d: d.update(polarity="up"), "polarity"),
        (lambda d: d["numerator"].update(patient_source=[4]), "numerator.patient_source: 4 is not one of"),
        (lambda d: d["numerator"].update(body_area=["Lumbar spin"]), "numerator.body_area: 'Lumbar spin'"),
        (lambda d: d["numerator"].update(modality=["CT"]), "numerator.modality: must be within the denominator"),
        (lambda d: d.update(multiplier=1000), "multiplier: a ratio of two counts"),
        (lambda d: d.update(review_date="soon"), "review_date: must be date"),
        (lambda d: d.update(colour="blue"), "colour: unknown field"),
        (lambda d: d["denominator"].pop("label"), "denominator.label"),
    ],
)
def test_bad_files_are_refused_with_the_field_named(change, field):
    raw = _good()
    change(raw)
    with pytest.raises(MeasureError) as err:
        parse_measure(Path("gpda_mri_lumbar_spine_share.yaml"), raw)
    assert str(err.value).startswith("gpda_mri_lumbar_spine_share.yaml: ")
    assert field in str(err.value)


def test_id_must_match_the_file_name(tmp_path):
    (tmp_path / "other_name.yaml").write_text(yaml.safe_dump(_good()))
    with pytest.raises(MeasureError, match="must match the file name"):
        load_measures(tmp_path)
