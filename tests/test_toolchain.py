"""The linter and the type checker run with the suite, so a finding fails `make test` like a failing test.

Both are configured in pyproject.toml ([tool.ruff], [tool.mypy]: which rules, which files) and
installed by the [test] extras at the versions requirements.lock pins, so every machine reports
the same findings. A missing tool fails too: a check that cannot run has not passed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing():
    done = _run("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing():
    done = _run("mypy")  # the files and options in [tool.mypy]
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_is_formatted():
    """`ruff format` leaves every file as it is (run `.venv/bin/ruff format .` to fix)."""
    done = _run("ruff", "format", "--check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr
