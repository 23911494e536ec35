"""Collection integrity (issue 16, items 1-3): a provider touches only its own data, codes are
ASCII ODS codes checked before anything is written, and the system stamps the submission date.

Each attack of the issue is tried as it was reported; where it is refused, the store is shown
unchanged.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import duckdb
import numpy as np
import pytest

import did_cli
import didfiles
import working_store
from did_model.scope import CENTRAL, Scope
from ingest import loader, local_codes, ownership, spec_pack, store
from ingest.submit import submit_bytes
from ingest.synth.plan import build_plan, period_of

_q = working_store.rows
RR8_USER = Scope("provider", providers=frozenset({"RR8"}), user="rr8-user")


def _recs(provider: str, n: int = 3, **changes) -> list[dict]:
    return [
        didfiles.row(site_code=f"{provider}01", accession_number=f"{provider}{i:04d}", **changes)
        for i in range(1, n + 1)
    ]


def _submit(store_dir, path, *extra) -> int:
    return did_cli.main(["submit", str(path), "--store", str(store_dir), "--submitted-on", "2026-02-10", *extra])


def _state(store_dir):
    """Everything a refused submission must leave as it was."""
    return (
        _q(store_dir, "SELECT submission_id, provider_code, period, status FROM submission ORDER BY ALL"),
        _q(store_dir, "SELECT provider_code, site_code, accession_number FROM record ORDER BY ALL"),
        _q(store_dir, "SELECT count(*) FROM issue"),
        store.current_snapshot(store_dir),
    )


@pytest.fixture(scope="module")
def two_trusts_template(empty_store_template, tmp_path_factory):
    """RAE and RBK have each submitted their February file; built once, never written."""
    base = tmp_path_factory.mktemp("two-trusts")
    shutil.copytree(empty_store_template, base / "store")
    for provider in ("RAE", "RBK"):
        path = didfiles.write(base / f"DID_{provider}_202602.csv", _recs(provider))
        assert _submit(base / "store", path) == 0
    return base / "store"


@pytest.fixture
def two_trusts(two_trusts_template, tmp_path):
    """A copy of the two trusts' store for one test."""
    shutil.copytree(two_trusts_template, tmp_path / "store")
    return tmp_path / "store"


# --- 1. ownership ------------------------------------------------------------------------------


def test_a_file_named_for_another_provider_is_refused_and_moves_nothing(two_trusts, tmp_path, capsys):
    """`did submit DID_RAE_202611.csv --provider RBK` moved RAE's records under RBK."""
    before = _state(two_trusts)
    capsys.readouterr()
    path = didfiles.write(tmp_path / "again" / "DID_RAE_202602.csv", _recs("RAE"))
    assert _submit(two_trusts, path, "--provider", "RBK") == did_cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert "RAE" in err and "RBK" in err and len(err.splitlines()) == 1
    assert _state(two_trusts) == before


def test_the_file_name_is_checked_by_the_ingest_api_too(store_dir, tmp_path):
    path = didfiles.write(tmp_path / "DID_RAE_202602.csv", _recs("RAE"))
    with store.writer(store_dir) as con, pytest.raises(ownership.SubmissionRefused, match=r"RAE.*RBK"):
        loader.load_file(con, path, "RBK", "2026-02", date(2026, 2, 10))
    assert _q(store_dir, "SELECT count(*) FROM submission") == [(0,)]


def test_a_provider_not_in_the_reference_data_is_refused(store_dir, tmp_path, capsys):
    path = didfiles.write(tmp_path / "f.csv", _recs("ZZZ9"))
    assert _submit(store_dir, path, "--provider", "ZZZ9", "--period", "2026-02") == did_cli.EXIT_USAGE
    assert "ZZZ9 is not in the organisation reference data" in capsys.readouterr().err
    assert _q(store_dir, "SELECT count(*) FROM submission") == [(0,)]


def test_another_providers_site_is_rejected_record_by_record(two_trusts, tmp_path, capsys):
    """RBK sends RAE's site (owner by the ODS prefix: no site reference is loaded): DIDSX01, and
    RAE's records stay RAE's; RBK's new file supersedes only RBK's own month."""
    capsys.readouterr()
    path = didfiles.write(tmp_path / "rbk.csv", _recs("RAE", 2) + _recs("RBK", 1, report_date="2026-01-09"))
    assert _submit(two_trusts, path, "--provider", "RBK", "--period", "2026-02", "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"]["rejected"] == 2 and out["counts"]["accepted"] == 1
    assert {i["code"] for i in out["issues"]} == {"DIDSX01"}
    assert "not a site of RBK" in out["issues"][0]["message"]
    assert _q(two_trusts, "SELECT provider_code, count(*) FROM record GROUP BY ALL ORDER BY ALL") == [
        ("RAE", 3),
        ("RBK", 1),
    ]


