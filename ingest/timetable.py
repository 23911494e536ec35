"""When a submission is on time.

The real DID submission timetable is not in our sources (did-dataset.md §3.2, UNVERIFIED), so
the default rule is: the window for a period (submission month) opens on its first day and
closes at the end of its 20th day. A file received after that is late. The synthetic
generator plants its late files against the same rule.
"""

from __future__ import annotations

from datetime import date

DEFAULT_CLOSE_DAY = 20


def window_closes(period: date) -> date:
    """Last day a file for `period` (first day of the submission month) is on time."""
    return period.replace(day=DEFAULT_CLOSE_DAY)


def timeliness(period: date, submitted_on: date) -> str:
    return "on_time" if submitted_on <= window_closes(period) else "late"
