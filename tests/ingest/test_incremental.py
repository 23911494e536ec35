"""Incremental publishing (ADR 0011): a publish refreshes the rollup rows of what changed, and
the store it leaves equals, table by table, one built afresh from the same working store.

The sequence: loads, a new month, a resubmission replacing a provider-month, a whole-file
rejection, an outsourced examination whose counted copy moves to the provider that did not
resubmit, the duplicate-counting setting, and a reference change.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
from datetime import date

import duckdb
import pytest

import didfiles
from did_model import rollup_defs
from did_model.rollups import FULL, all_rollups, refresh_policies, rollups_read, stages, tables_read
from ingest import incremental, loader, pseudonymise, store
from snapshot_tables import assert_same_tables, snapshot_tables

PATIENT = {"RR8": 11, "RTH": 22}


@pytest.fixture(autouse=True)
def _no_grace(monkeypatch):
    monkeypatch.setattr(store, "SNAPSHOT_GRACE_SECONDS", 0)


def _load(store_dir, tmp_path, provider, period, submitted_on, records, expect="accepted"):
    path = tmp_path / f"{provider}-{period}-{submitted_on}.csv"
    if records:
        didfiles.write(path, records)
    else:  # three columns where DIDS wants 18: the whole file is rejected
        path.write_text("a,b,c\n1,2,3\n")
    with store.writer(store_dir) as con:
        result = loader.load_file(con, path, provider, period, submitted_on)
    assert result.status == expect, result.file_errors
    return result


def _records(provider, n, test_date, start=1, **changes):
    """n records of `provider`'s own patient on `test_date` (a January or February 2026 day)."""
    changes.setdefault("nhs_number", didfiles.nhs_number(PATIENT[provider]))
    return [
        didfiles.row(
            site_code=f"{provider}01",
            accession_number=f"{provider}{i:05d}",
            test_date=test_date,
            request_date="2026-01-01",
            request_received_date="2026-01-01",
            report_date=test_date,
            **changes,
        )
        for i in range(start, start + n)
    ]


# RR8's February: two of its own patient's examinations, and one of patient 99 that RTH also submits.
RR8_FEBRUARY = _records("RR8", 2, "2026-02-10", start=10) + _records(
    "RR8", 1, "2026-02-11", start=20, nhs_number=didfiles.nhs_number(99)
)


def _publish(store_dir, full=False) -> dict:
    timings: dict = {}
    with store.writer(store_dir) as con:
        store.publish(con, store_dir, timings, full=full)
    return timings


def _publish_and_compare(store_dir, tmp_path) -> dict:
    """Publish incrementally, then publish a copy of the store with `full=True`: equal table by table."""
    timings = _publish(store_dir)
    fresh = tmp_path / f"full{len(list(tmp_path.glob('full*')))}"
    shutil.copytree(store_dir, fresh)
    full = _publish(fresh, full=True)
    assert full["rollups_refreshed"] == 0 and full["rollups_built"] == len(all_rollups())
    assert full["partitions_written"] == full["partitions_total"]
    assert_same_tables(
        snapshot_tables(store.current_snapshot(store_dir)), snapshot_tables(store.current_snapshot(fresh))
    )
    return timings


def _rows_of(store_dir, provider, month) -> tuple[int, int]:
    """Rows of the key-refreshed rollups in the current snapshot for `provider`'s `month` (as
    each is split: by provider and month, by month, by provider), and their rows in all."""
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS s (READ_ONLY)", [str(store.current_snapshot(store_dir))])
        keyed = total = 0
        for name, how in refresh_policies().items():
            if how.full:
                continue
            conditions = ([f"{how.provider} = $provider"] if how.provider else []) + (
                [f"{how.month} = $month"] if how.month else []
            )
            # names and key expressions from code; the values bound
            keyed += con.execute(
                f"SELECT count(*) FROM s.main.{name} WHERE {' AND '.join(conditions)}",  # noqa: S608
                {"provider": provider, "month": month}
                if how.provider and how.month
                else {"provider": provider}
                if how.provider
                else {"month": month},
            ).fetchall()[0][0]
            total += con.execute(f"SELECT count(*) FROM s.main.{name}").fetchall()[0][0]  # noqa: S608
        return keyed, total
    finally:
        con.close()