def _sites(store_dir, *rows):
    con = duckdb.connect(str(store.store_path(store_dir)))
    try:
        con.executemany(
            "INSERT INTO ref_site (site_code, provider_code, open_date, close_date) VALUES (?, ?, ?, ?)", list(rows)
        )
    finally:
        con.close()


def test_the_site_reference_decides_who_owns_a_site(store_dir, tmp_path):
    """With a site reference, its provider owns the site whatever the code's prefix: RAE01 moved to
    RBK (a code kept across a merger) is RBK's, and no longer RAE's."""
    _sites(store_dir, ("RAE01", "RBK", date(2020, 1, 1), None), ("RBK01", "RBK", None, None))
    with store.writer(store_dir) as con:
        rae = loader.load_file(
            con, didfiles.write(tmp_path / "a.csv", _recs("RAE", 1)), "RAE", "2026-02", date(2026, 2, 10)
        )
        rbk = loader.load_file(
            con, didfiles.write(tmp_path / "b.csv", _recs("RAE", 1)), "RBK", "2026-02", date(2026, 2, 10)
        )
    assert [i["code"] for i in rae.issues] == ["DIDSX01"]
    assert "is not a site of RAE" in rae.issues[0]["message"]
    assert rbk.counts["accepted"] == 1 and not rbk.issues


def test_a_record_is_replaced_only_by_its_own_providers_file(store_dir, tmp_path):
    """(site, accession) identifies a record within its provider: when the site reference later
    gives RR801 to RXX, RXX's file does not take over (replace) the records RR8 sent."""
    with store.writer(store_dir) as con:
        loader.load_file(
            con, didfiles.write(tmp_path / "old.csv", didfiles.rows(2)), "RR8", "2026-02", date(2026, 2, 10)
        )
    _sites(store_dir, ("RR801", "RXX", None, None))
    again = [didfiles.row(accession_number="ACC00001", report_date="2026-01-09")]
    with store.writer(store_dir) as con:
        result = loader.load_file(con, didfiles.write(tmp_path / "new.csv", again), "RXX", "2026-03", date(2026, 3, 5))
    assert result.counts["replaced"] == 0 and result.counts["accepted"] == 1
    assert _q(store_dir, "SELECT provider_code, accession_number, report_date FROM record ORDER BY ALL") == [
        ("RR8", "ACC00001", date(2026, 1, 6)),
        ("RR8", "ACC00002", date(2026, 1, 6)),
        ("RXX", "ACC00001", date(2026, 1, 9)),
    ]


def test_a_provider_user_submits_only_its_own_providers_files(store_dir, tmp_path):
    data = didfiles.write(tmp_path / "f.csv", _recs("RTH")).read_bytes()
    with pytest.raises(ownership.NotYours, match="may not submit for provider RTH"):
        submit_bytes(data, "f.csv", "RTH", "2026-02", scope=RR8_USER, store_dir=store_dir)
    assert _q(store_dir, "SELECT count(*) FROM submission") == [(0,)]
    this_month = date.today().replace(day=1)  # in the DIDS version this month's files are sent in
    mine = (
        didfiles.write_v2(tmp_path / "g.csv", [didfiles.row_v2()])
        if spec_pack.version_for_period(this_month) == "2.0"
        else didfiles.write(tmp_path / "g.csv", didfiles.rows(1))
    )
    assert (
        submit_bytes(
            mine.read_bytes(), "g.csv", "RR8", f"{this_month:%Y-%m}", scope=RR8_USER, dry_run=True, store_dir=store_dir
        ).status
        == "accepted"
    )


def test_local_codes_are_scoped_and_checked_in_ingest(store_dir):
    with pytest.raises(local_codes.LocalCodeError, match="may not submit for provider RTH"):
        local_codes.notify(store_dir, "RTH", "LOC01", "XCHES", scope=RR8_USER)
    with pytest.raises(local_codes.LocalCodeError, match="may not submit for provider RTH"):
        local_codes.withdraw(store_dir, "RTH", "LOC01", scope=RR8_USER)
    with pytest.raises(local_codes.LocalCodeError, match="not in the organisation reference data"):
        local_codes.notify(store_dir, "ZZZ9", "LOC01", "XCHES", scope=CENTRAL)
    assert local_codes.notify(store_dir, "RR8", "LOC01", "XCHES", scope=RR8_USER).provider_code == "RR8"


