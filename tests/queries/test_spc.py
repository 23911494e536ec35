"""The XmR chart (queries/spc.py) on hand-worked series, one per Making Data Count rule."""

from __future__ import annotations

import pytest

from queries import spc


def test_limits_and_a_shift_and_an_outside_point_hand_worked():
    """Mean 111/8 = 13.875. Moving ranges 2,1,2,1,1,1,18: mean 26/7 = 3.7143. Limits 13.875 ±
    2.66 × 3.7143 = 3.995 and 23.755: 30 is outside. The first 7 points are all below the mean:
    a shift. Two sigma = 2 × 3.7143 / 1.128 = 6.586: only 30 is beyond it, so no 2-of-3."""
    chart = spc.xmr([10, 12, 11, 13, 12, 11, 12, 30])
    row = chart.row(0, named=True)
    assert row["mean"] == pytest.approx(13.875)
    assert row["upper_limit"] == pytest.approx(13.875 + 2.66 * 26 / 7)
    assert row["lower_limit"] == pytest.approx(13.875 - 2.66 * 26 / 7)
    assert chart["moving_range"].to_list() == [None, 2, 1, 2, 1, 1, 1, 18]
    assert chart["outside"].to_list() == [False] * 7 + [True]
    assert chart["shift"].to_list() == [True] * 7 + [False]
    assert not chart["trend"].any() and not chart["two_of_three"].any()
    assert chart["special_cause"].all()


def test_six_of_seven_below_is_not_a_shift_and_a_point_on_the_mean_breaks_a_run():
    # mean 10: six below, then a point on the mean, then below again: no run of 7
    chart = spc.xmr([9, 9, 9, 9, 9, 9, 10, 9, 17])
    assert chart["mean"][0] == pytest.approx(10)
    assert not chart["shift"].any()


def test_a_trend_of_six_rising_points_but_not_five():
    rising = spc.xmr([5, 1, 2, 3, 4, 5, 6, 2])  # 1..6: six points, five rises
    assert rising["trend"].to_list() == [False, True, True, True, True, True, True, False]
    five = spc.xmr([5, 1, 2, 3, 4, 5, 2, 3])
    assert not five["trend"].any()
    tie = spc.xmr([1, 2, 3, 3, 4, 5, 6, 1])  # a tie breaks the run
    assert not tie["trend"].any()
    falling = spc.xmr([9, 8, 7, 6, 5, 4, 9, 9])
    assert falling["trend"].to_list() == [True] * 6 + [False, False]


def test_two_of_three_beyond_two_sigma_on_one_side():
    """10, 11 four times, then 14.5, 11, 14.5, then 10, 11, 10. Sum 155, mean 11.0714; moving
    ranges seven 1s, 3.5, 3.5, 3.5, 4.5, 1, 1: MR̄ = 24/13 = 1.8462; limits 11.0714 ± 4.9108 =
    6.161 … 15.982; two sigma = 2 × 1.8462 / 1.128 = 3.2733, line at 14.345: the two 14.5s are
    inside the limits but beyond two sigma, 2 of 3 consecutive points."""
    chart = spc.xmr([10, 11] * 4 + [14.5, 11, 14.5] + [10, 11, 10])
    assert chart["mean"][0] == pytest.approx(155 / 14)
    assert chart["upper_limit"][0] == pytest.approx(155 / 14 + 2.66 * 24 / 13)
    assert not chart["outside"].any()
    assert [i for i, f in enumerate(chart["two_of_three"]) if f] == [8, 10]
    single = spc.xmr([10, 11] * 4 + [14.5] + [11, 10, 11, 10, 11])  # one point beyond is not enough
    assert not single["two_of_three"].any()


def test_short_series():
    assert spc.xmr([]).height == 0
    one = spc.xmr([3.0])
    assert one["upper_limit"][0] is None and not one["special_cause"][0]


def test_with_xmr_leaves_hidden_months_out():
    from datetime import date

    import polars as pl

    frame = pl.DataFrame({"activity_month": [date(2026, m, 1) for m in (6, 4, 5)], "share": [0.3, 0.1, None]})
    chart = spc.with_xmr(frame, "share")
    assert chart["activity_month"].to_list() == [date(2026, 4, 1), date(2026, 6, 1)]
    assert chart["mean"][0] == pytest.approx(0.2) and chart["moving_range"].to_list() == [None, pytest.approx(0.2)]
