"""The scanner-utilisation and waiting-times pages in AppTest on the shared synthetic store: they
render, the tables they show are exactly what `did export` writes, and scope reaches the page."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.components.equipment_charts import OUTLIER_WORDS, monthly_figure, ranked_sites_figure, weekday_figure
from dashboard.components.waits_charts import distribution_figure, trend_figure
from did_model.scope import CENTRAL, Scope, ScopeError
from downloads import offered, open_lazy_tables, open_section, open_tab
from queries import equipment, waits
from queries.connection import Snapshot
from queries.exports import registry

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture
def store(synthetic_store, monkeypatch):
    store_dir, _ = synthetic_store
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    return store_dir


@pytest.fixture
def snap(store):
    from ingest.store import current_snapshot

    s = Snapshot(current_snapshot(store))
    yield s
    s.close()


def open_page(page: str, scope: Scope = CENTRAL) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["scope"] = scope
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest, first_column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if d.value.columns[0] == first_column)


def export_args(name: str, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    registry()[name].add_arguments(parser)
    return parser.parse_args(argv)


def requested(snap: Snapshot, name: str, argv: list[str], page_request, scope: Scope = CENTRAL) -> pl.DataFrame:
    """The export's table for the page's request, once the command line for the same filters is
    seen to make the same request."""
    export = registry()[name]
    assert export.request(snap, export_args(name, argv)) == page_request
    return export.table(snap, scope, page_request)


def same(page_frame: pd.DataFrame, export_frame) -> None:
    """The page's table is the export's, but for the outlier flag, which a page writes in words."""
    if "outlier" in export_frame.columns:
        export_frame = export_frame.with_columns(pl.col("outlier").replace_strict(OUTLIER_WORDS, default="No"))
    expected = export_frame.to_pandas()
    pd.testing.assert_frame_equal(page_frame.reset_index(drop=True), expected, check_dtype=False)


def test_waiting_times_page_shows_the_export_tables(store, snap):
    at = open_page("views/waiting_times.py")
    f = waits.WaitFilter(*waits.default_months(snap), modality="MRI")
    headline = waits.wait_summary(snap, CENTRAL, f).row(0, named=True)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Median wait"] == f"{headline['median_days']} days"
    tabs = {"provider": "By provider", "modality": "By modality", "month": "By month"}
    for by, first in (("provider", "provider_code"), ("modality", "modality"), ("month", "activity_month")):
        # the page's request for its default filters, given to the export's table: what it shows and offers
        table = requested(snap, "waiting-times", ["--by", by, "--modality", "MRI"], waits.WaitTable(f, by))
        same(shown(open_tab(at, "tabs-waits", tabs[by]), first), table)
        assert offered(at, f"waiting-times-{by}.csv", table)
    distribution = requested(
        snap, "waiting-times", ["--by", "distribution", "--modality", "MRI"], waits.WaitTable(f, "distribution")
    )
    # the distribution's and the XmR charts' tables run only once their expander is opened
    assert not [d for d in at.dataframe if "cumulative_share" in d.value.columns or "segment" in d.value.columns]
    assert not offered(at, "waiting-times-distribution.csv", distribution)
    open_lazy_tables(at)
    same(shown(at, "days"), distribution)
    assert offered(at, "waiting-times-distribution.csv", distribution)
    # the median wait as an XmR chart: the page's table is the export's, its limits split at the
    # DIDS v2.0 change point (the store holds v1.0 months and one v2.0 month), its icons in words
    chart = next(d.value for d in at.dataframe if "segment" in d.value.columns and "median_days" in d.value.columns)
    spc_table = requested(snap, "waiting-times", ["--by", "spc", "--modality", "MRI"], waits.WaitTable(f, "spc"))
    same(chart, spc_table)
    assert offered(at, "median-wait-spc.csv", spc_table)
    assert chart["segment"].nunique() == 2
    words = " ".join(m.value for m in at.markdown)
    assert "Variation:" in words and "aria-label=" in words
    assert "No national target applies to this measure" in words


def test_waiting_times_filters_and_missing_dates(store, snap):
    at = open_page("views/waiting_times.py")
    next(s for s in at.selectbox if s.label == "Interval").set_value("test_to_report").run()
    assert not at.exception
    missing = shown(at, "interval")
    assert missing.set_index("interval").loc["Test → report", "missing_dates"] > 0  # ~5% have no report
    f = waits.WaitFilter(*waits.default_months(snap), "test_to_report", modality="MRI")
    table = requested(
        snap,
        "waiting-times",
        ["--by", "missing", "--interval", "test_to_report", "--modality", "MRI"],
        waits.WaitTable(f, "missing"),
    )
    same(missing, table.drop("interval_kind"))  # the page leaves out the interval's key beside its label
    assert at.query_params["interval"] in ("test_to_report", ["test_to_report"])


def test_equipment_page_shows_the_export_tables(store, snap):
    at = open_page("views/equipment.py")
    assert any("Synthetic equipment inventory" in w.value for w in at.warning)
    # the inventory's table is sent once its expander is opened, the modalities the store's
    assert not [d for d in at.dataframe if "synthetic_rows" in d.value.columns]
    inventory = next(d.value for d in open_lazy_tables(at).dataframe if "synthetic_rows" in d.value.columns)
    assert list(inventory["modality"]) == equipment.inventory_status(snap)["modality"].to_list()
    f = equipment.UtilisationFilter("MRI", *equipment.default_months(snap))  # the page's default filters
    providers = requested(snap, "equipment", ["--by", "provider"], equipment.UtilisationTable(f, "provider"))
    same(shown(at, "provider_code"), providers)
    assert offered(at, "equipment-providers.csv", providers)
    sites = requested(snap, "equipment", ["--by", "site"], equipment.UtilisationTable(f, "site"))
    same(shown(at, "rank"), sites)
    assert offered(at, "equipment-sites.csv", sites)
    open_section(at, "Weekday and month")  # each section runs only once opened
    same(shown(at, "day"), requested(snap, "equipment", ["--by", "weekday"], equipment.UtilisationTable(f, "weekday")))
    same(
        shown(at, "activity_month"),
        requested(snap, "equipment", ["--by", "month"], equipment.UtilisationTable(f, "month")),
    )


def test_equipment_drill_down_to_a_provider(store, snap):
    at = open_page("views/equipment.py")
    drill = next(s for s in at.selectbox if s.label.startswith("Drill down"))
    provider = drill.options[1]
    drill.set_value(provider).run()
    assert not at.exception
    sites = shown(at, "rank")
    assert set(sites["provider_code"]) == {provider}
    f = equipment.UtilisationFilter("MRI", *equipment.default_months(snap))
    table = requested(snap, "equipment", ["--provider", provider], equipment.UtilisationTable(f, "site", provider))
    same(sites, table)
    assert offered(at, "equipment-sites.csv", table)


def test_a_provider_user_sees_only_its_own_detail(store, snap):
    provider = waits.wait_providers(snap, CENTRAL)[0]
    scope = Scope("provider", providers=frozenset({provider}))
    at = open_page("views/waiting_times.py", scope)
    table = shown(open_tab(at, "tabs-waits", "By provider"), "provider_code")
    assert table["provider_code"].tolist() == [waits.ENGLAND, provider]
    assert (table["records"].dropna() % 5 == 0).all()
    at = open_page("views/equipment.py", scope)
    assert set(shown(at, "rank")["provider_code"]) <= {provider}


def test_a_commissioner_sees_every_provider_as_a_comparator(store, snap):
    scope = Scope("commissioner", icbs=frozenset({"QWO"}), user="c")
    at = open_page("views/equipment.py", scope)
    assert not any("No MRI scanners" in i.value for i in at.info)  # it used to say so with 490 held
    sites = shown(at, "rank")
    # Protected as for every non-central user: with some site hidden, figures are written as text,
    # `*` on a hidden site's row and `–` only where nothing is worked out; counts rounded to 5.
    # (Which sites are hidden depends on the period the page opens on.)
    assert sites["provider_code"].nunique() > 1
    assert sites["exams_per_scanner_per_day"].map(lambda v: v not in (None, "*", "–")).any()
    hidden = sites["suppressed"].astype(bool)
    assert (sites.loc[hidden, "examinations"] == "*").all() and (sites.loc[hidden, "outlier"] == "*").all()
    assert all(int(str(v).replace(",", "")) % 5 == 0 for v in sites.loc[~hidden, "examinations"])
    assert set(sites.loc[~hidden, "outlier"]) <= {"No", "Busier than most", "Quieter than most"}
    assert len(shown(at, "provider_code")) > 2
    drill = next(s for s in at.selectbox if s.label.startswith("Drill down"))
    provider = drill.options[1]
    drill.set_value(provider).run()
    assert not at.exception and set(shown(at, "rank")["provider_code"]) == {provider}
    u = equipment.UtilisationFilter("MRI", *equipment.default_months(snap))
    assert equipment.weekday_profile(snap, scope, u, provider).height >= 7
    # Other roles keep their rule: a provider user no other provider's sites, a GP none.
    other = Scope("provider", providers=frozenset({"ZZZ"}), user="p")
    for refused in (other, Scope("gp", practice="B82007", user="g")):
        with pytest.raises(ScopeError):
            equipment.site_utilisation(snap, refused, u, provider)
    assert equipment.site_utilisation(snap, Scope("gp", practice="B82007", user="g"), u).is_empty()


def test_figures_build_from_query_frames(snap):
    f = waits.WaitFilter(*waits.default_months(snap), modality="CT")
    dist = waits.wait_distribution(snap, CENTRAL, f)
    fig = distribution_figure(dist, max_days=60)
    assert [t.name for t in fig.data] == ["Records", "Cumulative share"]
    assert list(fig.layout.yaxis2.tickvals) == [0, 0.25, 0.5, 0.75, 1]  # round shares, not the left axis's grid
    assert max(fig.data[0].x) <= 60
    assert len(trend_figure(waits.wait_summary(snap, CENTRAL, f, "month")).data) == 2
    u = equipment.UtilisationFilter("CT", *equipment.default_months(snap))
    assert ranked_sites_figure(equipment.site_utilisation(snap, CENTRAL, u)).data[0].y
    assert len(weekday_figure(equipment.weekday_profile(snap, CENTRAL, u)).data[0].x) >= 7
    assert len(monthly_figure(equipment.monthly_utilisation(snap, CENTRAL, u)).data) == 2


@pytest.mark.parametrize("scope", [CENTRAL, None], ids=["central", "provider"])
def test_waits_by_urgency_section_shows_the_export_tables(store, snap, scope):
    from queries import urgency
    from queries.turnaround import TurnaroundTable
    from queries.waiting_list import WaitingListTable

    if scope is None:
        scope = Scope("provider", providers=frozenset({waits.wait_providers(snap, CENTRAL)[0]}))
    at = open_page("views/waiting_times.py", scope)
    open_section(at, "By urgency")  # each section runs only once opened
    assert any("collected under DIDS v1.0, without a priority type" in c.value for c in at.caption)

    uf = urgency.UrgencyFilter(*urgency.default_months(snap), modality="MRI")  # the page's, at its defaults

    def export(by: str):
        argv = ["--modality", "MRI", "--by", by]
        return requested(snap, "waits-by-urgency", argv, urgency.UrgencyTable(uf, by), scope)

    by_month = export("month")
    assert set(by_month["activity_month"]) == {urgency.FIRST_MONTH}  # the one v2.0 month; no v1.0 month mixed in
    pages = {
        "priority": shown(at, "priority"),
        "usc-vs-routine": next(d.value for d in at.dataframe if "usc_median_days" in d.value.columns),
    }
    pages["month"] = next(
        d.value
        for d in open_tab(at, "tabs-waits-by-urgency", "Urgency by month").dataframe
        if list(d.value.columns[:2]) == ["activity_month", "priority"] and "median_days" in d.value.columns
    )

    def turnaround_table(column: str) -> pd.DataFrame:
        return next(
            d.value for d in at.dataframe if "share_within_28d" in d.value.columns and d.value.columns[0] == column
        )

    open_section(at, "Report turnaround")
    turnaround = {"priority": turnaround_table("priority")}  # the tab open at first
    open_tab(at, "tabs-report-turnaround", "by provider")
    turnaround["provider"] = turnaround_table("provider_code")
    assert "4-week standard" in " ".join(s.value for s in at.subheader)
    # one v2.0 month in this store: no XmR chart, and the page says why (the chart is tested on the
    # queries; tests/queries/test_spc.py)
    assert any("needs at least two months" in i.value for i in at.info)
    report_by_provider = requested(
        snap, "report-turnaround", ["--modality", "MRI", "--by", "provider"], TurnaroundTable(uf, "provider"), scope
    )
    assert offered(at, "report-turnaround-provider.csv", report_by_provider)  # the tab open now
    assert registry()["waiting-list"].build(snap, scope, export_args("waiting-list", ["--by", "spc"])).height == 1
    open_section(at, "Waiting list (DM01)")
    assert any("needs at least two months" in i.value for i in at.info)
    turnaround["waiting-list"] = next(
        d.value for d in at.dataframe if "six_weeks_or_more" in d.value.columns and d.value.columns[0] == "modality"
    )
    for by, page in [*pages.items(), *(("turnaround-" + by, page) for by, page in turnaround.items())]:
        if by == "turnaround-waiting-list":
            frame = requested(snap, "waiting-list", ["--modality", "MRI"], WaitingListTable(uf, "modality"), scope)
            assert offered(at, "waiting-list-modality.csv", frame)  # the section open now
        elif by.startswith("turnaround-"):
            by = by.removeprefix("turnaround-")
            frame = requested(
                snap, "report-turnaround", ["--modality", "MRI", "--by", by], TurnaroundTable(uf, by), scope
            )
        else:
            frame = by_month if by == "month" else export(by)
        if "suppressed" in frame.columns and frame["suppressed"].any():
            continue  # written as text with `*` (formatting.shown_table); the counts are checked below
        same(page, frame)
    if not scope.is_central:
        assert (by_month["records"].drop_nulls() % 5 == 0).all()
        assert by_month.height == len(urgency.PRIORITIES)