# --- 2. ASCII ODS codes ------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["RÉ1", "RR８", "ＲR8", "R R8", "RR8\u0301", "RR8RR8", "R8"])
def test_a_provider_code_that_is_not_an_ascii_ods_code_is_refused(code):
    with pytest.raises(ownership.SubmissionRefused, match="not an ODS code"):
        ownership.provider_code(code)


def test_a_non_ascii_provider_leaves_the_store_publishable(store_dir, tmp_path, capsys):
    """`--provider "RÉ1"` passed the CLI check, loaded, and then no publish could succeed."""
    path = didfiles.write(tmp_path / "f.csv", _recs("RR8"))
    assert _submit(store_dir, path, "--provider", "RÉ1", "--period", "2026-02") == did_cli.EXIT_USAGE
    assert "'RÉ1' is not an ODS code" in capsys.readouterr().err
    assert _q(store_dir, "SELECT count(*) FROM submission") == [(0,)]
    with store.writer(store_dir) as con, pytest.raises(ownership.SubmissionRefused):
        loader.load_file(con, path, "RÉ1", "2026-02", date(2026, 2, 10))
    with pytest.raises(ownership.SubmissionRefused):
        submit_bytes(path.read_bytes(), "f.csv", "RÉ1", "2026-02", scope=CENTRAL, store_dir=store_dir)
    with pytest.raises(local_codes.LocalCodeError):
        local_codes.notify(store_dir, "RÉ1", "LOC01", "XCHES", scope=CENTRAL)
    assert _submit(store_dir, path, "--provider", "RR8", "--period", "2026-02") == 0  # and publishes


# --- 3. the system stamps the date -------------------------------------------------------------


@pytest.mark.parametrize(("when", "says"), [("9999-12-31", "in the future"), ("2026-01-31", "before the start")])
def test_a_submission_date_in_the_future_or_before_the_period_is_refused(store_dir, tmp_path, capsys, when, says):
    path = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(2))
    for command in ("submit", "validate"):
        assert did_cli.main([command, str(path), "--store", str(store_dir), "--submitted-on", when]) == 1
        assert says in capsys.readouterr().err
    assert _q(store_dir, "SELECT count(*) FROM submission") == [(0,)]
    with store.writer(store_dir) as con, pytest.raises(ownership.SubmissionRefused, match=says):
        loader.load_file(con, path, "RR8", "2026-02", date.fromisoformat(when))


def test_a_set_submission_date_is_audited(store_dir, tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("DID_AUDIT_LOG", str(log))
    monkeypatch.setenv("USER", "ops1")
    path = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(2))
    assert _submit(store_dir, path) == 0
    line = json.loads(log.read_text().splitlines()[-1])
    assert (line["user"], line["role"], line["action"]) == ("ops1", "central", "submit with a set submission date")
    assert (line["provider"], line["period"], line["submitted_on"]) == ("RR8", "2026-02", "2026-02-10")
    assert line["file"] == "DID_RR8_202602.csv" and line["at"]


