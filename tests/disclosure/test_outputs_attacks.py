"""An attacker against the waiting-times, scanner-utilisation and official outputs (issue #15).

One hand-made store: PROVIDERS providers, each with one busy site and one site of 1–7
examinations, a few busy modalities and exactly one modality of 1–7 examinations in the month,
and waits of 0–90 days. For each attack the attacker works only from what a role can obtain
(the query functions called with that role's Scope, as pages and exports call them). Each attack
is run twice:
(a) on the old outputs — the same role with the perturbation switched off
    (DID_PERTURB_UP_TO=0: counts suppressed and rounded, every figure from the exact counts, which
    is what the code did before), or the exact tables where the old code published those; the
    attack must recover most hidden counts there, so the test can fail;
(b) on the protected outputs, where it must recover the true count no more often than
    RECOVERY_LIMIT of the targets, and nothing derived or ranked may remain on a suppressed row.
True counts come from the same query with the CENTRAL scope.
"""

from __future__ import annotations

import random
import shutil
from datetime import date, timedelta

import polars as pl
import pytest

from did_model.scope import CENTRAL, Scope
from ingest import store
from queries import equipment, official, waits
from queries.connection import Snapshot

MONTH = date(2026, 2, 1)
PERIOD = date(2026, 3, 1)  # the official tables for period March report February
PROVIDERS = [f"R{i:02d}" for i in range(100)]
MODALITIES = ["Plain radiography", "Ultrasound", "CT", "MRI"]
RECOVERY_LIMIT = 0.35  # at most this share of targets recovered exactly (a guess does about 1 in 5)
OLD_AT_LEAST = 0.6  # the same attack on the old outputs recovers at least this share


def _records() -> list[tuple]:
    """(provider, site, modality, test date, wait in days) for every record."""
    rng = random.Random(15)
    rows = []
    for provider in PROVIDERS:
        small = rng.choice(MODALITIES)
        for modality in MODALITIES:
            n = rng.randint(1, 7) if modality == small else rng.randint(12, 60)
            for _ in range(n):
                site = f"{provider}02" if rng.random() < 0.08 else f"{provider}01"
                rows.append((provider, site, modality, MONTH + timedelta(days=rng.randrange(28)), rng.randrange(91)))
        for _ in range(rng.randint(1, 7)):  # the small site: one examination a day at most
            rows.append(
                (provider, f"{provider}03", "MRI", MONTH + timedelta(days=rng.randrange(28)), rng.randrange(91))
            )
    return rows


@pytest.fixture(scope="module")
def snap(tmp_path_factory, empty_store_template) -> Snapshot:
    store_dir = tmp_path_factory.mktemp("attacks") / "store"
    shutil.copytree(empty_store_template, store_dir)
    records = pl.DataFrame(
        [
            (
                p,
                site,
                f"A{i:06d}",
                test - timedelta(days=wait),
                test - timedelta(days=wait),
                test,
                test,
                modality,
                test.replace(day=1),
            )
            for i, (p, site, modality, test, wait) in enumerate(_records())
        ],
        schema=[
            "provider_code",
            "site_code",
            "accession_number",
            "request_date",
            "request_received_date",
            "test_date",
            "report_date",
            "modality",
            "activity_month",
        ],
        orient="row",
    ).with_columns(submission_id=pl.lit(1), patient_source=pl.lit("03"))
    with store.writer(store_dir) as con:
        # ~11,000 rows: one INSERT from the frame, not a statement a row (executemany took minutes).
        con.register("attack_records", records.to_arrow())
        con.execute("INSERT INTO record BY NAME SELECT * FROM attack_records")
        con.execute("DELETE FROM ref_equipment")
        con.executemany(
            "INSERT INTO ref_equipment VALUES (?, 'MRI', 1, 60.0, false)",
            [(f"{p}{n}",) for p in PROVIDERS for n in ("01", "02", "03")],
        )
        store.publish(con, store_dir)
    s = Snapshot(store.current_snapshot(store_dir))
    yield s
    s.close()


