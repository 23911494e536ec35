"""Every problem the synthetic generator planted is found by the views, and nothing in a clean run is flagged.

The planted run is the shared `synthetic_store` (six activity months, seed 1); planted.json
says exactly what was planted (ingest/synth/manifest.py). The clean run is a small one built
here with `generate(..., clean=True)` through `did_cli.load_manifest`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

import polars as pl
import pytest

import shared_builds
from did_model.scope import CENTRAL
from ingest.synth.v2items import V2_DEFECT_RULES, rule_in
from ingest.synth.writer import version_of
from queries import completeness, quality, volumes
from queries.connection import get_snapshot

DATE_ORDER_CODES = {"DIDS027", "DIDS034", "DIDS035", "DIDS044", "DIDS048"}


def _month(text: str) -> date:
    return date.fromisoformat(text + "-01")


@pytest.fixture(scope="module")
def planted_run(synthetic_store):
    store_dir, extracts = synthetic_store
    snap = get_snapshot(store_dir)
    planted = json.loads((extracts / "planted.json").read_text())
    known = completeness.periods(snap)
    matrix = completeness.provider_months(snap, CENTRAL, known[0], known[-1])
    return snap, planted, matrix


def _cells(matrix: pl.DataFrame, status: str) -> set[tuple[str, str]]:
    return {
        (r["provider_code"], f"{r['period']:%Y-%m}")
        for r in matrix.filter(pl.col("status") == status).iter_rows(named=True)
    }


def _keys(events: list[dict]) -> set[tuple[str, str]]:
    return {(e["provider_code"], e["period"]) for e in events}


def test_missing_late_and_resubmitted_months_are_exactly_the_planted_ones(planted_run):
    _, planted, matrix = planted_run
    assert _cells(matrix, "missing") == _keys(planted["missing"])
    assert _cells(matrix, "late") == _keys(planted["late"])
    assert _cells(matrix, "resubmitted") == _keys(planted["resubmitted"]) | _keys(planted["file_reject"])
    assert _cells(matrix, "rejected") == set()  # every rejected file was followed by a good one
    assert set(matrix["status"]) <= {"on_time", "late", "resubmitted", "missing"}


def test_the_volume_drop_is_flagged_and_nothing_else(planted_run):
    snap, planted, _ = planted_run
    flags = volumes.flagged(volumes.volume_checks(snap, CENTRAL))
    found = {(r["provider_code"], f"{r['activity_month']:%Y-%m}", r["flag"]) for r in flags.iter_rows(named=True)}
    assert found == {(d["provider_code"], d["activity_month"], "drop") for d in planted["volume_drop"]}
    drop = flags.row(0, named=True)
    assert drop["change"] == pytest.approx(planted["volume_drop"][0]["factor"] - 1, abs=0.15)


def _files(snap, planted) -> dict[str, dict]:
    """planted.json's file paths -> the submission each became (from the scoped history queries)."""
    by_key: dict[tuple[str, date], list[dict]] = defaultdict(list)
    for code in {p for p, _ in _keys(planted["missing"])} | {k.split("_")[1] for k in planted["record_defects"]}:
        for r in completeness.submission_history(snap, CENTRAL, code).iter_rows(named=True):
            by_key[(code, r["period"])].append(r)
    out = {}
    for path in planted["record_defects"]:
        _, code, yyyymm = path.split("/")[-1].removesuffix(".csv").split("_")
        rows = sorted(by_key[(code, date(int(yyyymm[:4]), int(yyyymm[4:]), 1))], key=lambda r: r["submission_id"])
        out[path] = rows[-1] if path.startswith("resubmitted/") or len(rows) == 1 else rows[0]
    return out


def _next_corrections(planted: dict, path: str) -> int:
    """Records of this file re-sent (corrected) in the provider's next file, which holds them now."""
    _, code, yyyymm = path.split("/")[-1].removesuffix(".csv").split("_")
    y, m = int(yyyymm[:4]), int(yyyymm[4:])
    nxt = f"DID_{code}_{y + m // 12}{m % 12 + 1:02d}.csv"
    defects = planted["record_defects"]
    return defects.get(f"resubmitted/{nxt}", defects.get(nxt, {})).get("corrections", 0)


