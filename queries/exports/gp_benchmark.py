"""`did export gp-benchmark`: one measure across practices — the table behind the measure page
(dashboard/views/gp_measure.py), built by the same call (`queries.gp_benchmark.measure_table`)."""

from __future__ import annotations

import argparse
from datetime import date

from did_errors import UsageError
from queries import gp_benchmark as gb
from queries.areas import Area
from queries.connection import Snapshot
from queries.exports import Export
from queries.funnel import METHODS


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month YYYY-MM") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--measure",
        required=True,
        choices=list(gb.measures()),
        metavar="ID",
        help="measure id (a file in did_model/measures/): " + ", ".join(gb.measures()),
    )
    area = p.add_mutually_exclusive_group()
    area.add_argument("--icb", metavar="CODE", help="practices of one ICB (ODS code, e.g. QHM); default England")
    area.add_argument("--sub-icb", metavar="CODE", help="practices of one sub-ICB (ODS code, e.g. 00L)")
    area.add_argument("--pcn", metavar="CODE", help="practices of one PCN (e.g. U89141)")
    p.add_argument(
        "--from",
        dest="first",
        type=_month,
        help="first activity month YYYY-MM (default: the 12 months to the latest complete month)",
    )
    p.add_argument("--to", dest="last", type=_month, help="last activity month YYYY-MM")
    p.add_argument(
        "--overdispersion",
        choices=METHODS,
        default=gb.DEFAULT_METHOD,
        help="funnel limits: additive (random effects, default), multiplicative, or none",
    )
    p.add_argument("--list-size-min", type=int, help="peer group: smallest list size")
    p.add_argument("--list-size-max", type=int, help="peer group: largest list size")
    p.add_argument(
        "--imd-quintile",
        type=int,
        action="append",
        choices=range(1, 6),
        metavar="Q",
        help="peer group: IMD quintile (1 = most deprived); repeat for several",
    )


def area_of(args: argparse.Namespace) -> Area:
    for level, code in (("icb", args.icb), ("sub_icb", args.sub_icb), ("pcn", args.pcn)):
        if code:
            return Area(level, code)
    return Area()


def period_of(snap: Snapshot, args: argparse.Namespace) -> tuple[date, date]:
    default = gb.default_period(snap)
    if default is None:
        raise UsageError("the store holds no GP benchmarking data yet (rollup_gp_measure is empty)")
    return args.first or default[0], args.last or default[1]


def request(snap: Snapshot, args: argparse.Namespace) -> gb.MeasureTable:
    peers = gb.Peers(args.list_size_min, args.list_size_max, tuple(sorted(set(args.imd_quintile or ()))))
    return gb.MeasureTable(
        args.measure, *period_of(snap, args), area_of(args), args.overdispersion, None if peers == gb.Peers() else peers
    )


EXPORTS: list[Export] = [
    Export(
        "gp-benchmark",
        "one GP benchmarking measure across practices: values, intervals, funnel limits and verdicts",
        add_arguments,
        request,
        gb.measure_table,
    )
]
