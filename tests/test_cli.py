"""The `did` command line: exit codes, one-line errors, and nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import did_cli
import didfiles
from did_errors import UsageError
from ingest import loader, store

ROOT = Path(__file__).resolve().parent.parent


def _store_state(d: Path):
    """Everything a user could notice about a store directory."""
    if not d.exists():
        return None
    return sorted(
        (p.relative_to(d).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in d.rglob("*")
        if p.is_file() and p.name != ".lock"
    )


def test_submit_accepts_a_file_and_publishes(store_dir, tmp_path, capsys):
    path = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(3))
    code = did_cli.main(["submit", str(path), "--submitted-on", "2026-02-10", "--store", str(store_dir), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["status"] == "accepted" and out["provider"] == "RR8" and out["period"] == "2026-02"
    assert out["counts"]["accepted"] == 3
    assert set(out) >= {"file", "provider", "period", "status", "file_errors", "counts", "issues"}
    assert store.current_snapshot(store_dir) is not None


def test_submit_does_not_load_the_statistics_stack(store_dir, tmp_path):
    """`did submit` is a provider's everyday command: it imports the collection side only (the
    export and report plugins bring scipy and pandas, about a second of start-up)."""
    path = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(3))
    code = (
        "import sys, did_cli\n"
        "rc = did_cli.main(sys.argv[1:])\n"
        "print(sorted(m for m in ('scipy', 'pandas', 'polars', 'streamlit', 'plotly') if m in sys.modules))\n"
        "sys.exit(rc)\n"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "submit",
            str(path),
            "--submitted-on",
            "2026-02-10",
            "--store",
            str(store_dir),
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    # and `did export` still finds its plugins
    help_text = subprocess.run(
        [sys.executable, "-m", "did_cli", "export", "--help"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert "completeness" in help_text and "gp-benchmark" in help_text


def test_validate_does_not_touch_a_store(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tmp_path / "nostore"))
    bad = didfiles.rows(2)
    bad[1]["test_date"] = "2026-02-31"
    path = didfiles.write(tmp_path / "DID_RR8_202602.csv", bad)
    code = did_cli.main(["validate", str(path), "--submitted-on", "2026-02-10", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["counts"] == {"records": 2, "accepted": 1, "rejected": 1, "with_warnings": 0, "replaced": 0}
    assert [(i["line"], i["code"]) for i in out["issues"]] == [(3, "DIDS045")]
    assert not (tmp_path / "nostore").exists()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["submit"], "the following arguments are required"),
        (["synth", "--from", "2025-13", "--to", "2026-01", "--out", "x"], "not a month"),
        (["submit", "/does/not/exist.csv", "--provider", "RR8", "--period", "2026-02"], "does not exist"),
        (["submit", "{file}"], "give --provider"),
        (["submit", "{file}", "--provider", "RR8", "--period", "2026-02", "--submitted-on", "yesterday"], "not a date"),
        (["serve", "--store", "{tmp}/empty"], "no published store"),
    ],
)
def test_usage_errors_exit_1_with_one_line(argv, words, store_dir, tmp_path, capsys):
    path = didfiles.write(tmp_path / "extract.csv", didfiles.rows(1))
    argv = [a.format(file=path, tmp=tmp_path) for a in argv]
    before = _store_state(store_dir)
    with pytest.raises(SystemExit) as exc_info:
        raise SystemExit(did_cli.main(argv + ["--store", str(store_dir)] if argv[0] == "submit" else argv))
    err = capsys.readouterr().err
    assert exc_info.value.code == 1
    assert words in err
    assert "Traceback" not in err
    assert _store_state(store_dir) == before


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary", b"only,three,columns\n"])
def test_non_did_file_exits_2_and_loads_nothing(content, store_dir, tmp_path, capsys):
    path = tmp_path / "DID_RR8_202602.csv"
    path.write_bytes(content)
    code = did_cli.main(["submit", str(path), "--submitted-on", "2026-02-10", "--store", str(store_dir)])
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("REJECTED") and out.count("\n") == 1
    import duckdb

    con = duckdb.connect(str(store.store_path(store_dir)), read_only=True)
    assert con.execute("SELECT count(*) FROM record").fetchall() == [(0,)]
    con.close()


def test_synth_into_an_unwritable_folder_is_a_clear_error(tmp_path):
    # A regular file where the output folder's parent should be: no user, not even root
    # (who ignores permission bits), can create the folder.
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "did_cli",
            "synth",
            "--from",
            "2026-01",
            "--to",
            "2026-01",
            "--scale",
            "0.001",
            "--out",
            str(blocker / "out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "did: error:" in proc.stderr, proc.stderr
    assert blocker.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def _garbage(tmp_path, kind):
    if kind == "nonexistent":
        return str(tmp_path / "DID_RR8_202602.csv")
    if kind == "huge name":
        return str(tmp_path / ("DID_RR8_202602_" + "x" * 5000 + ".csv"))
    path = tmp_path / "DID_RR8_202602.csv"
    content = {
        "binary": bytes(range(256)) * 100,
        "empty": b"",
        "17 columns": (",".join(["a"] * 17) + "\n").encode(),
        "19 columns": (",".join(["a"] * 19) + "\n").encode(),
        "10 MB line": b"a" * (10 * 1024 * 1024),
        "wrong encoding": "\n".join(",".join(["é"] * 18) for _ in range(3)).encode("utf-16"),
        "latin-1": (",".join(["Zoë"] * 18) + "\n").encode("latin-1"),
    }[kind]
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(
    ("kind", "exit_code"),
    [
        ("binary", 2),
        ("empty", 2),
        ("17 columns", 2),
        ("19 columns", 2),
        ("10 MB line", 2),
        ("wrong encoding", 2),
        ("latin-1", 2),
        ("nonexistent", 1),
        ("huge name", 1),
    ],
)
@pytest.mark.parametrize("command", ["validate", "submit"])
def test_garbage_in_gives_a_clear_error_and_changes_nothing(kind, exit_code, command, store_dir, tmp_path, capsys):
    before = _store_state(store_dir)
    code = did_cli.main(
        [
            command,
            _garbage(tmp_path, kind),
            "--provider",
            "RR8",
            "--period",
            "2026-02",
            "--submitted-on",
            "2026-02-10",
            "--store",
            str(store_dir),
        ]
    )
    captured = capsys.readouterr()
    message = (captured.out + captured.err).strip()
    assert code == exit_code
    assert message.count("\n") == 0 and len(message) < 400, message
    assert "Traceback" not in message
    if command == "validate" or exit_code == 1:
        assert _store_state(store_dir) == before
    else:  # a rejected file is logged (history is kept) but no record is loaded
        import duckdb

        con = duckdb.connect(str(store.store_path(store_dir)), read_only=True)
        assert con.execute("SELECT count(*) FROM record").fetchall() == [(0,)]
        assert con.execute("SELECT status FROM submission").fetchall() == [("rejected",)]
        con.close()


def test_a_load_killed_mid_transaction_leaves_the_store_as_it_was(store_dir, tmp_path):
    """A real process death (no rollback, no cleanup) half-way through the load transaction."""
    import duckdb

    first = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(5))
    assert did_cli.main(["submit", str(first), "--submitted-on", "2026-02-10", "--store", str(store_dir)]) == 0
    second = didfiles.write(tmp_path / "again" / "DID_RR8_202602.csv", didfiles.rows(3))
    script = (
        "import os, sys, did_cli\n"
        "from ingest import loader\n"
        "real = loader._insert_records\n"
        "def die(*a, **k):\n"
        "    real(*a, **k)\n"
        "    os._exit(9)\n"
        "loader._insert_records = die\n"
        "sys.exit(did_cli.main(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "submit",
            str(second),
            "--submitted-on",
            "2026-02-11",
            "--store",
            str(store_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 9
    con = duckdb.connect(str(store.store_path(store_dir)), read_only=True)
    assert con.execute("SELECT count(*) FROM record").fetchall() == [(5,)]
    assert con.execute("SELECT status FROM submission").fetchall() == [("accepted",)]
    con.close()
    # and the next load works, and removes the snapshot copy the killed one had started
    assert did_cli.main(["submit", str(second), "--submitted-on", "2026-02-12", "--store", str(store_dir)]) == 0
    assert not list((store_dir / "snapshots").glob(".*"))


def test_a_submit_builds_on_a_snapshot_copy_made_while_it_checks_and_a_rejected_file_leaves_none(
    store_dir, tmp_path, monkeypatch
):
    """Into a published store, `did submit` starts copying the current snapshot before it checks
    the file (store.start_copy): an accepted file's publish builds on that copy (no second copy
    is made), and a rejected file's copy is removed. Either way no partial file stays behind."""
    import shutil

    first = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(5))
    assert did_cli.main(["submit", str(first), "--submitted-on", "2026-02-10", "--store", str(store_dir)]) == 0
    started: list[store.SnapshotCopy] = []
    copied: list[str] = []
    start, copyfile = store.start_copy, shutil.copyfile
    monkeypatch.setattr(store, "start_copy", lambda d: started.append(c := start(d)) or c)
    monkeypatch.setattr(shutil, "copyfile", lambda a, b: copied.append(Path(b).name) or copyfile(a, b))
    snapshots = store_dir / "snapshots"

    again = didfiles.write(tmp_path / "again" / "DID_RR8_202602.csv", didfiles.rows(3))
    before = store.current_snapshot(store_dir)
    assert did_cli.main(["submit", str(again), "--submitted-on", "2026-02-11", "--store", str(store_dir)]) == 0
    (early,) = started
    assert early.source == before and copied == [early.target.name]  # the one copy, the early one
    assert store.current_snapshot(store_dir) != before and not early.target.exists()
    assert not list(snapshots.glob(".*"))

    rejected = tmp_path / "rejected" / "DID_RR8_202602.csv"
    rejected.parent.mkdir()
    rejected.write_text("a,b,c\n1,2,3\n")  # three columns where DIDS wants 18: the whole file is rejected
    assert did_cli.main(["submit", str(rejected), "--submitted-on", "2026-02-12", "--store", str(store_dir)]) == 2
    assert len(started) == 2 and copied[1] == started[1].target.name  # its rejection is published on it
    assert not list(snapshots.glob(".*"))

    def failing(*args, **kwargs):
        raise UsageError("the check failed")

    monkeypatch.setattr(loader, "check", failing)  # nothing is loaded or published: the copy is removed
    before_state = _store_state(store_dir)
    assert did_cli.main(["submit", str(again), "--submitted-on", "2026-02-13", "--store", str(store_dir)]) == 1
    assert len(started) == 3 and len(copied) == 3 and not started[2].target.exists()
    assert _store_state(store_dir) == before_state


