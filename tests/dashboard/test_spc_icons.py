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
        assert svg.startswith("<svg role=\"img\"") and f'aria-label="{icon.label}"' in svg
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
    chart = spc.with_xmr(pl.DataFrame({"activity_month": months, "median_days": [10, 12, 11, 20, 21, 22]}),
                         "median_days")
    fig = spc_figure(chart, "median_days", "Median wait (days)", percent=False, target=15, target_label="Target")
    means = [t for t in fig.data if t.name == "Mean"]
    assert [list(t.y) for t in means] == [[11, 11, 11], [21, 21, 21]]
    assert sum(t.showlegend is not False for t in means) == 1
    assert fig.layout.shapes[0].y0 == 15 and fig.layout.yaxis.tickformat == ",d"
