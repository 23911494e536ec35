"""The default submission deadlines (ingest/timetable.py explains the timetable and its rules):
a period's provisional deadline and, for a DIDS v2.0 period, its final close."""

from __future__ import annotations

from datetime import date, timedelta

from did_months import add_months

DEFAULT_CLOSE_DAY = 20
FINAL_MONTHS = 6  # a v2.0 period's final close, in months after its provisional deadline


def window_closes(period: date) -> date:
    """The default rule, for periods the timetable does not list."""
    return period.replace(day=DEFAULT_CLOSE_DAY)


def final_closes(period: date, provisional: date | None = None) -> date | None:
    """The default final close of `period` (None: v1.0 periods have none), counted from its
    provisional deadline (the default one unless given); the day is held to the month's end."""
    from did_model.spec_pack import version_for_period  # here: it reads the spec packs

    if version_for_period(period) == "1.0":
        return None
    provisional = provisional or window_closes(period)
    month = add_months(provisional, FINAL_MONTHS)
    last_day = (add_months(month, 1) - timedelta(days=1)).day
    return month.replace(day=min(provisional.day, last_day))
