"""`did report provider-profile --provider CODE --period YYYY-MM [--months 12]`: one provider's
pack for accreditation (ISAS) and inspection (CQC) — activity, waits, turnaround, the waiting
list, scanners, submissions, data quality and dose against its peers and England (issue 23).

The figures are queries/profile.py's (the pages' own query functions); this module adds the
notes, the HTML (queries/profile_html.py) and the PDF rendered from that HTML by WeasyPrint, and
the Report. The "Provider profile" page calls `build_provider_profile` too, so page and files
hold the same numbers.
"""

from __future__ import annotations

import argparse
import logging
from datetime import date
from html import escape

from did_model.scope import Scope
from did_months import parse_period
from queries import peers
from queries.connection import Snapshot
from queries.disclosure import DisclosureRule
from queries.official import period_argument
from queries.profile import MARGIN_TEXT, Profile, build_profile
from queries.profile_html import render
from queries.reports import Report, ReportOutput
from queries.reports.monthly import snapshot_line

log = logging.getLogger(__name__)

# The tables written as CSV and xlsx sheets, in the pack's order (sheet names ≤ 31 characters).
TABLES = (
    "measures",
    "activity",
    "activity_by_modality",
    "activity_by_source",
    "activity_trend",
    "waits_request_to_test",
    "waits_test_to_report",
    "waits_by_month",
    "spc",
    "urgency",
    "turnaround",
    "turnaround_by_month",
    "waiting_list",
    "waiting_list_by_month",
    "utilisation",
    "productivity",
    "submissions",
    "quality",
    "dose",
    "peers",
)


def notes_lines(snap: Snapshot, profile: Profile) -> list[str]:
    """The pack's notes: data period, coverage, method, disclosure and caveats (Markdown)."""
    w, c = profile.window, profile.coverage
    lines = [
        f"Provider {profile.provider} ({profile.provider_name}). Activity months {w.first:%B %Y} to {w.last:%B %Y}: "
        f"{c.months} months held of the {c.months_asked} asked for; the 24-month trend ends with "
        f"{w.last:%B %Y}.",
        snapshot_line(snap),
        "",
        "## Coverage",
        f"- This provider: an accepted file for {c.provider_periods_included} of the "
        f"{c.provider_periods_expected} submission months it was expected for.",
        f"- England: {c.providers_included} of {c.providers_expected} expected providers had an accepted file for "
        f"{w.periods[1]:%B %Y} (the month that carries {w.last:%B %Y}'s activity), as on the Completeness page.",
        "",
        "## Peers and England",
        f"- {peers.describe()} They are listed at the end of the pack.",
        "- Each measure shows the peers' lower quartile, median and upper quartile (linear interpolation), given at "
        'least five peers with a figure; no single peer\'s figure is shown. "Outside the middle half": below the '
        f'lower or above the upper quartile {MARGIN_TEXT}; nearer than that, "close to the middle half".',
        "- England is every provider together (the England row of each page); for the data quality score, the "
        "median provider.",
        "- What stands out is written from the figures alone: the change in examinations (the latest months "
        "against as many before), the measures furthest outside their peers' middle half, and any monthly series "
        "with special cause variation in its latest month.",
        "",
        "## Where each figure comes from (the same query as the page)",
        "- Activity: examinations by activity month, modality and patient source (rollup_activity).",
        "- Waiting times page: request to test and test to report (median, 90th percentile, shares); by urgency, "
        "report turnaround against the 4-week standard and the diagnostic waiting list (DIDS v2.0 months, April "
        "2026 on, only); the SPC signals of its three monthly charts.",
        "- Scanner utilisation page: examinations per scanner per operating day and estimated use of scheduled hours "
        "(typical durations are assumptions), and scans per operating hour from procedure times (v2.0 months).",
        "- Completeness page: each submission month's file status. Data quality page: the DQMI-style score.",
        "- Radiation dose: examinations with a typical dose (HPA 2008 table, as the Radiation dose page) by "
        "examination group; collective dose = examinations × typical dose.",
        "",
        "## Disclosure control",
    ]
    if profile.scope.needs_disclosure_control:
        rule = DisclosureRule.from_settings()
        lines += [
            f"- Each count has a little noise added first (at most {rule.noise} either way, the same for the same "
            f"cell every time) and every figure is worked out from the noisy counts; counts of 1 to "
            f"{rule.suppress_up_to} are then hidden (*) and the rest rounded to the nearest {rule.round_to}.",
            "- The peers' figures are the ones each peer's own users see, with the same protection.",
        ]
    else:
        lines.append("- Exact figures, for the central team: apply disclosure control before sending the pack on.")
    lines += [
        "",
        "## Caveats",
        "- Provisional: records sent late for these months are added when they arrive.",
        "- The diagnostic waiting list counts completed waits of the patients tested, not the list at month end "
        "(DM01).",
        "- Months before April 2026 hold no priority type or procedure times, so the urgency, turnaround, waiting "
        "list and productivity figures cover only the DIDS v2.0 months of the period.",
    ]
    return lines


