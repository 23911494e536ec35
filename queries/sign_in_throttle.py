"""How often a user name or a client address may fail to sign in: lockout with exponential back-off.

Each key (a user name, a client address) counts its failed sign-ins in a sliding window. Reaching
the limit locks the key; each further lock of the same key lasts twice as long, up to a day; a
day without failures forgets the key. A lock refuses every attempt under the key without checking
the password, so locked attempts cost no hashing and teach nothing.

User names are counted whether or not they are registered, so a lockout never tells a guesser
that a name exists. Addresses get a higher limit because many users of one NHS organisation
share one address behind its NAT. A success clears the user name's count but not the address's:
an attacker holding one valid account must not be able to reset the count of a password spray.

The state is kept in this process, not in a file. `did serve` runs one Streamlit server process
that handles every session in threads, and this module outlives every rerun and session of the
script, so a lock holds across reruns, new browser sessions and page reloads. Keeping it in memory
means nothing a visitor typed (people do type a password into the name field) is written to disk,
and needs no file modes or cross-process locking. A server restart, which only an operator can
do, clears it; failed sign-ins stay in the audit log.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

WINDOW = 15 * 60  # seconds over which failures are counted
LIMITS = {"user": 5, "address": 20}  # failures within WINDOW that lock the key
FIRST_LOCK = 15 * 60  # seconds; doubled by each further lock of the same key
MAX_LOCK = 24 * 60 * 60
FORGET_AFTER = 24 * 60 * 60  # a key without failures for this long starts again from nothing
KEY_CHARS = 64  # longer user names cannot be registered; keys are cut here to bound memory

_now = time.time  # replaced in tests
_lock = threading.Lock()


@dataclass
class _Key:
    failures: list[float] = field(default_factory=list)
    locks: int = 0
    locked_until: float = 0.0
    last_failure: float = 0.0


_state: dict[tuple[str, str], _Key] = {}


def keys(username: str, address: str | None) -> list[tuple[str, str]]:
    """The keys one attempt counts against. Streamlit reports no address for a loopback
    connection (the server's own machine, or a reverse proxy that does not forward the
    client's address), so those attempts share one "local" key."""
    return [("user", username[:KEY_CHARS]), ("address", address or "local")]


def wait_seconds(attempt: list[tuple[str, str]]) -> int:
    """Whole seconds until every key of the attempt is unlocked; 0 when it may go ahead."""
    now = _now()
    with _lock:
        until = max((_state[k].locked_until for k in attempt if k in _state), default=0.0)
    return max(0, math.ceil(until - now))


def failed(attempt: list[tuple[str, str]]) -> int:
    """Count a failed sign-in against every key; the wait now in force (0 unless this locked one)."""
    now = _now()
    with _lock:
        _forget_old(now)
        for k in attempt:
            entry = _state.setdefault(k, _Key())
            entry.failures = [t for t in entry.failures if t > now - WINDOW] + [now]
            entry.last_failure = now
            if len(entry.failures) >= LIMITS[k[0]]:
                entry.locks += 1
                entry.locked_until = now + min(FIRST_LOCK * 2 ** (entry.locks - 1), MAX_LOCK)
                entry.failures = []
    return wait_seconds(attempt)


def succeeded(username: str) -> None:
    """A correct password clears the user name's failures and back-off (not the address's)."""
    with _lock:
        _state.pop(("user", username[:KEY_CHARS]), None)


def reset() -> None:
    """Forget everything (tests; an operator would restart the server)."""
    with _lock:
        _state.clear()


def _forget_old(now: float) -> None:
    stale = [k for k, e in _state.items() if e.locked_until <= now and e.last_failure <= now - FORGET_AFTER]
    for k in stale:
        del _state[k]