def _reading(table: str) -> set[str]:
    """The rollups that read `table`, themselves or through a rollup they read (a sum over providers)."""
    rollups = all_rollups()
    found: set[str] = set()
    for name in (name for stage in stages() for name in stage):
        if tables_read(rollups[name], [table]) or found & set(rollups_read(name)):
            found.add(name)
    return found


def _partition_files(store_dir) -> dict[str, str]:
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS s (READ_ONLY)", [str(store.current_snapshot(store_dir))])
        return dict(con.execute("SELECT provider_code, file FROM s.main.record_partition").fetchall())
    finally:
        con.close()


def test_incremental_publishing_equals_a_full_rebuild_table_by_table(store_dir, tmp_path):
    keyed = sum(not how.full for how in refresh_policies().values())
    # Two providers' January: the first publish has nothing to build on.
    _load(store_dir, tmp_path, "RR8", "2026-02", date(2026, 2, 3), _records("RR8", 4, "2026-01-05"))
    _load(store_dir, tmp_path, "RTH", "2026-02", date(2026, 2, 4), _records("RTH", 3, "2026-01-06"))
    first = _publish_and_compare(store_dir, tmp_path)
    assert first["rollups_refreshed"] == 0

    # RR8's February, with an examination that RTH also submits below (an outsourced pair).
    _load(store_dir, tmp_path, "RR8", "2026-03", date(2026, 3, 5), RR8_FEBRUARY)
    t = _publish_and_compare(store_dir, tmp_path)
    assert t["partitions_written"] == 1 and t["rollups_refreshed"] == keyed
    assert t["duplicate_keys_searched"] == 1  # only RR8's February is searched for pairs again

    # RTH resubmits January: fewer records, another examination. Only RTH's file is written,
    # and RR8's rows of a provider-keyed rollup are left where they were.
    rr8_file = _partition_files(store_dir)["RR8"]
    _load(
        store_dir, tmp_path, "RTH", "2026-02", date(2026, 2, 20), _records("RTH", 2, "2026-01-07", nicip_code="XSTRM")
    )
    t = _publish_and_compare(store_dir, tmp_path)
    assert t["partitions_written"] == 1 and t["partitions_total"] == 2
    assert t["rollups_refreshed"] == keyed and t["duplicate_keys_searched"] == 1
    assert t["rollups_built"] == sum(how is FULL for how in refresh_policies().values()) - 1  # population: kept
    assert _partition_files(store_dir)["RR8"] == rr8_file
    # The rows written are exactly those of RTH's January (RTH's, January's or RTH's January,
    # as each rollup is split): none of RR8's in a rollup split by provider.
    rewritten, total = _rows_of(store_dir, provider="RTH", month=date(2026, 1, 1))
    assert t["rollup_rows_refreshed"] == rewritten < total

    # A whole-file rejection: no record changes, RR8's submissions and issues do.
    _load(store_dir, tmp_path, "RR8", "2026-03", date(2026, 3, 9), [], expect="rejected")
    t = _publish_and_compare(store_dir, tmp_path)
    assert t["partitions_written"] == 0 and t["rollups_refreshed"] >= 2  # the quality tables
    assert t["duplicate_keys_searched"] == 0

    # RTH submits February with the same examination as RR8's third (same patient, day and
    # NICIP): RR8's copy counts (its submission is earlier), RTH's is left out.
    _load(
        store_dir,
        tmp_path,
        "RTH",
        "2026-03",
        date(2026, 3, 10),
        _records("RTH", 1, "2026-02-11", start=30, nhs_number=didfiles.nhs_number(99)),
    )
    _publish_and_compare(store_dir, tmp_path)
    # RR8 sends its February again, unchanged: now RTH's copy is the earlier one and counts,
    # so RTH's February figures change although RTH sent nothing.
    rth_file = _partition_files(store_dir)["RTH"]
    _load(store_dir, tmp_path, "RR8", "2026-03", date(2026, 3, 12), RR8_FEBRUARY)
    t = _publish_and_compare(store_dir, tmp_path)
    assert t["partitions_written"] == 1 and _partition_files(store_dir)["RTH"] == rth_file

    # Every submitted copy counts: the setting changes the pairs, not the records.
    with store.writer(store_dir) as con:
        con.execute("INSERT OR REPLACE INTO store_meta VALUES ('count_duplicates', 'every')")
    t = _publish_and_compare(store_dir, tmp_path)
    assert t["partitions_written"] == 0 and t["rollups_refreshed"] > 0
    assert t["duplicate_keys_searched"] == 4  # the setting changes every pair: all is searched

    # A reference change: the practice moves to another sub-ICB. Rollups that read the
    # practices are built in full; those that do not are kept.
    with store.writer(store_dir) as con:
        con.execute(
            "UPDATE ref_practice SET sub_icb_code = (SELECT max(sub_icb_code) FROM ref_practice "
            "WHERE sub_icb_code <> (SELECT sub_icb_code FROM ref_practice WHERE practice_code = 'A81001')) "
            "WHERE practice_code = 'A81001'"
        )
    t = _publish_and_compare(store_dir, tmp_path)
    assert t["rollups_refreshed"] == 0 and t["rollups_built"] == len(_reading("ref_practice"))


