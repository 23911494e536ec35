"""One settings object (did_settings.py) built at the entry points; one error base (did_errors.py).

- Only did_settings reads the environment; flags beat the environment, which beats the defaults.
- `--store X` reaches every file a command writes: each command run with `--store` pointing at
  a fresh folder writes nothing beside the default store nor in HOME.
- The command line catches only DidError: a bug exits 3 with its trace in the log file (not
  exit 1 as if the user had erred), and a file the system will not open is not a refusal.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import sys
from pathlib import Path

import pytest

import did_cli
import did_settings
import didfiles
from did_errors import EXIT_INTERNAL, EXIT_REJECTED, DidError, Refused, UsageError
from did_settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = [
    *(ROOT / f for f in ("did_cli.py", "did_audit.py", "did_months.py", "did_errors.py")),
    *[p for d in ("did_model", "ingest", "queries", "dashboard") for p in (ROOT / d).rglob("*.py")],
]


def _reads_environment(path: Path) -> list[int]:
    """Lines of `path` that touch os.environ, os.getenv or os.putenv."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv", "environb")
    ]


def test_only_the_settings_module_reads_the_environment():
    assert len(PRODUCTION) > 100
    found = {str(p.relative_to(ROOT)): lines for p in PRODUCTION if (lines := _reads_environment(p))}
    assert found == {}
    assert _reads_environment(ROOT / "did_settings.py")  # the scan finds what it looks for


def test_an_export_refuses_its_arguments_with_a_usage_error_not_a_bare_value_error():
    """Every error an export raises is about its arguments or the store: a bare ValueError would
    reach the command line as an internal error (exit 3) instead of a one-line usage error."""
    bare = [
        f"{p.name}:{node.lineno}"
        for p in (ROOT / "queries" / "exports").glob("*.py")
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and getattr(node.exc.func, "id", None) == "ValueError"
    ]
    assert bare == []


def test_flags_beat_the_environment_which_beats_the_defaults(tmp_path):
    env = {"DID_STORE_DIR": str(tmp_path / "env-store"), "DID_ROUND_TO": "10", "USER": "ops1"}
    s = Settings.from_env({"store_dir": str(tmp_path / "flag-store"), "round_to": None}, environ=env)
    assert s.store_dir == tmp_path / "flag-store" and s.round_to == 10 and s.operator == "ops1"
    # the files beside the store follow it; the key stays outside it
    assert (s.users_file, s.audit_log, s.log_file) == tuple(
        tmp_path / "flag-store" / n for n in ("users.json", "audit.jsonl", "did.log")
    )
    assert s.key_file.name == "pseudonymisation.key" and tmp_path not in s.key_file.parents
    assert Settings.from_env(environ={}) == Settings()
    assert Settings().suppress_up_to == 7 and not Settings().demo_mode


def test_a_setting_that_is_not_a_number_is_one_line_naming_it():
    with pytest.raises(UsageError, match="DID_PERTURB_UP_TO='two' is not a whole number"):
        Settings.from_env(environ={"DID_PERTURB_UP_TO": "two"})


def test_a_child_process_gets_the_same_settings(tmp_path):
    s = Settings.from_env({"store_dir": tmp_path}, environ={"DID_DEMO_MODE": "1", "DID_SUPPRESS_UP_TO": "3"})
    assert Settings.from_env(environ=s.environment()) == s
    off = dataclasses.replace(s, demo_mode=False)
    assert "DID_DEMO_MODE" not in off.environment() and Settings.from_env(environ=off.environment()) == off


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_every_command_with_store_writes_under_that_store_only(tmp_path, monkeypatch, capsys):
    home, default_store, store = tmp_path / "home", tmp_path / "default-store", tmp_path / "x" / "store"
    home.mkdir()
    default_store.mkdir()
    key = tmp_path / "keys" / "pseudonymisation.key"
    for name in ("DID_AUDIT_LOG", "DID_USERS_FILE", "DID_LOG_FILE", "DID_DEMO_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DID_STORE_DIR", str(default_store))
    monkeypatch.setenv("DID_KEY_FILE", str(key))
    project_data = _files(ROOT / "data")
    children = []
    monkeypatch.setattr(did_cli.subprocess, "call", lambda cmd, env, **kw: children.append(env) or 0)
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    extracts, out = tmp_path / "extracts", tmp_path / "out"
    out.mkdir()
    file = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(3))
    x = ["--store", str(store)]
    commands = [
        ["users", "add", "alice", "--role", "provider", "--provider", "RR8", "--password-stdin", *x],
        ["users", "list", *x],
        ["submit", str(file), "--submitted-on", "2026-02-10", *x],
        ["validate", str(file), "--submitted-on", "2026-02-11", *x],
        ["synth", "--from", "2026-01", "--to", "2026-01", "--scale", "0.0005", "--out", str(extracts)],
        ["load", str(extracts), *x],
        ["local-codes", "add", "--provider", "RR8", "--code", "LOC1", "--maps-to", "XCHES", *x],
        ["local-codes", "list", *x],
        ["local-codes", "remove", "--provider", "RR8", "--code", "LOC1", *x],
        ["publish", "--count-duplicates", "once", *x],
        ["quarantine", "purge", "--older-than", "0", *x],
        ["export", "waiting-times", "--user", "alice", "--out", str(out / "waits.csv"), *x],
        ["serve", *x],
        ["demo", *x],
        ["users", "remove", "alice", *x],
    ]
    for argv in commands:
        assert did_cli.main(argv) == 0, (argv, capsys.readouterr().err)
    assert _files(home) == set() and _files(default_store) == set()
    assert _files(ROOT / "data") == project_data
    assert _files(tmp_path) - {f"x/store/{f}" for f in _files(store)} - {f"extracts/{f}" for f in _files(extracts)} == {
        "keys/pseudonymisation.key",
        "out/waits.csv",
        "DID_RR8_202602.csv",
    }
    audit = [json.loads(line) for line in (store / "audit.jsonl").read_text().splitlines()]
    assert [a["user"] for a in audit if a["action"] == "export waiting-times"] == ["alice"]  # from X's users
    assert {"users.json", "audit.jsonl"} <= _files(store)
    serve_env, demo_env = children
    assert serve_env["DID_STORE_DIR"] == str(store) and serve_env["DID_USERS_FILE"] == str(store / "users.json")
    assert serve_env["DID_AUDIT_LOG"] == str(store / "audit.jsonl") and "DID_DEMO_MODE" not in serve_env
    assert demo_env["DID_DEMO_MODE"] == "1"