def test_only_the_central_team_sets_the_submission_date(store_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    data = didfiles.write(tmp_path / "f.csv", didfiles.rows(1)).read_bytes()
    with pytest.raises(ownership.NotYours, match="may not set the submission date"):
        submit_bytes(data, "f.csv", "RR8", "2026-02", date(2026, 2, 10), scope=RR8_USER, store_dir=store_dir)
    assert not (tmp_path / "audit.jsonl").exists()
    result = submit_bytes(data, "f.csv", "RR8", "2026-02", date(2026, 2, 10), scope=CENTRAL, store_dir=store_dir)
    assert result.timeliness == "on_time"
    assert "set submission date" in (tmp_path / "audit.jsonl").read_text()


def test_records_dated_after_the_submission_date_are_rejected(store_dir, tmp_path):
    """DIDS051 / DIDS066 count from the stamped date: a test or report dated later is refused."""
    recs = [
        didfiles.row(accession_number="A1", test_date="2026-02-11", report_date="2026-02-11"),
        didfiles.row(accession_number="A2"),
    ]
    with store.writer(store_dir) as con:
        result = loader.load_file(
            con, didfiles.write(tmp_path / "f.csv", recs), "RR8", "2026-02", date(2026, 2, 10), dry_run=True
        )
    assert {i["code"] for i in result.issues} == {"DIDS051", "DIDS066"}
    assert result.counts["rejected"] == 1


def test_the_plan_never_dates_a_file_after_the_day_it_is_built():
    """The demo held 7 files 'received' after the day it was built."""
    months = [date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    as_of = date(2026, 11, 25)  # November's window has closed; December has not started
    plan = build_plan(months, 40, seed=0, clean=False, volume=np.ones(40), as_of=as_of)
    unbounded = build_plan(months, 40, seed=0, clean=False, volume=np.ones(40), as_of=date(2030, 1, 1))
    assert any(
        f.submitted_on > as_of or (f.resubmitted_on or date.min) > as_of
        for f in unbounded.files.values()
        if not f.missing
    ), "the test must plan some later files"
    for (_, m), f in plan.files.items():
        if period_of(months[m]) > as_of:
            assert f.missing  # December's files cannot have been sent
            continue
        if f.missing:
            continue
        assert period_of(months[m]) <= f.submitted_on <= as_of
        assert f.resubmitted_on is None or f.submitted_on <= f.resubmitted_on <= as_of
        assert not f.late or f.submitted_on > period_of(months[m]).replace(day=20)


def test_the_demo_extracts_are_never_received_after_today(tmp_path):
    from ingest import synth

    last = date.today().replace(day=1) - timedelta(days=1)  # last month: its files arrive this month
    manifest = synth.generate(f"{last:%Y-%m}", f"{last:%Y-%m}", 0.0005, tmp_path / "x", seed=2)
    assert manifest.files and max(date.fromisoformat(f.submitted_on) for f in manifest.files) <= date.today()


# --- publishing never leaves a load the snapshots cannot show ----------------------------------


def _everything(store_dir):
    return (
        _state(store_dir),
        _q(store_dir, "SELECT * EXCLUDE (received_at) FROM submission ORDER BY ALL"),
        _q(store_dir, "SELECT * FROM record ORDER BY ALL"),
        _q(store_dir, "SELECT * FROM issue ORDER BY ALL"),
        _q(store_dir, "SELECT submission_id, line, raw FROM quarantine ORDER BY ALL"),
        _q(store_dir, "SELECT * FROM submission_site ORDER BY ALL"),
    )


@pytest.mark.parametrize("what", ["supersede", "replace", "reject"])
def test_a_load_that_cannot_be_published_is_taken_back(two_trusts, tmp_path, monkeypatch, capsys, what):
    """A resubmission (supersedes RAE's February), a correction in March (replaces a record) and a
    file rejected whole: if publishing fails, the store is as it was and the user is told."""
    bad = didfiles.row(site_code="RAE01", accession_number="RAE9999", gender="7")  # rejected: quarantined
    fixed = didfiles.row(site_code="RAE01", accession_number="RAE0001", report_date="2026-01-09")
    path, _period = {
        "supersede": (didfiles.write(tmp_path / "s" / "DID_RAE_202602.csv", [fixed, bad]), None),
        "replace": (didfiles.write(tmp_path / "r" / "DID_RAE_202603.csv", [fixed, bad]), None),
        "reject": (tmp_path / "DID_RAE_202603.csv", None),
    }[what]
    if what == "reject":
        path.write_text("a,b,c\n")
    before = _everything(two_trusts)

    def fail(con, store_dir, timings=None, **options):
        raise store.StoreError("No space left on device: snapshots/x.partial")

    monkeypatch.setattr(store, "publish", fail)
    capsys.readouterr()
    assert did_cli.main(["submit", str(path), "--store", str(two_trusts), "--submitted-on", "2026-03-10"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "was not loaded: publishing failed (No space left on device" in err
    assert _everything(two_trusts) == before
    monkeypatch.undo()
    assert did_cli.main(["submit", str(path), "--store", str(two_trusts), "--submitted-on", "2026-03-10"]) == (
        2 if what == "reject" else 0
    )  # and the same file then loads and publishes
    rae = _q(two_trusts, "SELECT accession_number, report_date FROM record WHERE provider_code = 'RAE' ORDER BY 1")
    assert len(rae) == {"supersede": 1, "replace": 3, "reject": 3}[what]
    assert (what == "reject") == (("RAE0001", date(2026, 1, 9)) not in rae)
