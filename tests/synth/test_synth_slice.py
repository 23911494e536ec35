"""A full-scale slice of England (generate(area=...)): the area's practices, the trusts serving it,
scanners in proportion, and England's rates per 1,000 registered patients (ADR 0008).

A small ICB over 3 months keeps it quick; rates do not depend on the size of the world, so the
slice is held to England's targets. Northamptonshire's age structure is close to England's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ingest import reference, store
from ingest.synth import calibration, generate
from ingest.synth.world import describe

pytestmark = pytest.mark.slow  # generates a full-scale slice of an ICB

AREA = "QPM"  # NHS Northamptonshire ICB, ~0.85 M registered patients
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def slice_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("slice") / "qpm"
    manifest = generate("2026-03", "2026-05", 1.0, out, seed=0, area=AREA, clean=True)
    return out, manifest


@pytest.fixture(scope="module")
def slice_rows(slice_out, practice_model, catalogue):
    return calibration.report(slice_out[0], practice_model, catalogue)


def test_slice_reproduces_englands_rates(slice_rows):
    """Every rate within ±10% of England's, or — for the rare tests, a few hundred events in this
    small 3-month slice — within 3 Poisson standard errors of it (CT chest expects ~230 events, so
    ±20%; the 12-month demo slice holds every rate within ±10%: docs/calibration.md)."""
    rows = [r for r in slice_rows if r.section.startswith("Rates")]
    assert len(rows) == 8
    population = reference.practices().filter(pl.col("icb_code") == AREA)["list_size"].sum()

    def within(r) -> bool:
        if r.ok or not r.measure.startswith("GP direct access "):
            return r.ok
        target = float(r.target.split()[0])
        expected_events = target * population / 1000 * 3 / 12
        return abs(r.generated - target) / target <= max(0.10, 3 / expected_events**0.5)

    failed = [f"{r.measure}: target {r.target}, generated {r.text()}" for r in rows if not within(r)]
    assert not failed, "\n".join(failed)


def test_slice_volumes_read_as_england(slice_rows):
    """Scaled by England's population over the area's, the slice's volumes are England's."""
    total = next(r for r in slice_rows if r.section.startswith("Volumes") and r.measure == "Total")
    assert total.ok, total


def test_slice_holds_only_the_areas_practices(slice_out, kept_slice):
    _out, manifest = slice_out
    area = reference.practices().filter(pl.col("icb_code") == AREA)
    world = manifest.planted["world"]
    assert world["area"] == [AREA] and world["area_names"] == ["Northamptonshire"]
    assert set(world["practices"]) == set(area.filter(pl.col("list_size") > 0)["practice_code"])
    assert set(kept_slice["practice_code"].drop_nulls()) <= set(world["practices"])
    assert describe(manifest.planted) == "a full-scale slice of England (Northamptonshire), Mar 2026 – May 2026"


def test_slice_providers_are_the_trusts_serving_it(slice_out):
    _out, manifest = slice_out
    providers = set(manifest.planted["world"]["providers"])
    sent = {f.provider_code for f in manifest.files}
    assert sent == providers
    assert 3 <= len(providers) <= 15  # not England's 140
    assert "RNS" in providers  # Northampton General Hospital


def test_slice_scanners_do_englands_work(slice_out, slice_rows):
    """Every provider holds its scanners' worth of the area's activity: whole scanners, at least
    one, scheduled for the hours its area activity needs, so utilisation is England's."""
    out, manifest = slice_out
    equipment = pl.read_csv(out / "equipment.csv")
    sites = pl.read_csv(out / "sites.csv").select("site_code", "provider_code")
    held = equipment.join(sites, on="site_code")
    for modality in ("CT", "MRI"):
        kit = held.filter(pl.col("modality") == modality)
        assert set(kit["provider_code"]) == set(manifest.planted["world"]["providers"]), modality
        assert (kit["scheduled_hours_per_week"] <= kit["scanners"] * 168).all()
        assert (kit["scheduled_hours_per_week"] >= 1).all()
    utilisation = [r for r in slice_rows if r.section == "Scanners" and "utilisation" in r.measure]
    assert len(utilisation) == 2 and all(r.ok for r in utilisation), utilisation