def test_every_error_class_is_a_did_error_and_a_refusal_is_no_permission_error():
    from did_model.measures import MeasureError
    from did_model.scope import ScopeError
    from ingest.local_codes import LocalCodeError
    from ingest.ownership import NotYours, SubmissionRefused
    from ingest.reader import FileError
    from ingest.spec_pack import PackError
    from ingest.store import StoreError
    from queries.connection import NoStoreError
    from queries.users import SignInRefused, UserError

    for cls in (
        StoreError,
        NoStoreError,
        FileError,
        PackError,
        LocalCodeError,
        SubmissionRefused,
        NotYours,
        UserError,
        SignInRefused,
        ScopeError,
        MeasureError,
        did_cli.UsageError,
    ):
        assert issubclass(cls, DidError), cls
    assert FileError.exit_code == EXIT_REJECTED
    assert issubclass(ScopeError, Refused) and issubclass(NotYours, Refused)
    assert not issubclass(ScopeError, OSError) and not issubclass(NotYours, OSError)


@pytest.fixture
def published(store_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("DID_AUDIT_LOG")  # beside the store
    path = didfiles.write(tmp_path / "DID_RR8_202601.csv", didfiles.rows(3))
    assert did_cli.main(["submit", str(path), "--submitted-on", "2026-02-10", "--store", str(store_dir)]) == 0
    return store_dir


def _export_raising(exc: Exception, store_dir: Path, tmp_path: Path, monkeypatch) -> int:
    """`did export waiting-times` with its query raising `exc`."""
    from queries import waits

    def raising(*args, **kwargs):
        raise exc

    monkeypatch.setattr(waits, "wait_summary", raising)
    return did_cli.main(["export", "waiting-times", "--store", str(store_dir), "--out", str(tmp_path / "w.csv")])


def test_a_bug_exits_3_with_its_trace_in_the_log_file(published, tmp_path, monkeypatch, capsys):
    capsys.readouterr()
    bug = ValueError("a bug in the library, patient 9434765919")
    assert _export_raising(bug, published, tmp_path, monkeypatch) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error in `did export waiting-times` (ValueError)" in err
    assert str(published / "did.log") in err and "Traceback" not in err
    logged = (published / "did.log").read_text()
    assert "Traceback" in logged and "ValueError: a bug in the library, patient [redacted]" in logged
    assert "9434765919" not in logged
    assert (published / "did.log").stat().st_mode & 0o777 == 0o600


def test_a_file_the_system_will_not_open_is_not_reported_or_audited_as_a_refusal(
    published, tmp_path, monkeypatch, capsys
):
    capsys.readouterr()
    denied = PermissionError(13, "Permission denied", str(published / "snapshots"))
    assert _export_raising(denied, published, tmp_path, monkeypatch) == did_cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("did: error: Permission denied") and "refused" not in err
    assert "refused" not in (published / "audit.jsonl").read_text()


def test_a_refusal_is_reported_and_audited_as_one(published, tmp_path, monkeypatch, capsys):
    from did_model.scope import ScopeError

    capsys.readouterr()
    refused = ScopeError("provider RTH is outside your scope")
    assert _export_raising(refused, published, tmp_path, monkeypatch) == did_cli.EXIT_USAGE
    assert capsys.readouterr().err == "did: refused: provider RTH is outside your scope\n"
    assert '"action": "refused export waiting-times"' in (published / "audit.jsonl").read_text()


def test_the_library_reads_the_settings_the_entry_point_activated(tmp_path):
    import did_audit as audit
    from did_model import layout
    from ingest import pseudonymise
    from queries import users
    from queries.disclosure import DisclosureRule

    s = did_settings.activate(Settings(store_dir=tmp_path, key_file=tmp_path / "k", perturb_up_to=0))
    assert layout.default_store_dir() == tmp_path and pseudonymise.key_path() == tmp_path / "k"
    assert users.users_path() == tmp_path / "users.json" and audit.log_path() == tmp_path / "audit.jsonl"
    assert DisclosureRule.from_settings() == DisclosureRule(s.suppress_up_to, s.round_to, 0)
