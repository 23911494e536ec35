"""Waiting times: how long patients wait from request to test, and from test to report."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components.chart_table import lazy_expander
from dashboard.components.charts import CHART_CONFIG
from dashboard.components.sections import show_sections
from dashboard.components.spc_icons import icons_html
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from dashboard.components.waits_charts import distribution_figure, spc_figure, trend_figure, turnaround_figure
from queries import dm01, headline, spc, turnaround, urgency, waiting_list, waits
from queries.connection import has_tables
from queries.disclosure import display
from queries.percentiles import SHARE_THRESHOLDS, share_column

ALL = "All"
DISTRIBUTION_DAYS = 120  # x axis of the histogram; the cumulative line still counts every record

st.title("Waiting times")
st.caption(
    "Days from the request (or the day the imaging department received it) to the test, and "
    "from the test to the report, by activity month (the month of the test). Medians and 90th "
    "percentiles are exact whole days (nearest rank); a wait over 365 days counts as "
    '"more than 365". Records with a date missing, or with dates out of order, are counted '
    "below each table rather than dropped."
)

snap = snapshot_or_stop()
scope = current_scope()
if not cached(has_tables)(snap, "rollup_waits"):
    st.info(
        "Waiting times are not in this copy of the data yet: they appear after the next file is "
        "loaded. Ask the central data team if they do not."
    )
    st.stop()
default = cached(waits.default_months)(snap)
if default is None:
    st.info("The store holds no examinations yet, so there are no waiting times to show.")
    st.stop()
months = cached(waits.wait_months)(snap)

# --- Filters (deep-linkable) ------------------------------------------------------------------
params = st.query_params
modalities = cached(waits.wait_modalities)(snap)
providers = cached(waits.wait_providers)(snap, scope)
interval_keys = list(waits.INTERVALS)
modality_options = (
    [m for m in ("MRI", "CT") if m in modalities] + [m for m in modalities if m not in ("MRI", "CT")] + [ALL]
)
source_options = [ALL, *waits.SOURCE_GROUPS]
provider_options = [ALL, *providers]


def _index(options: list, value, fallback: int = 0) -> int:
    return options.index(value) if value in options else fallback


c1, c2, c3, c4 = st.columns(4)
interval = c1.selectbox(
    "Interval",
    interval_keys,
    index=_index(interval_keys, params.get("interval")),
    format_func=lambda k: waits.INTERVALS[k].label,
    key="waits_interval",
)
modality = c2.selectbox(
    "Modality", modality_options, index=_index(modality_options, params.get("modality")), key="waits_modality"
)
source = c3.selectbox(
    "Patient source",
    source_options,
    index=_index(source_options, params.get("source")),
    format_func=lambda k: waits.SOURCE_GROUPS.get(k, "All sources"),
    key="waits_source",
)
provider = c4.selectbox(
    "Provider", provider_options, index=_index(provider_options, params.get("provider")), key="waits_provider"
)
first, last = st.select_slider(
    "Activity months",
    options=months,
    value=default,
    format_func=fmt.month,
    key="waits_months",
)
assert modality is not None and provider is not None  # ALL is always an option
st.query_params.update({"interval": interval, "modality": modality, "source": source, "provider": provider})

f = waits.WaitFilter(
    first_month=first,
    last_month=last,
    interval=interval,
    modality=None if modality == ALL else modality,
    source=None if source == ALL else source,
    provider=None if provider == ALL else provider,
)
label = waits.INTERVALS[interval]
chosen = " · ".join(
    x
    for x in (
        label.label,
        "all modalities" if modality == ALL else modality,
        waits.SOURCE_GROUPS.get(source, "all patient sources"),
        "England" if provider == ALL else provider,
        f"{fmt.month(first)} to {fmt.month(last)}",
    )
)
st.caption(
    f"Showing: **{chosen}** — from the {label.start} to the {label.end}. "
    + fmt.as_of(
        f"activity months {fmt.month(first)} to {fmt.month(last)}",
        cached(headline.latest_complete_month)(snap),
    )
)


def days_text(value: int | None, hidden: bool = False) -> str:
    """Days as words; `*` when hidden for small numbers, `–` when there is nothing to work out."""
    if value is None:
        return "*" if hidden else "–"
    return f"more than {waits.CAP_DAYS} days" if value > waits.CAP_DAYS else f"{value} days"


def share_text(value: float | None, hidden: bool = False) -> str:
    return ("*" if hidden else "–") if value is None else f"{value:.1%}"


SUPPRESSED_CONFIG = st.column_config.CheckboxColumn("Suppressed")
STAT_CONFIG = {
    "records": st.column_config.NumberColumn("Records with the interval", format="localized"),
    "missing_dates": st.column_config.NumberColumn("Date missing", format="localized"),
    "negative_intervals": st.column_config.NumberColumn("Dates out of order", format="localized"),
    "median_days": st.column_config.NumberColumn("Median (days)"),
    "p90_days": st.column_config.NumberColumn("90th percentile (days)"),
    **{
        share_column(t): st.column_config.NumberColumn(f"Within {t} day{'s' if t > 1 else ''}", format="percent")
        for t in SHARE_THRESHOLDS
    },
    "modality": st.column_config.TextColumn("Modality"),
    "source_group": st.column_config.TextColumn("Patient source"),
    "provider_code": st.column_config.TextColumn("Provider"),
    "activity_month": st.column_config.DateColumn("Activity month", format="MMM YYYY"),
    "suppressed": SUPPRESSED_CONFIG,
}


def table(by: str) -> None:
    """A breakdown's table and CSV: the waiting-times export's table for the page's request."""
    frame = cached(waits.wait_table)(snap, scope, waits.WaitTable(f, by))
    fmt.shown_table(frame, STAT_CONFIG)
    fmt.csv_download(frame, f"waiting-times-{by}.csv", f"download-{by}")


