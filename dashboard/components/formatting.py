"""How numbers and months are written on the pages (one place, so tests can match them)."""

from __future__ import annotations

from datetime import date, datetime


def count(n: int | None) -> str:
    """A count with thousands separators: 12,345. None (no figure) becomes an en dash."""
    return "–" if n is None else f"{n:,}"


def month(d: date) -> str:
    """A month as words: 'February 2026'."""
    return d.strftime("%B %Y")


def change(now: int, before: int | None) -> str | None:
    """Percentage change from `before` to `now` ('+4.2%'), or None when it cannot be worked out."""
    if before is None or before == 0:
        return None
    return f"{(now - before) / before:+.1%}"


def timestamp(iso: str | None) -> str:
    """An ISO 8601 time (as the store records it) as 'YYYY-MM-DD HH:MM UTC'."""
    if not iso:
        return "unknown"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso
