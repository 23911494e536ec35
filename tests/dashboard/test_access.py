"""Access through the router: nobody signed in sees only Sign in and About; each role sees its pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.navigation import PAGES, available
from did_model.scope import Scope
from queries import users

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture
def env(tmp_path, monkeypatch, tiny_store):
    monkeypatch.setenv("DID_STORE_DIR", str(tiny_store))
    monkeypatch.setenv("DID_USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.delenv("DID_DEMO_MODE", raising=False)


def test_nobody_signed_in_gets_the_sign_in_page_and_nothing_else(env):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Sign in"
    assert not at.metric  # no figures
    with pytest.raises(ValueError, match=r"Known pages: .*sign_in\.py.*about\.py"):
        at.switch_page("views/home.py")  # a deep link to a page that is not registered for this user


def test_the_accessibility_statement_is_open_to_someone_not_signed_in(env):
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.switch_page("views/accessibility.py").run()
    assert not at.exception
    assert at.title[0].value == "Accessibility statement"
    assert any("WCAG" in m.value and "2.2" in m.value for m in at.markdown)


def test_local_sign_in_with_a_registered_user(env):
    users.add("central1", "central", "a long enough password")
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="username").set_value("central1")
    at.text_input(key="password").set_value("a long enough password")
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["scope"].role == "central"
    assert at.title[0].value == "Diagnostic imaging in England"


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(env):
    users.add("central1", "central", "a long enough password")
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key="username").set_value("central1")
    at.text_input(key="password").set_value("guess guess guess")
    at.button[0].click().run()
    assert "do not match" in at.error[0].value
    assert "scope" not in at.session_state


def test_demo_mode_lets_the_viewer_pick_a_role(env, monkeypatch):
    monkeypatch.setenv("DID_DEMO_MODE", "1")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert "Demo mode" in at.sidebar.warning[0].value
    assert at.session_state["scope"].role == "central"  # the default view
    # AppTest re-runs a page script directly once a pages/ folder sits beside the router, so
    # each choice is checked on a first run (the real app always runs the router).
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["demo_role"] = "provider"
    at.run()
    assert at.session_state["scope"] == Scope("provider", providers=frozenset({"RR8"}), user="demo")


@pytest.mark.parametrize("role", ["central", "provider", "commissioner", "gp"])
def test_navigation_lists_only_the_pages_a_role_may_open(role):
    listed = {e.file for entries in available(role).values() for e in entries}
    for entry in PAGES:
        if role not in entry.roles:
            assert entry.file not in listed
    assert "about.py" in listed and "home.py" in listed and "accessibility.py" in listed
    if role not in ("central", "provider"):  # a provider sees which of its own files counts
        assert "completeness.py" not in listed
    if role in ("commissioner", "gp"):
        assert "submit.py" not in listed and "local_codes.py" not in listed
    # A provider may open no practice (none is named to it): the practice page, an empty picker
    # and "Pick a practice", was a dead end
    assert ("gp_practice.py" in listed) == (role != "provider")


def test_no_practice_is_named_to_a_provider_and_some_to_every_role_offered_the_practice_page(synthetic_store):
    from did_model.scope import CENTRAL
    from queries import gp_benchmark
    from queries.connection import get_snapshot

    snap = get_snapshot(synthetic_store[0])
    everyone = gp_benchmark.practice_directory(snap, CENTRAL)
    practice = everyone.row(0, named=True)
    scopes = {
        "provider": Scope("provider", providers=frozenset({"RR8"}), user="t"),
        "commissioner": Scope("commissioner", icbs=frozenset({practice["icb_code"]}), user="t"),
        "gp": Scope("gp", practice=practice["practice_code"], user="t"),
        "central": CENTRAL,
    }
    for role, scope in scopes.items():
        offered = any(e.file == "gp_practice.py" for es in available(role).values() for e in es)
        assert offered == (not gp_benchmark.practice_directory(snap, scope).is_empty()), role
