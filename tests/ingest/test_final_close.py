"""The final close (issue 19): a v2.0 period closes for good six months after its provisional
deadline; a file after that is refused whole, one between the two is late and is the month."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

import did_cli
import didfiles
from ingest import loader, ownership, store, timetable


@pytest.mark.parametrize(
    "period, provisional, final",
    [
        (date(2026, 4, 1), date(2026, 4, 20), None),  # the last v1.0 period: no final close
        (date(2026, 5, 1), date(2026, 5, 20), date(2026, 11, 20)),  # the first v2.0 period
        (date(2026, 8, 1), date(2026, 8, 20), date(2027, 2, 20)),  # across the year end
        (date(2027, 4, 1), date(2027, 4, 20), date(2027, 10, 20)),  # the last of the first year
        (date(2026, 8, 1), date(2026, 8, 31), date(2027, 2, 28)),  # a provisional day held to February's end
        (date(2027, 6, 1), date(2027, 6, 30), date(2027, 12, 30)),
    ],
)
def test_golden_dates_of_the_six_month_rule(period, provisional, final):
    assert timetable.final_closes(period, provisional) == final


def test_the_shipped_timetable_has_the_final_closes():
    frame = timetable.read_timetable(timetable.DEFAULT_FILE)
    by_period = {r["period"]: r["final_closes"] for r in frame.iter_rows(named=True)}
    assert by_period[date(2026, 4, 1)] is None and by_period[date(2026, 5, 1)] == date(2026, 11, 20)
    assert by_period[date(2027, 4, 1)] == date(2027, 10, 20)
    assert "final_closes" in timetable.DEFAULT_FILE.read_text().splitlines()[0]


def _send(store_dir, tmp_path, name, accessions, submitted_on):
    path = didfiles.write_v2(
        tmp_path / name / "DID_RR8_202605.csv", [didfiles.row_v2(accession_number=a) for a in accessions]
    )
    with store.writer(store_dir) as con:
        result = loader.load_file(con, path, "RR8", "2026-05", submitted_on)
    return result


def _held(store_dir):
    con = duckdb.connect(str(store.store_path(store_dir)), read_only=True)
    try:
        return (
            sorted(r[0] for r in con.execute("SELECT accession_number FROM record").fetchall()),
            con.execute("SELECT count(*) FROM submission").fetchall()[0][0],
        )
    finally:
        con.close()


def test_between_the_deadlines_a_file_is_late_and_replaces_the_month(store_dir, tmp_path):
    assert _send(store_dir, tmp_path, "1", ["A0", "A1"], date(2026, 5, 10)).timeliness == "on_time"
    late = _send(store_dir, tmp_path, "2", ["B0"], date(2026, 11, 20))  # the final close itself
    assert (late.status, late.timeliness) == ("accepted", "late")
    assert _held(store_dir) == (["B0"], 2)


def test_after_the_final_close_a_file_is_refused_and_changes_nothing(store_dir, tmp_path):
    _send(store_dir, tmp_path, "1", ["A0", "A1"], date(2026, 5, 10))
    before = _held(store_dir)
    with pytest.raises(ownership.SubmissionRefused) as refused:
        _send(store_dir, tmp_path, "2", ["B0"], date(2026, 11, 21))
    message = str(refused.value)
    assert "\n" not in message and "2026-05 closed for good on 2026-11-20" in message
    assert _held(store_dir) == before  # no records changed, no submission logged


def test_the_cli_refuses_a_file_after_the_final_close_in_one_line(store_dir, tmp_path, capsys):
    path = didfiles.write_v2(tmp_path / "DID_RR8_202605.csv", [didfiles.row_v2()])
    code = did_cli.main(
        [
            "submit",
            str(path),
            "--provider",
            "RR8",
            "--period",
            "2026-05",
            "--submitted-on",
            "2026-12-01",
            "--store",
            str(store_dir),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and "closed for good" in err
    assert _held(store_dir) == ([], 0)


def test_a_v1_and_a_v2_period_side_by_side(store_dir, tmp_path):
    """A v1.0 period has no final close: a file months late is still accepted (late); the v2.0
    period next to it, sent the same day, is refused."""
    v1 = didfiles.write(tmp_path / "DID_RR8_202604.csv", didfiles.rows(1))
    with store.writer(store_dir) as con:
        old = loader.load_file(con, v1, "RR8", "2026-04", date(2026, 11, 25))
        assert timetable.deadlines(con, date(2026, 4, 1)) == (date(2026, 4, 20), None)
        assert timetable.deadlines(con, date(2026, 5, 1)) == (date(2026, 5, 20), date(2026, 11, 20))
    assert (old.status, old.timeliness) == ("accepted", "late")
    with pytest.raises(ownership.SubmissionRefused):
        _send(store_dir, tmp_path, "v2", ["B0"], date(2026, 11, 25))


def test_the_central_teams_timetable_sets_the_final_close(store_dir, tmp_path, capsys):
    tt = tmp_path / "timetable.csv"
    tt.write_text(
        "period,window_opens,window_closes,final_closes\n2026-05,2026-05-01,2026-05-20,2026-12-31\n"
        "2026-06,2026-06-01,2026-06-20,\n"
    )
    assert did_cli.main(["reference", "load-timetable", str(tt), "--store", str(store_dir)]) == 0
    with store.writer(store_dir) as con:
        assert timetable.deadlines(con, date(2026, 5, 1))[1] == date(2026, 12, 31)
        assert timetable.deadlines(con, date(2026, 6, 1))[1] == date(2026, 12, 20)  # blank: the default rule
    assert _send(store_dir, tmp_path, "1", ["A0"], date(2026, 11, 25)).status == "accepted"


@pytest.mark.parametrize(
    "text, words",
    [
        (
            "period,window_opens,window_closes,final_closes\n2026-05,2026-05-01,2026-05-20,2026-05-19\n",
            "line 2: the final close (2026-05-19) is before the provisional deadline (2026-05-20)",
        ),
        (
            "period,window_opens,window_closes,final_closes\n2026-05,2026-05-01,2026-05-20,20/11/2026\n",
            "line 2: period must be YYYY-MM",
        ),
    ],
)
def test_a_bad_final_close_is_refused_in_one_line(store_dir, tmp_path, capsys, text, words):
    tt = tmp_path / "timetable.csv"
    tt.write_text(text)
    assert did_cli.main(["reference", "load-timetable", str(tt), "--store", str(store_dir)]) == 1
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1


def test_a_store_from_before_final_closes_gains_them(store_dir):
    con = duckdb.connect(str(store.store_path(store_dir)))
    con.execute("ALTER TABLE ref_timetable DROP COLUMN final_closes")
    con.execute("UPDATE ref_timetable SET window_closes = DATE '2026-05-25' WHERE period = DATE '2026-05-01'")
    con.execute("UPDATE store_meta SET value = 'older' WHERE key = 'schema_fingerprint'")
    con.close()
    with store.writer(store_dir) as con:
        assert timetable.deadlines(con, date(2026, 5, 1)) == (date(2026, 5, 25), date(2026, 11, 25))
        assert timetable.deadlines(con, date(2026, 4, 1))[1] is None
