"""Reference tables: the organisation hierarchy, denominators, and the NICIP swap."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from ingest import reference


@pytest.fixture(scope="module")
def practices() -> pl.DataFrame:
    return reference.practices()


def test_practice_map_is_the_36_icb_geography(practices):
    assert practices.height == 6129
    assert practices["practice_code"].n_unique() == 6129
    assert practices["icb_code"].n_unique() == 36
    assert practices["sub_icb_code"].n_unique() == 106
    assert practices["region_code"].n_unique() == 7


def test_every_practice_maps_to_exactly_one_of_each_level(practices):
    for column in ("pcn_code", "sub_icb_code", "icb_code", "region_code", "icb22_ons"):
        assert practices[column].null_count() == 0, column
    # The hierarchy is a tree: each sub-ICB in one ICB, each ICB in one region.
    assert practices.group_by("sub_icb_code").agg(pl.col("icb_code").n_unique())["icb_code"].max() == 1
    assert practices.group_by("icb_code").agg(pl.col("region_code").n_unique())["region_code"].max() == 1


def test_list_sizes(practices):
    assert practices["list_size"].null_count() == 0
    # April 2026 England total is 63,673,685; 39 practices of that file have gone by August.
    assert practices["list_size"].sum() == 63_434_892
    assert reference._list_sizes_april_2026()["list_size"].sum() == pytest.approx(63.67e6, rel=1e-3)


def test_imd_quintiles(practices):
    scored = practices.filter(pl.col("imd_score").is_not_null())
    assert scored.height == 6105
    assert scored["imd_quintile"].value_counts()["count"].to_list() == [1221] * 5
    q1 = scored.filter(pl.col("imd_quintile") == 1)["imd_score"].min()
    q2 = scored.filter(pl.col("imd_quintile") == 2)["imd_score"].max()
    assert q1 >= q2  # quintile 1 is the most deprived


def test_icb22_codes_match_the_trust_catchments(practices):
    assert set(practices["icb22_ons"]) <= set(reference.catchment()["icb22_ons"])
    assert practices["icb22_ons"].n_unique() == 42


def test_population_totals():
    pop = reference.population()
    assert set(pop["org_type"]) == {"REGION", "ICB", "SUB_ICB", "PCN"}
    assert set(pop["sex"]) == {"M", "F"}
    assert (pop["age"].min(), pop["age"].max()) == (0, 95)
    totals = dict(pop.group_by("org_type").agg(pl.col("patients").sum()).iter_rows())
    assert totals["ICB"] == 63_237_908
    assert totals["REGION"] == totals["SUB_ICB"] == totals["PCN"] == totals["ICB"]


def test_trusts_and_catchments():
    trusts = reference.trusts()
    assert trusts.height == 138
    assert trusts.null_count().sum_horizontal().item() == 0
    shares = reference.catchment().group_by("provider_code").agg(pl.col("share").sum())
    assert shares["share"].is_between(0.999, 1.001).all()


def test_lsoa_deprivation():
    lsoa = reference.lsoa()
    assert lsoa.height == 33755
    assert lsoa["imd_decile"].min() == 1 and lsoa["imd_decile"].max() == 10
    assert lsoa["icb24_ons"].n_unique() == 42


def test_load_reference_builds_the_tables():
    con = duckdb.connect()
    reference.load_reference(con)
    counts = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("ref_practice", "ref_population", "ref_trust", "ref_catchment", "ref_lsoa", "ref_nicip", "ref_org")
    }
    assert counts["ref_practice"] == 6129
    assert counts["ref_trust"] == 138
    assert counts["ref_nicip"] == 2787
    assert counts["ref_lsoa"] == 33755
    assert counts["ref_population"] > 250_000
    assert counts["ref_catchment"] == 1321
    assert counts["ref_org"] > 16_000
    # Every practice and acute trust a record may name is a known organisation.
    missing = con.execute("""
        SELECT count(*) FROM (SELECT practice_code AS c FROM ref_practice UNION SELECT provider_code FROM ref_trust)
        WHERE c NOT IN (SELECT org_code FROM ref_org)""").fetchone()[0]
    assert missing == 0
    # Reloading replaces rather than appends.
    reference.load_reference(con)
    assert con.execute("SELECT count(*) FROM ref_practice").fetchone()[0] == 6129


def _nicip_count(con) -> int:
    return con.execute("SELECT count(*) FROM ref_nicip").fetchone()[0]


def test_load_nicip_release_replaces_the_table(tmp_path):
    con = duckdb.connect()
    reference.load_reference(con)
    release = tmp_path / "nicip_release.csv"
    release.write_text(
        "NICIP_Code,Description,SNOMED_Code\nXCHES,XR Chest,399208008\nCSKUH,CT Head,\nZZZZ9,New code,\n",
        encoding="utf-8",
    )
    assert reference.load_nicip_release(con, release) == 3
    rows = con.execute(
        "SELECT nicip_code, modality, description, snomed_code, test_group FROM ref_nicip ORDER BY nicip_code"
    ).fetchall()
    assert rows == [
        ("CSKUH", "CT", "CT Head", None, None),
        ("XCHES", "Plain radiography", "XR Chest", "399208008", "chest_xray"),
        ("ZZZZ9", None, "New code", None, None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,description\nXCHES,XR Chest\nxr-chest,bad\n", "line 3"),
        ("description\nXR Chest\n", "'code' or 'nicip_code'"),
        ("code\nXCHES\nXCHES\n", "repeats line 2"),
        ("code,modality\nXCHES,Radiograph\n", "modality 'Radiograph'"),
        ("code\n", "no NICIP codes"),
    ],
)
def test_load_nicip_release_rejects_a_bad_file_and_keeps_the_old_table(tmp_path, text, message):
    con = duckdb.connect()
    reference.load_reference(con)
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        reference.load_nicip_release(con, bad)
    assert _nicip_count(con) == 2787


def test_reference_files_ship_with_the_project():
    from pathlib import Path

    project = Path(reference.__file__).resolve().parent.parent
    assert reference.REFERENCE_DIR == project / "data" / "reference"
    assert (reference.REFERENCE_DIR / "SOURCES.md").is_file()
    for module in ("ingest/reference.py", "did_model/nicip.py", "ingest/geography.py"):
        assert "/work/shared" not in (project / module).read_text()
