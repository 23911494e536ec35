"""The provider profile (queries/profile.py, `did report provider-profile`) on the shared synthetic
store: its figures equal the pages' and exports' for the same provider and months (golden), its
peer quartiles equal a naive computation, scope refuses what the pages refuse, and the command
writes HTML, PDF, xlsx and CSVs — or, for a bad provider or month, one line and nothing."""

from __future__ import annotations

import argparse
import json
from datetime import date

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import did_cli
import working_store
from did_model.rollups import counted_record_sql
from did_model.scope import CENTRAL, Scope, ScopeError
from queries import peers, productivity, profile, quality, turnaround, urgency, waiting_list, waits
from queries.connection import get_snapshot
from queries.exports import registry
from queries.reports.provider_profile import build_provider_profile

pytestmark = pytest.mark.slow
LAST = date(2026, 4, 1)  # the synthetic store's last activity month (its one DIDS v2.0 month)
MONTHS = 6


@pytest.fixture(scope="module")
def store(synthetic_store):
    return synthetic_store[0]


@pytest.fixture(scope="module")
def provider(store):
    """The busiest provider (as the bench picks it)."""
    snap = get_snapshot(store)
    return snap.query(
        "SELECT provider_code FROM rollup_activity GROUP BY 1 ORDER BY sum(records) DESC, 1 LIMIT 1"
    ).item()


@pytest.fixture(scope="module")
def packs(store, provider):
    snap = get_snapshot(store)
    own = Scope("provider", providers=frozenset({provider}), user="test")
    return {
        "central": (CENTRAL, profile.build_profile(snap, CENTRAL, provider, LAST, MONTHS)),
        "provider": (own, profile.build_profile(snap, own, provider, LAST, MONTHS)),
    }


def _export_args(**kw) -> argparse.Namespace:
    base = dict(
        interval="request_to_test", by="modality", modality=None, source=None, provider=None, first=None, last=None
    )
    return argparse.Namespace(**{**base, **kw})


def _same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns
    assert a.to_dicts() == b.to_dicts()


@pytest.mark.parametrize("who", ["central", "provider"])
def test_the_pack_equals_the_pages_and_exports(store, provider, packs, who):
    scope, pack = packs[who]
    snap = get_snapshot(store)
    t, first = pack.tables, pack.window.first
    assert pack.window == profile.Window(date(2025, 11, 1), LAST)
    measures = {r["key"]: r for r in t["measures"].iter_rows(named=True)}
    for interval, key in (("request_to_test", "median_request_to_test"), ("test_to_report", "median_test_to_report")):
        # the waiting-times export, by provider: England and this provider's rows
        export = registry()["waiting-times"].build(
            snap, scope, _export_args(interval=interval, by="provider", first=first, last=LAST)
        )
        _same(t[f"waits_{interval}"], export.filter(pl.col("provider_code").is_in([waits.ENGLAND, provider])))
        # the page with the provider picked: its headline median is the pack's
        headline = waits.wait_summary(snap, scope, waits.WaitFilter(first, LAST, interval, provider=provider))
        assert measures[key]["provider"] == headline["median_days"][0]
    by_month = registry()["waiting-times"].build(
        snap, scope, _export_args(by="month", provider=provider, first=first, last=LAST)
    )
    _same(t["waits_by_month"], by_month)
    # DIDS v2.0: April 2026 only
    assert pack.urgency_months == (LAST, LAST)
    mine = urgency.UrgencyFilter(LAST, LAST, provider=provider)
    assert measures["share_within_28d"]["provider"] == turnaround.turnaround(snap, scope, mine)["share_within_28d"][0]
    # the Waiting times page's "By urgency" headline with the provider picked: its USC median
    usc = urgency.urgency_summary(snap, scope, mine).filter(pl.col("priority") == "Urgent suspected cancer")
    assert measures["median_usc_request_to_procedure"]["provider"] == usc["median_days"][0]
    # the scanner page's sites summed by provider: scans per scanner-hour
    timed = productivity.timed_months(snap, first, LAST)
    assert timed is not None
    for m in profile.SCANNER_MODALITIES:
        table = productivity.provider_productivity(snap, scope, productivity.ProductivityFilter(m, *timed))
        row = table.filter(pl.col("provider_code") == provider)["scans_per_scanner_hour"].to_list()
        assert [measures[f"scans_per_scanner_hour:{m}"]["provider"]] == (row or [None]), m
    listed = waiting_list.waiting_list(snap, scope, mine)
    assert measures["share_six_weeks_or_more"]["provider"] == listed["share_six_weeks_or_more"][0]
    _same(t["waiting_list_by_month"], waiting_list.waiting_list(snap, scope, mine, "month"))
    # the Provider detail page's data quality table
    scores = quality.provider_scores(snap, scope, date(2025, 12, 1), date(2026, 5, 1), provider)
    assert t["quality"]["score"].to_list() == scores.sort("period")["score"].to_list()
    # every count shown outside the central team is rounded to 5
    if who == "provider":
        for name in ("activity", "activity_by_modality", "waits_request_to_test", "turnaround", "dose"):
            counts = t[name].select(
                pl.col(
                    "examinations"
                    if "examinations" in t[name].columns
                    else ("records" if "records" in t[name].columns else "reported")
                )
            )
            assert all(v is None or v % 5 == 0 for v in counts.to_series().to_list()), name