# --- Headline ---------------------------------------------------------------------------------
summary = cached(waits.wait_summary)(snap, scope, f, None).row(0, named=True)
hidden = bool(summary.get("suppressed"))
m1, m2, m3, m4 = st.columns(4)
m1.metric(
    "Median wait",
    days_text(summary["median_days"], hidden),
    border=True,
    help="Nearest rank: the smallest whole number of days that at least half the records waited no longer than.",
)
m2.metric("90th percentile", days_text(summary["p90_days"], hidden), border=True)
m3.metric(
    "Within 6 weeks (42 days)",
    share_text(summary[share_column(42)], hidden),
    border=True,
    help="Waits of 42 days or fewer. DM01's six-week standard counts 42 days as a breach "
    "(6 weeks or more), so its figure can be a little lower.",
)
m4.metric(
    "Records with a date missing",
    display(summary["missing_dates"]),
    border=True,
    help=f"Of {fmt.count((summary['records'] or 0) + (summary['missing_dates'] or 0))} records in the "
    f"selection; {display(summary['negative_intervals'])} more have the dates out of order.",
)


# --- Waits (the interval chosen above) ----------------------------------------------------------
def _distribution() -> None:
    """The histogram of waits with its cumulative line, and its table on demand."""
    st.subheader("Distribution of waits")
    dist = cached(waits.wait_table)(snap, scope, waits.WaitTable(f, "distribution"))
    if dist.is_empty():
        st.info("No records with this interval in the selection.")
    else:
        st.plotly_chart(
            distribution_figure(dist, max_days=DISTRIBUTION_DAYS),
            theme=None,  # charts.drawn_once
            config=CHART_CONFIG,
            key="wait-distribution",
            alt="Bar chart: records by days waited, with a line for the share waiting that many days or fewer",
        )
        st.caption(
            f"Bars: records by whole days waited, up to {DISTRIBUTION_DAYS} days. Line: share of records "
            "waiting that many days or fewer (the empirical distribution function), over every record. "
            "The dotted line marks six weeks."
        )
        with lazy_expander("Distribution as a table", "distribution") as opened:
            if opened:
                fmt.shown_table(
                    dist,
                    {
                        "days": st.column_config.NumberColumn("Days"),
                        "records": st.column_config.NumberColumn("Records", format="localized"),
                        "cumulative_records": st.column_config.NumberColumn("Cumulative records", format="localized"),
                        "cumulative_share": st.column_config.NumberColumn("Cumulative share", format="percent"),
                        "suppressed": SUPPRESSED_CONFIG,
                    },
                )
                fmt.csv_download(dist, "waiting-times-distribution.csv", "download-distribution")