def notes_html(lines: list[str]) -> str:
    """The notes as HTML (headings one level under the section's)."""
    out: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if items:
            out.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in lines:
        if line.startswith("## "):
            flush()
            out.append(f"<h3>{escape(line[3:])}</h3>")
        elif line.startswith("- "):
            items.append(line[2:])
        elif line:
            flush()
            out.append(f"<p>{escape(line.replace('`', ''))}</p>")
    flush()
    return "\n".join(out)


def pdf_from_html(html: str) -> bytes:
    """The HTML printed to PDF by WeasyPrint (its print CSS: A4, page numbers, page breaks)."""
    import weasyprint

    # WeasyPrint logs every CSS property it does not know at WARNING; they are not ours to act on.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return weasyprint.HTML(string=html).write_pdf()


def build_provider_profile(
    snap: Snapshot, scope: Scope, provider: str, last: date, months: int = 12, pdf: bool = True
) -> ReportOutput:
    """The pack: its tables, notes, HTML and (with `pdf`) PDF."""
    return page_pack(snap, scope, provider, last, months, pdf)[0]


def page_pack(
    snap: Snapshot, scope: Scope, provider: str, last: date, months: int = 12, pdf: bool = True
) -> tuple[ReportOutput, str]:
    """The pack's files (`build_provider_profile`) and the same pack as an HTML block for the
    Provider profile page."""
    profile = build_profile(snap, scope, provider, last, months)
    lines = notes_lines(snap, profile)
    html = render(profile, notes_html(lines))
    documents = {"html": html.encode("utf-8")}
    if pdf:
        documents["pdf"] = pdf_from_html(html)
    title = (
        f"Provider profile: {profile.provider_name} ({profile.provider}), "
        f"{profile.window.first:%B %Y} to {profile.window.last:%B %Y}"
    )
    output = ReportOutput(
        title=title,
        tables={name: profile.tables[name] for name in TABLES if name in profile.tables},
        notes="\n".join([profile.summary, "", *lines]),
        documents=documents,
    )
    return output, render(profile, notes_html(lines), embedded=True)


def _provider_argument(text: str) -> str:
    code = text.strip().upper()
    if not code.isalnum() or not 3 <= len(code) <= 16:
        raise ValueError(text)
    return code


def _months_argument(text: str) -> int:
    months = int(text)
    if not 1 <= months <= 36:
        raise ValueError(text)
    return months


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", required=True, type=_provider_argument, help="provider ODS code, e.g. RK5")
    parser.add_argument(
        "--period", required=True, type=period_argument, help="the last activity month of the pack, YYYY-MM"
    )
    parser.add_argument(
        "--months", type=_months_argument, default=12, help="activity months ending with --period (1-36, default 12)"
    )


def _build(snap: Snapshot, scope: Scope, args: argparse.Namespace) -> ReportOutput:
    return build_provider_profile(snap, scope, args.provider, parse_period(args.period), args.months)


REPORTS = [
    Report(
        "provider-profile",
        "one provider's pack against its peers and England: HTML, PDF, xlsx and CSVs",
        _add_arguments,
        _build,
        audited=True,
    )
]