def _provider(code: str) -> Scope:
    return Scope("provider", providers=frozenset({code}))


def _rate(hits: int, targets: int) -> float:
    assert targets >= 30, "too few targets to judge the attack"
    return hits / targets


# --- official tables: a row total minus its shown cells --------------------------------------------


def _official_targets(exact: pl.DataFrame, published: pl.DataFrame) -> dict[tuple[str, str], int]:
    """(provider, modality) -> the exact count, for every cell the published table hides."""
    shown = {r["provider_code"]: r for r in published.iter_rows(named=True)}
    return {
        (r["provider_code"], m): r[m]
        for r in exact.iter_rows(named=True)
        if r["provider_code"] != official.ENGLAND_CODE
        for m in MODALITIES
        if shown[r["provider_code"]][m] is None
    }


def total_minus_parts(table: pl.DataFrame, targets: dict[tuple[str, str], int]) -> int:
    """Hidden cells recovered as the row total minus the row's other cells."""
    rows = {r["provider_code"]: r for r in table.iter_rows(named=True)}
    hits = 0
    for (provider, modality), true in targets.items():
        row = rows[provider]
        others = [row[m] for m in official.MODALITY_COLUMNS if m != modality]
        if row["total"] is None or any(v is None for v in others):
            continue
        hits += max(1, row["total"] - sum(others)) == true
    return hits


def test_official_total_minus_parts(snap, monkeypatch):
    published = official.activity_by_provider(snap, PERIOD)
    for name, value in (("DID_SUPPRESS_UP_TO", "0"), ("DID_ROUND_TO", "1"), ("DID_PERTURB_UP_TO", "0")):
        monkeypatch.setenv(name, value)
    exact = official.activity_by_provider(snap, PERIOD)
    targets = _official_targets(exact, published)
    assert all(1 <= n <= 7 + 2 for n in targets.values())  # 8 or 9 can be perturbed down into 1–7
    assert _rate(total_minus_parts(exact, targets), len(targets)) == 1.0  # what unprotected figures give
    rows = {r["provider_code"]: r for r in published.iter_rows(named=True)}
    assert all(rows[p]["suppressed"] for p, _ in targets)
    assert _rate(total_minus_parts(published, targets), len(targets)) <= RECOVERY_LIMIT


# --- waiting times: shares give the exact count back ------------------------------------------------


def shares_to_count(row: dict, window: int = 4) -> int | None:
    """The only record count near the published (rounded) one for which every published share is
    a whole number of records, or None."""
    if row["records"] is None:
        return None
    shares = [row[waits.share_column(t)] for t in waits.SHARE_THRESHOLDS]
    fits = [
        n
        for n in range(max(1, row["records"] - window), row["records"] + window + 1)
        if all(abs(s * n - round(s * n)) < 1e-6 for s in shares)
    ]
    return fits[0] if len(fits) == 1 else None


def _waits_attack(snap: Snapshot) -> tuple[int, int]:
    hits = targets = 0
    for provider in PROVIDERS:
        f = waits.WaitFilter(MONTH, MONTH, provider=provider)
        true = waits.wait_summary(snap, CENTRAL, f)["records"][0]
        row = waits.wait_summary(snap, _provider(provider), f).row(0, named=True)
        targets += 1
        hits += shares_to_count(row) == true
    return hits, targets


def test_waits_shares_do_not_give_the_count_back(snap, monkeypatch):
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")
    assert _rate(*_waits_attack(snap)) >= OLD_AT_LEAST
    monkeypatch.delenv("DID_PERTURB_UP_TO")
    assert _rate(*_waits_attack(snap)) <= RECOVERY_LIMIT