def test_reference_files_replace_their_tables_and_a_bad_one_changes_nothing(store_dir, tmp_path, capsys):
    import duckdb

    nicip = tmp_path / "nicip_release.csv"
    nicip.write_text("code,description\nXCHES,XR Chest\nCSKUH,CT Head\n")
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site_code,provider_code,site_name,provider_name,provider_type\n"
        "RR801,RR8,St James's,Leeds Teaching Hospitals,NHS trust\n"
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("code\nnot a code!\n")
    base = ["--store", str(store_dir)]
    assert did_cli.main(["reference", "load-nicip", str(nicip), *base]) == 0
    assert did_cli.main(["reference", "load-sites", str(sites), *base]) == 0
    assert did_cli.main(["reference", "load-nicip", str(bad), *base]) == 1
    assert "line 2" in capsys.readouterr().err
    con = duckdb.connect(str(store.store_path(store_dir)), read_only=True)
    assert con.execute("SELECT nicip_code, modality FROM ref_nicip ORDER BY 1").fetchall() == [
        ("CSKUH", "CT"),
        ("XCHES", "Plain radiography"),
    ]
    assert con.execute("SELECT site_code, provider_code FROM ref_site").fetchall() == [("RR801", "RR8")]
    con.close()


@pytest.mark.parametrize(
    ("argv", "address"),
    [
        (["serve"], "127.0.0.1"),
        (["serve", "--demo"], "127.0.0.1"),
        (["demo"], "127.0.0.1"),
        (["serve", "--address", "10.1.2.3"], "10.1.2.3"),
        (["demo", "--address", "10.1.2.3"], "10.1.2.3"),
    ],
)
def test_the_dashboard_listens_on_loopback_unless_given_an_address(argv, address, tmp_path, monkeypatch, capsys):
    started = []
    monkeypatch.setattr(store, "current_snapshot", lambda d: "snapshot")  # a published store
    monkeypatch.setattr(did_cli.subprocess, "call", lambda cmd, **kw: started.append(cmd) or 0)
    assert did_cli.main([*argv, "--store", str(tmp_path / "store")]) == 0
    (cmd,) = started
    assert cmd[cmd.index("--server.address") + 1] == address
    shown = "localhost" if address == "127.0.0.1" else address
    assert f"dashboard on http://{shown}:8501" in capsys.readouterr().err


def test_publish_full_writes_every_provider_file_and_builds_every_rollup_again(store_dir, tmp_path, monkeypatch):
    path = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(3))
    assert did_cli.main(["submit", str(path), "--submitted-on", "2026-02-10", "--store", str(store_dir)]) == 0
    seen: list[dict] = []
    publish = store.publish

    def watched(con, store_dir, timings=None, **kwargs):
        seen.append(timings := {} if timings is None else timings)
        return publish(con, store_dir, timings, **kwargs)

    monkeypatch.setattr(store, "publish", watched)
    assert did_cli.main(["publish", "--store", str(store_dir)]) == 0
    assert did_cli.main(["publish", "--full", "--store", str(store_dir)]) == 0
    incremental, full = seen
    assert incremental["partitions_written"] == 0 and incremental["rollups_built"] == 0
    assert full["partitions_written"] == full["partitions_total"] == 1
    assert full["rollups_built"] > 0 and full["tables_kept"] == 0