def test_central_figures_are_exact_counts_of_the_records(store, provider, packs):
    _, pack = packs["central"]
    snap = get_snapshot(store)
    # rollup_activity, as every activity page counts (on this store it is one short of `record` for
    # one provider-month: a rollup matter outside the profile, reported with issue 23)
    exact = snap.query(
        "SELECT sum(records)::BIGINT FROM rollup_activity "
        "WHERE provider_code = $p AND activity_month BETWEEN $f AND $l",
        {"p": provider, "f": date(2025, 11, 1), "l": LAST},
    ).item()
    measures = {r["key"]: r for r in pack.tables["measures"].iter_rows(named=True)}
    assert measures["examinations"]["provider"] == exact
    assert (
        pack.tables["activity_by_modality"].filter(pl.col("provider_code") == provider)["examinations"].sum() == exact
    )
    # the provider's records less the copies of outsourced examinations it submitted that count
    # at the other provider (ADR 0010), as every page counts them
    dosed = snap.query(
        counted_record_sql(
            """SELECT count(*) AS n, sum(n.dose_msv) AS msv FROM record r JOIN ref_nicip n USING (nicip_code)
               WHERE r.provider_code = $p AND r.activity_month BETWEEN $f AND $l AND n.dose_msv IS NOT NULL"""
        ),
        {"p": provider, "f": date(2025, 11, 1), "l": LAST},
    ).row(0)
    assert measures["dose_per_examination"]["provider"] == pytest.approx(dosed[1] / dosed[0])


def test_peer_quartiles_are_the_peers_own_figures(store, provider, packs):
    _, pack = packs["central"]
    snap = get_snapshot(store)
    first = pack.window.first
    expected = peers.peer_group(snap, provider, first, LAST)["provider_code"].to_list()
    assert pack.peer_codes == expected and len(expected) == peers.K
    medians = []
    for code in expected:  # each peer as the page shows it with that provider picked
        row = waits.wait_summary(snap, CENTRAL, waits.WaitFilter(first, LAST, provider=code))
        if row["median_days"][0] is not None:
            medians.append(row["median_days"][0])
    row = pack.tables["measures"].filter(pl.col("key") == "median_request_to_test").row(0, named=True)
    assert row["peers_with_figure"] == len(medians)
    assert [row["peer_p25"], row["peer_median"], row["peer_p75"]] == pytest.approx(
        list(np.percentile(medians, [25, 50, 75]))  # numpy's default is linear interpolation
    )


def test_what_stands_out_is_written_from_the_figures(packs):
    _, pack = packs["central"]
    outside = pack.tables["measures"].filter(pl.col("against_peers").str.contains("above|below"))
    if outside.is_empty():
        assert "no measure lies outside" in pack.summary
    else:
        named = [r for r in outside.iter_rows(named=True) if r["measure"][1:] in pack.summary]
        assert 1 <= len(named) <= 3
        for r in named:  # each with its own figure and its peers' quartiles, as the table holds them
            side = r["against_peers"].split()[0]
            shown = f"{r['measure'][1:]} {profile.show(r['provider'], r['unit'])}, {side} the middle half of its peers"
            assert shown in pack.summary
            assert (
                f"({profile.show(r['peer_p25'], r['unit'])} to {profile.show(r['peer_p75'], r['unit'])})"
                in pack.summary
            )
    assert "\n" not in pack.summary and pack.summary.endswith(".")


@pytest.mark.parametrize("who", ["central", "provider"])
def test_sections_read_side_by_side_make_the_pack_built_one_by_one(store, provider, packs, who, monkeypatch):
    """build_profile reads its sections on PROFILE_THREADS threads: the pack is the one built a
    section at a time, table for table, in the same order, with the same figures and summary."""
    scope, side_by_side = packs[who]
    monkeypatch.setattr(profile, "PROFILE_THREADS", 1)
    one_by_one = profile.build_profile(get_snapshot(store), scope, provider, LAST, MONTHS)
    assert profile.PROFILE_THREADS == 1 and list(side_by_side.tables) == list(one_by_one.tables)
    for name, table in one_by_one.tables.items():
        assert_frame_equal(side_by_side.tables[name], table, rel_tol=1e-9)  # sums of floats: any order
    assert side_by_side.summary == one_by_one.summary
    assert side_by_side.coverage == one_by_one.coverage and side_by_side.urgency_months == one_by_one.urgency_months