def test_repeated_resubmissions_do_not_grow_the_snapshot(store_dir, tmp_path):
    """Refreshed rollups reuse the space of the rows they replace: a day of resubmissions does
    not make each snapshot larger than the one before."""
    _load(store_dir, tmp_path, "RR8", "2026-02", date(2026, 2, 3), _records("RR8", 40, "2026-01-05"))
    _load(store_dir, tmp_path, "RTH", "2026-02", date(2026, 2, 4), _records("RTH", 30, "2026-01-06"))
    _publish(store_dir)
    sizes = []
    for day in range(10, 16):
        _load(store_dir, tmp_path, "RTH", "2026-02", date(2026, 2, day), _records("RTH", 30 - day, "2026-01-06"))
        assert _publish(store_dir)["rollups_refreshed"] > 0
        sizes.append(store.current_snapshot(store_dir).stat().st_size)
    assert max(sizes[2:]) <= max(sizes[:2])


def test_every_registered_rollup_declares_how_it_is_refreshed(store_dir):
    """A rollup added without a REFRESH entry would be built in full at every publish (safe, slow):
    each module states its policy, for exactly its own rollups, in terms of its own columns."""
    for mod in pkgutil.iter_modules(rollup_defs.__path__):
        module = importlib.import_module(f"{rollup_defs.__name__}.{mod.name}")
        rollups = getattr(module, "ROLLUPS", {})
        assert set(getattr(module, "REFRESH", {})) == set(rollups), mod.name
    assert set(refresh_policies()) == set(all_rollups())
    _publish(store_dir)
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS s (READ_ONLY)", [str(store.current_snapshot(store_dir))])
        for name, how in refresh_policies().items():
            for column in filter(None, (how.provider, how.month)):
                con.execute(f"SELECT {column} FROM s.main.{name}")  # noqa: S608 - names from code
    finally:
        con.close()


def test_a_resubmission_reads_only_its_own_providers_records():
    """A rollup whose rows mix providers (a practice's, an area's month) is refreshed by month
    alone; it must not read `record` — one month of every provider — but add up a rollup split
    by provider, which the resubmission refreshes for its own provider-months (ADR 0013)."""
    rollups = all_rollups()
    by_month = [name for name, how in refresh_policies().items() if how.month and not how.provider]
    assert by_month, "no rollup mixes providers: this test has nothing left to check"
    for name in by_month:
        assert not tables_read(rollups[name], ["record"]), name
        for source in rollups_read(name):
            assert refresh_policies()[source].provider and refresh_policies()[source].month, (name, source)


