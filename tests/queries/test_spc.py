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


def test_a_trend_of_seven_rising_points_but_not_six():
    rising = spc.xmr([5, 1, 2, 3, 4, 5, 6, 7, 2])  # 1..7: seven points, six rises
    assert rising["trend"].to_list() == [False] + [True] * 7 + [False]
    six = spc.xmr([5, 1, 2, 3, 4, 5, 6, 2, 3])
    assert not six["trend"].any()
    tie = spc.xmr([1, 2, 3, 3, 4, 5, 6, 7, 1])  # a tie breaks the run
    assert not tie["trend"].any()
    falling = spc.xmr([9, 8, 7, 6, 5, 4, 3, 9, 9])
    assert falling["trend"].to_list() == [True] * 7 + [False, False]


def test_trend_examples_of_the_nhs_r_plot_the_dots_tests():
    """The trend cases of NHS-R's "plot the dots" (the R package implementing Making Data Count),
    tests/testthat/test-ptd_calculate_point_type.R: 1..6 is no trend, 1,2,3,3,4,5,6 (a tie) is
    none, 1..7 and 7..1 are, and 2, 1..7, 3 marks the seven in the middle."""
    assert not spc.xmr(list(range(1, 7)))["trend"].any()
    assert not spc.xmr([1, 2, 3, 3, 4, 5, 6])["trend"].any()
    assert spc.xmr(list(range(1, 8)))["trend"].all()
    assert spc.xmr(list(range(7, 0, -1)))["trend"].all()
    assert spc.xmr([2, *range(1, 8), 3])["trend"].to_list() == [False] + [True] * 7 + [False]


def test_two_of_three_beyond_two_sigma_on_one_side():
    """11, 13 five times, then 18, 13, 18, then 11, 13 twice. Sum 217, 17 points: mean 12.7647.
    Moving ranges nine 2s, 5, 5, 5, 7, three 2s: MR̄ = 46/16 = 2.875; limits 12.7647 ± 7.6475 =
    5.117 … 20.412; two sigma = 2 × 2.875 / 1.128 = 5.0976, line at 17.862: the two 18s are inside
    the limits but beyond two sigma, and 13 between them is above the mean: 2 of 3."""
    chart = spc.xmr([11, 13] * 5 + [18, 13, 18] + [11, 13] * 2)
    assert chart["mean"][0] == pytest.approx(217 / 17)
    assert chart["upper_limit"][0] == pytest.approx(217 / 17 + 2.66 * 46 / 16)
    assert not chart["outside"].any()
    assert [i for i, f in enumerate(chart["two_of_three"]) if f] == [10, 12]
    single = spc.xmr([11, 13] * 5 + [18] + [11, 13] * 3)  # one point beyond is not enough
    assert not single["two_of_three"].any()


def test_two_of_three_needs_the_third_point_on_the_same_side():
    """19, 12, 19: mean 218/17 = 12.8235, MR̄ = 52/16, two-sigma line 18.586 — both 19s beyond it,
    but 12 is below the mean, so the three are not on one side (plot the dots, issue 143)."""
    chart = spc.xmr([11, 13] * 5 + [19, 12, 19] + [11, 13] * 2)
    assert chart["mean"][0] + 2 * (chart["upper_limit"][0] - chart["mean"][0]) / 2.66 / 1.128 < 19
    assert not chart["special_cause"].any()


RULE_ONCE = {
    # mean 13.2667, limits −13.333 … 39.867: 45 alone is outside; the rest alternate about the mean
    "outside": ([8, 14] * 5 + [45] + [8, 14, 8, 14], [10]),
    # mean 188/16 = 11.75: 13, 14, 13, 14, 13, 14, 13 are the only seven in a row above it
    "shift": ([10, 12, 10, 12, 10, 11, 13, 14, 13, 14, 13, 14, 13, 9, 11, 9], [6, 7, 8, 9, 10, 11, 12]),
    # 8, 9, 10, 11, 12, 13, 14: seven rising; mean 10.5, limits 6.244 … 14.756
    "trend": ([11, 9, 11, 9, 8, 9, 10, 11, 12, 13, 14, 11, 9, 11, 9, 11], [4, 5, 6, 7, 8, 9, 10]),
    "two_of_three": ([11, 13] * 5 + [18, 13, 18] + [11, 13] * 2, [10, 12]),
}


@pytest.mark.parametrize("rule", RULE_ONCE)
def test_each_rule_alone_exactly_once(rule):
    """A hand-built series per rule that meets that rule once and no other rule at all."""
    values, marked = RULE_ONCE[rule]
    chart = spc.xmr(values)
    for other in spc.RULES:
        assert [i for i, f in enumerate(chart[other]) if f] == (marked if other == rule else [])


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