@pytest.mark.parametrize("who", ["central", "provider"])
def test_a_pack_answered_partly_from_the_memo_is_the_pack_read_afresh(store, provider, packs, who):
    """The dashboard's snapshot keeps query results (QueryMemo): after another provider's pack,
    most of this one's queries (England's and every provider's figures) are answered from the
    memo, and the pack is the one read afresh, table for table."""
    scope, afresh = packs[who]
    snap = get_snapshot(store, memo=True)
    other = next(c for c in profile.profile_providers(snap, CENTRAL)["provider_code"].to_list() if c != provider)
    other_scope = CENTRAL if who == "central" else Scope("provider", providers=frozenset({other}), user="test")
    profile.build_profile(snap, other_scope, other, LAST, MONTHS)
    hits = snap.memo.hits
    remembered = profile.build_profile(snap, scope, provider, LAST, MONTHS)
    assert snap.memo.hits - hits >= 20
    assert list(remembered.tables) == list(afresh.tables)
    for name, table in afresh.tables.items():
        assert_frame_equal(remembered.tables[name], table, rel_tol=1e-9)
    assert remembered.summary == afresh.summary and remembered.coverage == afresh.coverage


def test_scope(store, provider):
    snap = get_snapshot(store)
    other = Scope("provider", providers=frozenset({"ZZZ"}), user="other")
    with pytest.raises(ScopeError):
        profile.build_profile(snap, other, provider, LAST, MONTHS)


def test_the_command_writes_html_pdf_xlsx_and_csvs(store, provider, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("DID_LOG_FILE", str(tmp_path / "did.log"))
    out = tmp_path / "out"
    argv = ["report", "provider-profile", "--provider", provider.lower(), "--period", "2026-04", "--months", "6"]
    assert did_cli.main([*argv, "--out", str(out), "--store", str(store)]) == 0
    stem = f"provider-profile_2026-04_{provider}"
    names = {p.name for p in out.iterdir()}
    assert {f"{stem}.html", f"{stem}.pdf", f"{stem}.xlsx", f"{stem}_measures.csv", f"{stem}_dose.csv"} <= names
    assert (out / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
    html = (out / f"{stem}.html").read_text()
    assert '<html lang="en-GB">' in html and "@page" in html and 'scope="col"' in html and "<caption>" in html
    # the same pack as the library builds
    again = build_provider_profile(get_snapshot(store), CENTRAL, provider, LAST, MONTHS, pdf=False)
    assert (
        pl.read_csv(out / f"{stem}_measures.csv")["measure"].to_list() == again.tables["measures"]["measure"].to_list()
    )
    assert json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])["action"] == "report provider-profile"


@pytest.mark.parametrize(
    ("provider_arg", "period", "says"),
    [("ZZZ99", "2026-04", "provider ZZZ99 has no examinations"), (None, "2030-01", "no activity for 2030-01")],
)
def test_a_bad_provider_or_month_is_one_line_and_writes_nothing(
    store, provider, tmp_path, monkeypatch, capsys, provider_arg, period, says
):
    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("DID_LOG_FILE", str(tmp_path / "did.log"))
    out = tmp_path / "out"
    argv = ["report", "provider-profile", "--provider", provider_arg or provider, "--period", period]
    capsys.readouterr()
    assert did_cli.main([*argv, "--out", str(out), "--store", str(store)]) == did_cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
    assert not out.exists()


def test_a_provider_user_asking_for_another_is_refused_and_audited(store, provider, tmp_path, monkeypatch, capsys):
    from queries import users

    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.setenv("DID_LOG_FILE", str(tmp_path / "did.log"))
    monkeypatch.setenv("DID_USERS_FILE", str(tmp_path / "users.json"))
    users.add("someone", "provider", "a long enough password", providers=["ZZZ"])
    out = tmp_path / "out"
    argv = ["report", "provider-profile", "--provider", provider, "--period", "2026-04", "--user", "someone"]
    capsys.readouterr()
    assert did_cli.main([*argv, "--out", str(out), "--store", str(store)]) == did_cli.EXIT_USAGE
    assert capsys.readouterr().err.startswith("did: refused:")
    assert '"action": "refused report provider-profile"' in (tmp_path / "audit.jsonl").read_text()
    assert not out.exists()


