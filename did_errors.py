"""The one base of every error a user can act on, and the exit codes the command line gives them.

A `DidError` carries a one-line `message` saying what is wrong and what to do, and the
`exit_code` the `did` command exits with. The command line catches DidError and nothing else
(bar a full disk and an interrupt): any other exception is a bug, logged with its trace and
reported as an internal error with exit 3, never dressed up as the user's mistake.

Exit codes (a contract other tools rely on): 0 success (a file accepted, even with some records
rejected); 1 a usage error (wrong or missing argument, missing store, refused request); 2 a
file rejected as a whole or unreadable; 3 an internal error (a bug: see the log file).
"""

from __future__ import annotations

EXIT_OK, EXIT_USAGE, EXIT_REJECTED, EXIT_INTERNAL = 0, 1, 2, 3


class DidError(Exception):
    """An error the user can act on; `message` is the line they are shown."""

    exit_code = EXIT_USAGE
    label = "error"  # the word after `did:` on the command line

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(message, *args)
        self.message = message


class UsageError(DidError, ValueError):
    """A request the user can correct: a wrong or missing argument, a bad input or reference file.
    Also a ValueError, which callers checking arguments catch."""


class Refused(DidError):
    """A request outside what the user may do (another provider's data, a setting only the central
    team changes). Not a PermissionError: a file the system will not open is not a refusal, and
    must not be reported or audited as one."""

    label = "refused"
