"""Scanner utilisation: how hard each site's scanners work, against its scheduled hours."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components.chart_table import lazy_expander
from dashboard.components.charts import CHART_CONFIG
from dashboard.components.equipment_charts import (
    OUTLIER_WORDS,
    hour_weekday_figure,
    monthly_figure,
    ranked_sites_figure,
    scanner_hour_figure,
    weekday_figure,
)
from dashboard.components.sections import show_sections
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from queries import equipment, productivity
from queries.connection import has_tables

ALL = "England"

st.title("Scanner utilisation")
st.caption(
    "Examinations per scanner per operating day (a day the site recorded at least one "
    "examination of the modality), the weekday pattern, weekend and bank-holiday working, and an "
    "estimate of how much of each site's scheduled scanner time the examinations fill."
)

snap = snapshot_or_stop()
scope = current_scope()
if not cached(has_tables)(snap, "rollup_equipment_daily", "rollup_equipment_mix"):
    st.info(
        "This snapshot was published before scanner utilisation was added: it appears after the "
        "next publish (the next file accepted, or the central data team publishing again)."
    )
    st.stop()
default = cached(equipment.default_months)(snap)
if default is None:
    st.info("The store holds no examinations yet.")
    st.stop()

# --- Inventory --------------------------------------------------------------------------------
inventory = cached(equipment.inventory_status)(snap)
if inventory.is_empty():
    st.warning(
        "No equipment inventory is loaded, so per-scanner figures and utilisation cannot be "
        "worked out. The central data team loads the national inventory of scanners and their "
        "scheduled hours."
    )
elif inventory["synthetic_rows"].sum() > 0:
    try:
        scale = float(snap.meta.get("synthetic_scale") or 1.0)
    except ValueError:
        scale = 1.0
    st.warning(
        "**Synthetic equipment inventory.** The scanner counts and scheduled hours are made up by the "
        "synthetic data generator from England's numbers of CT and MRI scanners, not a census; the central "
        "data team replaces them with a real inventory."
        + (
            f" The examinations are generated at {scale:.1%} of the volume the scanners serve, so "
            "per-scanner figures and utilisation read at that fraction of real ones."
            if scale < 1
            else ""
        ),
        icon=":material/science:",
    )
with lazy_expander("Equipment inventory", "inventory") as opened:
    if opened:
        st.dataframe(
            inventory,
            hide_index=True,
            column_config={
                "modality": "Modality",
                "sites": "Sites",
                "scanners": "Scanners",
                "scheduled_hours_per_week": st.column_config.NumberColumn("Scheduled hours a week", format="localized"),
                "synthetic_rows": "Synthetic rows",
            },
        )

# --- Filters ----------------------------------------------------------------------------------
params = st.query_params
modalities = cached(equipment.equipment_modalities)(snap)
months = cached(equipment.equipment_months)(snap)
c1, c2 = st.columns([1, 2])
modality = c1.selectbox(
    "Modality",
    modalities,
    index=modalities.index(params["modality"]) if params.get("modality") in modalities else 0,
    key="equipment_modality",
)
first, last = c2.select_slider(
    "Activity months", options=months, value=default, format_func=fmt.month, key="equipment_months"
)

with st.expander("Typical examination durations (minutes) used for utilisation"):
    st.caption(equipment.DURATIONS_BASIS + " '*' is any other body area.")
    base = equipment.durations_for(equipment.DEFAULT_DURATIONS, modality)
    edited = st.data_editor(
        base.to_pandas(),
        hide_index=True,
        num_rows="dynamic",
        key=f"durations-{modality}",
        column_config={
            "modality": st.column_config.TextColumn("Modality", disabled=True),
            "body_area": st.column_config.TextColumn("Body area"),
            "minutes": st.column_config.NumberColumn("Minutes", min_value=1, max_value=480),
        },
    )
    changes = [
        (modality, str(r.body_area), float(r.minutes))
        for r in edited.itertuples()
        if isinstance(r.body_area, str) and r.minutes == r.minutes and r.minutes > 0
    ]
durations = equipment.with_durations(tuple(d for d in equipment.DEFAULT_DURATIONS if d[0] != modality), changes)
f = equipment.UtilisationFilter(modality, first, last, durations)
st.query_params["modality"] = modality
st.caption(
    f"{modality}, {fmt.month(first)} to {fmt.month(last)} ({f.calendar_days} calendar days). "
    f"Bank holidays: {equipment.BANK_HOLIDAYS_SOURCE}."
)

SHARED_CONFIG = {
    "provider_code": st.column_config.TextColumn("Provider"),
    "provider_name": st.column_config.TextColumn("Provider name"),
    "site_code": st.column_config.TextColumn("Site"),
    "site_name": st.column_config.TextColumn("Site name"),
    "rank": st.column_config.NumberColumn("Rank"),
    "outlier": st.column_config.TextColumn(
        "Outlier",
        help="Busier or quieter than most: beyond 1.5 interquartile ranges from the quartiles of all "
        "sites in England (Tukey's fences). * hidden with the site's small numbers.",
    ),
    "sites": st.column_config.NumberColumn("Sites"),
    "scanners": st.column_config.NumberColumn("Scanners"),
    "scheduled_hours_per_week": st.column_config.NumberColumn("Scheduled hours a week", format="localized"),
    "examinations": st.column_config.NumberColumn("Examinations", format="localized"),
    "operating_days": st.column_config.NumberColumn("Operating days"),
    "exams_per_scanner_per_day": st.column_config.NumberColumn("Per scanner per operating day", format="%.1f"),
    "exams_per_operating_day": st.column_config.NumberColumn("Per operating day", format="%.1f"),
    "weekend_share": st.column_config.NumberColumn("Weekend", format="percent"),
    "bank_holiday_share": st.column_config.NumberColumn("Bank holidays", format="percent"),
    "estimated_minutes": st.column_config.NumberColumn("Estimated scanner minutes", format="localized"),
    "utilisation": st.column_config.NumberColumn("Estimated utilisation", format="percent"),
    "utilisation_note": st.column_config.TextColumn("Utilisation note"),
    "sites_hours_not_known": st.column_config.NumberColumn(
        "Sites, hours not known", help="Sites with scanners but no scheduled hours: left out of utilisation."
    ),
    "suppressed": st.column_config.CheckboxColumn("Suppressed"),
}


def table(frame: pl.DataFrame, name: str) -> None:
    shown = frame
    if "outlier" in frame.columns:  # words, not a blank for "not an outlier" (the CSV keeps high/low)
        hidden = pl.col("suppressed").fill_null(False) if "suppressed" in frame.columns else pl.lit(False)
        shown = frame.with_columns(
            pl.when(hidden)
            .then(pl.lit("*"))
            .otherwise(pl.col("outlier").replace_strict(OUTLIER_WORDS, default="No"))
            .alias("outlier")
        )
    fmt.shown_table(shown, SHARED_CONFIG)
    fmt.csv_download(frame, f"equipment-{name}.csv", f"download-{name}")


def _months_text(months: list) -> str:
    """'April 2026, May 2026 and June 2026'."""
    words = [fmt.month(m) for m in sorted(months)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# --- Drill-down: a provider, then one of its sites (every section below follows it) -------------
providers = cached(equipment.utilisation_table)(snap, scope, equipment.UtilisationTable(f, "provider"))
visible = [p for p in providers["provider_code"].to_list() if p != ALL]
drill_options = [ALL, *visible]
d1, d2 = st.columns(2)
drill = d1.selectbox(
    "Drill down to a provider's sites",
    drill_options,
    index=drill_options.index(params["provider"]) if params.get("provider") in drill_options else 0,
    key="equipment_drill",
)
provider = None if drill == ALL else drill
if provider:
    st.query_params["provider"] = provider
else:
    st.query_params.pop("provider", None)


def _sites() -> pl.DataFrame:
    """The drill-down's sites (every site in England when no provider is chosen), cached: worked
    out only where shown, not for the sections that need none of them."""
    return cached(equipment.utilisation_table)(snap, scope, equipment.UtilisationTable(f, "site", provider))


site = (
    d2.selectbox(
        "Weekday profile, trend and hours for",
        [None, *_sites()["site_code"].to_list()],
        format_func=lambda s: f"All of {provider}'s sites" if s is None else s,
        key=f"equipment_site-{provider}",
    )
    if provider
    else None
)
where = site or provider or ALL


def _providers_and_sites() -> None:
    """Every provider (England first), then the sites ranked per scanner with their fences."""
    st.subheader("Providers")
    st.caption(
        "England first (every site), then providers busiest per scanner first. Rates per scanner and "
        "utilisation count only sites with scanners of the modality in the inventory."
    )
    if scope.role == "commissioner":
        st.caption(
            "Every provider and site is shown as a comparator: utilisation is a site's activity, not "
            "your population's, and its counts carry the same small random noise as every figure."
        )
    table(providers, "providers")

    st.subheader("Sites ranked")
    sites = _sites()
    if sites["exams_per_scanner_per_day"].drop_nulls().len():
        england = providers.filter(pl.col("provider_code") == ALL)["exams_per_scanner_per_day"]
        st.plotly_chart(
            ranked_sites_figure(
                sites,
                fences=cached(equipment.site_fences)(snap, scope, f),
                england=england[0] if england.len() else None,
            ),
            config=CHART_CONFIG,
            key="ranked-sites",
            alt=f"Dot chart: the busiest sites by {modality} examinations per scanner per operating day, "
            f"with England's figure and Tukey's fences as lines",
        )
        st.caption(
            "Busiest 40 sites per scanner (of those shown), busiest at the top. The solid line is England; "
            "the dashed lines are Tukey's fences, 1.5 interquartile ranges beyond the quartiles of all sites "
            "in England. Upward triangles "
            "are above the upper fence, downward triangles below the lower one. Rank is among all sites "
            "in England."
        )
    elif sites.is_empty():
        st.info(
            f"No site {'of yours ' if scope.role == 'provider' else ''}recorded {modality} examinations or "
            f"holds {modality} scanners in this period; the England row above is the comparator. Choose "
            "another modality or period."
        )
    else:
        st.info(
            f"No {modality} scanners are in the inventory for these sites: examinations per operating day "
            "are shown instead of per scanner."
        )
    if not sites.is_empty():
        table(sites, "sites")


def _weekday_and_month() -> None:
    """The weekday profile (bank holidays apart) and the monthly trend of the selection."""
    left, right = st.columns(2)
    with left:
        st.subheader(f"Weekday profile, {where}")
        profile = cached(equipment.utilisation_table)(
            snap, scope, equipment.UtilisationTable(f, "weekday", provider, site)
        )
        st.plotly_chart(
            weekday_figure(profile),
            config=CHART_CONFIG,
            key="weekday",
            alt=f"Bar chart: mean examinations per day by weekday and on bank holidays, {where}",
        )
        fmt.shown_table(
            profile,
            {
                "day": "Day",
                "days": "Calendar days",
                "examinations": st.column_config.NumberColumn("Examinations", format="localized"),
                "mean_per_day": st.column_config.NumberColumn("Per day (mean)", format="%.1f"),
                "share": st.column_config.NumberColumn("Share", format="percent"),
                "suppressed": st.column_config.CheckboxColumn("Suppressed"),
            },
        )
        st.caption("Bank holidays that fall on a weekday are counted in their own row, not their weekday.")
    with right:
        st.subheader(f"Monthly trend, {where}")
        trend = cached(equipment.utilisation_table)(snap, scope, equipment.UtilisationTable(f, "month", provider, site))
        st.plotly_chart(
            monthly_figure(trend),
            config=CHART_CONFIG,
            key="monthly",
            alt=f"Line chart: examinations per scanner per operating day and estimated utilisation by month, {where}",
        )
        fmt.shown_table(
            trend,
            {
                "activity_month": st.column_config.DateColumn("Activity month", format="MMM YYYY"),
                "examinations": st.column_config.NumberColumn("Examinations", format="localized"),
                "scanner_days": st.column_config.NumberColumn("Scanner-days", format="localized"),
                "exams_per_scanner_per_day": st.column_config.NumberColumn(
                    "Per scanner per operating day", format="%.1f"
                ),
                "utilisation": st.column_config.NumberColumn("Utilisation", format="percent"),
                "minutes_basis": st.column_config.TextColumn(
                    "Minutes",
                    help="measured: from the procedure start and end times (DIDS v2.0, from April 2026); "
                    "assumed: examinations × the typical durations above",
                ),
                "suppressed": st.column_config.CheckboxColumn("Suppressed"),
            },
        )
        measured = trend.filter(pl.col("minutes_basis") == equipment.MEASURED)["activity_month"].to_list()
        st.caption(
            f"Utilisation uses measured scanner minutes for {_months_text(measured)} and the assumed durations "
            "for the other months."
            if measured
            else "Utilisation uses the assumed durations in every month: none of these months has procedure times."
        )

    st.caption(
        "Estimated utilisation = Σ(examinations × typical minutes for the modality and body area) ÷ (scheduled "
        "hours a week × 60 × calendar days ÷ 7). It is an estimate: durations are typical, not recorded. In the "
        "monthly trend, a month with procedure start and end times (DIDS v2.0) uses the measured minutes instead."
        + (
            ""
            if scope.is_central
            else " Counts are slightly perturbed, then counts of 1–7 hidden and others rounded "
            "to the nearest 5; rates are worked out from the perturbed counts. * = hidden: small numbers."
        )
    )


def _per_operating_hour() -> None:
    """Scans per operating hour (DIDS v2.0 procedure times): by weekday and hour, and by site."""
    st.subheader("Scans per operating hour")
    timed = (
        cached(productivity.timed_months)(snap, first, last) if cached(has_tables)(snap, productivity.TABLE) else None
    )
    if timed is None:
        st.info(
            f"No {modality} examinations with procedure times in this period. Start and end times are "
            "collected from April 2026 (DIDS v2.0): choose a period from April 2026."
        )
        return
    pf = productivity.ProductivityFilter(modality, *timed)
    band = productivity.GUIDANCE_BANDS.get(modality)
    st.caption(
        f"{modality}, {fmt.month(pf.first_month)} to {fmt.month(pf.last_month)}: the months of the period with "
        "procedure start and end times. An **operating hour** is a clock hour (UK time) on a date in which the site "
        "started at least one examination of the modality: the data hold no opening times, so an hour in which a "
        "scan began is the hour we can see the scanner ran. It over-counts a little where a scanner stood idle "
        "for most of an hour, and under-counts where one examination ran on through the next hour."
        + ("" if band is None else f" National guidance: {productivity.GUIDANCE_SOURCE}.")
    )
    heat_left, heat_right = st.columns([3, 2])
    with heat_left:
        cells = cached(productivity.productivity_table)(
            snap, scope, productivity.ProductivityTable(pf, "hour", provider, site)
        )
        st.plotly_chart(
            hour_weekday_figure(cells, equipment.WEEKDAYS),
            config=CHART_CONFIG,
            key="hour-weekday",
            alt=f"Heat map: {modality} scans per operating hour by day of the week and hour the examination "
            f"started, {where}; darker is more scans an hour, white is no examination started",
        )
        st.caption(
            f"{where}. Darker squares: more scans in each hour the scanner ran. White: no examination started "
            "in that hour" + ("." if scope.is_central else ", or too few to show.")
        )
    with heat_right:
        fmt.shown_table(
            cells,
            {
                "weekday": "Day",
                "hour": "Hour started",
                "examinations": st.column_config.NumberColumn("Examinations", format="localized"),
                "operating_hours": st.column_config.NumberColumn("Operating hours", format="localized"),
                "scans_per_operating_hour": st.column_config.NumberColumn("Scans per operating hour", format="%.1f"),
                "suppressed": st.column_config.CheckboxColumn("Suppressed"),
            },
            height=330,
        )

    hourly = cached(productivity.productivity_table)(snap, scope, productivity.ProductivityTable(pf, "site", provider))
    sites_left, sites_right = st.columns([2, 3])
    with sites_left:
        st.plotly_chart(
            scanner_hour_figure(hourly, band),
            config=CHART_CONFIG,
            key="scanner-hours",
            alt=f"Dot chart: {modality} scans per scanner-hour by site, with England as a line"
            + ("" if band is None else " and the national guidance band shaded"),
        )
    with sites_right:
        fmt.shown_table(
            hourly,
            {
                **SHARED_CONFIG,
                "operating_hours": st.column_config.NumberColumn("Operating hours", format="localized"),
                "scans_per_operating_hour": st.column_config.NumberColumn(
                    "Per operating hour",
                    format="%.1f",
                    help="Examinations ÷ operating hours: the site's scanners together.",
                ),
                "scans_per_scanner_hour": st.column_config.NumberColumn(
                    "Per scanner-hour",
                    format="%.1f",
                    help="Examinations ÷ (operating hours × scanners): "
                    "as if every scanner ran in every operating hour.",
                ),
                "guidance": st.column_config.TextColumn(
                    "Against guidance", help="Per scanner-hour below, within or above the national band"
                ),
                "measured_minutes": st.column_config.NumberColumn("Measured scanner minutes", format="localized"),
                "measured_utilisation": st.column_config.NumberColumn("Measured utilisation", format="percent"),
                "dropped_durations": st.column_config.NumberColumn(
                    "Times left out",
                    help="Examinations whose end is before their start or over 24 hours after it: "
                    "counted, but their minutes are left out.",
                ),
            },
        )
        fmt.csv_download(hourly, "equipment-scans-per-hour.csv", "download-scans-per-hour")
    st.caption(
        "England first, then sites, most scans per scanner-hour first. **Per scanner-hour** divides by every "
        f"{modality} scanner the site has in the inventory, as if all ran in each operating hour: it is the figure "
        "set against the guidance, which is per scanner. **Measured utilisation** = the minutes from start to end "
        "÷ (scheduled hours a week × 60 × calendar days ÷ 7), for sites whose scheduled hours are known."
        + ("" if band is None else " The green strip is the national guidance band.")
        + (
            ""
            if scope.is_central
            else " Counts are slightly perturbed, then counts of 1–7 hidden and others rounded "
            "to the nearest 5; rates come from the perturbed counts. * = hidden: small numbers."
        )
    )


# --- Sections (ADR 19): only the open one runs and is drawn ------------------------------------
# On one page these were 7,000 px with five Plotly charts and seven grids.
show_sections(
    {
        "Providers and sites": _providers_and_sites,
        "Weekday and month": _weekday_and_month,
        "Scans per operating hour": _per_operating_hour,
    }
)
