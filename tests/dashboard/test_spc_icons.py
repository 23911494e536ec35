"""Making Data Count icons and the XmR figure (dashboard/components/spc_icons.py, waits_charts.py):
every icon is named in words, and a change point draws the limits as a step."""

from __future__ import annotations

from datetime import date

import polars as pl

from dashboard.components.spc_icons import icon_svg, icons_html
from dashboard.components.waits_charts import spc_figure
from queries import spc


def test_each_icon_is_an_svg_named_by_its_label():
    for icon in (*spc.VARIATION.values(), *spc.ASSURANCE.values()):
        svg = icon_svg(icon)
        assert svg.startswith('<svg role="img"') and f'aria-label="{icon.label}"' in svg
        assert f"<title>{icon.label}</title>" in svg
        if icon.letter:  # high / low and pass / fail are told apart by a letter, not colour alone
            assert f">{icon.letter}</text>" in svg


def test_icons_html_writes_the_label_beside_each_icon_and_says_when_there_is_no_target():
    html = icons_html(spc.VARIATION["concern_high"], None, "No national target applies.")
    assert "Variation:" in html and "Special cause variation: concern (higher)</span>" in html
    assert "Assurance:" in html and "No national target applies." in html
    both = icons_html(spc.VARIATION["common"], spc.ASSURANCE["fail"], "")
    assert "Consistently failing the target" in both


def test_spc_figure_draws_each_segment_apart_and_the_target():
    months = [date(2026, m, 1) for m in range(1, 7)]
    chart = spc.with_xmr(
        pl.DataFrame({"activity_month": months, "median_days": [10, 12, 11, 20, 21, 22]}), "median_days"
    )
    fig = spc_figure(chart, "median_days", "Median wait (days)", percent=False, target=15, target_label="Target")
    means = [t for t in fig.data if t.name == "Mean"]
    assert [list(t.y) for t in means] == [[11, 11, 11], [21, 21, 21]]
    assert sum(t.showlegend is not False for t in means) == 1
    assert fig.layout.shapes[0].y0 == 15 and fig.layout.yaxis.tickformat == ",d"


def test_turnaround_lines_that_coincide_stay_distinguishable():
    """Routine, urgent and urgent-suspected-cancer 90th percentiles are often the same number of
    days: each line has its own marker, size and dash, so one drawn over another still shows."""
    from dashboard.components.waits_charts import turnaround_figure

    months = [date(2026, 4, 1), date(2026, 5, 1)]
    frame = pl.DataFrame(
        {
            "priority": ["Routine"] * 2 + ["Urgent"] * 2 + ["Urgent suspected cancer"] * 2,
            "activity_month": months * 3,
            "p90_days": [9, 9] * 3,
        }
    )
    lines = turnaround_figure(frame, 28).data
    names = ("Routine", "Urgent", "Urgent suspected cancer")
    assert [t.name for t in lines] == [f"{p}: 90th percentile" for p in names]
    styles = {(t.marker.symbol, t.marker.size, t.line.dash) for t in lines}
    assert len(styles) == 3 and len({t.marker.symbol for t in lines}) == 3
    sizes = [t.marker.size for t in lines]
    assert sizes == sorted(sizes, reverse=True) and lines[0].marker.symbol.endswith("-open")


def test_percent_axis_ticks_never_repeat_a_label():
    """An XmR chart of % reported within 28 days runs from 98% to the 100% target: whole-percent
    ticks 0.5% apart read "100%, 100%, 99%, 99%, 98%"."""
    from dashboard.components.waits_charts import percent_ticks

    assert percent_ticks([0.05, 0.25]) == ".0%"
    assert percent_ticks([0.981, 0.983, 1.0]) == ".1%"
    assert percent_ticks([0.9812, 0.9815]) == ".2%"
    months = [date(2026, m, 1) for m in range(4, 11)]
    chart = spc.with_xmr(
        pl.DataFrame({"activity_month": months, "share": [0.981, 0.982, 0.981, 0.982, 0.981, 0.982, 0.981]}), "share"
    )
    figure = spc_figure(chart, "share", "% reported within 28 days", target=1.0, target_label="Target")
    assert figure.layout.yaxis.tickformat == ".1%"
