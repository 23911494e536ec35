"""An attacker against the variation views (issue #15): a commissioner of ICB QE1 holding every
table the variation pages and `did export variation-*` give them, for many filter sets, tries
to recover counts 1-7 that are shown as `*`, and counts that rounding to 5 should have hidden.

The store is made by hand so that every filter set (month x modality x patient source) has one
small sub-ICB (its patients imaged by provider RXR only, in one age-sex cell of its own) and one
small North East and Yorkshire cell inside a large England age-sex cell: the layout each attack
needs. Its cell-key secret is fixed, so the noise (and every number here) is the same each run.

"Before" is the same commissioner with perturbation turned off (`DID_PERTURB_UP_TO=0`): the
same suppression and rounding, every figure derived from exact counts - what the old code
published. True counts come from the same queries with the CENTRAL scope.
"""

from __future__ import annotations

import random
import shutil
from datetime import date

import polars as pl
import pytest

from did_model.scope import CENTRAL, Scope
from ingest import store
from ingest.store import CELL_KEY_SECRET
from queries import dsr
from queries import variation_demographic as demographic
from queries import variation_flows as flows
from queries import variation_geographic as geographic
from queries.areas import ENGLAND_AREA, Area
from queries.connection import get_snapshot
from queries.variation import Filters

SECRET = "MZXW6YTBOI2DAMBRGIZTINJWG44DSMBR"  # fixed for the test store only
QE1_SUB_ICBS = {
    "00Q": "P81005",
    "00R": "P81016",
    "00X": "P81010",
    "01A": "P81003",
    "01E": "P81015",
    "01K": "A82003",
    "02G": "P81014",
    "02M": "P81006",
}
NEY_PRACTICE = "B82007"  # ICB QWO, region Y63 (North East and Yorkshire); QE1 is in Y62
REGIONS = ("Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63")
MONTHS = tuple(date(2026, m, 1) for m in (1, 2, 3, 4))
MODALITIES = ("CT", "MRI", "Plain radiography", "Ultrasound")
SOURCES = ("03", "04")
SMALL_AGES = (7, 22, 33, 51, 58, 76, 84, 92)  # never in the large cells' bands (40-44 men, 65-69 women)
FILTER_SETS = [Filters(m, m, modality=mod, patient_source=src) for m in MONTHS for mod in MODALITIES for src in SOURCES]
COMMISSIONER = Scope("commissioner", icbs=frozenset({"QE1"}), user="attacker")
QE1 = Area("icb", "QE1")
BASELINE = 0.35  # at most this share of targets recovered (a guess of the middle of 1-7 does about as well)


def _rows() -> list[tuple]:
    """(practice, provider, age, sex, modality, source, month, how many) for the whole store."""
    rng = random.Random(15)
    rows = []
    for t, f in enumerate(FILTER_SETS):
        small = list(QE1_SUB_ICBS)[t % len(QE1_SUB_ICBS)]
        for sub, practice in QE1_SUB_ICBS.items():
            if sub == small:
                rows.append((practice, "RXR", rng.choice(SMALL_AGES), rng.choice("12"), f, rng.randint(2, 7)))
            else:
                rows.append((practice, "RXN", 42, "1", f, rng.randint(12, 30)))
                rows.append((practice, "RTX", 67, "2", f, rng.randint(10, 25)))
        rows.append((NEY_PRACTICE, "RR8", 42, "1", f, rng.randint(2, 7)))
    return rows


