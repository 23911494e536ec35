"""The user registry: hashed passwords, scopes that make sense, nothing in clear; sign-in that
is throttled, audited and says nothing about which names exist."""

from __future__ import annotations

import base64
import hashlib
import json
import stat

import pytest

import did_audit as audit
import did_cli
from queries import sign_in_throttle, users

OWASP_ARGON2ID = "$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture(autouse=True)
def _users_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DID_USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "audit.jsonl"))
    sign_in_throttle.reset()
    yield tmp_path / "users.json"
    sign_in_throttle.reset()


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, moved by hand: `clock.now += 60`."""

    class Clock:
        now = 1_800_000_000.0

    monkeypatch.setattr(sign_in_throttle, "_now", lambda: Clock.now)
    return Clock


def _refused(username, password, address=None) -> str:
    with pytest.raises(users.SignInRefused) as exc_info:
        users.authenticate(username, password, address)
    return str(exc_info.value)


def test_a_local_account_signs_in_only_with_its_password(_users_file):
    users.add("leeds-imaging", "provider", "correct horse battery", providers=["rr8"])
    scope = users.authenticate("leeds-imaging", "correct horse battery")
    assert scope.role == "provider" and scope.providers == frozenset({"RR8"}) and scope.user == "leeds-imaging"
    assert _refused("leeds-imaging", "wrong password here") == users.NO_MATCH
    assert _refused("nobody", "correct horse battery") == users.NO_MATCH
    text = _users_file.read_text()
    assert "correct horse battery" not in text
    assert stat.S_IMODE(_users_file.stat().st_mode) == 0o600


def test_passwords_are_hashed_with_argon2id_at_owasp_parameters(_users_file):
    users.add("central1", "central", "a long enough password")
    stored = json.loads(_users_file.read_text())["users"][0]["password"]
    assert stored.startswith(OWASP_ARGON2ID)
    assert users.hash_password("a long enough password") != stored  # salted


def _legacy_scrypt_hash(password: str) -> str:
    """A hash as the registry stored them before Argon2id (scrypt N=2^14, r=8, p=1)."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_an_old_scrypt_hash_still_signs_in_and_is_upgraded_to_argon2id(_users_file):
    users.add("central1", "central", "a long enough password")
    data = json.loads(_users_file.read_text())
    data["users"][0]["password"] = _legacy_scrypt_hash("a long enough password")
    _users_file.write_text(json.dumps(data))
    assert _refused("central1", "not the password") == users.NO_MATCH
    assert users.load()["central1"].password.startswith("scrypt$")  # a failure changes nothing
    assert users.authenticate("central1", "a long enough password").role == "central"
    assert users.load()["central1"].password.startswith(OWASP_ARGON2ID)
    assert users.authenticate("central1", "a long enough password").role == "central"
    assert stat.S_IMODE(_users_file.stat().st_mode) == 0o600


def test_known_and_unknown_names_cost_the_same_single_verification(monkeypatch):
    users.add("leeds-imaging", "provider", "correct horse battery", providers=["rr8"])
    users.add("dr-a", "gp", practice="b82007", email="dr.a@nhs.net")
    verified = []
    real_verify = users._verify
    monkeypatch.setattr(users, "_verify", lambda stored, pw: verified.append(stored) or real_verify(stored, pw))
    monkeypatch.setattr(users, "hash_password", lambda pw: pytest.fail("hashed a password while signing in"))
    for name in ("leeds-imaging", "nobody", "dr-a"):  # known, unknown, known without a password
        assert _refused(name, "wrong password here") == users.NO_MATCH
    assert len(verified) == 3
    assert {stored.rsplit("$", 2)[0] + "$" for stored in verified} == {OWASP_ARGON2ID}


def test_identity_provider_users_are_matched_by_email():
    users.add("dr-a", "gp", practice="b82007", email="Dr.A@nhs.net")
    assert users.by_email("dr.a@nhs.net").practice == "B82007"
    assert users.by_email("someone@nhs.net") is None
    assert _refused("dr-a", "") == users.NO_MATCH  # no password: cannot sign in locally


def test_five_failures_lock_a_name_for_15_minutes_then_twice_as_long(clock, monkeypatch):
    users.add("central1", "central", "a long enough password")
    for _ in range(4):
        assert _refused("central1", "guess guess guess") == users.NO_MATCH
        clock.now += 60
    assert _refused("central1", "guess guess guess") == "Too many failed sign-ins: try again in 15 minutes."
    clock.now += 14 * 60
    with monkeypatch.context() as m:
        m.setattr(users, "_verify", lambda *a: pytest.fail("checked a password while locked"))
        assert _refused("central1", "a long enough password") == "Too many failed sign-ins: try again in 1 minute."
    clock.now += 60
    for _ in range(4):
        assert _refused("central1", "guess guess guess") == users.NO_MATCH
    assert _refused("central1", "guess guess guess").endswith("try again in 30 minutes.")
    clock.now += 30 * 60
    assert users.authenticate("central1", "a long enough password").role == "central"


