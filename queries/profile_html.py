"""The provider profile as one print-ready HTML page (and, through WeasyPrint, a PDF).

No chart library renders to SVG here (Plotly needs kaleido), so the few charts are small inline
SVG drawn from the very tables printed beside them: a chart never shows a figure its table does
not. Accessibility (WCAG 2.2 AA): `lang`, headings in order (h1, h2 per section, h3 within),
every table with a caption and `th scope`, every chart an `img` named by a title and a
description, text #212b32 and NHS blue #005eb8 on white (contrast 14.7:1 and 5.9:1), and the
series of a chart told apart by marker shape and dash as well as colour. Print: A4, page numbers,
each section on a new page, a table never split from its caption.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Sequence
from datetime import date
from html import escape

import polars as pl

from queries.profile import ENGLAND, MARGIN_TEXT, Profile, show

BLUE, GREY, TEXT = "#005eb8", "#4c6272", "#212b32"

# column -> (heading, kind); kind: count | share | days | weeks | rate | score | msv | month | text
COLUMNS: dict[str, tuple[str, str]] = {
    "provider_code": ("Provider", "text"),
    "provider_name": ("Name", "text"),
    "modality": ("Modality", "text"),
    "patient_source": ("Code", "text"),
    "source_name": ("Patient source", "text"),
    "examinations": ("Examinations", "count"),
    "share": ("Share", "share"),
    "activity_month": ("Month", "month"),
    "records": ("Records", "count"),
    "missing_dates": ("Date missing", "count"),
    "negative_intervals": ("Dates out of order", "count"),
    "median_days": ("Median (days)", "days"),
    "p90_days": ("90th percentile (days)", "days"),
    "within_14d": ("Within 14 days", "share"),
    "within_28d": ("Within 28 days", "share"),
    "within_42d": ("Within 42 days", "share"),
    "priority": ("Priority", "text"),
    "reported": ("Reported", "count"),
    "reported_within_28d": ("Within 4 weeks", "count"),
    "share_within_28d": ("% within 4 weeks", "share"),
    "reported_over_28d": ("Over 4 weeks", "count"),
    "unreported": ("Unreported", "count"),
    "unreported_28d": ("Unreported 4+ weeks", "count"),
    "waits": ("Waits", "count"),
    "median_weeks": ("Median (weeks)", "rate"),
    "six_weeks_or_more": ("6 weeks or more", "count"),
    "share_six_weeks_or_more": ("% 6 weeks or more", "share"),
    "sites": ("Sites", "count"),
    "scanners": ("Scanners", "count"),
    "exams_per_scanner_per_day": ("Per scanner per operating day", "rate"),
    "weekend_share": ("Weekend share", "share"),
    "utilisation": ("Estimated use of scheduled hours", "share"),
    "site_code": ("Site", "text"),
    "site_name": ("Site name", "text"),
    "operating_hours": ("Operating hours", "count"),
    "scans_per_operating_hour": ("Scans per operating hour", "rate"),
    "scans_per_scanner_hour": ("Scans per scanner-hour", "rate"),
    "guidance": ("Against guidance", "text"),
    "measured_utilisation": ("Measured use of scheduled hours", "share"),
    "period": ("Submission month", "month"),
    "status_label": ("File", "text"),
    "files": ("Files received", "count"),
    "score": ("Score", "score"),
    "median": ("Median provider", "score"),
    "p25": ("Lower quartile", "score"),
    "p75": ("Upper quartile", "score"),
    "lowest_item": ("Lowest-scoring item", "text"),
    "examination": ("Examination group", "text"),
    "typical_dose_msv": ("Typical dose (mSv)", "rate2"),
    "collective_dose_msv": ("Collective dose (mSv)", "rate"),
    "measure": ("Measure", "text"),
    "months": ("Months charted", "count"),
    "latest_month": ("Latest month", "month"),
    "variation": ("Variation", "text"),
    "assurance": ("Assurance", "text"),
    "rank": ("Rank", "count"),
}


def cell(value: object, kind: str) -> str:
    """One value as printed; '*' for a hidden count or a figure hidden with it, '–' for none."""
    if value is None:
        return "–"
    if kind == "month" and isinstance(value, date):
        return f"{value:%b %Y}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "count" and isinstance(value, int | float):
        return f"{round(value):,}"
    if kind == "share" and isinstance(value, int | float):
        return f"{value:.1%}"
    if kind in ("rate", "score", "days") and isinstance(value, int | float):
        return f"{value:,.1f}" if not float(value).is_integer() else f"{value:,.0f}"
    if kind == "rate2" and isinstance(value, int | float):
        return f"{value:.2f}"
    return escape(str(value))


def table_html(frame: pl.DataFrame, caption: str, columns: Sequence[str] | None = None) -> str:
    """A table with a caption and column headers (scope col); the first column heads each row.
    A count hidden for small numbers prints '*' (its derived figures too)."""
    columns = [c for c in (columns or frame.columns) if c in frame.columns and c != "suppressed"]
    hidden = frame["suppressed"].to_list() if "suppressed" in frame.columns else [False] * frame.height
    head = "".join(
        f'<th scope="col">{escape(COLUMNS.get(c, (c.replace("_", " ").capitalize(), ""))[0])}</th>' for c in columns
    )
    rows = []
    for row, is_hidden in zip(frame.select(columns).iter_rows(), hidden, strict=True):
        cells = []
        for i, (c, v) in enumerate(zip(columns, row, strict=True)):
            kind = COLUMNS.get(c, ("", "text"))[1]
            text = "*" if v is None and is_hidden and kind != "text" else cell(v, kind)
            tag = "th" if i == 0 else "td"
            scope = ' scope="row"' if i == 0 else ""
            align = ' class="num"' if kind not in ("text", "month") else ""
            cells.append(f"<{tag}{scope}{align}>{text}</{tag}>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    body = "".join(rows) or f'<tr><td colspan="{len(columns)}">No rows.</td></tr>'
    return f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def line_svg(title: str, labels: list[str], series: list[tuple[str, list[float | None]]], percent: bool = False) -> str:
    """A small line chart (at most two series: solid with circles, dashed with squares)."""
    width, height, left, bottom, top = 420, 200, 56, 36, 16
    values = [v for _, vs in series for v in vs if v is not None]
    if not values or len(labels) < 2:
        return ""
    lo, hi = min(0.0, min(values)), max(values)
    hi = hi if hi > lo else lo + 1
    x = lambda i: left + i * (width - left - 10) / (len(labels) - 1)  # noqa: E731
    y = lambda v: top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))  # noqa: E731
    tick = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:,.0f}" if hi >= 10 else f"{v:.1f}")
    parts = [
        f'<line x1="{left}" y1="{y(lo):.1f}" x2="{width - 10}" y2="{y(lo):.1f}" stroke="{GREY}"/>',
        f'<text x="{left - 4}" y="{y(hi) + 4:.1f}" text-anchor="end">{tick(hi)}</text>',
        f'<text x="{left - 4}" y="{y(lo) + 4:.1f}" text-anchor="end">{tick(lo)}</text>',
        f'<text x="{left}" y="{height - 8}">{escape(labels[0])}</text>',
        f'<text x="{width - 10}" y="{height - 8}" text-anchor="end">{escape(labels[-1])}</text>',
    ]
    for k, (name, vs) in enumerate(series[:2]):
        colour, dash = (BLUE, "") if k == 0 else (GREY, ' stroke-dasharray="5,3"')
        points = [(x(i), y(v)) for i, v in enumerate(vs) if v is not None]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} '
            f'points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in points)}"/>'
        )
        for a, b in points:
            parts.append(
                f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"/>'
                if k == 0
                else f'<rect x="{a - 3:.1f}" y="{b - 3:.1f}" width="6" height="6" fill="{colour}"/>'
            )
        mark = "●" if k == 0 else "■"
        parts.append(f'<text x="{left + 8 + k * 150}" y="{top - 2}" fill="{colour}">{mark} {escape(name)}</text>')
    return _svg(
        title,
        f"Line chart by month: {', '.join(n for n, _ in series[:2])}. The table beside it holds every value.",
        width,
        height,
        parts,
    )


def bar_svg(title: str, labels: list[str], values: list[float | None], percent: bool = True) -> str:
    """Horizontal bars, one per label (a hidden value draws no bar)."""
    shown = [(lab, v) for lab, v in zip(labels, values, strict=True)]
    if not shown:
        return ""
    width, row, left = 420, 22, 150
    height = row * len(shown) + 10
    hi = max((v for _, v in shown if v is not None), default=0.0) or 1.0
    parts = []
    for i, (lab, v) in enumerate(shown):
        yy = 5 + i * row
        parts.append(f'<text x="{left - 6}" y="{yy + 14}" text-anchor="end">{escape(lab)}</text>')
        if v is not None:
            w = (width - left - 60) * v / hi
            parts.append(f'<rect x="{left}" y="{yy + 3}" width="{w:.1f}" height="{row - 8}" fill="{BLUE}"/>')
            parts.append(f'<text x="{left + w + 4:.1f}" y="{yy + 14}">{f"{v:.0%}" if percent else f"{v:,.0f}"}</text>')
    return _svg(title, "Bar chart. The table beside it holds every value.", width, height, parts)


def _svg(title: str, description: str, width: int, height: int, parts: list[str]) -> str:
    ident = f"c{zlib.crc32(title.encode()):08x}"  # stable across runs, so the same pack gives the same bytes
    return (
        f'<svg role="img" aria-labelledby="{ident}t {ident}d" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg" font-family="Arial, sans-serif" font-size="11" '
        f'fill="{TEXT}"><title id="{ident}t">{escape(title)}</title><desc id="{ident}d">{escape(description)}</desc>'
        + "".join(parts)
        + "</svg>"
    )


def _pair(chart: str, table: str) -> str:
    return f'<div class="pair"><figure>{chart}</figure><div>{table}</div></div>' if chart else table


CSS = f"""
@page {{ size: A4; margin: 14mm 12mm 16mm 12mm;
  @bottom-left {{ content: "Provider profile"; font-size: 8pt; color: {GREY}; }}
  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); font-size: 8pt; color: {GREY}; }} }}