def test_a_change_of_records_columns_builds_every_rollup_over_records_in_full(store_dir, tmp_path):
    """An upgrade that adds a column to `record` changes no provider-month fingerprint, but the
    rollups may read the column: nothing is refreshed by key."""
    _load(store_dir, tmp_path, "RR8", "2026-02", date(2026, 2, 3), _records("RR8", 4, "2026-01-05"))
    _publish(store_dir)
    with store.writer(store_dir) as con:
        con.execute("ALTER TABLE record ADD COLUMN later_item VARCHAR")
    t = _publish(store_dir)
    assert t["rollups_refreshed"] == 0 and t["partitions_written"] == 1
    assert t["rollups_built"] == len(_reading("record"))


def _pairs(store_dir) -> list[tuple]:
    with store.writer(store_dir) as con:
        return con.execute(
            "SELECT match, a_accession_number, b_accession_number, counted, removed FROM duplicate_pair ORDER BY ALL"
        ).fetchall()


def test_a_month_that_disappears_takes_its_outsourced_pairs_with_it(store_dir, tmp_path):
    """The search looks again only at changed provider-months, including one that no longer has
    any records: RTH resubmits its February with the shared examination dated in March, and the
    pair it made with RR8's copy goes; a site reference change then searches everything."""
    shared = didfiles.nhs_number(99)
    _load(store_dir, tmp_path, "RR8", "2026-03", date(2026, 3, 5), RR8_FEBRUARY)
    _load(store_dir, tmp_path, "RTH", "2026-03", date(2026, 3, 6), _records("RTH", 1, "2026-02-11", nhs_number=shared))
    assert _publish(store_dir)["duplicate_keys_searched"] == 2  # never searched before: everything
    assert _pairs(store_dir) == [("exact", "RR800020", "RTH00001", "a", True)]

    _load(store_dir, tmp_path, "RTH", "2026-03", date(2026, 3, 9), _records("RTH", 1, "2026-03-02", nhs_number=shared))
    t = _publish(store_dir)
    assert t["duplicate_keys_searched"] == 2  # RTH's February (gone) and March (new)
    assert _pairs(store_dir) == []

    # RTH sends February back: RR8's copy is earlier and counts. Then RTH is made the owner of
    # RR8's site: the site owner's copy counts, which changes a pair no record of which changed.
    _load(store_dir, tmp_path, "RTH", "2026-03", date(2026, 3, 10), _records("RTH", 1, "2026-02-11", nhs_number=shared))
    assert _publish(store_dir)["duplicate_keys_searched"] == 2
    assert _pairs(store_dir) == [("exact", "RR800020", "RTH00001", "a", True)]
    with store.writer(store_dir) as con:
        con.execute("INSERT OR REPLACE INTO ref_site (site_code, provider_code) VALUES ('RTH01', 'RTH')")
    _publish(store_dir)
    assert _pairs(store_dir) == [("exact", "RR800020", "RTH00001", "b", True)]


def test_a_pair_whose_two_copies_both_changed_is_found_once(store_dir, tmp_path):
    """Both providers of an outsourced examination send their month again before one publish:
    the search finds the pair from each changed side and keeps it once, as a full search does."""
    shared = didfiles.nhs_number(99)
    _load(store_dir, tmp_path, "RR8", "2026-03", date(2026, 3, 5), RR8_FEBRUARY)
    _load(store_dir, tmp_path, "RTH", "2026-03", date(2026, 3, 6), _records("RTH", 1, "2026-02-11", nhs_number=shared))
    _publish(store_dir)
    _load(store_dir, tmp_path, "RTH", "2026-03", date(2026, 3, 9), _records("RTH", 1, "2026-02-11", nhs_number=shared))
    _load(store_dir, tmp_path, "RR8", "2026-03", date(2026, 3, 10), RR8_FEBRUARY)
    t = _publish_and_compare(store_dir, tmp_path)
    assert t["duplicate_keys_searched"] == 2  # RR8's and RTH's February, both changed
    assert _pairs(store_dir) == [("exact", "RR800020", "RTH00001", "b", True)]  # RTH's copy now the earlier


