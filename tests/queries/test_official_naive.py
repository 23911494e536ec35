"""The official tables against a deliberately naive second implementation, over generated records.

A few hundred random records (providers, NICIP codes with and without a dose, practices in two
sub-ICBs, a practice not in the map and none, ages, sex codes, dates over two financial years)
are counted here with plain Python loops over the rows, using did_model.nicip and the reference
practice map directly. The disclosure rule is switched to "suppress nothing, round to 1" so that
the queries' exact logic is compared; the publication rule itself is checked by hand in
test_official_monthly.py and test_report_official.py.
"""

from __future__ import annotations

import math
import random
import shutil
from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from did_model import nicip
from did_model.demography import DOSE_AGE_BANDS
from did_model.scope import CENTRAL
from ingest import store
from ingest.reference import population, practices
from queries import dose, official
from queries.connection import get_snapshot

CODES = [
    "XCHES",
    "XWRIL",
    "XHIPB",
    "XLSPN",
    "CCHES",
    "CSKUH",
    "CCHAPC",
    "CANGI",
    "MSKUH",
    "UABDO",
    "FBAEN",
    "NBONW",
    "NPETW",
    "OMEDP",
    "EERCP",
]
PRACTICES = ["A84002", "A84005", "A82003", None, "Z99999"]
PROVIDERS = ["RAJ", "RBK", "RCF"]
YEAR = official.FinancialYear(2025)


def _records(seed: int = 7, n: int = 600) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        test = date(2025, 3, 1) + timedelta(days=rng.randrange(0, 425))  # March 2025 to April 2026
        code = rng.choice(CODES)
        out.append(
            {
                "provider": rng.choice(PROVIDERS),
                "code": code,
                "practice": rng.choice(PRACTICES),
                "source": rng.choice(["01", "03", "04", "05"]),
                "test": test,
                "age": rng.choice([None, *range(100)]),
                "sex": rng.choice(["0", "1", "2", "9", None]),
                "modality": nicip.modality(code),
                "acc": f"A{i:05d}",
            }
        )
    return out


RECORDS = _records()