body {{ font-family: Arial, "Liberation Sans", sans-serif; color: {TEXT}; font-size: 10pt; line-height: 1.35;
  background: #fff; margin: 0 auto; max-width: 1100px; }}
h1 {{ font-size: 18pt; color: {BLUE}; margin: 0 0 4pt; }}
h2 {{ font-size: 14pt; color: {BLUE}; border-bottom: 2px solid {BLUE}; padding-bottom: 2pt; }}
h3 {{ font-size: 11pt; margin: 10pt 0 4pt; }}
section {{ break-before: page; }}
section.first {{ break-before: auto; }}
.summary {{ border-left: 4px solid {BLUE}; padding: 4pt 8pt; background: #f0f4f5; font-weight: bold; }}
table {{ border-collapse: collapse; margin: 4pt 0 10pt; font-size: 8.5pt; break-inside: avoid; }}
caption {{ text-align: left; font-weight: bold; padding: 2pt 0; caption-side: top; }}
th, td {{ border: 1px solid #aeb7bd; padding: 2pt 4pt; vertical-align: top; }}
thead th {{ background: #e8edee; }}
th[scope=row] {{ text-align: left; font-weight: normal; }}
.num {{ text-align: right; }}
.pair {{ display: flex; flex-wrap: wrap; gap: 10pt; align-items: flex-start; break-inside: avoid; }}
figure {{ margin: 0; }}
.note {{ color: {GREY}; font-size: 8.5pt; }}
@media print {{ body {{ max-width: none; }} }}
"""


def _series(frame: pl.DataFrame, code: str, column: str) -> list[float | None]:
    rows = frame.filter(pl.col("provider_code") == code).sort("activity_month")
    return [None if v is None else float(v) for v in rows[column].to_list()]


# Inside a dashboard page: the same rules scoped to the pack, none on the page's own body or print.
EMBEDDED_CSS = f"""
.profile-pack {{ color: {TEXT}; }}
.profile-pack .summary {{ border-left: 4px solid {BLUE}; padding: 4px 8px; background: #f0f4f5; font-weight: bold; }}
.profile-pack table {{ border-collapse: collapse; margin: 4px 0 12px; font-size: 0.85rem; }}
.profile-pack caption {{ text-align: left; font-weight: bold; padding: 2px 0; caption-side: top; }}
.profile-pack th, .profile-pack td {{ border: 1px solid #aeb7bd; padding: 2px 6px; vertical-align: top; }}
.profile-pack thead th {{ background: #e8edee; }}
.profile-pack th[scope=row] {{ text-align: left; font-weight: normal; }}
.profile-pack .num {{ text-align: right; }}
.profile-pack .pair {{ display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }}
.profile-pack figure {{ margin: 0; }}
.profile-pack .note {{ color: {GREY}; font-size: 0.85rem; }}
"""


def render(profile: Profile, notes_html: str, embedded: bool = False) -> str:
    """The whole pack as one HTML document; `embedded`: as a block for a page that has its own
    title (h1) and styles — the pack's sections start at h2."""
    t, p = profile.tables, profile
    who = f"{escape(p.provider_name)} ({escape(p.provider)})"
    period = f"{p.window.first:%B %Y} to {p.window.last:%B %Y}"
    head = (
        [f'<div class="profile-pack"><style>{EMBEDDED_CSS}</style>', '<section class="first">']
        if embedded
        else [
            '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">',
            f"<title>Provider profile: {who}, {period}</title><style>{CSS}</style></head><body><main>",
            '<section class="first">',
            f"<h1>Provider profile: {who}</h1>",
        ]
    )
    out = [
        *head,
        f"<p>Activity months {period} ({p.coverage.months} months of data). Peers: the "
        f"{len(p.peer_codes)} providers most like it in size and case mix. England: every provider.</p>",
        f'<p class="summary">{escape(p.summary)}</p>',
        "<h2>Against its peers and England</h2>",
        table_html(
            _measures_for_print(t["measures"]),
            "Each measure for the provider, the middle half of its peers (lower to upper quartile) and England",
        ),
        '<p class="note">"Outside the middle half": below the peers\' lower quartile or above their upper quartile '
        f'{MARGIN_TEXT}; nearer than that, "close to". Peer quartiles need at least five peers with a figure.</p>',
        "</section>",
    ]
    # Activity
    trend = t["activity_trend"]
    months = [
        f"{m:%b %Y}"
        for m in trend.filter(pl.col("provider_code") == p.provider).sort("activity_month")["activity_month"]
    ]
    trend_table = (
        trend.filter(pl.col("provider_code") == p.provider)
        .select("activity_month", "examinations")
        .join(
            trend.filter(pl.col("provider_code") == ENGLAND).select(
                "activity_month", pl.col("examinations").alias("england")
            ),
            on="activity_month",
            how="left",
        )
        .sort("activity_month")
    )
    by_modality = t["activity_by_modality"]
    own_mod = by_modality.filter(pl.col("provider_code") == p.provider).sort(
        "examinations", descending=True, nulls_last=True
    )
    mod_table = own_mod.select(
        "modality", "examinations", "share", *[c for c in ("suppressed",) if c in own_mod.columns]
    ).join(
        by_modality.filter(pl.col("provider_code") == ENGLAND).select(
            "modality", pl.col("share").alias("england_share")
        ),
        on="modality",
        how="left",
    )
    by_source = t["activity_by_source"]
    src_table = (
        by_source.filter(pl.col("provider_code") == p.provider)
        .select("source_name", "examinations", "share", *[c for c in ("suppressed",) if c in by_source.columns])
        .join(
            by_source.filter(pl.col("provider_code") == ENGLAND).select(
                "source_name", pl.col("share").alias("england_share")
            ),
            on="source_name",
            how="left",
        )
    )
    out += [
        "<section><h2>Activity</h2>",
        "<h3>Examinations by month</h3>",
        _pair(
            line_svg(
                f"Examinations by month, {p.provider}",
                months,
                [(p.provider, _series(trend, p.provider, "examinations"))],
            ),
            table_html(
                trend_table,
                f"Examinations by activity month, {p.provider} and England",
                ["activity_month", "examinations", "england"],
            ),
        ),
        "<h3>By modality and patient source</h3>",
        _pair(
            bar_svg(
                f"Share of examinations by modality, {p.provider}",
                own_mod["modality"].to_list(),
                own_mod["share"].to_list(),
            ),
            table_html(mod_table, f"Examinations by modality, {period}: {p.provider}, with England's share"),
        ),
        table_html(src_table, f"Examinations by patient source, {period}: {p.provider}, with England's share"),
        "</section>",
    ]
    # Waits
    waits_month = t["waits_by_month"].sort("activity_month")
    out += [
        "<section><h2>Waiting times</h2>",
        table_html(
            t["waits_request_to_test"],
            f"Request to test, {period}",
            ["provider_code", "records", "median_days", "p90_days", "within_14d", "within_42d", "missing_dates"],
        ),
        table_html(
            t["waits_test_to_report"],
            f"Test to report, {period}",
            ["provider_code", "records", "median_days", "p90_days", "within_14d", "within_42d", "missing_dates"],
        ),
        "<h3>Median wait by month, request to test</h3>",
        _pair(
            line_svg(
                f"Median wait by month, request to test, {p.provider}",
                [f"{m:%b %Y}" for m in waits_month["activity_month"]],
                [(p.provider, [None if v is None else float(v) for v in waits_month["median_days"]])],
            ),
            table_html(
                waits_month,
                f"Request to test by month, {p.provider}",
                ["activity_month", "records", "median_days", "p90_days"],
            ),
        ),
        table_html(
            t["spc"],
            "Statistical process control (Making Data Count): the latest month of each monthly series",
            ["measure", "months", "latest_month", "variation", "assurance"],
        ),
        '<p class="note">XmR charts: limits are the mean ± 2.66 × the mean moving range, recalculated at the start of '
        "DIDS v2.0 (April 2026). Special cause: a point outside the limits, 7 in a row on one side of the mean, 7 "
        "rising or falling, or 2 of 3 beyond two sigma. Making Data Count advises 15 or more points.</p>",
        "</section>",
    ]
    if p.urgency_months is not None:
        u1, u2 = p.urgency_months
        span = f"{u1:%B %Y} to {u2:%B %Y}"
        turn = t["turnaround_by_month"].sort("activity_month")
        out += [
            f"<section><h2>By urgency, report turnaround and the waiting list ({span})</h2>",
            table_html(
                t["urgency"],
                f"Request to procedure by priority, {span}",
                ["provider_code", "priority", "records", "median_days", "p90_days", "within_14d", "within_42d"],
            ),
            table_html(
                t["turnaround"],
                f"Report turnaround against the 4-week standard, {span}",
                ["provider_code", "reported", "reported_within_28d", "share_within_28d", "unreported_28d"],
            ),
            _pair(
                line_svg(
                    f"Share reported within 4 weeks by month, {p.provider}",
                    [f"{m:%b %Y}" for m in turn["activity_month"]],
                    [(p.provider, [None if v is None else float(v) for v in turn["share_within_28d"]])],
                    percent=True,
                ),
                table_html(
                    turn,
                    f"Report turnaround by month, {p.provider}",
                    ["activity_month", "reported", "share_within_28d"],
                ),
            ),
            table_html(
                t["waiting_list"],
                f"Diagnostic waiting list (clock start to procedure), {span}",
                ["provider_code", "waits", "median_weeks", "six_weeks_or_more", "share_six_weeks_or_more"],
            ),
            table_html(
                t["waiting_list_by_month"],
                f"Diagnostic waiting list by month, {p.provider}",
                ["activity_month", "waits", "median_weeks", "share_six_weeks_or_more"],
            ),
            "</section>",
        ]
    # Scanners
    out += [
        "<section><h2>Scanners</h2>",
        table_html(
            t["utilisation"],
            f"Scanner utilisation, {period} (estimated from typical durations)",
            [
                "modality",
                "provider_code",
                "sites",
                "scanners",
                "examinations",
                "exams_per_scanner_per_day",
                "weekend_share",
                "utilisation",
            ],
        ),
    ]
    if "productivity" in t:
        out.append(
            table_html(
                t["productivity"],
                "Scanner productivity from procedure times (DIDS v2.0 months): England, then each site",
                [
                    "modality",
                    "provider_code",
                    "site_code",
                    "site_name",
                    "examinations",
                    "operating_hours",
                    "scans_per_operating_hour",
                    "scans_per_scanner_hour",
                    "measured_utilisation",
                ],
            )
        )
    out.append("</section>")
    # Submissions and data quality
    quality = t["quality"].sort("period")
    out += [
        "<section><h2>Submissions and data quality</h2>",
        table_html(
            t["submissions"], "Monthly files: status of each submission month", ["period", "status_label", "files"]
        ),
        _pair(
            line_svg(
                f"Data quality score by submission month, {p.provider} and the median provider",
                [f"{m:%b %Y}" for m in quality["period"]],
                [
                    (p.provider, [None if v is None else float(v) for v in quality["score"]]),
                    ("Median provider", [None if v is None else float(v) for v in quality["median"]]),
                ],
            ),
            table_html(
                quality,
                "Data quality score (DQMI-style, out of 100) by submission month",
                ["period", "score", "median", "p25", "p75", "lowest_item"],
            ),
        ),
        "</section>",
    ]
    # Dose
    dose = t["dose"]
    own = dose.filter(pl.col("provider_code") == p.provider)
    eng = dose.filter(pl.col("provider_code") == ENGLAND).select(
        "examination", pl.col("examinations").alias("england_examinations")
    )
    out += [
        "<section><h2>Radiation dose</h2>",
        table_html(
            own.join(eng, on="examination", how="left"),
            f"Examinations with a typical dose by examination group, {period}: {p.provider} and England",
            [
                "examination",
                "modality",
                "typical_dose_msv",
                "examinations",
                "collective_dose_msv",
                "england_examinations",
            ],
        ),
        "</section>",
        "<section><h2>Peers, method and caveats</h2>",
        table_html(t["peers"], "The peer group, nearest first", ["rank", "provider_code", "provider_name"]),
        notes_html,
        "</section></div>" if embedded else "</section></main></body></html>",
    ]
    document = "\n".join(out)
    return _svg_as_images(document) if embedded else document


_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
_SVG_TEXT = re.compile(r"<title[^>]*>(.*?)</title><desc[^>]*>(.*?)</desc>", re.DOTALL)


def _svg_as_images(document: str) -> str:
    """Each inline chart as an image of itself: a dashboard page's HTML block drops inline SVG
    (Streamlit sanitises it), but keeps an image whose source is the SVG, with the chart's title
    and description as its text alternative."""

    def image(match: re.Match[str]) -> str:
        svg = match.group(0)
        text = _SVG_TEXT.search(svg)
        alt = f"{text.group(1)}. {text.group(2)}" if text else "Chart; the table beside it holds every value."
        width = re.search(r'width="(\d+)"', svg)
        source = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        size = f' width="{width.group(1)}"' if width else ""
        return f'<img src="data:image/svg+xml;base64,{source}" alt="{alt}"{size}>'  # alt: already escaped

    return _SVG.sub(image, document)


def _measures_for_print(measures: pl.DataFrame) -> pl.DataFrame:
    """The comparison with each figure formatted in its own unit (one column mixes units)."""
    rows = []
    for r in measures.iter_rows(named=True):
        u = r["unit"]
        rows.append(
            {
                "measure": r["measure"],
                "this_provider": show(r["provider"], u),
                "peers_lower_quartile": show(r["peer_p25"], u),
                "peers_median": show(r["peer_median"], u),
                "peers_upper_quartile": show(r["peer_p75"], u),
                "england": show(r["england"], u),
                "against_its_peers": r["against_peers"],
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            k: pl.String
            for k in (
                "measure",
                "this_provider",
                "peers_lower_quartile",
                "peers_median",
                "peers_upper_quartile",
                "england",
                "against_its_peers",
            )
        },
    )


COLUMNS.update(
    {
        "england": ("England", "count"),
        "england_share": ("England's share", "share"),
        "england_examinations": ("England examinations", "count"),
        "this_provider": ("This provider", "text"),
        "peers_lower_quartile": ("Peers: lower quartile", "text"),
        "peers_median": ("Peers: median", "text"),
        "peers_upper_quartile": ("Peers: upper quartile", "text"),
        "against_its_peers": ("Against its peers", "text"),
    }
)
