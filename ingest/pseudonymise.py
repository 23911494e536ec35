"""Pseudonymisation on load (architecture §7).

- NHS number -> a keyed hash: SHA-256 of (secret key || NHS number), computed inside DuckDB
  so a national file is hashed set-wise. The key is 32 random bytes kept in a file outside the
  store and outside git; without it the hashes cannot be reversed by hashing every possible NHS
  number. The input is always exactly 10 digits, so the secret-prefix construction has none of
  the length-extension weaknesses that HMAC exists to avoid (see docs/adr/0002).
- Date of birth -> age in whole years at the test date.
- Postcode -> postcode district (the outward code).

The key file is `$DID_KEY_FILE`, or `~/.config/did/pseudonymisation.key`; it is created (mode
0600, in a folder made 0700) on first use, and a key file others can read or write is refused.
Back it up with the store's backups: a store whose key is lost can still be read, but the same
patient arriving later would get a new pseudonym. Rotation: see README.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import did_settings
from did_errors import UsageError

KEY_BYTES = 32


def key_path() -> Path:
    return did_settings.current().key_file


def load_key(create: bool = True) -> str:
    """The pseudonymisation key as hex; created on first use when `create`."""
    path = key_path()
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        if not create:
            raise
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = secrets.token_hex(KEY_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        return key
    _check_mode(path)
    if len(key) != 2 * KEY_BYTES or any(c not in "0123456789abcdef" for c in key):
        raise UsageError(f"the pseudonymisation key in {path} is not {KEY_BYTES} bytes of hex")
    return key


def _check_mode(path: Path) -> None:
    """Refuse a key that other users could read (and so reverse every pseudonym) or replace."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise UsageError(
            f"the pseudonymisation key {path} is open to other users (mode {mode:o}); run: chmod 600 {path}"
        )


# SQL expressions over the rows `validation.typed_select` makes, aliased `t` (its `x_*` format
# tests and `u_*` upper-cased codes); `$key` is bound, never formatted in.
PSEUDO_ID_SQL = "CASE WHEN t.x_nhs_digits10 THEN sha256($key || t.nhs_number) END"
AGE_SQL = "CASE WHEN t.d_birth_date <= t.d_test_date THEN date_sub('year', t.d_birth_date, t.d_test_date) END"
POSTCODE_DISTRICT_SQL = "CASE WHEN t.x_postcode_ok THEN split_part(t.u_postcode, ' ', 1) END"
