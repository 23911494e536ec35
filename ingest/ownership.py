"""Who may submit what: the provider a submission is for, and the date it counts from.

Checked before anything is written, by the ingest API itself (`loader`, `submit`,
`local_codes`), so the command line, the Submit page and any other caller get the same answer:

- a provider code is an ASCII ODS code (3-5 letters A-Z and digits 0-9): it names a directory
  of the published store, so a code that is not one would leave the store unpublishable;
- the provider is in the organisation reference data (an ODS trust in `ref_org`, or a provider
  of the site reference `ref_site`);
- a file named DID_<provider>_<YYYYMM> is that provider's: sending it as another provider's
  would move its records under the other's code and supersede the other's month;
- a provider user submits for its own providers only; the central team for any;
- the submission date is the day the file arrives. Only the central team sets another (to
  re-check an old file), never in the future nor before the period starts.

That every record's site belongs to the submitting provider is a record-level rule (DIDSX01,
`validation.py`); that a record only replaces the same provider's record is the loader's.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb

from did_errors import Refused, UsageError
from did_model import spec

_ODS_PROVIDER = re.compile(r"[A-Z0-9]{3,5}")


class SubmissionRefused(UsageError):
    """A submission that cannot be taken as asked; the message says why and what to do."""


class NotYours(SubmissionRefused, Refused):
    """A submission outside the submitter's scope (another provider, or a date only the centre sets)."""


def provider_code(text: str | None) -> str:
    """`text` as an ODS provider code (trimmed, upper case); SubmissionRefused if it is not one.

    ASCII only: `str.isalnum` and `str.upper` also take letters such as É.
    """
    code = (text or "").strip().upper()
    if not (code.isascii() and _ODS_PROVIDER.fullmatch(code)):
        raise SubmissionRefused(f"provider code {code!r} is not an ODS code (3-5 letters A-Z and digits 0-9)")
    return code


def check_known(con: duckdb.DuckDBPyConnection, provider: str) -> None:
    """SubmissionRefused unless `provider` is an ODS trust or a provider of the site reference."""
    known = con.execute(
        "SELECT EXISTS (SELECT 1 FROM ref_org WHERE org_code = $p AND org_type = 'TRUST') "
        "OR EXISTS (SELECT 1 FROM ref_site WHERE provider_code = $p)",
        {"p": provider},
    ).fetchall()[0][0]
    if not known:
        raise SubmissionRefused(
            f"provider {provider} is not in the organisation reference data "
            "(ODS trusts or the site reference); check the code"
        )


def check_file_name(path: Path, provider: str) -> None:
    """SubmissionRefused when the file's conventional name names another provider."""
    m = spec.FILE_NAME.match(Path(path).name)
    if m and m["provider"].upper() != provider:
        raise SubmissionRefused(
            f"the file {Path(path).name} is provider {m['provider'].upper()}'s, not {provider}'s: "
            f"submit it as {m['provider'].upper()}, or send {provider}'s own file"
        )


def check_date(period: date, submitted_on: date, today: date | None = None) -> None:
    """SubmissionRefused for a submission date in the future or before the period starts."""
    today = today or date.today()
    if submitted_on > today:
        raise SubmissionRefused(
            f"submission date {submitted_on} is in the future; a file is received on or before today ({today})"
        )
    if submitted_on < period:
        raise SubmissionRefused(
            f"submission date {submitted_on} is before the start of period {period:%Y-%m}; "
            "a file for a month is sent in or after that month"
        )


def check_may_submit(scope, provider: str, submitted_on: date | None = None) -> None:
    """NotYours unless `scope` (a did_model.scope.Scope) may submit for `provider` with this date.

    A provider user submits for its own providers, on the day the file arrives; the central team
    for anyone, and may give another submission date (re-checking an old file).
    """
    if scope.is_central:
        return
    if scope.role != "provider" or provider not in scope.providers:
        raise NotYours(
            f"{scope.user} ({scope.role}) may not submit for provider {provider}; "
            "a provider user submits its own providers' files"
        )
    if submitted_on is not None and submitted_on != date.today():
        raise NotYours(
            f"{scope.user} may not set the submission date; it is the day the file arrives "
            "(the central team sets another to re-check an old file)"
        )
