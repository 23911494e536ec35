"""The typed requests a page and its `did export` share (queries/exports/__init__.py): frozen and
hashable (the pages cache on them), and a wrong value is a UsageError saying what to choose,
the same on a page and on the command line."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from did_errors import UsageError
from queries import (
    completeness,
    dm01,
    equipment,
    productivity,
    quality,
    turnaround,
    urgency,
    volumes,
    waiting_list,
    waits,
)
from queries import gp_benchmark as gb
from queries.areas import Area
from queries.variation import Filters
from queries.variation_demographic import DemographicTable
from queries.variation_flows import FlowsTable
from queries.variation_geographic import MapTable

APRIL, MAY = date(2026, 4, 1), date(2026, 5, 1)
WAITS = waits.WaitFilter(APRIL, MAY)
URGENCY = urgency.UrgencyFilter(APRIL, MAY)
SCANNERS = equipment.UtilisationFilter("MRI", APRIL, MAY)
HOURS = productivity.ProductivityFilter("MRI", APRIL, MAY)
VARIATION = Filters(APRIL, MAY)

REQUESTS = [
    waits.WaitTable(WAITS, "spc"),
    urgency.UrgencyTable(URGENCY, "usc-vs-routine"),
    turnaround.TurnaroundTable(URGENCY, "spc"),
    waiting_list.WaitingListTable(URGENCY, "england"),
    waiting_list.dm01_filter(URGENCY),
    dm01.Reconciliation(APRIL, MAY, "RAJ", flagged_only=True),
    equipment.UtilisationTable(SCANNERS, "weekday", "RAJ", "RAJ01"),
    productivity.ProductivityTable(HOURS, "hour", "RAJ", "RAJ01"),
    gb.MeasureTable("gpda_all", APRIL, MAY, Area("icb", "QE1"), peers=gb.Peers(None, 5_000, (1, 2))),
    DemographicTable(VARIATION, Area("icb", "QE1"), "ethnicity"),
    MapTable(VARIATION, "sub_icb"),
    FlowsTable(VARIATION, Area("icb", "QE1"), by_modality=True),
    completeness.CompletenessTable(APRIL, MAY, date(2026, 6, 1), "London"),
    completeness.PrePublication(MAY, date(2026, 6, 1)),
    volumes.VolumeTable(volumes.VolumeRule(drop=-0.2), by_modality=True, flagged_only=True),
    quality.QualityTable(APRIL, MAY, "RAJ", "provider"),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_a_request_is_frozen_and_hashable(request_):
    assert dataclasses.is_dataclass(request_)
    assert hash(request_) == hash(dataclasses.replace(request_))
    field = dataclasses.fields(request_)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(request_, field, None)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: waits.WaitTable(WAITS, "site"), "unknown waiting-times table 'site'; choose one of modality"),
        (lambda: urgency.UrgencyTable(URGENCY, "spc"), "unknown waits-by-urgency table 'spc'"),
        (lambda: turnaround.TurnaroundTable(URGENCY, "dm01_test"), "unknown report-turnaround table"),
        (lambda: waiting_list.WaitingListTable(URGENCY, "priority"), "unknown waiting-list table"),
        (lambda: dm01.Reconciliation(MAY, APRIL), "the first month is after the last month"),
        (lambda: equipment.UtilisationTable(SCANNERS, "hour"), "unknown scanner-utilisation table 'hour'"),
        (lambda: productivity.ProductivityTable(HOURS, "weekday"), "unknown scans-per-hour table"),
        (lambda: productivity.ProductivityTable(HOURS, "site", "RAJ", "RAJ01"), "a site goes with the table by hour"),
        (lambda: productivity.ProductivityTable(HOURS, "hour", None, "RAJ01"), "a site goes with the table by hour"),
        (lambda: gb.MeasureTable("no_such_measure", APRIL, MAY), "there is no measure 'no_such_measure'"),
        (lambda: gb.MeasureTable("gpda_all", MAY, APRIL), "the period starts after it ends"),
        (lambda: gb.MeasureTable("gpda_all", APRIL, MAY, method="bayes"), "unknown over-dispersion method"),
        (lambda: DemographicTable(VARIATION, Area("england"), "age"), "unknown demographic table 'age'"),
        (lambda: MapTable(VARIATION, "pcn"), "unknown map level 'pcn'"),
        (lambda: FlowsTable(VARIATION), "flows are for an area or for a provider"),
        (lambda: FlowsTable(VARIATION, Area("icb", "QE1"), "RAJ"), "flows are for an area or for a provider"),
        (lambda: FlowsTable(VARIATION, provider="RAJ", by_modality=True), "the split by modality is of an area"),
        (lambda: completeness.CompletenessTable(MAY, APRIL, MAY), "the first period is after the last"),
        (lambda: quality.QualityTable(APRIL, MAY, level="site"), "unknown data-quality level 'site'"),
        (lambda: quality.QualityTable(MAY, APRIL), "the first period is after the last"),
    ],
)
def test_a_wrong_value_is_a_usage_error_saying_what_to_choose(make, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        make()


def test_the_fixed_interval_tables_make_one_request_whatever_interval_they_are_given():
    """Turnaround and the waiting list read one interval each: the page's filter (any interval it
    shows) and the command line's make the same request, so they share a cache entry and a table."""
    for interval in urgency.INTERVALS:
        f = dataclasses.replace(URGENCY, interval=interval)
        assert turnaround.TurnaroundTable(f, "month") == turnaround.TurnaroundTable(
            dataclasses.replace(URGENCY, interval=turnaround.INTERVAL), "month"
        )
        assert waiting_list.WaitingListTable(f).filter.interval == waiting_list.INTERVAL
        assert waiting_list.dm01_filter(dataclasses.replace(f, modality="CT")) == waiting_list.dm01_filter(URGENCY)