def test_failures_spread_wider_than_the_window_do_not_lock(clock):
    users.add("central1", "central", "a long enough password")
    for _ in range(10):
        assert _refused("central1", "guess guess guess") == users.NO_MATCH
        clock.now += sign_in_throttle.WINDOW / 4 + 1
    assert users.authenticate("central1", "a long enough password").role == "central"


def test_back_off_is_forgotten_after_a_quiet_day_and_cleared_by_a_success(clock):
    users.add("central1", "central", "a long enough password")

    def lock_once() -> str:
        for _ in range(4):
            _refused("central1", "guess guess guess")
        return _refused("central1", "guess guess guess")

    assert lock_once().endswith("15 minutes.")
    clock.now += 15 * 60
    assert lock_once().endswith("30 minutes.")
    clock.now += sign_in_throttle.FORGET_AFTER + 30 * 60
    assert lock_once().endswith("15 minutes.")
    clock.now += 15 * 60
    assert users.authenticate("central1", "a long enough password").role == "central"
    assert lock_once().endswith("15 minutes.")


def test_an_unknown_name_is_refused_and_locked_exactly_like_a_known_one(clock):
    users.add("central1", "central", "a long enough password")
    seen = {}
    for name, address in (("central1", "10.0.0.1"), ("nobody", "10.0.0.2")):
        seen[name] = [_refused(name, "guess guess guess", address) for _ in range(6)]
    assert seen["central1"] == seen["nobody"]
    assert seen["nobody"][-1].startswith("Too many failed sign-ins")


def test_twenty_failures_from_one_address_lock_it_for_every_name(clock):
    users.add("central1", "central", "a long enough password")
    for i in range(sign_in_throttle.LIMITS["address"]):
        _refused(f"guess{i}", "guess guess guess", "203.0.113.9")
    assert _refused("central1", "a long enough password", "203.0.113.9").startswith("Too many failed sign-ins")
    assert users.authenticate("central1", "a long enough password", "198.51.100.4").role == "central"


def test_a_success_clears_the_name_but_not_the_address(clock):
    users.add("central1", "central", "a long enough password")
    users.add("central2", "central", "another long password")
    for i in range(sign_in_throttle.LIMITS["address"] - 1):
        _refused("central1" if i < 4 else f"guess{i}", "guess guess guess", "203.0.113.9")
    assert users.authenticate("central2", "another long password", "203.0.113.9").role == "central"
    assert users.authenticate("central1", "a long enough password", "198.51.100.4").role == "central"
    assert _refused("central1", "guess guess guess", "198.51.100.4") == users.NO_MATCH  # name's count restarted
    assert _refused("guess-again", "guess guess guess", "203.0.113.9").startswith("Too many failed sign-ins")


def test_sign_ins_are_audited_with_the_registered_name_and_never_the_password(clock):
    users.add("central1", "central", "a long enough password")
    _refused("central1", "wrong password one", "203.0.113.9")
    _refused("a long enough password", "central1", "203.0.113.9")  # the fields swapped
    for _ in range(4):
        _refused("central1", "wrong password one", "203.0.113.9")
    lines = audit.read()
    assert [(x["user"], x["action"], x["address"]) for x in lines[:2]] == [
        ("central1", "sign-in refused", "203.0.113.9"),
        ("(unregistered name)", "sign-in refused", "203.0.113.9"),
    ]
    assert [x["reason"] for x in lines] == ["wrong name or password"] * 5 + ["wrong name or password, now locked"]
    clock.now += 15 * 60
    users.authenticate("central1", "a long enough password", "198.51.100.4")
    assert audit.read()[-1] | {"at": None} == {
        "at": None,
        "user": "central1",
        "role": "central",
        "action": "sign-in",
        "address": "198.51.100.4",
    }
    text = audit.log_path().read_text()
    assert "wrong password one" not in text and "a long enough password" not in text


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"role": "provider", "password": "long enough pw"}, "provider code"),
        ({"role": "gp", "password": "long enough pw"}, "practice code"),
        ({"role": "wizard", "password": "long enough pw"}, "role must be"),
        ({"role": "central", "password": "short"}, "12 characters"),
        ({"role": "central"}, "password"),
    ],
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