# --- SPC (Making Data Count) -------------------------------------------------------------------
def spc_section(
    chart,
    value: str,
    label: str,
    name: str,
    *,
    higher_is_better: bool,
    target: float | None = None,
    target_label: str = "",
    percent: bool = True,
) -> None:
    """The monthly series as a Making Data Count XmR chart (`chart`: its export's table by SPC),
    its variation and assurance icons (in words as well as pictures), its table and CSV."""
    st.markdown(f"**{label}: statistical process control (XmR)**")
    if chart.height < 2:
        st.info("An XmR chart needs at least two months with a figure.")
        return
    st.markdown(
        icons_html(
            spc.variation(chart, higher_is_better),
            spc.assurance(chart, target, higher_is_better),
            "No national target applies to this measure, so there is no assurance icon.",
        ),
        unsafe_allow_html=True,
    )
    st.plotly_chart(
        spc_figure(chart, value, label, percent=percent, target=target, target_label=target_label),
        theme=None,  # charts.drawn_once
        config=CHART_CONFIG,
        key=f"spc-{name}",
        alt=f"XmR chart: {label} by activity month with its mean and process limits"
        + (f" and the target ({target_label})" if target is not None else ""),
    )
    changes = [
        f"{fmt.month(m)} ({why})"
        for m, why in spc.CHANGE_POINTS
        if chart["activity_month"][0] < m <= chart["activity_month"][-1]
    ]
    st.caption(
        f"{chart.height} months. {'Lower' if not higher_is_better else 'Higher'} is better. Limits: the mean ± 2.66 × "
        "the mean moving range, recalculated only at a stated change point"
        + (f": {'; '.join(changes)}" if changes else " (none in the months shown)")
        + ". "
        "Special cause (Making Data Count): a point outside the limits, 7 in a row above or below the mean, "
        "7 rising or falling in a row, or 2 of 3 beyond two sigma on one side. The variation icon reads the latest "
        "month; the assurance icon where the target lies against the latest limits. Making Data Count advises "
        "15 or more points before the limits are trusted."
    )
    with lazy_expander("XmR chart as a table", f"spc-{name}") as opened:
        if opened:
            fmt.shown_table(
                chart,
                {
                    "activity_month": st.column_config.DateColumn("Activity month", format="MMM YYYY"),
                    value: st.column_config.NumberColumn(label, format="percent" if percent else None),
                    "segment": st.column_config.NumberColumn("Limits segment"),
                    "direction": st.column_config.NumberColumn("Special cause side (1 high, -1 low)"),
                },
            )
            fmt.csv_download(chart, f"{name}-spc.csv", f"download-spc-{name}")


# --- Breakdowns -------------------------------------------------------------------------------
def _month_tab() -> None:
    """The By month tab: the trend chart, its table and the median wait's XmR chart."""
    trend = cached(waits.wait_table)(snap, scope, waits.WaitTable(f, "month"))
    if trend.height:
        st.plotly_chart(
            trend_figure(trend),
            theme=None,  # charts.drawn_once
            config=CHART_CONFIG,
            key="wait-trend",
            alt="Line chart: median and 90th percentile wait by activity month",
        )
    table("month")
    spc_section(
        cached(waits.wait_table)(snap, scope, waits.WaitTable(f, "spc")),
        "median_days",
        "Median wait (days)",
        "median-wait",
        higher_is_better=False,
        percent=False,
    )


