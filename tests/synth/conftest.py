"""One synthetic output for the whole tests/synth run: scale 0.01, 12 activity months, seed 0."""

from __future__ import annotations

import pytest

import shared_builds
from ingest.synth import calibration


@pytest.fixture(scope="session")
def synth_out(tmp_path_factory):
    """(out, manifest): built once per run by the shared builder for both workers; read-only."""
    return shared_builds.wait(shared_builds.shared_root(tmp_path_factory.getbasetemp()), "synth_year")


@pytest.fixture(scope="session")
def catalogue():
    from did_model.nicip import nicip_catalogue

    return nicip_catalogue()


@pytest.fixture(scope="session")
def practice_model():
    from ingest import reference
    from ingest.synth.population import build_practice_model

    return build_practice_model(reference.practices(), reference.population(), 0)


@pytest.fixture(scope="session")
def kept_records(synth_out, catalogue):
    """Every record a loader would keep, typed and with modality and test group."""
    out, _ = synth_out
    return calibration.enrich(calibration.read_effective(out), catalogue)


@pytest.fixture(scope="session")
def calibration_rows(synth_out, practice_model, catalogue):
    out, _ = synth_out
    return calibration.report(out, practice_model, catalogue)
