"""Outsourced imaging submitted by two providers (ADR 0010): found at publish, counted once.

A naive second implementation (a Python loop over the records) of the pairs and the counted
totals must agree with the self-join and with the rollups built through `record`'s counted view.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

import working_store
from ingest import duplicates, store
from queries.connection import Snapshot


def _naive_pairs(records):
    """Every pair by a plain loop: different providers, same patient and modality, ≤ 1 day apart."""
    found = {}
    for a in records:
        for b in records:
            if (
                a["provider_code"] < b["provider_code"]
                and a["patient_pseudo_id"] == b["patient_pseudo_id"]
                and a["modality"] == b["modality"]
                and abs((a["test_date"] - b["test_date"]).days) <= 1
            ):
                if a["nicip_code"] == b["nicip_code"]:
                    found[(a["accession_number"], b["accession_number"])] = "exact"
                elif a["body_area"] == b["body_area"]:
                    found[(a["accession_number"], b["accession_number"])] = "near"
    return found


def _records(store_dir):
    cols = [
        "provider_code",
        "accession_number",
        "patient_pseudo_id",
        "modality",
        "body_area",
        "nicip_code",
        "test_date",
        "activity_month",
        "patient_source",
        "submission_id",
    ]
    rows = working_store.rows(store_dir, f"SELECT {', '.join(cols)} FROM record")  # noqa: S608 - constant
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _naive_counted(records, once=True):
    """Records per (month, provider, modality) after the rule: of an exact pair the copy from the
    earlier submission counts (no site reference is loaded, so no copy is its site owner's)."""
    by_acc = {r["accession_number"]: r for r in records}
    removed = set()
    if once:
        for (a, b), match in _naive_pairs(records).items():
            if match == "exact":
                removed.add(max(a, b, key=lambda acc: by_acc[acc]["submission_id"]))
    return Counter(
        (r["activity_month"], r["provider_code"], r["modality"])
        for r in records
        if r["accession_number"] not in removed
    )


def _rollup_counts(store_dir):
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        rows = snap.query(
            "SELECT activity_month, provider_code, modality, sum(records) AS n FROM rollup_activity GROUP BY ALL"
        ).rows()
    finally:
        snap.close()
    return Counter({(m, p, mod): n for m, p, mod, n in rows})


def test_pairs_are_found_across_providers_within_a_day_exact_or_near(outsourced_store):
    found = {
        (a, b): (match, counted, decided, removed)
        for match, a, b, counted, decided, removed in working_store.rows(
            outsourced_store,
            "SELECT match, a_accession_number, b_accession_number, counted, decided_by, removed FROM duplicate_pair",
        )
    }
    assert found == {
        ("RR800001", "RTH00001"): ("exact", "a", "earliest_submission", True),
        ("RR800002", "RTH00002"): ("exact", "a", "earliest_submission", True),
        ("RR800003", "RTH00003"): ("near", "a", "earliest_submission", False),
        ("RAE00001", "RTH00005"): ("exact", "b", "earliest_submission", True),
    }
    assert {k: v[0] for k, v in found.items()} == _naive_pairs(_records(outsourced_store))


def test_rollups_count_each_exact_pair_once_as_a_naive_loop_does(outsourced_store):
    records = _records(outsourced_store)
    assert len(records) == 13
    expected = _naive_counted(records)
    assert sum(expected.values()) == 10  # RTH 1, RTH 2 and RAE 1 left out
    assert _rollup_counts(outsourced_store) == expected
    # the snapshot's `record` itself holds every submitted copy: only the figures count once
    snap = Snapshot(store.current_snapshot(outsourced_store))
    try:
        assert snap.query("SELECT count(*) AS n FROM record")["n"][0] == 13
        assert snap.query("SELECT count(*) AS n FROM duplicate_pair WHERE removed")["n"][0] == 3
    finally:
        snap.close()


def test_the_site_owner_copy_counts_before_the_earlier_submission(outsourced_store):
    # The site reference gives RR801 to another provider: RR8's copies are not their site owner's.
    with store.writer(outsourced_store) as con:
        con.execute("INSERT INTO ref_site (site_code, provider_code) VALUES ('RR801', 'RX1'), ('RTH01', 'RTH')")
        store.publish(con, outsourced_store)
    rows = working_store.rows(
        outsourced_store,
        "SELECT a_accession_number, counted, decided_by FROM duplicate_pair WHERE match = 'exact' ORDER BY 1",
    )
    assert rows == [("RAE00001", "b", "site_owner"), ("RR800001", "b", "site_owner"), ("RR800002", "b", "site_owner")]
    counts = _rollup_counts(outsourced_store)
    assert sum(n for (_, p, _), n in counts.items() if p == "RR8") == 5  # 7 submitted, 2 counted at RTH
    assert sum(n for (_, p, _), n in counts.items() if p == "RTH") == 5


def test_counting_every_copy_is_a_store_setting_applied_at_the_next_publish(outsourced_store):
    with store.writer(outsourced_store) as con:
        duplicates.set_counting(con, duplicates.COUNT_EVERY)
        store.publish(con, outsourced_store)
    assert _rollup_counts(outsourced_store) == _naive_counted(_records(outsourced_store), once=False)
    assert sum(_rollup_counts(outsourced_store).values()) == 13
    assert working_store.rows(outsourced_store, "SELECT count(*) FROM duplicate_pair WHERE NOT removed") == [(4,)]
    with store.writer(outsourced_store) as con:
        duplicates.set_counting(con, duplicates.COUNT_ONCE)
        store.publish(con, outsourced_store)
    assert sum(_rollup_counts(outsourced_store).values()) == 10


def test_an_unknown_setting_is_refused(store_dir):
    with store.writer(store_dir) as con, pytest.raises(ValueError, match="'once' or 'every'"):
        duplicates.set_counting(con, "twice")


def test_did_publish_switches_the_counting_and_says_what_it_found(outsourced_store, capsys):
    import did_cli

    assert did_cli.main(["publish", "--count-duplicates", "every", "--store", str(outsourced_store)]) == 0
    assert "counted every submitted copy: 4 pairs found, 0 copies left out" in capsys.readouterr().err
    assert sum(_rollup_counts(outsourced_store).values()) == 13
    assert did_cli.main(["publish", "--store", str(outsourced_store)]) == 0  # the setting is kept
    assert sum(_rollup_counts(outsourced_store).values()) == 13
    assert did_cli.main(["publish", "--count-duplicates", "once", "--store", str(outsourced_store)]) == 0
    assert "counted once: 4 pairs found, 3 copies left out" in capsys.readouterr().err
    assert sum(_rollup_counts(outsourced_store).values()) == 10


@pytest.mark.parametrize(
    ("bad_row", "line"),
    [
        ("RR8,RR8,2026-01,", 3),  # an organisation outsourcing to itself
        ("RR8,RTH,January,", 3),  # not a month
        ("RR8,RTH,2026-05,2026-01", 3),  # ends before it starts
        ("RR8,RTH,2026-05,soon", 3),  # an end month that is not a month
        ("R R8,RTH,2026-01,", 3),  # not an ODS code
    ],
)
def test_a_bad_arrangements_file_names_its_line_and_changes_nothing(store_dir, tmp_path, bad_row, line):
    from ingest.outsourcing import load_outsourcing

    good = tmp_path / "good.csv"
    good.write_text("provider_code,performing_org_code,from_month,to_month\nrae,RTH,2025-04,2026-03\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"provider_code,performing_org_code,from_month,to_month\nRAE,RTH,2025-04,\n{bad_row}\n")
    with store.writer(store_dir) as con:
        assert load_outsourcing(con, good) == 1
        with pytest.raises(ValueError, match=f"^bad.csv line {line}: expected two different ODS codes"):
            load_outsourcing(con, bad)
        assert con.execute("SELECT * FROM ref_outsourcing").fetchall() == [
            ("RAE", "RTH", date(2025, 4, 1), date(2026, 3, 1))
        ]