def test_every_planted_record_defect_is_found_file_by_file(planted_run):
    snap, planted, _ = planted_run
    files = _files(snap, planted)
    issues = quality.file_issue_counts(snap, CENTRAL)
    lines = {(r["submission_id"], r["code"]): r["lines"] for r in issues.iter_rows(named=True)}
    items = quality.item_scores(snap, CENTRAL)
    held = {(r["provider_code"], r["period"], r["item"]): r for r in items.iter_rows(named=True)}
    rejected_paths = {f["path"] for f in planted["file_reject"]}
    checked = 0
    for path, want in planted["record_defects"].items():
        sub = files[path]
        sid = sub["submission_id"]
        if path in rejected_paths:
            assert sub["status"] == "rejected" and (sid, "DIDS075") in lines
            continue
        v = version_of(path)
        assert sub["rows_read"] == want["records"], path
        assert lines.get((sid, "DIDS001"), 0) == want["nhs_number_invalid"], path
        assert lines.get((sid, "DIDS023"), 0) == want["referrer_malformed"], path
        assert lines.get((sid, rule_in(v, "DIDS057")), 0) == want["unknown_procedure"], path
        assert lines.get((sid, "DIDS071"), 0) == want["duplicate_accession"], path
        for name, code in V2_DEFECT_RULES.items():
            assert lines.get((sid, code), 0) == want.get(name, 0), path
        bad = want.get("bad_batch", 0)
        # each record carries at most one planted defect, so the rejected rows add up
        date_order = (
            sub["rows_rejected"]
            - want["nhs_number_invalid"]
            - want["unknown_procedure"]
            - want["duplicate_accession"]
            - bad
            - sum(want.get(d, 0) for d in V2_DEFECT_RULES)
        )
        if bad:  # the batch of bad rows can fall on records already carrying a defect
            assert 0 <= want["date_order"] - date_order <= bad, path
        else:
            assert date_order == want["date_order"], path
        codes = {c for (s, c) in lines if s == sid}
        allowed = {"DIDS001", "DIDS023", "DIDS057", "DIDS071", "DIDS020", "DIDS045"} | DATE_ORDER_CODES
        assert codes <= {rule_in(v, c) for c in allowed} | set(V2_DEFECT_RULES.values()), path
        if not bad:  # a bad batch can fall on a warned record, which is then counted as rejected
            assert sub["rows_with_warnings"] == want["referrer_malformed"], path
        if sub["status"] == "accepted":
            cell = held[(sub_provider := path.split("/")[-1].split("_")[1], sub["period"], "nhs_number")]
            assert cell["incomplete"] == want["nhs_number_missing"], path
            ethnic = held[(sub_provider, sub["period"], "ethnic_category")]
            # Z/99 is a normal value, counted among the held records: not among this file's rejected
            # records, nor its records corrected in the next file (held there now)
            assert ethnic["defaults"] <= want["ethnicity_not_stated"], path
            assert ethnic["defaults"] >= (
                want["ethnicity_not_stated"] - _next_corrections(planted, path) - sub["rows_rejected"]
            ), path
        checked += 1
    assert checked > 500


def test_resubmissions_first_files_carry_the_planted_problem(planted_run):
    snap, planted, _ = planted_run
    files = _files(snap, planted)
    issues = quality.file_issue_counts(snap, CENTRAL)
    lines = {(r["submission_id"], r["code"]): r["lines"] for r in issues.iter_rows(named=True)}
    for event in planted["resubmitted"]:
        first, final = files[event["first_path"]], files[event["path"]]
        assert (first["status"], first["superseded_by"]) == ("superseded", final["submission_id"])
        if event["problem"] == "bad_batch":
            code = rule_in(version_of(event["first_path"]), event["bad_rule"])
            assert lines[(first["submission_id"], code)] == event["bad_rows"]
        else:
            assert final["rows_read"] - first["rows_read"] == event["records_missing"]


def test_the_pre_publication_check_names_the_planted_problems(planted_run):
    snap, planted, _ = planted_run
    drop = planted["volume_drop"][0]
    period = _month(drop["period"])
    found = completeness.pre_publication(snap, CENTRAL, period)
    got = {
        (r["check"], r["provider_code"])
        for r in found.filter(pl.col("modality").is_null() | (pl.col("modality") == "All")).iter_rows(named=True)
    }
    want = {("missing", e["provider_code"]) for e in planted["missing"] if e["period"] == drop["period"]}
    want |= {("late", e["provider_code"]) for e in planted["late"] if e["period"] == drop["period"]}
    want |= {
        ("resubmitted", e["provider_code"])
        for e in planted["resubmitted"] + planted["file_reject"]
        if e["period"] == drop["period"]
    }
    want.add(("volume_drop", drop["provider_code"]))
    assert got == want


# --- A clean run: nothing flagged -----------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """The store of a clean `did synth` run (tests/shared_builds.py: built once, in the background)."""
    return shared_builds.wait(shared_builds.shared_root(tmp_path_factory.getbasetemp()), "clean_run")


@pytest.fixture(scope="module")
def clean_snap(clean_run):
    return get_snapshot(clean_run)


@pytest.mark.slow
def test_a_clean_run_flags_nothing(clean_snap):
    snap = clean_snap
    known = completeness.periods(snap)
    matrix = completeness.provider_months(snap, CENTRAL, known[0], known[-1])
    assert set(matrix["status"]) == {"on_time"}
    assert volumes.flagged(volumes.volume_checks(snap, CENTRAL)).is_empty()
    assert volumes.flagged(volumes.volume_checks(snap, CENTRAL, by_modality=True)).is_empty()
    assert quality.issue_summary(snap, CENTRAL, current_only=False).is_empty()
    items = quality.item_scores(snap, CENTRAL)
    assert items["invalid"].sum() == 0
    assert items.filter(pl.col("item") != "report_date")["incomplete"].sum() == 0
    for period in known:
        assert completeness.pre_publication(snap, CENTRAL, period).is_empty(), period
        assert quality.quality_falls(snap, CENTRAL, period).is_empty()
