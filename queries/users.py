"""Who may sign in, and with what scope: the user registry.

A JSON file beside the store (`<store>/users.json`, or `$DID_USERS_FILE`), managed with
`did users add|list|remove`. Each user has a role and the codes that bound it (see
queries/scope.py). Local accounts carry a scrypt password hash; users who sign in through the
organisation's identity provider (Streamlit OIDC, e.g. NHS mail / Entra ID) are matched by
e-mail and carry no password. The file never holds a password in clear, and is written
atomically with mode 0600.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.store import default_store_dir
from queries.scope import ROLES, Scope

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_NAME = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")


class UserError(ValueError):
    """A user-registry request that cannot be done; the message says why."""


@dataclass
class User:
    username: str
    role: str
    providers: list[str] = field(default_factory=list)
    icbs: list[str] = field(default_factory=list)
    sub_icbs: list[str] = field(default_factory=list)
    practice: str | None = None
    email: str | None = None
    password: str | None = None  # scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>

    def scope(self) -> Scope:
        return Scope(self.role, providers=frozenset(self.providers), icbs=frozenset(self.icbs),
                     sub_icbs=frozenset(self.sub_icbs), practice=self.practice, user=self.username)


def users_path() -> Path:
    env = os.environ.get("DID_USERS_FILE")
    return Path(env) if env else default_store_dir() / "users.json"


def hash_password(password: str) -> str:
    if len(password) < 12:
        raise UserError("a password needs at least 12 characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt)}${b64(digest)}"


def _verify(stored: str, password: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


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


def add(username: str, role: str, password: str | None = None, providers=(), icbs=(), sub_icbs=(),
        practice: str | None = None, email: str | None = None) -> User:
    """Create or replace a user. A local account needs a password; an OIDC user an e-mail."""
    if not _NAME.fullmatch(username):
        raise UserError("a user name is 2-64 letters, digits or ._@-")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if password is None and not email:
        raise UserError("give a password (local account) or an --email (sign-in through the identity provider)")
    user = User(username, role, sorted({p.upper() for p in providers}), sorted({c.upper() for c in icbs}),
                sorted({c.upper() for c in sub_icbs}), practice.upper() if practice else None,
                email.lower() if email else None, hash_password(password) if password is not None else None)
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


def authenticate(username: str, password: str) -> Scope | None:
    """The user's scope when the password is right; None otherwise (same time either way)."""
    user = load().get(username)
    stored = user.password if user and user.password else hash_password("x" * 12)  # spend the same time
    ok = _verify(stored, password)
    return user.scope() if ok and user is not None and user.password else None


def by_email(email: str | None) -> Scope | None:
    """An identity-provider user's scope, matched by e-mail; None when not registered."""
    if not email:
        return None
    for user in load().values():
        if user.email and user.email == email.lower():
            return user.scope()
    return None
