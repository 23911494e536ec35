"""Who may sign in, and with what scope: the user registry.

A JSON file beside the store (`<store>/users.json`, or `$DID_USERS_FILE`), managed with
`did users add|list|remove`. Each user has a role and the codes that bound it (see
did_model/scope.py). Local accounts carry an Argon2id password hash at OWASP's parameters
(19 MiB, 2 passes, 1 lane; about 30 ms); hashes of the earlier scheme (scrypt, N=2^14) still
verify and are replaced by Argon2id at the user's next successful sign-in. Users who sign in
through the organisation's identity provider (Streamlit OIDC, e.g. NHS mail / Entra ID) are
matched by e-mail and carry no password. The file never holds a password in clear, and is
written atomically with mode 0600.

Signing in (`authenticate`) is throttled per user name and per client address
(queries/sign_in_throttle.py) and every outcome is audited (did_audit.py).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

import did_audit as audit
import did_settings
from did_errors import UsageError
from did_model.scope import PUBLIC, ROLES, Scope
from queries import sign_in_throttle

# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1.
_ARGON2 = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
_NAME = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
NO_MATCH = "That user name and password do not match a registered user."


class UserError(UsageError):
    """A user-registry request that cannot be done; the message says why."""


class SignInRefused(UserError):
    """A sign-in that did not succeed; the message is for the user and never says whether the
    name is registered."""


@dataclass
class User:
    username: str
    role: str
    providers: list[str] = field(default_factory=list)
    icbs: list[str] = field(default_factory=list)
    sub_icbs: list[str] = field(default_factory=list)
    practice: str | None = None
    email: str | None = None
    password: str | None = None  # $argon2id$v=19$m=…,t=…,p=…$<salt>$<hash> (or legacy scrypt$…)

    def scope(self) -> Scope:
        return Scope(
            self.role,
            providers=frozenset(self.providers),
            icbs=frozenset(self.icbs),
            sub_icbs=frozenset(self.sub_icbs),
            practice=self.practice,
            user=self.username,
        )


def users_path() -> Path:
    return did_settings.current().users_file


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise UserError("a password needs at least 12 characters")
    return _ARGON2.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """What a password is checked against when the name has none, so that an unknown name costs
    the same one Argon2id verification as a known one (made once per process)."""
    return _ARGON2.hash(secrets.token_urlsafe(16))


def _verify(stored: str, password: str) -> bool:
    if stored.startswith("scrypt$"):
        return _verify_scrypt(stored, password)
    try:
        return _ARGON2.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _verify_scrypt(stored: str, password: str) -> bool:
    """The scheme before Argon2id: `scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(base64.b64decode(digest)),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def _needs_rehash(stored: str) -> bool:
    return stored.startswith("scrypt$") or _ARGON2.check_needs_rehash(stored)


def load() -> dict[str, User]:
    path = users_path()
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {u["username"]: User(**u) for u in data.get("users", [])}


def _save(users: dict[str, User]) -> None:
    path = users_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"users": [asdict(u) for u in sorted(users.values(), key=lambda u: u.username)]}, f, indent=1)
    tmp.replace(path)


def add(
    username: str,
    role: str,
    password: str | None = None,
    providers=(),
    icbs=(),
    sub_icbs=(),
    practice: str | None = None,
    email: str | None = None,
) -> User:
    """Create or replace a user. A local account needs a password; an OIDC user an e-mail."""
    if not _NAME.fullmatch(username):
        raise UserError("a user name is 2-64 letters, digits or ._@-")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if password is None and not email:
        raise UserError("give a password (local account) or an --email (sign-in through the identity provider)")
    user = User(
        username,
        role,
        sorted({p.upper() for p in providers}),
        sorted({c.upper() for c in icbs}),
        sorted({c.upper() for c in sub_icbs}),
        practice.upper() if practice else None,
        email.lower() if email else None,
        hash_password(password) if password is not None else None,
    )
    try:
        user.scope()  # a provider needs providers, a GP a practice, ...
    except ValueError as exc:
        raise UserError(str(exc)) from None
    users = load()
    users[username] = user
    _save(users)
    return user


def remove(username: str) -> None:
    users = load()
    if username not in users:
        raise UserError(f"there is no user {username}")
    del users[username]
    _save(users)


def authenticate(username: str, password: str, address: str | None = None) -> Scope:
    """The user's scope when the password is right; SignInRefused otherwise.

    `address` is the client's IP address (None on a loopback connection). A locked name or
    address is refused before any password is checked. An unknown name, or one without a
    password, is checked against a dummy hash, so it takes the same time and is counted and
    throttled the same as a wrong password.
    """
    attempt = sign_in_throttle.keys(username, address)
    dummy = _dummy_hash()  # made on the first attempt, whichever kind it is
    user = load().get(username)
    logged_as = Scope(PUBLIC, user=username if user else "(unregistered name)")  # it may be a password
    if wait := sign_in_throttle.wait_seconds(attempt):
        audit.record(logged_as, "sign-in refused", address=address, reason="locked")
        raise SignInRefused(_locked_message(wait))
    stored = user.password if user and user.password else dummy
    if not (_verify(stored, password) and user and user.password):
        wait = sign_in_throttle.failed(attempt)
        audit.record(
            logged_as,
            "sign-in refused",
            address=address,
            reason="wrong name or password" + (", now locked" if wait else ""),
        )
        raise SignInRefused(_locked_message(wait) if wait else NO_MATCH)
    sign_in_throttle.succeeded(username)
    if _needs_rehash(stored):
        _rehash(username, stored, password)
    audit.record(user.scope(), "sign-in", address=address)
    return user.scope()


def _locked_message(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"Too many failed sign-ins: try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _rehash(username: str, stored: str, password: str) -> None:
    """Move a user to the current hashing parameters, unless the registry changed meanwhile."""
    users = load()
    if username in users and users[username].password == stored:
        users[username].password = _ARGON2.hash(password)
        _save(users)


def by_email(email: str | None) -> Scope | None:
    """An identity-provider user's scope, matched by e-mail; None when not registered."""
    if not email:
        return None
    for user in load().values():
        if user.email and user.email == email.lower():
            return user.scope()
    return None