# Lazy tabs (here and below): only the open tab's queries run, on opening it; Streamlit runs every
# tab's content otherwise, and this page has twenty (bench/browser_pages.py).
def _breakdowns() -> None:
    """The waits by modality, patient source, provider and month, one lazy tab each."""
    by_modality, by_source, by_provider, by_month = st.tabs(
        ["By modality", "By patient source", "By provider", "By month"], key="tabs-waits", on_change="rerun"
    )
    if by_modality.open:
        with by_modality:
            table("modality")
    if by_source.open:
        with by_source:
            st.caption("GP direct access (patient source 04) against every other source.")
            table("source")
    if by_provider.open:
        with by_provider:
            st.caption(
                "The England row is every provider together, the national comparator."
                + ("" if scope.is_central else " Providers are those you may see in detail.")
            )
            table("provider")
    if by_month.open:
        with by_month:
            _month_tab()


def _missing_dates() -> None:
    """Every interval's records with a date missing or out of order, for the same selection."""
    st.subheader("Records with a date missing")
    st.caption(
        "For the same selection, every interval: the records each interval could be worked out for, "
        "those with one of its dates blank (a report not yet issued, say) and those with the dates in "
        "the wrong order. Only the first column enters the figures above."
    )
    missing = cached(waits.wait_table)(snap, scope, waits.WaitTable(f, "missing"))
    fmt.shown_table(
        missing.drop("interval_kind"),
        {
            "interval": st.column_config.TextColumn("Interval"),
            "records": st.column_config.NumberColumn("Records with the interval", format="localized"),
            "missing_dates": st.column_config.NumberColumn("Date missing", format="localized"),
            "negative_intervals": st.column_config.NumberColumn("Dates out of order", format="localized"),
            "share_missing": st.column_config.NumberColumn("Share missing", format="percent"),
            "suppressed": SUPPRESSED_CONFIG,
        },
    )
    if not scope.is_central:
        st.caption(
            "Each day's count is slightly perturbed and every count, median, percentile and share is worked "
            "out from the perturbed counts; counts of 1–7 are then hidden and others rounded to the nearest 5, "
            "and a median, percentile or share built on a hidden count is hidden too. * = hidden: small numbers."
        )


# --- DIDS v2.0: urgency, report turnaround, the waiting list ------------------------------------
def tables_in_tabs(labels: dict[str, str], load, config: dict, name: str) -> None:
    """One tab per breakdown (key → tab label): its table, as `load(key)` gives it, and a CSV."""
    tabs = st.tabs(list(labels.values()), key=f"tabs-{name}", on_change="rerun")
    for tab, by in zip(tabs, labels, strict=True):
        if not tab.open:
            continue
        with tab:
            frame = load(by)
            fmt.shown_table(frame, config)
            fmt.csv_download(frame, f"{name}-{by}.csv", f"download-{name}-{by}")