@pytest.fixture(scope="module")
def snap(empty_store_template, tmp_path_factory):
    d = tmp_path_factory.mktemp("naive") / "store"
    shutil.copytree(empty_store_template, d)
    subs: dict[tuple[str, date], int] = {}
    for r in RECORDS:
        period = (r["test"].replace(day=28) + timedelta(days=4)).replace(day=1)
        subs.setdefault((r["provider"], period), len(subs) + 1)
    with store.writer(d) as con:
        con.executemany(
            """INSERT INTO submission (submission_id, provider_code, period, received_at, submitted_on, file_name,
                   sha256, format, status, timeliness, rows_read, rows_accepted, rows_rejected, rows_with_warnings)
               VALUES (?, ?, ?, ?, ?, ?, ?, 'csv', 'accepted', 'on_time', 0, 0, 0, 0)""",
            [
                (sid, prov, per, datetime(per.year, per.month, 5), per, f"DID_{prov}_{per:%Y%m}.csv", f"{sid:064x}")
                for (prov, per), sid in subs.items()
            ],
        )
        con.executemany(
            """INSERT INTO record (submission_id, provider_code, site_code, accession_number, patient_pseudo_id,
                   age_at_test, sex, practice_code, patient_source, test_date, nicip_code, modality, body_area,
                   test_group, activity_month)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                (
                    subs[(r["provider"], (r["test"].replace(day=28) + timedelta(days=4)).replace(day=1))],
                    r["provider"],
                    r["provider"] + "01",
                    r["acc"],
                    "P" + r["acc"],
                    r["age"],
                    r["sex"],
                    r["practice"],
                    r["source"],
                    r["test"],
                    r["code"],
                    r["modality"],
                    nicip.decode_body_area(r["code"]),
                    nicip.test_group(r["code"]),
                    r["test"].replace(day=1),
                )
                for r in RECORDS
            ],
        )
        store.publish(con, d)
    return get_snapshot(d)


@pytest.fixture(autouse=True)
def _exact_rule(monkeypatch):
    monkeypatch.setenv("DID_SUPPRESS_UP_TO", "0")
    monkeypatch.setenv("DID_ROUND_TO", "1")
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")


def _in_year(r: dict) -> bool:
    return YEAR.first_month <= r["test"] <= date(2026, 3, 31)


def test_kh12_against_a_loop(snap):
    to_column = {m: col for col, mods in official.KH12_COLUMNS.items() for m in mods}
    naive = Counter((r["provider"], to_column[r["modality"] or "Unknown"]) for r in RECORDS if _in_year(r))
    table = official.kh12(snap, YEAR)
    for row in table.iter_rows(named=True):
        for col in official.KH12_COLUMNS:
            expected = (
                sum(v for (p, c), v in naive.items() if c == col)
                if row["provider_code"] == official.ENGLAND_CODE
                else naive[(row["provider_code"], col)]
            )
            assert row[col] == expected, (row["provider_code"], col)
        assert row["total"] == sum(row[c] for c in official.KH12_COLUMNS)
    assert table.height == 1 + len({r["provider"] for r in RECORDS if _in_year(r)})


@pytest.mark.parametrize("month", [date(2025, 4, 1), date(2025, 12, 1), date(2026, 3, 1)])
def test_commissioner_and_gpda_tables_against_a_loop(snap, month):
    sub_icb = dict(zip(practices()["practice_code"], practices()["sub_icb_code"], strict=True))
    in_month = [r for r in RECORDS if r["test"].replace(day=1) == month]
    naive = Counter((sub_icb.get(r["practice"], official.NOT_KNOWN), r["modality"] or "Unknown") for r in in_month)
    period = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    table = official.activity_by_commissioner(snap, period, "sub_icb")
    for row in table.iter_rows(named=True):
        for m in official.MODALITY_COLUMNS:
            expected = (
                sum(v for (s, mm), v in naive.items() if mm == m)
                if row["sub_icb_code"] == official.ENGLAND_CODE
                else naive[(row["sub_icb_code"], m)]
            )
            assert row[m] == expected, (row["sub_icb_code"], m)
    gpda = Counter(
        (sub_icb.get(r["practice"], official.NOT_KNOWN), nicip.test_group(r["code"]))
        for r in in_month
        if r["source"] == "04" and nicip.test_group(r["code"])
    )
    for row in official.gp_direct_access_by_commissioner(snap, period).iter_rows(named=True):
        if row["sub_icb_code"] != official.ENGLAND_CODE:
            assert [row[g] for g in nicip.TEST_GROUPS] == [gpda[(row["sub_icb_code"], g)] for g in nicip.TEST_GROUPS]


def _three_figures(got: float, exact: float) -> bool:
    """`got` is `exact` to 3 significant figures, with no float noise (a tie may go either way)."""
    if exact == 0:
        return got == 0
    unit = 10 ** (math.floor(math.log10(abs(exact))) - 2)
    return abs(got - exact) <= unit / 2 * (1 + 1e-9) and got == float(f"{got:.3g}")


def test_dose_against_a_loop(snap):
    rows = [r for r in RECORDS if _in_year(r)]
    doses = [nicip.dose_msv(r["code"]) for r in rows]
    collective_msv = sum(d for d in doses if d is not None)
    summary = dose.dose_summary(snap, CENTRAL, YEAR).row(0, named=True)
    assert summary["examinations"] == len(rows)
    assert summary["examinations_with_dose"] == sum(d is not None for d in doses)
    assert _three_figures(summary["collective_dose_man_sv"], collective_msv / 1000)

    def band(age):
        return next((label for label, lo, hi in DOSE_AGE_BANDS if age is not None and lo <= age <= hi), "Not known")

    sexes = {"1": "Male", "2": "Female"}
    by_cell: Counter = Counter()
    for r, d in zip(rows, doses, strict=True):
        by_cell[(band(r["age"]), sexes.get(r["sex"], "Not known"))] += d or 0
    pop = population().filter(org_type="REGION")
    for row in dose.dose_by_age_sex(snap, CENTRAL, YEAR).iter_rows(named=True):
        key = (row["age_band"], row["sex"])
        assert _three_figures(row["collective_dose_man_sv"], by_cell[key] / 1000), key
        if row["population"] is not None:
            lo, hi = next((lo, hi) for label, lo, hi in DOSE_AGE_BANDS if label == row["age_band"])
            people = sum(
                p
                for a, s, p in zip(pop["age"], pop["sex"], pop["patients"], strict=True)
                if lo <= a <= hi and s == row["sex"][0]
            )
            assert row["population"] == people
            assert _three_figures(row["per_caput_usv"], by_cell[key] * 1000 / people), key
    by_modality = {r["modality"]: r for r in dose.dose_by_modality(snap, CENTRAL, YEAR).iter_rows(named=True)}
    for m in {r["modality"] or "Unknown" for r in rows}:
        mine = [d for r, d in zip(rows, doses, strict=True) if (r["modality"] or "Unknown") == m]
        assert by_modality[m]["examinations"] == len(mine)
        assert _three_figures(by_modality[m]["collective_dose_man_sv"], sum(d or 0 for d in mine) / 1000), m
