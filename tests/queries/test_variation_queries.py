"""Variation queries: a hand-made store with worked figures, scope and disclosure control, and a
naive second implementation (straight from `record` and `ref_population`) over the shared
synthetic store."""

from __future__ import annotations

import math
import shutil
from collections import defaultdict
from datetime import date

import duckdb
import polars as pl
import pytest

from did_model.scope import CENTRAL, Scope, ScopeError
from ingest import store
from queries import variation
from queries import variation_demographic as demographic
from queries import variation_flows as flows
from queries import variation_geographic as geographic
from queries.areas import ENGLAND_AREA, Area
from queries.connection import get_snapshot
from queries.variation import Filters

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)
# Two practices in QE1 (Lancashire and South Cumbria), sub-ICB 01K; one in QWO (West Yorkshire), 36J.
QE1_PRACTICE, QE1_PRACTICE_2, QWO_PRACTICE = "A82003", "A82007", "B82007"
ESP = (5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000)

# (practice, provider, age, sex, ethnic category, modality, source, test group, month, how many)
ROWS = [
    (QE1_PRACTICE, "RXN", 42, "1", "A", "Plain radiography", "04", "chest_xray", JAN, 40),
    (QE1_PRACTICE, "RXN", 67, "2", "Z", "Plain radiography", "04", "chest_xray", FEB, 25),
    (QE1_PRACTICE_2, "RXR", 67, "2", "99", "CT", "03", None, JAN, 12),
    (QE1_PRACTICE_2, "RXR", 30, "9", "H", "CT", "03", None, JAN, 3),  # sex not known
    (QWO_PRACTICE, "RR8", 81, "1", "N", "Plain radiography", "04", "chest_xray", JAN, 5),
    ("ZZZ999", "RR8", 50, "2", None, "MRI", "03", None, FEB, 4),  # no such practice: no area
]