v2_months = (
    cached(urgency.clip_months)(snap, first, last)
    if cached(has_tables)(snap, "rollup_waits_v2", "rollup_waits_v2_provider")
    else None
)
# Snapshots published before the site and DM01 test keys existed lack them (and the DM01 rollup).
dm01_ready = v2_months is not None and cached(has_tables)(snap, "rollup_dm01_activity")
# the urgency tables' interval is chosen in their section; report turnaround and the waiting list
# have their own (the filter's is ignored there)
uf = (
    urgency.UrgencyFilter(v2_months[0], v2_months[1], modality=f.modality, source=f.source, provider=f.provider)
    if v2_months is not None
    else None
)
SITE_CONFIG = {
    "site_code": st.column_config.TextColumn("Site"),
    "site_name": st.column_config.TextColumn("Site name"),
    "site_provider": st.column_config.TextColumn("Provider"),
}
URGENCY_CONFIG = {
    **STAT_CONFIG,
    "priority": st.column_config.TextColumn("Priority"),
    **{
        share_column(t): st.column_config.NumberColumn(f"Within {t} day{'s' if t > 1 else ''}", format="percent")
        for t in urgency.THRESHOLDS
    },
}
TURNAROUND_CONFIG = {
    **STAT_CONFIG,
    "priority": st.column_config.TextColumn("Priority"),
    "reported": st.column_config.NumberColumn("Reported", format="localized"),
    "reported_within_28d": st.column_config.NumberColumn("Within 28 days", format="localized"),
    "share_within_28d": st.column_config.NumberColumn("% within 28 days", format="percent"),
    "reported_over_28d": st.column_config.NumberColumn("Over 28 days", format="localized"),
    "dates_out_of_order": st.column_config.NumberColumn("Dates out of order", format="localized"),
    "unreported": st.column_config.NumberColumn("Unreported", format="localized"),
    "unreported_28d": st.column_config.NumberColumn("Unreported 28+ days", format="localized"),
}
LIST_CONFIG = {
    **STAT_CONFIG,
    "waits": st.column_config.NumberColumn("Waits", format="localized"),
    "median_weeks": st.column_config.NumberColumn("Median (weeks)", format="%.1f"),
    "six_weeks_or_more": st.column_config.NumberColumn("6 weeks or more", format="localized"),
    "share_six_weeks_or_more": st.column_config.NumberColumn("% 6 weeks or more", format="percent"),
    **{
        band: st.column_config.NumberColumn(
            band.removeprefix("weeks_").replace("_to_", "–").replace("_plus", "+") + " weeks", format="localized"
        )
        for band in waiting_list.BANDS
    },
}
SITE_CAPTION = (
    "In the tables by site, the England row is every site together; sites are named as on the scanner page "
    "(the imaging site list), and a site it does not list shows its code only."
    + (
        ""
        if scope.is_central
        else " Sites are your providers' own."
        if scope.role == "provider"
        else " Only England's row is shown to you: a site's figures go to the central team and to the provider "
        "that runs it."
    )
)


def _no_v2_months() -> None:
    st.info(
        f"Priority types and procedure and report times are collected from {fmt.month(urgency.FIRST_MONTH)} "
        "activity (DIDS v2.0); the months chosen above hold none. Choose later months to see them."
    )


def _v2_months_text(what: str) -> str:
    assert v2_months is not None
    return (
        f"Activity months {fmt.month(v2_months[0])} to {fmt.month(v2_months[1])} only: earlier months were "
        f"collected under DIDS v1.0, without {what}, and are not mixed in."
    )


def _by_urgency() -> None:
    """Waits by priority type (routine, urgent, urgent suspected cancer), on the interval chosen here."""
    if uf is None:
        _no_v2_months()
        return
    v2_interval = st.selectbox(
        "Urgency interval",
        list(urgency.INTERVALS),
        format_func=lambda k: urgency.INTERVALS[k].label,
        key="waits_urgency_interval",
    )
    chosen = replace(uf, interval=v2_interval)
    st.caption(
        _v2_months_text("a priority type") + " Days between UK local dates of the "
        f"{urgency.INTERVALS[v2_interval].start} and the {urgency.INTERVALS[v2_interval].end}; the same "
        "modality, patient source and provider as above."
    )
    fmt.shown_table(
        cached(urgency.urgency_table)(snap, scope, urgency.UrgencyTable(chosen, "priority")), URGENCY_CONFIG
    )
    st.subheader("Urgent suspected cancer beside routine, by modality")
    side = cached(urgency.urgency_table)(snap, scope, urgency.UrgencyTable(chosen, "usc-vs-routine"))
    fmt.shown_table(
        side,
        {
            "modality": st.column_config.TextColumn("Modality"),
            **{
                f"{tag}_{c}": st.column_config.NumberColumn(f"{who}: {what}", format=form)
                for tag, who in (("usc", "USC"), ("routine", "Routine"))
                for c, what, form in (
                    ("records", "records", "localized"),
                    ("median_days", "median (days)", None),
                    ("p90_days", "90th percentile (days)", None),
                    (share_column(14), "within 14 days", "percent"),
                )
            },
        },
    )
    st.subheader("Waits by urgency")
    if dm01_ready:
        st.caption(SITE_CAPTION)
    tables_in_tabs(
        {
            "modality": "Urgency by modality",
            "source": "Urgency by patient source",
            "provider": "Urgency by provider",
            "month": "Urgency by month",
            **({"site": "Urgency by site"} if dm01_ready else {}),
        },
        lambda by: cached(urgency.urgency_table)(snap, scope, urgency.UrgencyTable(chosen, by)),
        {**URGENCY_CONFIG, **SITE_CONFIG},
        "waits-by-urgency",
    )


