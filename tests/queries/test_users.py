"""The user registry: hashed passwords, scopes that make sense, nothing in clear."""

from __future__ import annotations

import stat

import pytest

import did_cli
from queries import users


@pytest.fixture(autouse=True)
def _users_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DID_USERS_FILE", str(tmp_path / "users.json"))
    return tmp_path / "users.json"


def test_a_local_account_signs_in_only_with_its_password(_users_file):
    users.add("leeds-imaging", "provider", "correct horse battery", providers=["rr8"])
    scope = users.authenticate("leeds-imaging", "correct horse battery")
    assert scope.role == "provider" and scope.providers == frozenset({"RR8"}) and scope.user == "leeds-imaging"
    assert users.authenticate("leeds-imaging", "wrong password here") is None
    assert users.authenticate("nobody", "correct horse battery") is None
    text = _users_file.read_text()
    assert "correct horse battery" not in text and "scrypt$" in text
    assert stat.S_IMODE(_users_file.stat().st_mode) == 0o600


def test_identity_provider_users_are_matched_by_email():
    users.add("dr-a", "gp", practice="b82007", email="Dr.A@nhs.net")
    assert users.by_email("dr.a@nhs.net").practice == "B82007"
    assert users.by_email("someone@nhs.net") is None
    assert users.authenticate("dr-a", "") is None  # no password: cannot sign in locally


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"role": "provider", "password": "long enough pw"}, "provider code"),
     ({"role": "gp", "password": "long enough pw"}, "practice code"),
     ({"role": "wizard", "password": "long enough pw"}, "role must be"),
     ({"role": "central", "password": "short"}, "12 characters"),
     ({"role": "central"}, "password")],
)
def test_incoherent_users_are_refused(kwargs, words):
    with pytest.raises(users.UserError, match=words):
        users.add("someone", **kwargs)


def test_cli_adds_lists_and_removes(capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert did_cli.main(["users", "add", "central1", "--role", "central", "--password-stdin"]) == 0
    assert did_cli.main(["users", "list"]) == 0
    out = capsys.readouterr().out
    assert "central1,central,central: all data,password" in out and "scrypt" not in out
    assert did_cli.main(["users", "remove", "central1"]) == 0
    assert did_cli.main(["users", "remove", "central1"]) == 1