def test_unknown_area_is_one_line_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="area code 'ZZZ' is neither an NHS region code"):
        generate("2026-03", "2026-03", 1.0, tmp_path / "out", area="ZZZ")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def kept_slice(slice_out, catalogue):
    return calibration.read_effective(slice_out[0])


def test_slice_age_rates_are_per_person_of_the_area(slice_rows):
    """Who-is-imaged rates divide the slice's records by the slice's own patients."""
    rates = {r.measure: r for r in slice_rows if r.section.startswith("Who is imaged")}
    assert 0.3 <= rates["rate at 20-39"].generated <= 0.7
    assert rates["rate ratio 80+ / 20-39"].ok and rates["rate ratio 50-59 / 20-39"].ok


def test_did_load_makes_the_stores_denominators_the_areas(slice_out, tmp_path):
    """`did load` of a slice: store_meta says what it is; population, practices and trusts are the area's."""

    out, manifest = slice_out
    proc = subprocess.run(
        [sys.executable, "-m", "did_cli", "load", str(out), "--store", str(tmp_path / "store")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    con = duckdb.connect(str(store.current_snapshot(tmp_path / "store")), read_only=True)
    try:
        meta = dict(con.execute("SELECT key, value FROM store_meta").fetchall())
        population = con.execute("SELECT sum(patients) FROM ref_population WHERE org_type = 'REGION'").fetchone()[0]
        practices = {r[0] for r in con.execute("SELECT practice_code FROM ref_practice").fetchall()}
        trusts = {r[0] for r in con.execute("SELECT provider_code FROM ref_trust").fetchall()}
    finally:
        con.close()
    assert meta["synthetic"] == "true" and meta["synthetic_scale"] == "1.0"
    assert meta["synthetic_world"] == "a full-scale slice of England (Northamptonshire), Mar 2026 – May 2026"
    area = reference.practices().filter(pl.col("icb_code") == AREA)
    assert abs(population - area["list_size"].sum()) <= 0.05 * area["list_size"].sum()
    assert practices == set(area["practice_code"])
    assert trusts == set(manifest.planted["world"]["providers"]) - {"NX1"}


def test_did_synth_unknown_area_is_a_one_line_usage_error(tmp_path):

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "did_cli",
            "synth",
            "--from",
            "2026-01",
            "--to",
            "2026-01",
            "--area",
            "Y99",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "area code 'Y99'" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("planted", "words"),
    [
        (
            {"first_month": "2025-11", "last_month": "2026-10", "scale": 0.02, "world": {}},
            "England at 2% scale (counts and rates are 2% of England's), Nov 2025 – Oct 2026",
        ),
        (
            {"first_month": "2025-11", "last_month": "2026-10", "scale": 0.004},
            "England at 0.4% scale (counts and rates are 0.4% of England's), Nov 2025 – Oct 2026",
        ),
        (
            {"first_month": "2026-01", "last_month": "2026-01", "scale": 1.0},
            "England at full scale, Jan 2026 – Jan 2026",
        ),
        (
            {"first_month": "2025-11", "last_month": "2026-10", "scale": 0.004, "world": {"area_names": ["Somerset"]}},
            "a slice of England (Somerset) at 0.4% scale (counts and rates are 0.4% of the area's), "
            "Nov 2025 – Oct 2026",
        ),
    ],
)
def test_a_world_at_a_scale_says_its_scale(planted, words):
    assert describe(planted) == words


def test_demo_extracts_of_another_world_are_generated_again(slice_out, tmp_path):
    """`did demo` reuses extracts only when they are the world asked for (an older England-at-2%
    demo folder is not loaded as the slice)."""
    import did_cli

    out, _ = slice_out
    assert not did_cli._holds_world(out, 1.0, AREA)  # other months than the demo's
    assert not did_cli._holds_world(tmp_path, 1.0, AREA)  # nothing there
    fake = tmp_path / "old"
    fake.mkdir()
    (fake / "manifest.csv").write_text("order\n")
    (fake / "planted.json").write_text(
        json.dumps({"scale": 0.02, "first_month": did_cli.DEMO_FROM, "last_month": did_cli.DEMO_TO})
    )
    assert not did_cli._holds_world(fake, did_cli.DEMO_SCALE, did_cli.DEMO_AREA)
    assert did_cli._holds_world(fake, 0.02, "")
