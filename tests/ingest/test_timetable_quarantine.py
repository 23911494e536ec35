"""The submission timetable (on time / late) and the quarantine's retention."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pytest

import did_cli
import didfiles
from ingest import loader, quarantine, store, timetable


def test_default_timetable_closes_on_the_20th(store_dir, tmp_path):
    path = didfiles.write(tmp_path / "f.csv", didfiles.rows(1))
    with store.writer(store_dir) as con:
        on_time = loader.load_file(con, path, "RR8", "2026-02", date(2026, 2, 20))
        late = loader.load_file(con, path, "RR8", "2026-02", date(2026, 2, 21))
    assert (on_time.timeliness, late.timeliness) == ("on_time", "late")


def test_the_central_team_can_replace_the_timetable(store_dir, tmp_path, capsys):
    tt = tmp_path / "timetable.csv"
    tt.write_text("period,window_opens,window_closes\n2026-02,2026-02-01,2026-02-27\n")
    assert did_cli.main(["reference", "load-timetable", str(tt), "--store", str(store_dir)]) == 0
    with store.writer(store_dir) as con:
        assert timetable.timeliness(con, date(2026, 2, 1), date(2026, 2, 25)) == "on_time"
        # a period the file does not list falls back to the default rule
        assert timetable.timeliness(con, date(2026, 3, 1), date(2026, 3, 25)) == "late"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("period,window_opens\n2026-02,2026-02-01\n", "window_closes"),
        ("period,window_opens,window_closes\n2026-2,2026-02-01,2026-02-20\n", "line 2"),
        ("period,window_opens,window_closes\n2026-02,2026-02-21,2026-02-20\n", "closes before it opens"),
    ],
)
def test_a_bad_timetable_is_refused_and_the_old_one_kept(store_dir, tmp_path, capsys, text, words):
    tt = tmp_path / "timetable.csv"
    tt.write_text(text)
    assert did_cli.main(["reference", "load-timetable", str(tt), "--store", str(store_dir)]) == 1
    assert words in capsys.readouterr().err
    con = duckdb.connect(str(store.store_path(store_dir)), read_only=True)
    assert con.execute("SELECT count(*) FROM ref_timetable").fetchall()[0][0] > 200
    con.close()


def test_quarantine_purge_deletes_only_old_rows(store_dir, tmp_path, capsys):
    bad = didfiles.rows(3, gender="7")
    with store.writer(store_dir) as con:
        loader.load_file(con, didfiles.write(tmp_path / "f.csv", bad), "RR8", "2026-02", date(2026, 2, 10))
        con.execute("UPDATE quarantine SET quarantined_at = ? WHERE line = 2", [datetime.now() - timedelta(days=40)])
        assert quarantine.purge(con, 30) == 1
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(2,)]
    assert did_cli.main(["quarantine", "purge", "--older-than", "0", "--store", str(store_dir)]) == 0
    assert "purged 2" in capsys.readouterr().err