def _report_turnaround() -> None:
    """Procedure to report against the 4-week standard: the trend by priority, the tables, the XmR chart."""
    if uf is None:
        _no_v2_months()
        return
    st.subheader("Report turnaround against the 4-week standard")
    report_as_of = cached(turnaround.as_of)(snap)
    st.caption(
        _v2_months_text("procedure and report times") + " NHS England's guidance (August 2023): no examination "
        "should wait more than 4 weeks (28 days) for its report. Reported: procedure start to report issue, UK "
        "local dates. Still unreported 28+ days: no report issued and the procedure 28 or more days before "
        f"{report_as_of:%-d %B %Y}, the last day of the latest activity month held (reports issued after the "
        "last extract are not known)."
    )
    report_f = replace(uf, interval=turnaround.INTERVAL)
    trend_by_priority = cached(urgency.urgency_table)(snap, scope, urgency.UrgencyTable(report_f, "month"))
    if trend_by_priority["p90_days"].drop_nulls().len():
        st.plotly_chart(
            turnaround_figure(trend_by_priority, turnaround.REPORT_STANDARD_DAYS),
            theme=None,  # charts.drawn_once
            config=CHART_CONFIG,
            key="turnaround-trend",
            alt="Line chart: 90th percentile days from procedure to report by "
            "activity month and priority, with the 28-day standard",
        )
        st.caption(
            "Lines: the 90th percentile by month and priority (the table is under By urgency, Urgency by month, "
            "with Procedure start → report issue chosen). Dotted: the 4-week standard."
        )
    if dm01_ready:
        st.caption(SITE_CAPTION)
    tables_in_tabs(
        {
            "priority": "Turnaround by priority",
            "modality": "by modality",
            "source": "by patient source",
            "provider": "by provider",
            "month": "by month",
            **({"site": "by site"} if dm01_ready else {}),
        },
        lambda by: cached(turnaround.turnaround_table)(snap, scope, turnaround.TurnaroundTable(uf, by)),
        {**TURNAROUND_CONFIG, **SITE_CONFIG},
        "report-turnaround",
    )
    spc_section(
        cached(turnaround.turnaround_table)(snap, scope, turnaround.TurnaroundTable(uf, "spc")),
        "share_within_28d",
        "% reported within 28 days",
        "report-turnaround",
        higher_is_better=True,
        target=spc.REPORT_TARGET,
        target_label="Target: 100% within 4 weeks",
    )


def _waiting_list() -> None:
    """DM01-style completed waits: by breakdown, the 6-week XmR chart, by DM01 test; the reconciliation."""
    if uf is None:
        _no_v2_months()
    else:
        st.subheader("Diagnostic waiting list (DM01-style)")
        st.caption(
            _v2_months_text("a waiting-list clock start") + " Tests in activity category 01 (Diagnostic Waiting "
            "List): weeks from the waiting-list clock start to the procedure start. 6 weeks or more (42 days or "
            "more) is DM01's breach. DM01 counts the patients still waiting at each month end; these are the "
            "completed waits of the patients tested, so the two differ. Same modality, patient source and "
            "provider filters as above, except in the table by DM01 test."
        )
        tables_in_tabs(
            {
                "modality": "Waiting list by modality",
                "provider": "by provider",
                "source": "by patient source",
                "month": "by month",
            },
            lambda by: cached(waiting_list.waiting_list_table)(snap, scope, waiting_list.WaitingListTable(uf, by)),
            LIST_CONFIG,
            "waiting-list",
        )
        spc_section(
            cached(waiting_list.waiting_list_table)(snap, scope, waiting_list.WaitingListTable(uf, "spc")),
            "share_six_weeks_or_more",
            "% waiting 6 weeks or more",
            "waiting-list",
            higher_is_better=False,
            target=spc.SIX_WEEK_TARGET,
            target_label="DM01 standard: under 1%",
        )
    if dm01_ready:
        assert uf is not None
        st.subheader("Diagnostic waiting list by DM01 test")
        st.caption(
            "DM01's five imaging tests — MRI, CT, non-obstetric ultrasound, barium enema and DEXA — each "
            "examination's test mapped from its NICIP code (or its SNOMED CT code). Waiting-list tests only "
            "(activity category 01), weeks from the clock start to the procedure; the patient source and provider "
            "filters apply, the modality filter does not (the test decides it). Completed waits, not DM01's "
            "month-end list."
        )
        dm01_list = cached(waiting_list.dm01_waiting_list)(snap, scope, waiting_list.dm01_filter(uf))
        fmt.shown_table(dm01_list, {**LIST_CONFIG, "dm01_test": st.column_config.TextColumn("DM01 test")})
        fmt.csv_download(dm01_list, "dm01-waiting-list.csv", "download-dm01-waiting-list")
    if (scope.is_central or scope.role == "provider") and cached(has_tables)(snap, "rollup_dm01_activity"):
        _dm01_reconciliation()


