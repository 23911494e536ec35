"""`did export equipment`: the tables behind the scanner-utilisation page (dashboard/views/equipment.py)."""

from __future__ import annotations

import argparse
from datetime import date

from did_errors import UsageError
from queries import equipment
from queries.connection import Snapshot
from queries.exports import Export, check_choice, modality

BY = equipment.TABLES


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM") from None


def _duration(text: str) -> tuple[str, str, float]:
    """MODALITY:BODY AREA=MINUTES, e.g. 'MRI:Head=35' or 'CT:*=12'."""
    try:
        key, minutes = text.rsplit("=", 1)
        modality, area = key.split(":", 1)
        return modality.strip(), area.strip(), float(minutes)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not MODALITY:BODY AREA=MINUTES (e.g. 'MRI:Head=35')") from None


def add_scanner_filters(
    p: argparse.ArgumentParser, by: tuple[str, ...], rows: str, site_rows: str, period_note: str = ""
) -> None:
    """The scanner page's filters (this export's and `scanner-productivity`'s): modality, rows,
    provider, site and activity months."""
    p.add_argument("--modality", default="MRI", type=modality, help="modality as the page names it (default: MRI)")
    p.add_argument("--by", choices=by, default=by[0], help=f"rows: {rows}")
    p.add_argument("--provider", help=f"one provider's ODS code (sites of that provider; {site_rows} for it)")
    p.add_argument("--site", help=f"one site code ({site_rows} only; give its --provider too)")
    p.add_argument(
        "--from",
        dest="first",
        type=_month,
        help=f"first activity month YYYY-MM (default: 12 months to the latest complete month){period_note}",
    )
    p.add_argument("--to", dest="last", type=_month, help="last activity month YYYY-MM")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_scanner_filters(
        p, BY, "one per site (ranked), per provider, per day of the week, or per month", "weekday/month"
    )
    p.add_argument(
        "--duration",
        action="append",
        type=_duration,
        default=[],
        metavar="MODALITY:AREA=MIN",
        help="typical minutes per examination, replacing the default for that modality and "
        "body area ('*' = any other area); repeat as needed",
    )


def utilisation_filter(snap: Snapshot, args: argparse.Namespace) -> equipment.UtilisationFilter:
    default = equipment.default_months(snap)
    if default is None:
        raise UsageError("the store holds no examinations yet")
    return equipment.UtilisationFilter(
        modality=args.modality,
        first_month=args.first or default[0],
        last_month=args.last or default[1],
        durations=equipment.with_durations(equipment.DEFAULT_DURATIONS, args.duration),
    )


def _site_codes(snap: Snapshot, provider: str | None) -> list[str]:
    """The site codes with examinations in the store (of `provider`, when given)."""
    return snap.query(
        "SELECT DISTINCT site_code FROM rollup_equipment_daily "
        "WHERE $provider IS NULL OR provider_code = $provider ORDER BY site_code",
        {"provider": provider},
    )["site_code"].to_list()


def drill_down(snap: Snapshot, args: argparse.Namespace) -> tuple[str | None, str | None]:
    """--provider and --site, upper case; a site not in the store is an error listing those that are."""
    provider = args.provider.upper() if args.provider else None
    site = args.site.upper() if args.site else None
    if site is not None:
        check_choice("site" + (f" of {provider}" if provider else ""), site, _site_codes(snap, provider))
    return provider, site


def request(snap: Snapshot, args: argparse.Namespace) -> equipment.UtilisationTable:
    f = utilisation_filter(snap, args)
    return equipment.UtilisationTable(f, args.by, *drill_down(snap, args))


EXPORTS: list[Export] = [
    Export(
        "equipment",
        "scanner utilisation: examinations per scanner per operating day, weekday "
        "profile, estimated use of scheduled hours",
        add_arguments,
        request,
        equipment.utilisation_table,
    )
]
