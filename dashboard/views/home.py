"""Home: national headline figures for the latest complete month."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components.chart_table import table_alternative
from dashboard.components.charts import CHART_CONFIG, trend_figure
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from did_months import add_months
from queries import duplicates, headline
from queries.disclosure import SUPPRESSED_COLUMN, display

TREND_MONTHS = 24
METRICS_PER_ROW = 4

st.title("Diagnostic imaging in England")

snap = snapshot_or_stop()
scope = current_scope()
month = cached(headline.latest_complete_month)(snap)
if month is None:
    st.info("The store holds no accepted submissions yet, so there are no figures to show.")
    st.stop()
period = add_months(month, 1)  # the submission period that made it the latest complete month
newest = cached(headline.latest_period)(snap)

st.caption(
    fmt.as_of(f"{fmt.month(month)} (activity month)", month)
    + ". Examinations are counted by **activity month**, the month of the test date, not the month the "
    "provider sent the file; late records are added to their own month when they arrive."
    + (
        ""
        if newest is None or newest <= period
        else f" Files for {fmt.month(newest)} are arriving; that month's figures appear once most providers are in."
    )
    + (
        ""
        if not scope.needs_disclosure_control
        else " Figures are disclosure-controlled: slightly perturbed and rounded to 5; * = hidden: small numbers."
    )
)
if scope.is_central and (note := duplicates.counting_note(snap)):
    st.caption(note)


def _change(now: int | None, before: int | None) -> str | None:
    return None if now is None else fmt.change(now, before)


# --- Headline -------------------------------------------------------------------------------
totals = cached(headline.activity_totals)(snap, scope, month)
submitting = cached(headline.providers_submitting)(snap, period)
year_ago = add_months(month, -12)
first_of_12 = add_months(month, -11)

rate = cached(headline.annual_rate_per_1000)(snap, totals, month)
left, middle, right, *rest = st.columns(4 if rate is not None else 3)
left.metric(
    f"Examinations in {fmt.month(month)}",
    display(totals.this_month),
    delta=_change(totals.this_month, totals.same_month_last_year),
    delta_description=f"vs {fmt.month(year_ago)}" if totals.same_month_last_year is not None else None,
    delta_color="off",
    help=f"{fmt.month(year_ago)}: {fmt.count(totals.same_month_last_year)}",
    border=True,
)
middle.metric(
    "Examinations in the last 12 months",
    display(totals.last_12_months),
    help=f"{fmt.month(first_of_12)} to {fmt.month(month)}, by activity month.",
    border=True,
)
right.metric(
    f"Providers submitting for {fmt.month(period)}",
    f"{submitting.submitted} of {submitting.expected}",
    help=f"Providers with an accepted file for the {fmt.month(period)} submission month (the "
    f"{fmt.month(month)} activity), out of those that had an accepted file in any of the previous 12 "
    "months or sent one for this month.",
    border=True,
)
if rate is not None:
    rest[0].metric(
        "Examinations a year per 1,000 registered patients",
        f"{rate:,.0f}",
        help=f"The last 12 months' examinations ({fmt.month(first_of_12)} to {fmt.month(month)}) per 1,000 "
        "patients registered with a GP practice.",
        border=True,
    )

# --- By modality ----------------------------------------------------------------------------
st.subheader(f"By modality, {fmt.month(month)}")
by_modality = cached(headline.modality_totals)(snap, scope, month)
for start in range(0, by_modality.height, METRICS_PER_ROW):
    columns = st.columns(METRICS_PER_ROW)
    rows = by_modality.slice(start, METRICS_PER_ROW).iter_rows(named=True)
    for column, row in zip(columns, rows, strict=False):  # the last row of metrics may be short
        delta = _change(row["this_month"], row["same_month_last_year"])
        column.metric(
            row["modality"],
            display(row["this_month"]),
            delta=delta,
            delta_description=f"vs {fmt.month(year_ago)}" if delta else None,
            delta_color="off",
        )
st.dataframe(
    by_modality.with_columns(
        pl.when(pl.col("same_month_last_year") > 0)
        .then(pl.col("this_month") / pl.col("same_month_last_year") - 1)
        .alias("change")
    ),
    hide_index=True,
    placeholder="–",
    column_order=[
        "modality",
        "this_month",
        "same_month_last_year",
        "change",
        "last_12_months",
        *([SUPPRESSED_COLUMN] if SUPPRESSED_COLUMN in by_modality.columns else []),
    ],
    column_config={
        "modality": st.column_config.TextColumn("Modality"),
        "this_month": st.column_config.NumberColumn(f"{fmt.month(month)} (examinations)", format="localized"),
        "same_month_last_year": st.column_config.NumberColumn(
            f"{fmt.month(year_ago)} (examinations)", format="localized"
        ),
        "change": st.column_config.NumberColumn("Change on a year (%)", format="percent"),
        "last_12_months": st.column_config.NumberColumn("Last 12 months (examinations)", format="localized"),
        SUPPRESSED_COLUMN: st.column_config.CheckboxColumn("Suppressed"),
    },
)

# --- GP direct access -----------------------------------------------------------------------
st.subheader(f"GP direct access cancer tests, {fmt.month(month)}")
st.caption(
    "Examinations a GP requested directly (patient source 04, GP direct access) in the test "
    "groups used for early diagnosis of cancer."
)
gpda = cached(headline.gp_direct_access_tests)(snap, scope, month)
for column, row in zip(st.columns(gpda.height), gpda.iter_rows(named=True), strict=True):
    column.metric(row["label"], display(row["records"]))

# --- Trend ----------------------------------------------------------------------------------
st.subheader("Examinations per month by modality")
trend = cached(headline.monthly_trend)(snap, scope, TREND_MONTHS, month)
st.plotly_chart(
    trend_figure(trend),
    config=CHART_CONFIG,
    key="home_trend",
    alt="Line chart: examinations by activity month and modality",
)
st.caption(
    f"Up to {TREND_MONTHS} months to {fmt.month(month)}, by activity month. Activity usually "
    "dips each December with the holidays."
)
table_alternative(
    "Examinations per month by modality",
    trend.sort("activity_month", "modality"),
    {"activity_month": ("Activity month", None), "modality": ("Modality", None), "records": ("Examinations", 0)},
    key="home_trend",
    file_name=f"examinations-by-modality-to-{month:%Y-%m}.csv",
)