def _insert(con: duckdb.DuckDBPyConnection) -> None:
    values = []
    for practice, provider, age, sex, eth, modality, source, tg, month, n in ROWS:
        for _ in range(n):
            values.append(
                (
                    1,
                    provider,
                    f"{provider}01",
                    f"A{len(values):06d}",
                    age,
                    sex,
                    eth,
                    practice,
                    source,
                    month.replace(day=10),
                    modality,
                    tg,
                    month,
                )
            )
    con.executemany(
        """INSERT INTO record (submission_id, provider_code, site_code, accession_number, age_at_test, sex,
               ethnic_category, practice_code, patient_source, test_date, modality, test_group, activity_month)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        values,
    )


@pytest.fixture(scope="module")
def hand_store(tmp_path_factory, empty_store_template):
    d = tmp_path_factory.mktemp("variation") / "store"
    shutil.copytree(empty_store_template, d)
    with store.writer(d) as con:
        _insert(con)
        store.publish(con, d)
    return get_snapshot(d)


@pytest.fixture(scope="module")
def population(hand_store):
    """Registered patients by (org_type, org_code, sex, age band), read straight from the store."""
    df = hand_store.query("SELECT org_type, org_code, sex, age, patients FROM ref_population")
    out: dict[tuple[str, str, str, int], float] = defaultdict(float)
    for t, code, sex, age, n in df.iter_rows():
        out[(t, code, sex, min(age // 5, 18))] += n
    return out


FILTERS = Filters(JAN, FEB)


def test_age_sex_rate_worked_by_hand(hand_store, population):
    frame = demographic.age_sex_rates(hand_store, CENTRAL, FILTERS, Area("sub_icb", "01K"))
    men_40 = frame.filter((pl.col("sex") == "M") & (pl.col("age_band") == 8)).row(0, named=True)
    pop = population[("SUB_ICB", "01K", "M", 8)]
    # 40 examinations over 2 months -> 240 a year, per 1,000 registered men aged 40-44
    assert men_40["records"] == 40
    assert men_40["rate"] == pytest.approx(40 * 6 / pop * 1000)
    women_65 = frame.filter((pl.col("sex") == "F") & (pl.col("age_band") == 13)).row(0, named=True)
    assert women_65["records"] == 37
    assert frame["records"].sum() == 77  # the 3 with sex 9 are left out of age-sex rates
    assert frame.height == 38  # every stratum with a population, zeros included


def test_area_summary_counts_and_dsr_by_hand(hand_store, population):
    s = demographic.area_summary(hand_store, CENTRAL, FILTERS, Area("sub_icb", "01K"))
    assert s.records == 80 and s.unknown_age_sex == 3
    w = {b: e / 200_000 for b, e in enumerate(ESP)}
    expected = 6000 * (
        w[8] * 40 / population[("SUB_ICB", "01K", "M", 8)] + w[13] * 37 / population[("SUB_ICB", "01K", "F", 13)]
    )
    assert s.dsr == pytest.approx(expected)
    assert s.dsr_lower < s.dsr < s.dsr_upper


def test_england_leaves_out_records_without_a_known_practice(hand_store):
    s = demographic.area_summary(hand_store, CENTRAL, FILTERS, ENGLAND_AREA)
    assert s.records == 85


def test_measure_filters(hand_store):
    chest = Filters(JAN, FEB, test_group="chest_xray", patient_source="04")
    assert demographic.area_summary(hand_store, CENTRAL, chest, ENGLAND_AREA).records == 70
    ct = Filters(JAN, JAN, modality="CT")
    assert demographic.area_summary(hand_store, CENTRAL, ct, ENGLAND_AREA).records == 15


def test_ethnic_mix_keeps_not_stated_apart(hand_store):
    mix = demographic.ethnic_mix(hand_store, CENTRAL, FILTERS, Area("icb", "QE1"))
    got = dict(zip(mix["ethnic_group"], mix["records"], strict=True))
    assert got["White"] == 40 and got["Not stated"] == 25 and got["Not known"] == 12
    assert got["Asian or Asian British"] == 3
    assert demographic.not_stated_share(mix) == pytest.approx(37 / 80)
    assert "rate" not in mix.columns  # no ethnicity denominator, no rate


def test_deprivation_quintiles(hand_store):
    rates = demographic.deprivation_rates(hand_store, CENTRAL, FILTERS, Area("icb", "QE1"))
    got = dict(zip(rates["imd_quintile"], rates["records"], strict=True))
    assert got[4] == 65 and got[1] == 15 and got[2] == 0  # A82003 is quintile 4, A82007 quintile 1
    assert rates.filter(pl.col("imd_quintile") == 2)["population"][0] > 0


def test_no_lsoa_means_an_empty_table(hand_store):
    assert demographic.lsoa_deprivation(hand_store, CENTRAL, FILTERS, ENGLAND_AREA).is_empty()
    assert demographic.lsoa_coverage(hand_store, CENTRAL, FILTERS, ENGLAND_AREA) == (0, 85)


def test_area_rates_every_sub_icb_and_comparison(hand_store):
    rates = geographic.area_rates(hand_store, CENTRAL, FILTERS, "sub_icb")
    assert rates.height == 106
    row = rates.filter(pl.col("code") == "01K").row(0, named=True)
    assert row["records"] == 80 and row["rank"] == 1 and row["compared"] == "higher"
    # Too few events elsewhere: no DSR, no rank, no comparison.
    assert rates.filter(pl.col("code") == "36J")["dsr"][0] is None


COMMISSIONER = Scope("commissioner", icbs=frozenset({"QE1"}), user="c")


def test_commissioner_sees_own_sub_icbs_and_every_icb_and_region_as_comparators(hand_store):
    rates = geographic.area_rates(hand_store, COMMISSIONER, FILTERS, "sub_icb")
    assert "36J" not in rates["code"].to_list() and "01K" in rates["code"].to_list()
    icbs = geographic.area_rates(hand_store, COMMISSIONER, FILTERS, "icb")
    assert icbs.height == 36 and {"QE1", "QWO"} <= set(icbs["code"].to_list())
    assert geographic.area_rates(hand_store, COMMISSIONER, FILTERS, "region").height == 7
    # Another ICB in detail is a comparator too; another ICB's sub-ICB is not.
    assert demographic.age_sex_rates(hand_store, COMMISSIONER, FILTERS, Area("icb", "QWO")).height
    with pytest.raises(ScopeError):
        flows.area_providers(hand_store, COMMISSIONER, FILTERS, Area("sub_icb", "36J"))
    with pytest.raises(ScopeError):
        flows.provider_origins(hand_store, COMMISSIONER, FILTERS, "RXN")


def test_disclosure_control_for_commissioners(hand_store):
    providers = flows.area_providers(hand_store, COMMISSIONER, FILTERS, Area("icb", "QE1"))
    got = dict(zip(providers["provider_code"], providers["records"], strict=True))
    assert got == {"RXN": 65, "RXR": 15}  # rounded to 5
    mix = demographic.ethnic_mix(hand_store, COMMISSIONER, FILTERS, Area("icb", "QE1"))
    asian = mix.filter(pl.col("ethnic_group") == "Asian or Asian British").row(0, named=True)
    assert asian["records"] is None and asian["share"] is None and asian["suppressed"]  # 3 (perturbed 1-5)
    # No secondary suppression: the total is perturbed as a cell of its own, so the total minus
    # the other groups does not give the hidden one back. 12, perturbed to 10-14, is published.
    not_known = mix.filter(pl.col("ethnic_group") == "Not known").row(0, named=True)
    assert not_known["records"] in (10, 15) and not not_known["suppressed"]
    # Shares are perturbed part over perturbed total (a cell of its own), so not exactly 1 here.
    ct = (
        flows.area_provider_modalities(hand_store, COMMISSIONER, FILTERS, Area("icb", "QE1"))
        .filter(pl.col("modality") == "CT")
        .row(0, named=True)
    )
    assert ct["records"] == 15 and 13 / 17 <= ct["share"] <= 1.0


def test_provider_and_gp_see_every_icb_and_region_but_no_sub_icb(hand_store):
    for scope in (Scope("provider", providers=frozenset({"RXN"}), user="p"), Scope("gp", practice=QWO_PRACTICE)):
        assert geographic.area_rates(hand_store, scope, FILTERS, "icb").height == 36
        assert geographic.area_rates(hand_store, scope, FILTERS, "region").height == 7
        assert geographic.area_rates(hand_store, scope, FILTERS, "sub_icb").is_empty()
        with pytest.raises(ScopeError):
            demographic.age_sex_rates(hand_store, scope, FILTERS, Area("sub_icb", "01K"))
        levels = set(variation.selectable_areas(hand_store, scope)["level"].to_list())
        assert levels == {"england", "region", "icb"}


def test_own_areas_to_highlight(hand_store):
    assert variation.own_codes(hand_store, COMMISSIONER, "icb") == {"QE1"}
    assert "01K" in variation.own_codes(hand_store, COMMISSIONER, "sub_icb")
    assert len(variation.own_codes(hand_store, COMMISSIONER, "region")) == 1
    sub_only = Scope("commissioner", sub_icbs=frozenset({"01K"}), user="c")
    assert variation.own_codes(hand_store, sub_only, "icb") == {"QE1"}
    assert variation.own_codes(hand_store, Scope("provider", providers=frozenset({"RXN"})), "icb") == set()


def test_provider_sees_only_its_own_flows(hand_store):
    rxn = Scope("provider", providers=frozenset({"RXN"}), user="p")
    origins = flows.provider_origins(hand_store, rxn, FILTERS, "RXN")
    assert origins.select("code", "records").rows() == [("QE1", 65)]
    with pytest.raises(ScopeError):
        flows.provider_origins(hand_store, rxn, FILTERS, "RR8")
    assert flows.providers(hand_store, rxn)["provider_code"].to_list() == ["RXN"]


def test_suppressed_flows_keep_no_place_in_the_order(hand_store):
    rr8 = Scope("provider", providers=frozenset({"RR8"}), user="p")
    origins = flows.provider_origins(hand_store, rr8, FILTERS, "RR8")
    # QWO 5 and not known 4, both hidden: listed by code, not by their (hidden) size.
    assert origins["code"].to_list() == [flows.NOT_KNOWN, "QWO"]
    assert origins["suppressed"].all() and origins["share"].null_count() == 2


def test_flows_central(hand_store):
    origins = flows.provider_origins(hand_store, CENTRAL, FILTERS, "RR8")
    assert dict(zip(origins["code"], origins["records"], strict=True)) == {"QWO": 5, flows.NOT_KNOWN: 4}
    by_mod = flows.area_provider_modalities(hand_store, CENTRAL, FILTERS, Area("icb", "QE1"))
    assert by_mod.filter(pl.col("modality") == "CT")["share"].to_list() == [1.0]


# --- a naive second implementation over the synthetic store -----------------------------------


def _naive_icb_dsrs(store_dir, first: date, last: date) -> dict[str, tuple[int, float]]:
    con = duckdb.connect(str(store_dir / "snapshots" / (store_dir / "CURRENT").read_text().strip()), read_only=True)
    try:
        rec = con.execute(
            """SELECT p.icb_code, r.age_at_test, r.sex, r.site_code, r.accession_number
               FROM record r JOIN ref_practice p USING (practice_code)
               WHERE r.activity_month BETWEEN ? AND ?""",
            [first, last],
        ).fetchall()
        # ADR 0010: of an outsourced examination sent by two providers, the copy that is not
        # counted (the synthetic data plant some) is left out of every figure
        removed = set(
            con.execute(
                """SELECT CASE counted WHEN 'a' THEN b_site_code ELSE a_site_code END,
                          CASE counted WHEN 'a' THEN b_accession_number ELSE a_accession_number END
                   FROM duplicate_pair WHERE removed"""
            ).fetchall()
        )
        pop = con.execute("SELECT org_code, sex, age, patients FROM ref_population WHERE org_type = 'ICB'").fetchall()
    finally:
        con.close()
    counts: dict[tuple[str, str, int], int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    for icb, age, sex, site, accession in rec:
        if (site, accession) in removed:
            continue
        totals[icb] += 1
        if age is not None and sex in ("1", "2"):
            counts[(icb, "M" if sex == "1" else "F", min(age // 5, 18))] += 1
    people: dict[tuple[str, str, int], float] = defaultdict(float)
    for icb, sex, age, n in pop:
        people[(icb, sex, min(age // 5, 18))] += n
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    out = {}
    for icb in {k[0] for k in people}:
        rate = sum(
            ESP[b] / 200_000 * counts[(icb, s, b)] / people[(icb, s, b)]
            for s in ("M", "F")
            for b in range(19)
            if people[(icb, s, b)] > 0
        )
        out[icb] = (totals[icb], rate * 1000 * 12 / months)
    return out


def test_icb_dsrs_match_a_naive_computation(synthetic_store):
    store_dir, _ = synthetic_store
    snap = get_snapshot(store_dir)
    first, last = date(2025, 12, 1), date(2026, 3, 1)
    rates = geographic.area_rates(snap, CENTRAL, Filters(first, last), "icb")
    naive = _naive_icb_dsrs(store_dir, first, last)
    assert rates.height == 36
    for row in rates.iter_rows(named=True):
        n, expected = naive[row["code"]]
        assert row["records"] == n
        assert row["dsr"] == pytest.approx(expected, rel=1e-9), row["code"]
    assert math.isfinite(geographic.fold_variation(rates))
