"""`did export completeness | volume-checks | data-quality | pre-publication`: the tables behind the
Completeness, Data quality and Provider detail pages, built by the same functions the pages call.

The pre-publication check is exported as CSV (or Parquet), one row per finding (columns:
check, check_label, provider_code, provider_name, modality, detail, value); the page shows
the same rows as a short markdown summary (`queries.completeness.pre_publication_markdown`).
"""

from __future__ import annotations

import argparse
from datetime import date

from did_months import add_months
from queries import completeness, quality, volumes
from queries.connection import Snapshot
from queries.exports import Export, or_empty

DEFAULT_PERIODS = 12


def _month(text: str) -> date:
    try:
        y, m = text.split("-")
        return date(int(y), int(m), 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month in YYYY-MM form (e.g. 2026-03)") from None


def period_range(
    snap: Snapshot, first: date | None, last: date | None, n: int = DEFAULT_PERIODS
) -> tuple[date, date] | None:
    """The periods a view covers by default: the last `n` periods with a file received."""
    known = completeness.periods(snap)
    if not known:
        return None
    last = last or known[-1]
    first = first or max(known[0], add_months(last, -(n - 1)))
    return first, last


def _range_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from",
        dest="first",
        type=_month,
        help=f"first period (submission month) YYYY-MM (default: {DEFAULT_PERIODS} periods before --to)",
    )
    p.add_argument("--to", dest="last", type=_month, help="last period YYYY-MM (default: the newest)")


# --- completeness -------------------------------------------------------------------------------


def _completeness_args(p: argparse.ArgumentParser) -> None:
    _range_args(p)
    p.add_argument("--region", help="NHS region name, e.g. 'London'")
    p.add_argument("--provider-type", help="'NHS trust' or 'Independent sector'")
    p.add_argument("--as-of", type=date.fromisoformat, help="judge windows as of this date YYYY-MM-DD (default: today)")


def completeness_request(snap: Snapshot, args: argparse.Namespace) -> completeness.CompletenessTable | None:
    """The completeness matrix, one row per provider × period (what the page's heatmap draws)."""
    span = period_range(snap, args.first, args.last)
    if span is None:
        return None
    as_of = getattr(args, "as_of", None) or date.today()
    return completeness.CompletenessTable(*span, as_of, args.region, args.provider_type)


# --- volume checks ------------------------------------------------------------------------------


def _volume_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--drop", type=float, default=volumes.DEFAULT_RULE.drop, help="drop threshold (default -0.30)")
    p.add_argument("--spike", type=float, default=volumes.DEFAULT_RULE.spike, help="spike threshold (default 0.30)")
    p.add_argument("--by-modality", action="store_true", help="one row per provider × month × modality")
    p.add_argument("--provider", help="one provider's series")
    p.add_argument("--flagged-only", action="store_true", help="only the flagged months")


def volume_request(snap: Snapshot, args: argparse.Namespace) -> volumes.VolumeTable:
    rule = volumes.VolumeRule(drop=args.drop, spike=args.spike)
    return volumes.VolumeTable(rule, args.by_modality, args.provider, args.flagged_only)


# --- data quality -------------------------------------------------------------------------------


def _quality_args(p: argparse.ArgumentParser) -> None:
    _range_args(p)
    p.add_argument("--provider", help="one provider")
    p.add_argument(
        "--level",
        choices=quality.LEVELS,
        default="item",
        help="item: provider × period × data item (default); provider: overall score per provider × period",
    )


def quality_request(snap: Snapshot, args: argparse.Namespace) -> quality.QualityTable | None:
    span = period_range(snap, args.first, args.last)
    return None if span is None else quality.QualityTable(*span, args.provider, args.level)


# --- pre-publication ----------------------------------------------------------------------------


def _pre_publication_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--period", type=_month, help="period (submission month) YYYY-MM (default: the newest)")
    p.add_argument("--as-of", type=date.fromisoformat, help="judge windows as of this date YYYY-MM-DD (default: today)")


def pre_publication_request(snap: Snapshot, args: argparse.Namespace) -> completeness.PrePublication | None:
    periods = completeness.periods(snap)
    period = args.period or (periods[-1] if periods else None)
    if period is None:
        return None
    return completeness.PrePublication(period, getattr(args, "as_of", None) or date.today())


EXPORTS: list[Export] = [
    Export(
        "completeness",
        "who submitted for each period: on time, late, resubmitted, rejected or missing",
        _completeness_args,
        completeness_request,
        or_empty(completeness.completeness_table),
    ),
    Export(
        "volume-checks",
        "each provider-month against the provider's own trailing median, with flags",
        _volume_args,
        volume_request,
        volumes.volume_table,
    ),
    Export(
        "data-quality",
        "DQMI-style data quality scores per provider, period and data item",
        _quality_args,
        quality_request,
        or_empty(quality.quality_table),
    ),
    Export(
        "pre-publication",
        "the monthly pre-publication check: missing, late, volumes, quality falls",
        _pre_publication_args,
        pre_publication_request,
        or_empty(completeness.pre_publication_table),
    ),
]