def test_a_sum_over_providers_adds_up_again_only_the_keys_a_resubmission_touches(store_dir, tmp_path):
    """A sum over providers (by month) is refreshed for the keys the resubmitting provider's rows
    touch, before and after, and no others: RR8's January abdomen X-rays, which RTH never sent,
    keep their rows; RTH's chest X-rays, now all strides (XSTRM), leave no row behind. The
    result equals a full rebuild."""
    _load(store_dir, tmp_path, "RR8", "2026-02", date(2026, 2, 3), _records("RR8", 3, "2026-01-05", nicip_code="XABDO"))
    _load(store_dir, tmp_path, "RTH", "2026-02", date(2026, 2, 4), _records("RTH", 2, "2026-01-06"))
    _publish_and_compare(store_dir, tmp_path)

    _load(
        store_dir, tmp_path, "RTH", "2026-02", date(2026, 2, 20), _records("RTH", 2, "2026-01-07", nicip_code="XSTRM")
    )
    t = _publish_and_compare(store_dir, tmp_path)
    after, _ = _rows_of(store_dir, provider="RTH", month=date(2026, 1, 1))
    # A re-sum of the month would rewrite every January row of a sum; RR8's XABDO rows (of the
    # dose sum, at least) are not rewritten now.
    untouched = _sum_rows(store_dir, date(2026, 1, 1), nicip_code="XABDO")
    assert untouched > 0
    assert t["rollup_rows_refreshed"] <= after - untouched < after


def _sum_rows(store_dir, month, nicip_code) -> int:
    """Rows of the dose sum (by month, over providers) in `month` for `nicip_code`."""
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS s (READ_ONLY)", [str(store.current_snapshot(store_dir))])
        return con.execute(
            "SELECT count(*) FROM s.main.rollup_official_dose WHERE activity_month = ? AND nicip_code = ?",
            [month, nicip_code],
        ).fetchall()[0][0]
    finally:
        con.close()


def _issue_count(store_dir, submission_id=None) -> int:
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS s (READ_ONLY)", [str(store.current_snapshot(store_dir))])
        if submission_id is None:
            return con.execute("SELECT count(*) FROM s.main.issue").fetchall()[0][0]
        return con.execute("SELECT count(*) FROM s.main.issue WHERE submission_id = ?", [submission_id]).fetchall()[0][
            0
        ]
    finally:
        con.close()


def _with_bad_dates(records, bad: int):
    """`records` with the test date of the first `bad` an impossible day (each line rejected, DIDS045)."""
    return [dict(r, test_date="2026-01-32") if i < bad else r for i, r in enumerate(records)]


def test_a_resubmission_writes_only_its_own_issues_into_the_snapshot(store_dir, tmp_path):
    """The snapshot's `issue` starts as the previous snapshot's and is patched by submission: a
    resubmission writes its own issue rows, not every provider's again, and a load taken back
    removes its rows; either way the table equals a full publish's."""
    _load(store_dir, tmp_path, "RR8", "2026-02", date(2026, 2, 3), _with_bad_dates(_records("RR8", 6, "2026-01-05"), 4))
    _load(store_dir, tmp_path, "RTH", "2026-02", date(2026, 2, 4), _with_bad_dates(_records("RTH", 5, "2026-01-06"), 3))
    first = _publish_and_compare(store_dir, tmp_path)
    assert first["issue_rows_written"] == _issue_count(store_dir) == 7

    resubmitted = _load(
        store_dir, tmp_path, "RTH", "2026-02", date(2026, 2, 20), _with_bad_dates(_records("RTH", 4, "2026-01-07"), 2)
    )
    t = _publish_and_compare(store_dir, tmp_path)
    # RTH's new submission's two issues only; RR8's four and RTH's earlier three stay as they were.
    assert t["issue_rows_written"] == _issue_count(store_dir, resubmitted.submission_id) == 2
    assert _issue_count(store_dir) == 9

    # A load taken back (a publish that failed): its issues leave the next snapshot.
    path = tmp_path / "RR8-again.csv"
    didfiles.write(path, _with_bad_dates(_records("RR8", 3, "2026-01-08"), 1))
    with store.writer(store_dir) as con:
        checked = loader.check(con, path, "RR8", "2026-02", date(2026, 2, 21), key=pseudonymise.load_key())
        loader.load_checked(con, checked, undoable=True)
        store.publish(con, store_dir)
        assert checked.undo is not None
        loader.undo(con, checked.undo)
    assert _issue_count(store_dir) == 10
    t = _publish_and_compare(store_dir, tmp_path)
    assert t["issue_rows_written"] == 0 and _issue_count(store_dir) == 9


