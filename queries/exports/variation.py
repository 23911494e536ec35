"""`did export variation-demographic | variation-geographic | variation-flows`: the tables behind
the three variation views, built by the same query functions the pages call."""

from __future__ import annotations

import argparse
from datetime import date

from did_errors import UsageError
from did_model.nicip import TEST_GROUPS
from queries import variation_demographic as demographic
from queries import variation_flows as flows
from queries import variation_geographic as geographic
from queries.areas import Area
from queries.connection import Snapshot
from queries.exports import Export, modality
from queries.variation import LEVELS, MAP_LEVELS, Filters, default_period


def _month(text: str) -> date:
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month: use YYYY-MM, e.g. 2026-04") from None


def _filter_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from",
        dest="first",
        type=_month,
        help="first activity month YYYY-MM (default: 12 months to the latest complete month)",
    )
    p.add_argument("--to", dest="last", type=_month, help="last activity month YYYY-MM")
    p.add_argument("--test-group", choices=list(TEST_GROUPS), help="one GP-direct-access test group")
    p.add_argument("--modality", type=modality, help="one modality, e.g. CT, MRI, 'Plain radiography'")
    p.add_argument("--source", help="patient source setting 01..07, e.g. 04 for GP direct access")


def filters_from_args(snap: Snapshot, args: argparse.Namespace) -> Filters:
    default = default_period(snap)
    if default is None:
        default = (args.first, args.last)
        if not (args.first and args.last):
            raise UsageError("the store holds no activity: give --from and --to")
    first = args.first or default[0]
    last = args.last or default[1]
    return Filters(first, last, test_group=args.test_group, modality=args.modality, patient_source=args.source)


def _demographic_arguments(p: argparse.ArgumentParser) -> None:
    _filter_arguments(p)
    p.add_argument("--table", choices=list(demographic.TABLES), default="age-sex")
    p.add_argument("--level", choices=list(LEVELS), default="england", help="area level")
    p.add_argument("--area", help="area ODS code (region Y.., ICB Q.., sub-ICB); not for england")


def demographic_request(snap: Snapshot, args: argparse.Namespace) -> demographic.DemographicTable:
    area = Area(args.level, args.area) if args.level != "england" else Area("england")
    return demographic.DemographicTable(filters_from_args(snap, args), area, args.table)


def _geographic_arguments(p: argparse.ArgumentParser) -> None:
    _filter_arguments(p)
    p.add_argument("--level", choices=list(MAP_LEVELS), default="icb")


def geographic_request(snap: Snapshot, args: argparse.Namespace) -> geographic.MapTable:
    return geographic.MapTable(filters_from_args(snap, args), args.level)


def _flows_arguments(p: argparse.ArgumentParser) -> None:
    _filter_arguments(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--icb", help="providers imaging this ICB's registered patients")
    which.add_argument("--sub-icb", help="providers imaging this sub-ICB's registered patients")
    which.add_argument("--provider", help="the ICBs this provider's patients are registered in")
    p.add_argument("--by-modality", action="store_true", help="area flows split by modality")


def flows_request(snap: Snapshot, args: argparse.Namespace) -> flows.FlowsTable:
    filters = filters_from_args(snap, args)
    if args.provider:
        if args.by_modality:
            raise UsageError("--by-modality goes with --icb or --sub-icb, not --provider")
        return flows.FlowsTable(filters, provider=args.provider)
    area = Area("icb", args.icb) if args.icb else Area("sub_icb", args.sub_icb)
    return flows.FlowsTable(filters, area, by_modality=args.by_modality)


EXPORTS: list[Export] = [
    Export(
        "variation-demographic",
        "rates by age and sex or deprivation, and the ethnic mix, for an area",
        _demographic_arguments,
        demographic_request,
        demographic.demographic_table,
    ),
    Export(
        "variation-geographic",
        "directly standardised rates for every region, ICB or sub-ICB",
        _geographic_arguments,
        geographic_request,
        geographic.map_table,
    ),
    Export(
        "variation-flows",
        "which providers image an area's patients, or where a provider's come from",
        _flows_arguments,
        flows_request,
        flows.flows_table,
    ),
]