@pytest.fixture(scope="module")
def snap(tmp_path_factory, empty_store_template):
    d = tmp_path_factory.mktemp("variation-attacks") / "store"
    shutil.copytree(empty_store_template, d)
    records = []
    for practice, provider, age, sex, f, n in _rows():
        for _ in range(n):
            records.append(
                {
                    "submission_id": 1,
                    "provider_code": provider,
                    "site_code": f"{provider}01",
                    "accession_number": f"A{len(records):07d}",
                    "age_at_test": age,
                    "sex": sex,
                    "practice_code": practice,
                    "patient_source": f.patient_source,
                    "test_date": f.first_month.replace(day=10),
                    "modality": f.modality,
                    "activity_month": f.first_month,
                }
            )
    frame = pl.DataFrame(records)
    with store.writer(d) as con:
        con.register("attack_records", frame.to_arrow())
        con.execute("INSERT INTO record BY NAME SELECT * FROM attack_records")
        con.execute("INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [CELL_KEY_SECRET, SECRET])
        store.publish(con, d)
    return get_snapshot(d)


@pytest.fixture
def no_noise(monkeypatch):
    """The old behaviour: suppression and rounding of exact counts, figures derived from them."""
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")


# --- what the attacker does -------------------------------------------------------------------------


def _count(rate: float, population: float, f: Filters) -> int:
    """Rate x denominator: the count a published rate was computed from."""
    return round(rate * population / f.annualise)


def _hidden(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("records").is_null())


def icb_minus_sub_icbs(icb: pl.DataFrame, subs: pl.DataFrame, f: Filters) -> dict[str, int]:
    """The ICB's count (rate x population) minus its published sub-ICBs' counts."""
    hidden = _hidden(subs)
    if hidden.height != 1:
        return {}
    total = _count(icb["rate"][0], icb["population"][0], f)
    parts = sum(
        _count(r, p, f)
        for r, p in subs.filter(pl.col("records").is_not_null()).select("rate", "population").iter_rows()
    )
    return {hidden["code"][0]: total - parts}


def england_minus_regions(england: pl.DataFrame, regions: dict[str, pl.DataFrame], f: Filters) -> dict:
    """In each age-sex cell, England's count minus the published regions' counts."""
    found = {}
    for row in england.filter(pl.col("rate").is_not_null()).iter_rows(named=True):
        cell = (row["age_band"], row["sex"])
        rows = {
            code: frame.filter((pl.col("age_band") == cell[0]) & (pl.col("sex") == cell[1])).row(0, named=True)
            for code, frame in regions.items()
        }
        hidden = [code for code, r in rows.items() if r["records"] is None]
        if len(hidden) == 1:
            parts = sum(_count(r["rate"], r["population"], f) for r in rows.values() if r["records"] is not None)
            found[(hidden[0], *cell)] = _count(row["rate"], row["population"], f) - parts
    return found


def dsr_solves_cells(summary: demographic.AreaSummary, age_sex: pl.DataFrame, f: Filters) -> dict:
    """DSR = sum of weight x rate over the cells: with one cell hidden, its rate (and count) follows."""
    hidden = _hidden(age_sex)
    if hidden.height != 1 or summary.dsr is None:
        return {}
    weights = {(b, s): w for s, b, w in dsr.standard_strata().iter_rows()}
    shown = age_sex.filter(pl.col("records").is_not_null())
    known = sum(weights[(b, s)] * r for b, s, r in shown.select("age_band", "sex", "rate").iter_rows())
    cell = hidden.row(0, named=True)
    rate = (summary.dsr - known) / weights[(cell["age_band"], cell["sex"])]
    return {(cell["age_band"], cell["sex"]): _count(rate, cell["population"], f)}


def flows_total_minus_parts(icb: pl.DataFrame, providers: pl.DataFrame, f: Filters) -> dict[str, int]:
    """The area's total (rate x population) times each published share, taken from the total."""
    hidden = _hidden(providers)
    if hidden.height != 1:
        return {}
    total = _count(icb["rate"][0], icb["population"][0], f)
    parts = sum(round(s * total) for s in providers.filter(pl.col("records").is_not_null())["share"])
    return {hidden["provider_code"][0]: total - parts}


def rate_times_population(frame: pl.DataFrame, keys: list[str], f: Filters) -> dict:
    """Every published rate back to its count."""
    shown = frame.filter(pl.col("rate").is_not_null())
    return {tuple(r[k] for k in keys): _count(r["rate"], r["population"], f) for r in shown.iter_rows(named=True)}


# --- running it --------------------------------------------------------------------------------------


def _attack(snap, scope: Scope, f: Filters) -> dict[str, dict]:
    """Every attack over the outputs `scope` gets for filters `f`, as {attack: {target: guess}}."""
    icb = geographic.area_rates(snap, scope, f, "icb").filter(pl.col("code") == QE1.code)  # all ICBs are shown
    subs = geographic.area_rates(snap, scope, f, "sub_icb")
    age_sex = demographic.age_sex_rates(snap, scope, f, QE1)
    regions = {code: demographic.age_sex_rates(snap, scope, f, Area("region", code)) for code in REGIONS}
    return {
        "icb minus sub-ICBs": icb_minus_sub_icbs(icb, subs, f),
        "England minus regions": england_minus_regions(
            demographic.age_sex_rates(snap, scope, f, ENGLAND_AREA), regions, f
        ),
        "DSR solves age-sex cells": dsr_solves_cells(demographic.area_summary(snap, scope, f, QE1), age_sex, f),
        "flows total minus parts": flows_total_minus_parts(icb, flows.area_providers(snap, scope, f, QE1), f),
        "rate x population, sub-ICBs": rate_times_population(subs, ["code"], f),
        "rate x population, age-sex": rate_times_population(age_sex, ["age_band", "sex"], f),
    }


def _truth(snap, f: Filters) -> dict[str, dict]:
    subs = geographic.area_rates(snap, CENTRAL, f, "sub_icb")
    age_sex = demographic.age_sex_rates(snap, CENTRAL, f, QE1)
    cells = {(r["age_band"], r["sex"]): r["records"] for r in age_sex.iter_rows(named=True)}
    regions = {
        (code, r["age_band"], r["sex"]): r["records"]
        for code in REGIONS
        for r in demographic.age_sex_rates(snap, CENTRAL, f, Area("region", code)).iter_rows(named=True)
    }
    subs_n = dict(zip(subs["code"], subs["records"], strict=True))
    providers = flows.area_providers(snap, CENTRAL, f, QE1)
    return {
        "icb minus sub-ICBs": subs_n,
        "England minus regions": regions,
        "DSR solves age-sex cells": cells,
        "flows total minus parts": dict(zip(providers["provider_code"], providers["records"], strict=True)),
        "rate x population, sub-ICBs": {(k,): v for k, v in subs_n.items()},
        "rate x population, age-sex": cells,
    }


@pytest.fixture(scope="module")
def truth(snap) -> list[dict[str, dict]]:
    return [_truth(snap, f) for f in FILTER_SETS]


def _recovery(snap, truths: list[dict[str, dict]]) -> dict[str, tuple[int, int]]:
    """{attack: (targets recovered exactly, targets)} over every filter set. A rate x population
    target is a count rounding hid (not a multiple of 5); the others are suppressed counts."""
    out: dict[str, list[int]] = {}
    for f, truth in zip(FILTER_SETS, truths, strict=True):
        for attack, guesses in _attack(snap, COMMISSIONER, f).items():
            got = out.setdefault(attack, [0, 0])
            for target, guess in guesses.items():
                n = truth[attack][target]
                if attack.startswith("rate x") and n % 5 == 0:
                    continue
                got[0] += guess == n
                got[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


def test_every_attack_recovers_the_hidden_counts_without_noise(snap, truth, no_noise):
    recovery = _recovery(snap, truth)
    for attack, (recovered, targets) in recovery.items():
        assert targets >= len(FILTER_SETS) // 2, (attack, targets)
        assert recovered == targets, (attack, recovered, targets)


def test_no_attack_beats_a_guess_on_the_protected_outputs(snap, truth):
    recovery = _recovery(snap, truth)
    for attack, (recovered, targets) in recovery.items():
        assert targets > 0, attack
        assert recovered / targets <= BASELINE, (attack, recovered, targets)
        assert recovered < targets, attack  # never an exact identity


def test_nothing_derived_or_ranked_is_left_on_a_suppressed_row(snap):
    for f in FILTER_SETS[:4]:
        subs = geographic.area_rates(snap, COMMISSIONER, f, "sub_icb")
        hidden = subs.filter(pl.col("suppressed"))
        assert hidden.height >= 1
        derived = ["rate", "rate_lower", "rate_upper", "dsr", "dsr_lower", "dsr_upper", "compared", "rank"]
        assert hidden.select(pl.all_horizontal(pl.col(derived).is_null())).to_series().all()
        # Suppressed rows last; published ranks run 1..k without a gap.
        assert subs["suppressed"].to_list() == sorted(subs["suppressed"].to_list())
        ranks = subs["rank"].drop_nulls().sort().to_list()
        assert ranks == list(range(1, len(ranks) + 1))
        providers = flows.area_providers(snap, COMMISSIONER, f, QE1)
        hidden = providers.filter(pl.col("suppressed"))
        assert (
            hidden.height >= 1
            and hidden.select("share", "share_lower", "share_upper").null_count().row(0) == (hidden.height,) * 3
        )
        # A suppressed provider keeps no place in the order (they follow the published, by code).
        assert providers["suppressed"].to_list()[-hidden.height :] == [True] * hidden.height
        assert hidden["provider_code"].to_list() == sorted(hidden["provider_code"].to_list())
        age_sex = demographic.age_sex_rates(snap, COMMISSIONER, f, QE1).filter(pl.col("suppressed"))
        assert age_sex.select("rate", "rate_lower", "rate_upper").null_count().row(0) == (age_sex.height,) * 3


def test_england_reads_the_same_on_every_page_for_the_user(snap):
    f = FILTER_SETS[0]
    england = geographic.england_dsr(snap, COMMISSIONER, f)
    assert england == demographic.area_summary(snap, COMMISSIONER, f, ENGLAND_AREA).dsr
    assert england != geographic.england_dsr(snap, CENTRAL, f)  # from the perturbed cells, not the exact
    # The area's examinations are one cell wherever they are shown.
    icb = geographic.area_rates(snap, COMMISSIONER, f, "icb").filter(pl.col("code") == QE1.code)
    assert demographic.area_summary(snap, COMMISSIONER, f, QE1).records == icb["records"][0]
