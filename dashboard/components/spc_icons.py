"""Making Data Count's variation and assurance icons (queries.spc.variation / assurance) as
inline SVG, each with its meaning in words beside it.

The picture follows MDC's: a circle, blue for improvement or a passing target, orange for concern
or a failing one, grey for common cause or hit and miss; a letter inside (H / L for a high or low
special cause, P / F / ? for assurance) and a small sketch of the points. Colour is never the only
signal: the letter, the sketch and the words carry the same meaning (WCAG 2.2 1.4.1), and the SVG
is named for a screen reader by its label.
"""

from __future__ import annotations

from html import escape

from dashboard.components.charts import NHS_BLUE, NHS_COLOURS, NHS_TEXT
from queries.spc import Icon

GREY = NHS_COLOURS[10]
ORANGE = NHS_COLOURS[1]
_COLOUR = {
    "common": GREY,
    "improvement_high": NHS_BLUE,
    "improvement_low": NHS_BLUE,
    "concern_high": ORANGE,
    "concern_low": ORANGE,
    "pass": NHS_BLUE,
    "fail": ORANGE,
    "hit_and_miss": GREY,
}
# A sketch of the points inside the circle (SVG polyline, 40 × 40 box): level, rising or falling.
_SKETCH = {
    "common": "10,24 16,20 22,25 28,21 32,23",
    "improvement_high": "10,28 16,26 22,22 28,16 32,12",
    "concern_high": "10,28 16,26 22,22 28,16 32,12",
    "improvement_low": "10,12 16,16 22,20 28,26 32,28",
    "concern_low": "10,12 16,16 22,20 28,26 32,28",
}


def icon_svg(icon: Icon) -> str:
    """One icon as a 40-pixel SVG, named by its label (role img, aria-label and a title)."""
    colour = _COLOUR[icon.key]
    label = escape(icon.label, quote=True)
    sketch = _SKETCH.get(icon.key)
    inner = f'<polyline points="{sketch}" fill="none" stroke="{colour}" stroke-width="2"/>' if sketch else ""
    letter = (
        f'<text x="20" y="{15 if sketch else 26}" text-anchor="middle" font-family="Arial, sans-serif" '
        f'font-size="{11 if sketch else 17}" font-weight="bold" fill="{colour}">{escape(icon.letter)}</text>'
        if icon.letter
        else ""
    )
    return (
        f'<svg role="img" aria-label="{label}" width="40" height="40" viewBox="0 0 40 40" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
        f'<circle cx="20" cy="20" r="17" fill="white" stroke="{colour}" stroke-width="3"/>{inner}{letter}</svg>'
    )


def icons_html(variation: Icon | None, assurance: Icon | None, no_target: str) -> str:
    """The two icons side by side, each followed by its label in words; `no_target` says why a
    measure has no assurance icon (it has no target)."""

    def one(title: str, icon: Icon | None, missing: str) -> str:
        body = (
            f'{icon_svg(icon)}<span style="margin-left:0.5rem">{escape(icon.label)}</span>'
            if icon
            else f"<span>{escape(missing)}</span>"
        )
        return (
            f'<div style="display:flex;align-items:center;margin:0.25rem 0;color:{NHS_TEXT}">'
            f'<strong style="min-width:6.5rem">{title}:</strong>{body}</div>'
        )

    return one("Variation", variation, "Too few months to judge variation.") + one("Assurance", assurance, no_target)
