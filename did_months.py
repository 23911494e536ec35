"""Calendar months, the unit every DID figure is counted in: one definition for every layer.

A month is the `date` of its first day (2026-04-01 for April 2026), as `record.activity_month`
holds it.
"""

from __future__ import annotations

from datetime import date

from did_errors import UsageError


def add_months(month: date, n: int) -> date:
    """The first day of the month `n` months after `month`'s (n may be negative)."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def count_months(first: date, last: date) -> int:
    """How many months from `first`'s to `last`'s, both counted (0 or less when last is earlier)."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def month_range(first: date, last: date) -> list[date]:
    """Every month from `first`'s to `last`'s, both included, oldest first."""
    return [add_months(first, i) for i in range(count_months(first, last))]


def parse_period(text: str) -> date:
    """'YYYY-MM' (or 'YYYYMM') -> first day of that month; ValueError with a clear message."""
    cleaned = text.strip().replace("-", "")
    if len(cleaned) != 6 or not cleaned.isdigit():
        raise UsageError(f"period '{text}' is not a month in the form YYYY-MM")
    year, month = int(cleaned[:4]), int(cleaned[4:])
    if not 1 <= month <= 12 or not 2012 <= year <= 2100:
        raise UsageError(f"period '{text}' is not a month in the form YYYY-MM")
    return date(year, month, 1)