def test_waits_suppressed_group_shows_no_median_or_share(snap):
    gp = Scope("gp", practice="A81001")
    f = waits.WaitFilter(MONTH, MONTH)
    table = waits.wait_summary(snap, gp, f, "modality")
    assert table["records"].null_count() == 0  # national modalities are large
    # Which small groups end up hidden depends on the store's secret: look until one is.
    hidden, raj, code = None, None, None
    for code in PROVIDERS:
        raj = _provider(code)
        mine = waits.wait_summary(snap, raj, waits.WaitFilter(MONTH, MONTH, provider=code), "modality")
        hidden = mine.filter(pl.col("suppressed"))
        if hidden.height:
            break
    assert hidden is not None and hidden.height >= 1
    assert all(hidden[c].null_count() == hidden.height for c in waits.STAT_COLUMNS)
    dist = waits.wait_distribution(snap, raj, waits.WaitFilter(MONTH, MONTH, provider=code))
    assert (
        dist.filter(pl.col("cumulative_records").is_null())["cumulative_share"].null_count()
        == dist["cumulative_records"].null_count()
    )


def test_waits_same_cell_same_noise_from_every_output(snap):
    """A provider's row in the by-provider table and the same provider picked as a filter are the
    same cells, so they show the same figures (asking twice teaches nothing)."""
    code = PROVIDERS[3]
    scope = _provider(code)
    by = (
        waits.wait_summary(snap, scope, waits.WaitFilter(MONTH, MONTH), "provider")
        .filter(pl.col("provider_code") == code)
        .drop("provider_code")
    )
    one = waits.wait_summary(snap, scope, waits.WaitFilter(MONTH, MONTH, provider=code))
    assert by.equals(one)


# --- scanner utilisation: rate × denominator, and what a suppressed site keeps -----------------------


def rate_times_days(row: dict) -> int | None:
    """Examinations recovered as examinations per operating day × operating days."""
    if row["exams_per_operating_day"] is None or row["operating_days"] is None:
        return None
    return round(row["exams_per_operating_day"] * row["operating_days"])


def _equipment_attack(snap: Snapshot, f: equipment.UtilisationFilter) -> tuple[int, int]:
    central = equipment.site_utilisation(snap, CENTRAL, f)
    truth = dict(zip(central["site_code"], central["examinations"], strict=True))
    hits = targets = 0
    for provider in PROVIDERS:
        for row in equipment.site_utilisation(snap, _provider(provider), f).iter_rows(named=True):
            if truth[row["site_code"]] > 7:
                targets += 1
                hits += rate_times_days(row) == truth[row["site_code"]]
    return hits, targets


def test_equipment_rate_times_denominator(snap, monkeypatch):
    f = equipment.UtilisationFilter("MRI", MONTH, MONTH)
    monkeypatch.setenv("DID_PERTURB_UP_TO", "0")
    assert _rate(*_equipment_attack(snap, f)) >= OLD_AT_LEAST
    monkeypatch.delenv("DID_PERTURB_UP_TO")
    assert _rate(*_equipment_attack(snap, f)) <= RECOVERY_LIMIT


def test_equipment_suppressed_site_keeps_no_rate_rank_or_place(snap):
    f = equipment.UtilisationFilter("MRI", MONTH, MONTH)
    seen = 0
    for provider in PROVIDERS[:20]:
        sites = equipment.site_utilisation(snap, _provider(provider), f)
        hidden = sites.filter(pl.col("suppressed"))  # the small site, unless perturbed above 7
        seen += hidden.height
        for c in [*equipment.RATE_COLUMNS, "operating_days", "rank", "outlier"]:
            assert hidden[c].null_count() == hidden.height, c
        flags = sites["suppressed"].to_list()
        assert flags == sorted(flags)  # every suppressed row after every published one
    assert seen >= 10
    national = equipment.site_utilisation(snap, Scope("provider", providers=frozenset(PROVIDERS)), f)
    published = national.filter(~pl.col("suppressed") & pl.col("exams_per_scanner_per_day").is_not_null())
    assert national.filter(pl.col("suppressed"))["rank"].null_count() == national["suppressed"].sum()
    assert published["rank"].max() <= published.height  # no place left where a hidden site was
