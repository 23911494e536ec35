"""Official statistics: the monthly DID tables and the KH12-style annual table, as published."""

from __future__ import annotations

import streamlit as st

from dashboard import caching
from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components.official_tables import show_notes, show_table, workbook_button, year_label
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from queries import headline, official
from queries.official import reporting_month
from queries.reports.kh12 import build_kh12
from queries.reports.monthly import build_monthly

st.title("Official statistics")
st.caption(
    "The monthly Diagnostic Imaging Dataset tables and a KH12-style annual table, exactly as "
    "published in the workbooks below. They are publication-safe for every "
    "user: each count is slightly perturbed, then counts of 1–7 are hidden and the rest rounded to the "
    "nearest 5. * = hidden: small numbers."
)

snap = snapshot_or_stop()
scope = current_scope()
periods = cached(official.report_periods)(snap)
if not periods:
    st.info("The store holds no accepted submissions yet, so there are no statistics to show.")
    st.stop()

up_to = cached(headline.latest_complete_month)(snap)
monthly_tab, kh12_tab = st.tabs(["Monthly release", "KH12 annual table"])

# --- Monthly ----------------------------------------------------------------------------------
with monthly_tab:
    wanted = st.query_params.get("period")
    keys = [f"{p:%Y-%m}" for p in periods]
    period = periods[keys.index(wanted)] if wanted in keys else periods[0]
    period = st.selectbox(
        "Submission period",
        periods,
        index=periods.index(period),
        key="official_period",
        format_func=lambda p: f"{fmt.month(p)} (activity in {fmt.month(reporting_month(p))})",
    )
    st.query_params["period"] = f"{period:%Y-%m}"
    month = reporting_month(period)
    st.caption(fmt.as_of(f"{fmt.month(month)} (activity month), sent in {fmt.month(period)}", up_to))
    output = cached(build_monthly)(snap, scope, period)
    stem = f"monthly_{period:%Y-%m}"
    tables = output.tables

    latest = tables["activity_by_month"].filter(tables["activity_by_month"]["activity_month"] == month)
    if latest.height:
        row = latest.row(0, named=True)
        c1, c2 = st.columns(2)
        exact = (
            f" The exact count, as on the Home page: "
            f"{fmt.count(cached(headline.activity_totals)(snap, scope, month).this_month)}."
            if scope.is_central
            else ""
        )
        c1.metric(
            f"Examinations in {fmt.month(month)}, as published",
            fmt.count(row["total"]),
            border=True,
            help="Rounded to the nearest 5, as published for everyone (the central team too)." + exact,
        )
        c2.metric(
            "Organisations included",
            f"{row['pct_organisations_included']}%",
            border=True,
            help=f"{row['organisations_included']} of {row['organisations_expected']} expected providers "
            f"had an accepted file for {fmt.month(period)}.",
        )
    workbook_button(lambda: caching.workbook(output, (snap.version, scope), stem), stem)

    activity, providers, commissioners, waits, gpda = st.tabs(
        ["Activity by month", "Providers", "Commissioners", "Waiting times", "GP direct access"]
    )
    with activity:
        st.caption(
            "The 13 activity months to the reporting month, by modality, with the share of expected "
            "providers whose file for the month is in."
        )
        show_table(tables["activity_by_month"], stem, "activity_by_month")
    with providers:
        st.caption(f"{fmt.month(month)} by submitting provider; the first row is England.")
        show_table(tables["activity_by_provider"], stem, "activity_by_provider")
    with commissioners:
        st.caption(f"{fmt.month(month)} by the sub-ICB and ICB of the patient's registered GP practice.")
        level = st.radio("Level", ["Sub-ICB", "ICB"], horizontal=True, key="commissioner-level")
        name = "activity_by_sub_icb" if level == "Sub-ICB" else "activity_by_icb"
        show_table(tables[name], stem, name)
    with waits:
        st.caption(f"Median days in {fmt.month(month)}, over records with both dates in order.")
        show_table(tables["waiting_times"], stem, "waiting_times")
    with gpda:
        st.caption(
            "GP direct access (patient source 04) in the five early-diagnosis-of-cancer test groups, by "
            "sub-ICB of the registered practice."
        )
        show_table(tables["gp_direct_access_by_sub_icb"], stem, "gp_direct_access_by_sub_icb")
    show_notes(output)

# --- KH12 -------------------------------------------------------------------------------------
with kh12_tab:
    years = [y.label for y in cached(official.report_years)(snap)]
    wanted_year = st.query_params.get("year")
    year = st.selectbox(
        "Financial year (April to March)",
        years,
        index=years.index(wanted_year) if wanted_year in years else 0,
        format_func=lambda y: year_label(snap, y),
        key="official_kh12_year",
    )
    st.caption(fmt.as_of(year_label(snap, year), up_to))
    st.query_params["year"] = year
    kh12 = cached(build_kh12)(snap, scope, official.FinancialYear.parse(year))
    kh12_stem = f"kh12_{year}"
    st.caption(
        "Examinations by provider in the layout of KH12 Part 2 (discontinued after 2013-14): X-ray, "
        "ultrasound, CT, MRI, fluoroscopy, radio-isotopes (nuclear medicine and PET-CT), other."
    )
    workbook_button(
        lambda: caching.workbook(kh12, (snap.version, scope), kh12_stem),
        kh12_stem,
        label="Download KH12 workbook (.xlsx, with notes)",
    )
    show_table(kh12.tables["kh12"], kh12_stem, "kh12")
    show_notes(kh12)