def _dm01_reconciliation() -> None:
    """DID activity beside a loaded DM01 file, by month, provider and test (central and providers)."""
    st.subheader("DM01 reconciliation")
    dm01_held = [m for m in cached(dm01.loaded_months)(snap) if first <= m <= last]
    if not dm01_held:
        st.info(
            "No DM01 figures are loaded for the months chosen above. Choose other months, or ask the "
            "central data team to load NHS England's DM01 file for them."
        )
    else:
        st.caption(
            "DID examinations of each DM01 test (every activity category) beside the activity in the loaded DM01 "
            f"file, {fmt.month(dm01_held[0])} to {fmt.month(dm01_held[-1])}, by month and provider"
            + ("" if scope.is_central else " (your providers only)")
            + ". Flagged: the two differ by more than 10% either way of DM01's figure, or one has the test and the "
            "other none. DM01's month-end waiting list is shown for reference: DID holds completed waits, not "
            "the list."
        )
        flagged_only = st.toggle("Flagged rows only", key="dm01-flagged-only")
        recon = cached(dm01.reconciliation_table)(
            snap, scope, dm01.Reconciliation(first, last, flagged_only=flagged_only)
        )
        fmt.shown_table(
            recon,
            {
                "activity_month": st.column_config.DateColumn("Month", format="MMM YYYY"),
                "provider_code": st.column_config.TextColumn("Provider"),
                "dm01_test": st.column_config.TextColumn("DM01 test"),
                "did_activity": st.column_config.NumberColumn("DID activity", format="localized"),
                "dm01_activity": st.column_config.NumberColumn("DM01 activity", format="localized"),
                "difference": st.column_config.NumberColumn("Difference", format="localized"),
                "difference_share": st.column_config.NumberColumn("Difference (% of DM01)", format="percent"),
                "flagged": st.column_config.CheckboxColumn("Over ±10%"),
                "dm01_waiting_total": st.column_config.NumberColumn("DM01 waiting list", format="localized"),
                "dm01_waiting_6wk_plus": st.column_config.NumberColumn("DM01 waiting 6+ weeks", format="localized"),
                "dm01_share_6wk_plus": st.column_config.NumberColumn("DM01 % 6+ weeks", format="percent"),
                "suppressed": SUPPRESSED_CONFIG,
            },
        )
        fmt.csv_download(recon, "dm01-reconciliation.csv", "download-dm01-reconciliation")


def _waits() -> None:
    """The interval chosen above: its distribution, its breakdowns and its records with a date missing."""
    _distribution()
    _breakdowns()
    _missing_dates()


# --- Sections (ADR 19): only the open one runs and is drawn ------------------------------------
# On one page these were 8,200 px with four Plotly charts and nine grids.
show_sections(
    {
        "Waits": _waits,
        "By urgency": _by_urgency,
        "Report turnaround": _report_turnaround,
        "Waiting list (DM01)": _waiting_list,
    }
)