def test_limits_are_recalculated_only_at_a_change_point():
    """10, 12, 10, 12 then 20, 22, 20, 22 split at index 4: each segment has its own mean (11,
    21) and MR̄ (2: the jump of 8 between the segments is no moving range), limits 11 ± 5.32 and
    21 ± 5.32, and no special cause. Without the change point the whole series is one process:
    mean 16, MR̄ = 20/7, and the two halves are each four points on one side."""
    values = [10, 12, 10, 12, 20, 22, 20, 22]
    split = spc.xmr(values, change_points=[4])
    assert split["segment"].to_list() == [0] * 4 + [1] * 4
    assert split["mean"].to_list() == [11] * 4 + [21] * 4
    assert split["moving_range"].to_list() == [None, 2, 2, 2, None, 2, 2, 2]
    assert split["upper_limit"].to_list() == pytest.approx([11 + 5.32] * 4 + [21 + 5.32] * 4)
    assert split["lower_limit"].to_list() == pytest.approx([11 - 5.32] * 4 + [21 - 5.32] * 4)
    assert not split["special_cause"].any()
    whole = spc.xmr(values)
    assert whole["mean"].unique().to_list() == [16]
    assert whole["upper_limit"][0] == pytest.approx(16 + 2.66 * 20 / 7)


def test_rules_are_read_within_a_segment():
    """10, 12, 10, 12 | 10, 12, 10 are seven points below the mean of the whole series (19.625), a
    shift; split before the second group they are the last four of one segment (mean 16) and the
    first three of the next (mean 23.25): no run of seven in either."""
    values = [20, 22, 20, 22, 10, 12, 10, 12, 10, 12, 10, 30, 32, 30, 32, 30]
    assert [i for i, f in enumerate(spc.xmr(values)["shift"]) if f] == [4, 5, 6, 7, 8, 9, 10]
    split = spc.xmr(values, change_points=[8])
    assert split["mean"].unique(maintain_order=True).to_list() == [16, 23.25]
    assert not split["shift"].any()


def test_with_xmr_starts_a_segment_at_the_dids_v2_change_point():
    from datetime import date

    import polars as pl

    months = [date(2026, m, 1) for m in (1, 2, 3, 4, 5, 6)]
    frame = pl.DataFrame({"activity_month": months, "median_days": [10, 12, 11, 20, 21, 22]})
    chart = spc.with_xmr(frame, "median_days")
    assert spc.CHANGE_POINTS[0][0] == date(2026, 4, 1)
    assert chart["segment"].to_list() == [0, 0, 0, 1, 1, 1]
    assert chart["mean"].to_list() == pytest.approx([11] * 3 + [21] * 3)
    assert spc.with_xmr(frame, "median_days", change_points=())["segment"].unique().to_list() == [0]


@pytest.mark.parametrize(
    ("values", "higher_is_better", "key"),
    [
        ([10, 12, 10, 12, 10, 12, 10, 30], True, "improvement_high"),
        ([10, 12, 10, 12, 10, 12, 10, 30], False, "concern_high"),
        ([30, 28, 30, 28, 30, 28, 30, 8], True, "concern_low"),
        ([30, 28, 30, 28, 30, 28, 30, 8], False, "improvement_low"),
        ([9, 8, 7, 6, 5, 4, 3], True, "concern_low"),  # a falling trend ends the series
        ([10, 12, 10, 12, 10, 12, 10, 12], True, "common"),
        ([10, 12, 10, 12, 10, 12, 10, 30, 11], True, "common"),  # the icon reads the latest point
    ],
)
def test_variation_icon(values, higher_is_better, key):
    assert spc.variation(spc.xmr(values), higher_is_better).key == key


def test_assurance_icon_from_where_the_target_lies():
    """10, 12 alternating: mean 11, MR̄ 2, limits 5.68 … 16.32."""
    chart = spc.xmr([10, 12] * 6)
    assert spc.assurance(chart, 20, higher_is_better=True).key == "fail"
    assert spc.assurance(chart, 20, higher_is_better=False).key == "pass"
    assert spc.assurance(chart, 3, higher_is_better=True).key == "pass"
    assert spc.assurance(chart, 3, higher_is_better=False).key == "fail"
    assert spc.assurance(chart, 11, higher_is_better=True).key == "hit_and_miss"
    assert spc.assurance(chart, None, higher_is_better=True) is None
    # the latest segment's limits decide: after a change point to 30, 32 the target 20 is passed
    split = spc.xmr([10, 12] * 3 + [30, 32] * 3, change_points=[6])
    assert spc.assurance(split, 20, higher_is_better=True).key == "pass"


def test_every_icon_has_a_label_in_words():
    for icon in (*spc.VARIATION.values(), *spc.ASSURANCE.values()):
        assert len(icon.label.split()) >= 3