def _naive_shares(store, first, last) -> dict[tuple[str, str], float]:
    """(provider, ICB) → the ICB's registered patients' share of the provider's examinations, by a
    plain loop over the records and the practice reference."""
    icb_of = dict(working_store.rows(store, "SELECT practice_code, icb_code FROM ref_practice"))
    rows = working_store.rows(
        store,
        "SELECT provider_code, practice_code FROM record WHERE activity_month BETWEEN ? AND ?",
        [first, last],
    )
    totals: dict[str, int] = {}
    by_icb: dict[tuple[str, str], int] = {}
    for provider, practice in rows:
        totals[provider] = totals.get(provider, 0) + 1
        icb = icb_of.get(practice)
        if icb is not None:
            by_icb[(provider, icb)] = by_icb.get((provider, icb), 0) + 1
    return {key: n / totals[key[0]] for key, n in by_icb.items()}


def test_a_commissioner_opens_only_its_providers_packs_as_their_staff_see_them(store, provider):
    """A commissioner's providers: its registered patients made ≥ 10% of their examinations (a
    naive count over the records). Their packs are the ones their own staff get; any other
    provider's is refused."""
    snap = get_snapshot(store)
    window = profile.window_for(snap, LAST, MONTHS)
    shares = _naive_shares(store, window.first, window.last)
    icb = max((icb for _, icb in shares), key=lambda i: sum(1 for p, j in shares if j == i))
    scope = Scope("commissioner", icbs=frozenset({icb}), user="icb")
    expected = sorted(p for (p, i), share in shares.items() if i == icb and share >= profile.COMMISSIONER_SHARE)
    assert profile.commissioned_providers(snap, scope, window.first, window.last) == expected
    assert expected and len(expected) < len({p for p, _ in shares})
    mine = expected[0]
    staff = Scope("provider", providers=frozenset({mine}), user="staff")
    theirs = profile.build_profile(snap, staff, mine, LAST, MONTHS).tables
    for name, table in profile.build_profile(snap, scope, mine, LAST, MONTHS).tables.items():
        # the same figures; a float summed by DuckDB's threads may differ in its last bits between
        # two runs (seen once under a full suite's load, in the scanner-hours table)
        assert_frame_equal(table, theirs[name], rel_tol=1e-9)
    other = next(p for p in sorted({p for p, _ in shares}) if p not in expected)
    with pytest.raises(ScopeError, match="fewer than 10%"):
        profile.build_profile(snap, scope, other, LAST, MONTHS)


def test_peer_histograms_are_the_rows_asked_alone_and_one_statement_serves_every_peer_list(store):
    """A peer group's histograms are read for every provider and filtered (one statement the
    dashboard's memo keeps for every pack): the rows are those a statement for the peers alone
    gives, and a second peer list runs no new statement."""
    from queries.connection import QueryMemo, Snapshot

    base = get_snapshot(store)
    snap = Snapshot(base.path, memo=QueryMemo())
    codes = snap.query("SELECT DISTINCT provider_code FROM rollup_waits ORDER BY 1")["provider_code"].to_list()
    first, second = codes[:3], codes[3:6]
    wf = waits.WaitFilter(date(2026, 1, 1), LAST, "request_to_test")
    uf = urgency.UrgencyFilter(date(2026, 1, 1), LAST)

    def alone(table: str, cols: str, params: dict, providers: list[str]) -> pl.DataFrame:
        # the naive statement: the providers' own rows, filtered in SQL
        return snap.query(
            f"SELECT provider_code, {cols}, sum(records)::BIGINT AS records FROM {table} "  # noqa: S608 - constants
            "WHERE activity_month BETWEEN $first AND $last AND list_contains($providers, provider_code) "
            + ("AND interval_kind = $interval " if "interval" in params else "")
            + "GROUP BY ALL",
            {**params, "providers": providers},
        ).sort(pl.all())

    for providers in (first, second):
        got = waits._histogram(snap, wf, ["provider"], providers).sort(pl.all())
        want = alone(
            "rollup_waits", "days", {"first": wf.first_month, "last": LAST, "interval": wf.interval}, providers
        )
        assert set(got["provider_code"]) == set(providers)
        assert_frame_equal(got.select(want.columns), want)
        got = urgency._histogram(snap, uf, ["provider"], providers, urgency.WAITS).sort(pl.all())
        want = alone(
            "rollup_waits_v2_provider",
            "priority, days",
            {"first": uf.first_month, "last": LAST, "interval": uf.interval},
            providers,
        )
        assert_frame_equal(got.select(want.columns), want, check_dtypes=False)
    held = len(snap.memo)
    waits._histogram(snap, wf, ["provider"], codes[6:9])
    urgency._histogram(snap, uf, ["provider"], codes[6:9], urgency.WAITS)
    assert len(snap.memo) == held  # answered from the statement already run
    # one provider alone (a provider's own view) is still read alone
    waits._histogram(snap, wf, ["provider"], codes[:1])
    assert len(snap.memo) == held + 1
