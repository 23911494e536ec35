"""Every setting in one object, read from the environment in one place.

An entry point (the `did` command line, the dashboard app) builds `Settings.from_env(overrides)`
once: its flags override the environment, which overrides the defaults. It then `activate`s
them, and the library reads `current()` instead of the environment, so `did export … --store X`
writes its audit line under X and looks `--user` up in X's users file. Nothing else in the
code base reads `os.environ` (tests/test_settings.py scans for it).

| setting        | environment           | default                                   |
|----------------|-----------------------|-------------------------------------------|
| store_dir      | DID_STORE_DIR         | data/store                                |
| users_file     | DID_USERS_FILE        | <store_dir>/users.json                    |
| audit_log      | DID_AUDIT_LOG         | <store_dir>/audit.jsonl                   |
| log_file       | DID_LOG_FILE          | <store_dir>/did.log                       |
| key_file       | DID_KEY_FILE          | ~/.config/did/pseudonymisation.key        |
| suppress_up_to | DID_SUPPRESS_UP_TO    | 7                                         |
| round_to       | DID_ROUND_TO          | 5                                         |
| perturb_up_to  | DID_PERTURB_UP_TO     | 2                                         |
| demo_mode      | DID_DEMO_MODE (=1)    | off                                       |
| operator       | USER                  | operator                                  |
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent

# field name -> environment variable; the path fields derived from store_dir come after it
_ENV = {
    "store_dir": "DID_STORE_DIR",
    "users_file": "DID_USERS_FILE",
    "audit_log": "DID_AUDIT_LOG",
    "log_file": "DID_LOG_FILE",
    "key_file": "DID_KEY_FILE",
    "suppress_up_to": "DID_SUPPRESS_UP_TO",
    "round_to": "DID_ROUND_TO",
    "perturb_up_to": "DID_PERTURB_UP_TO",
    "demo_mode": "DID_DEMO_MODE",
    "operator": "USER",
}
_BESIDE_STORE = {"users_file": "users.json", "audit_log": "audit.jsonl", "log_file": "did.log"}


@dataclass(frozen=True)
class Settings:
    """Where the store and the files beside it are, and the rules that depend on the deployment.
    A path left None is derived: users, audit and log files beside the store, the key in HOME."""

    store_dir: Path = PROJECT_ROOT / "data" / "store"
    # None until __post_init__ derives them, so typed as what every reader gets
    users_file: Path = None  # type: ignore[assignment]
    audit_log: Path = None  # type: ignore[assignment]
    log_file: Path = None  # type: ignore[assignment]
    key_file: Path = None  # type: ignore[assignment]
    suppress_up_to: int = 7
    round_to: int = 5
    perturb_up_to: int = 2  # 0 turns perturbation off (attack tests)
    demo_mode: bool = False
    operator: str = "operator"  # who runs the command line (the OS user), for the audit log

    def __post_init__(self) -> None:
        object.__setattr__(self, "store_dir", Path(self.store_dir))
        for name, file_name in _BESIDE_STORE.items():
            value = getattr(self, name)
            object.__setattr__(self, name, Path(value) if value else self.store_dir / file_name)
        key = Path(self.key_file) if self.key_file else Path.home() / ".config" / "did" / "pseudonymisation.key"
        object.__setattr__(self, "key_file", key)

    @classmethod
    def from_env(
        cls, overrides: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Flags (`overrides`; None values ignored) over the environment over the defaults."""
        environ = os.environ if environ is None else environ
        given: dict[str, Any] = {}
        for name, var in _ENV.items():
            if environ.get(var):
                given[name] = _parse(name, environ[var])
        given.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls(**given)

    def environment(self) -> dict[str, str]:
        """The process environment with every setting spelled out: what a child process started
        from an entry point (the dashboard under `did serve`) builds its own Settings from."""
        env = dict(os.environ)
        env.update({_ENV[f.name]: str(getattr(self, f.name)) for f in fields(self) if f.name != "demo_mode"})
        if self.demo_mode:
            env[_ENV["demo_mode"]] = "1"
        else:
            env.pop(_ENV["demo_mode"], None)
        return env


def _parse(name: str, text: str) -> object:
    """An environment value as the field's type; a number that is not one stops with a clear
    message rather than somewhere deep in a query."""
    from did_errors import UsageError

    if name in ("suppress_up_to", "round_to", "perturb_up_to"):
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"{_ENV[name]}={text!r} is not a whole number; set it to one or unset it") from None
    if name == "demo_mode":
        return text == "1"
    return text


_active: Settings | None = None


def _fallback() -> Settings:
    """The settings when no entry point activated any (a library used on its own): the defaults,
    not the environment. The test suite replaces this with `Settings.from_env` (tests/conftest.py)."""
    return Settings()


def activate(settings: Settings) -> Settings:
    """Make `settings` the ones the library reads from now on; called by entry points only."""
    global _active
    _active = settings
    return settings


def current() -> Settings:
    return _active if _active is not None else _fallback()


class _BesideStoreHandler(logging.FileHandler):
    """A log file that makes no folder for a warning: a command that touches no store (`did
    validate`, `did synth`) leaves none behind. An error makes the folder (0700, like the store's)
    so that its trace is kept."""

    def emit(self, record: logging.LogRecord) -> None:
        folder = Path(self.baseFilename).parent
        if not folder.is_dir():
            if record.levelno < logging.ERROR:
                return
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        super().emit(record)

    def _open(self):
        stream = super()._open()
        os.chmod(self.baseFilename, 0o600)  # it names who ran what, like the audit log
        return stream


# Shapes of a patient identifier (an NHS number, a full postcode, a date that may be a birth date),
# blanked from what is logged: an exception's message may quote a record's value (a DuckDB
# conversion error does), and the log file is read by whoever looks after the service.
_IDENTIFIER_SHAPES = re.compile(
    r"(?<![0-9A-Za-z])(\d{10}|\d{3}[ -]?\d{3}[ -]?\d{4}|\d{4}-\d{2}-\d{2}"
    r"|[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2})(?![0-9A-Za-z])"
)


class _Redacting(logging.Formatter):
    """Log lines with anything shaped like a patient identifier blanked, trace included; the time
    is written 20261206T173000Z, a shape never blanked."""

    def converter(self, secs: float | None = None) -> time.struct_time:
        return time.gmtime(secs)

    def format(self, record: logging.LogRecord) -> str:
        return _IDENTIFIER_SHAPES.sub("[redacted]", super().format(record))


class _OneLine(logging.Formatter):
    """On stderr a record is one line: its trace goes to the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = _IDENTIFIER_SHAPES.sub("[redacted]", record.getMessage())
        return self.formatMessage(record)


def configure_logging(settings: Settings) -> None:
    """Logging, set up once by an entry point: warnings and errors on stderr in one line each, and
    with their traces appended to `settings.log_file`. Nothing routine is logged, so a command
    that goes as planned (or is refused) changes nothing beside the store. Log lines name
    commands and files, never a record's values (tests/test_identifier_scan.py scans the file)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_did", False)]:
        root.removeHandler(handler)
        handler.close()
    to_file = _BesideStoreHandler(settings.log_file, encoding="utf-8", delay=True)
    to_file.setFormatter(_Redacting("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y%m%dT%H%M%SZ"))
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setFormatter(_OneLine("did: %(message)s"))
    for handler in (to_file, to_stderr):
        setattr(handler, "_did", True)  # noqa: B010 - marks our own handlers for the next call
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