def _kept_and_recounted(store_dir) -> tuple[list, list]:
    with store.writer(store_dir) as con:
        kept = con.execute(
            "SELECT provider_code, activity_month, rows, submission_id_sum FROM record_fingerprint ORDER BY ALL"
        ).fetchall()
        return [tuple(r) for r in kept], incremental.month_fingerprints(con)


def test_the_loader_keeps_the_month_fingerprints_a_recount_gives(store_dir, tmp_path, monkeypatch):
    """Each load updates `record`'s provider-month fingerprints in its own transaction, so a
    publish reads them instead of counting every record (ADR 0015): after loads, a resubmission
    that moves a provider's records to another month, a whole-file rejection and a load taken
    back they equal a recount; a table made stale, or missing in a store from before it, is
    counted again."""

    def check() -> None:
        kept, recounted = _kept_and_recounted(store_dir)
        assert kept == recounted

    _load(store_dir, tmp_path, "RR8", "2026-02", date(2026, 2, 3), _records("RR8", 4, "2026-01-05"))
    _load(store_dir, tmp_path, "RTH", "2026-02", date(2026, 2, 4), _records("RTH", 3, "2026-01-06"))
    _load(store_dir, tmp_path, "RR8", "2026-03", date(2026, 3, 5), RR8_FEBRUARY)
    check()
    # RTH resubmits: its January now holds one record, the other two moved to February.
    _load(store_dir, tmp_path, "RTH", "2026-02", date(2026, 2, 20), _records("RTH", 1, "2026-01-07"))
    _load(store_dir, tmp_path, "RTH", "2026-03", date(2026, 3, 6), _records("RTH", 2, "2026-02-09", start=40))
    check()
    _load(store_dir, tmp_path, "RR8", "2026-03", date(2026, 3, 9), [], expect="rejected")
    check()
    path = tmp_path / "RR8-taken-back.csv"
    didfiles.write(path, _records("RR8", 2, "2026-01-20", start=3))  # replaces two January records
    with store.writer(store_dir) as con:
        checked = loader.check(con, path, "RR8", "2026-02", date(2026, 2, 21), key=pseudonymise.load_key())
        loader.load_checked(con, checked, undoable=True)
        assert checked.undo is not None
        loader.undo(con, checked.undo)
    check()

    # A publish reads what was kept: it counts no record.
    def no_recount(con):
        raise AssertionError("a publish counted every record again")

    with monkeypatch.context() as m:
        m.setattr(incremental, "month_fingerprints", no_recount)
        _publish(store_dir)
    _publish_and_compare(store_dir, tmp_path)

    # Stale (a provider's rows lost): the publish sees the totals disagree and counts again.
    with store.writer(store_dir) as con:
        con.execute("DELETE FROM record_fingerprint WHERE provider_code = 'RTH'")
    _publish_and_compare(store_dir, tmp_path)
    check()

    # A store from before the table: the upgrade counts it once.
    with store.writer(store_dir) as con:
        con.execute("DROP TABLE record_fingerprint")
        con.execute("UPDATE store_meta SET value = 'older' WHERE key = 'schema_fingerprint'")
    check()
    _publish_and_compare(store_dir, tmp_path)
