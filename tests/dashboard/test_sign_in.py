"""The sign-in page under attack: repeated failures lock the name for every session, and say so."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import did_audit as audit
from queries import sign_in_throttle, users

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("DID_STORE_DIR", str(tmp_path / "store"))  # the sign-in page reads no data
    monkeypatch.setenv("DID_USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    monkeypatch.delenv("DID_DEMO_MODE", raising=False)
    sign_in_throttle.reset()
    yield
    sign_in_throttle.reset()


def _try(at: AppTest, username: str, password: str) -> str:
    at.text_input(key="username").set_value(username)
    at.text_input(key="password").set_value(password)
    at.button[0].click().run()
    assert not at.exception
    return at.error[0].value if at.error else ""


def test_the_sign_in_page_locks_a_name_after_five_failures_in_every_session(env):
    users.add("central1", "central", "a long enough password")
    at = AppTest.from_file(APP, default_timeout=30).run()
    errors = [_try(at, "central1", f"guess number {i}") for i in range(5)]
    assert all("do not match" in e for e in errors[:4])
    assert errors[4] == "Too many failed sign-ins: try again in 15 minutes."
    assert _try(at, "central1", "a long enough password").startswith("Too many failed sign-ins")
    assert "scope" not in at.session_state
    fresh = AppTest.from_file(APP, default_timeout=30).run()  # a new browser session, same server
    assert _try(fresh, "central1", "a long enough password").startswith("Too many failed sign-ins")
    assert "scope" not in fresh.session_state
    assert [x["reason"] for x in audit.read()] == ["wrong name or password"] * 4 + [
        "wrong name or password, now locked",
        "locked",
        "locked",
    ]


def test_an_unknown_name_gets_the_same_messages_as_a_known_one(env):
    users.add("central1", "central", "a long enough password")
    at = AppTest.from_file(APP, default_timeout=30).run()
    known = [_try(at, "central1", "guess guess guess") for _ in range(6)]
    sign_in_throttle.reset()  # the same address: start both from nothing
    unknown = [_try(at, "nobody-here", "guess guess guess") for _ in range(6)]
    assert known == unknown
