"""did_months: the one definition of month arithmetic every layer uses."""

from datetime import date

from did_months import add_months, count_months, month_range


def test_months_cross_years_both_ways():
    assert add_months(date(2025, 11, 1), 2) == date(2026, 1, 1)
    assert add_months(date(2026, 1, 15), -1) == date(2025, 12, 1)  # any day: the month's first
    assert add_months(date(2026, 3, 1), -27) == date(2023, 12, 1)
    assert count_months(date(2025, 11, 1), date(2026, 10, 1)) == 12
    assert count_months(date(2026, 4, 1), date(2026, 4, 30)) == 1
    assert count_months(date(2026, 5, 1), date(2026, 4, 1)) == 0
    assert month_range(date(2025, 12, 1), date(2026, 2, 1)) == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert month_range(date(2026, 2, 1), date(2026, 1, 1)) == []
