"""Browser checks on how Plotly drew the charts on a page."""

from __future__ import annotations


def margins_widened(page) -> list[dict]:
    """The charts on the page whose margins Plotly had to widen (for a key, an axis title or tick
    labels that did not fit): each widening draws the whole chart again. One entry per such
    chart: the margins asked for and those drawn. Call it once every chart is drawn
    (test_accessibility_browser.settle)."""
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].map(g => [g._fullLayout.margin, g._fullLayout._size])"
    )
    return [
        {"asked": {k: asked[k] for k in "lrtb"}, "drawn": {k: size[k] for k in "lrtb"}}
        for asked, size in drawn
        if any(size[k] != asked[k] for k in "lrtb")
    ]
