"""Completeness: who submitted for each month, on time, complete and valid — and which volumes look wrong."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components.chart_table import lazy_expander
from dashboard.components.charts import CHART_CONFIG
from dashboard.components.glossary import table_config
from dashboard.components.quality_charts import coverage_figure, matrix_figure, volume_figure
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from did_months import add_months
from queries import completeness, duplicates, headline, volumes
from queries.completeness import (
    HISTORY_PERIODS,
    WHICH_FILE_COLUMNS,
    WHICH_FILE_RULE,
    coverage_by_period,
    coverage_by_provider,
    files_that_count,
    pre_publication_markdown,
)
from queries.exports import to_csv_bytes

ALL = "All"
DEFAULT_PERIODS = 12

st.title("Submission completeness")
snap = snapshot_or_stop()
scope = current_scope()
known = cached(completeness.periods)(snap)
if not known:
    st.info("No files have been received yet, so there is nothing to show.")
    st.stop()
today = date.today()


def which_file_counts(frame: pl.DataFrame, key: str) -> None:
    """The which-file-counts table, its download and the rule in one sentence."""
    st.subheader("Which file counts")
    st.caption(WHICH_FILE_RULE)
    st.dataframe(frame, hide_index=True, key=key, column_config=table_config(frame))
    st.download_button(
        "Download which file counts (CSV)",
        to_csv_bytes(frame),
        file_name="which-file-counts.csv",
        mime="text/csv",
        key=f"dl_{key}",
    )


if not scope.is_central:
    st.info(
        "The completeness matrix is for the central data team; here is which of your files counts for "
        "each month. Your submissions' issue reports are on the Provider detail page.",
        icon=":material/lock:",
    )
    which_file_counts(files_that_count(snap, scope, known[0], known[-1], today), "which_file_own")
    st.stop()

# --- Filters ----------------------------------------------------------------------------------
params = st.query_params
names = cached(completeness.providers)(snap, scope)
regions = [ALL] + sorted(names["region"].unique().to_list())
types = [ALL] + sorted(names["provider_type"].unique().to_list())
c1, c2, c3 = st.columns([2, 1, 1])
default_first = max(known[0], add_months(known[-1], -(DEFAULT_PERIODS - 1)))
first, last = c1.select_slider(
    "Submission months (periods)",
    options=known,
    value=(default_first, known[-1]),
    format_func=fmt.month,
    key="completeness_months",
)
region = c2.selectbox(
    "Region",
    regions,
    index=regions.index(params["region"]) if params.get("region") in regions else 0,
    key="completeness_region",
)
ptype = c3.selectbox(
    "Provider type",
    types,
    index=types.index(params["type"]) if params.get("type") in types else 0,
    key="completeness_type",
)
assert region is not None and ptype is not None  # ALL is always an option
st.query_params.update({"region": region, "type": ptype})
region_f = None if region == ALL else region
type_f = None if ptype == ALL else ptype
st.caption(
    fmt.as_of(
        f"submission months {fmt.month(first)} to {fmt.month(last)}",
        cached(headline.latest_complete_month)(snap),
    )
)
if note := duplicates.counting_note(snap):  # the page is the central team's alone
    st.caption(note)

# --- Pre-publication check (the top of the page: read it in a minute) -------------------------
findings = cached(completeness.pre_publication_table)(snap, scope, completeness.PrePublication(last, today))
with st.container(border=True):
    st.markdown(pre_publication_markdown(findings, last))
    st.download_button(
        "Download the pre-publication check (CSV)",
        to_csv_bytes(findings),
        file_name=f"pre-publication-{last:%Y-%m}.csv",
        mime="text/csv",
        key="dl_prepub",
    )
    st.caption(
        f"Volumes are for the activity month {fmt.month(add_months(last, -1))}; quality is the overall "
        "score against the provider's median of its previous six periods."
    )

# --- Matrix -----------------------------------------------------------------------------------
matrix = cached(completeness.completeness_table)(
    snap, scope, completeness.CompletenessTable(first, last, today, region_f, type_f)
)
coverage = coverage_by_period(matrix)
latest = coverage.filter(pl.col("period") == last)
st.subheader("Who submitted")
st.caption(
    "**Expected providers** for a month: every provider with an imaging site open in that month's "
    "activity month (from the reference list of imaging sites), every provider with an accepted file in any "
    "of the previous "
    f"{HISTORY_PERIODS} months, and any provider that sent a file for it. A provider is **missing** once "
    "the month's submission window has closed without an accepted file; **late** when its file arrived "
    "after the window closed; **resubmitted** when the file that counts replaced an earlier one (superseded, "
    "or rejected as a whole); **rejected** when files came but none was accepted."
)
if latest.height:
    row = latest.row(0, named=True)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        f"Included, {fmt.month(last)}",
        f"{row['included']} of {row['expected']}",
        help="Expected providers with an accepted file for the month.",
        border=True,
    )
    m2.metric("Coverage", f"{row['coverage']:.1%}", border=True)
    m3.metric("Missing", fmt.count(row["missing"]), border=True)
    m4.metric("Late", fmt.count(row["late"]), border=True)
st.plotly_chart(
    matrix_figure(matrix),
    config=CHART_CONFIG,
    key="matrix",
    alt="Grid chart: each provider's submission status by month (accepted, late, rejected, missing)",
)
st.plotly_chart(
    coverage_figure(coverage),
    config=CHART_CONFIG,
    key="coverage",
    alt="Line chart: share of expected providers with an accepted file, by month",
)

left, right = st.columns(2)
left.markdown("**Coverage per month**")
left.dataframe(coverage, hide_index=True, key="coverage_table", column_config=table_config(coverage))
right.markdown("**Coverage per provider** (months due)")
by_provider = coverage_by_provider(matrix)
right.dataframe(
    by_provider,
    hide_index=True,
    key="provider_coverage",
    column_config=table_config(
        by_provider,
        expected=st.column_config.NumberColumn("Months due"),
        included=st.column_config.NumberColumn("Months with an accepted file"),
        coverage=st.column_config.NumberColumn("Share of months", format="percent"),
        **{s: st.column_config.NumberColumn(f"Months {s}") for s in ("missing", "late", "resubmitted", "rejected")},
    ),
)
with lazy_expander("The matrix as a table", "matrix") as opened:
    if opened:
        st.dataframe(matrix, hide_index=True, key="matrix_table", column_config=table_config(matrix))
        st.download_button(
            "Download (CSV)", to_csv_bytes(matrix), file_name="completeness.csv", mime="text/csv", key="dl_matrix"
        )
which_file_counts(matrix.filter(pl.col("files") > 0).select(WHICH_FILE_COLUMNS), "which_file")

# --- Volume checks ----------------------------------------------------------------------------
st.subheader("Volumes that look wrong")
v1, v2, v3 = st.columns(3)
drop = v1.number_input("Flag a drop of at least (%)", 5, 95, 30, step=5) / -100
spike = v2.number_input("Flag a rise of at least (%)", 5, 500, 30, step=5) / 100
by_modality = v3.toggle("By modality", value=False)
rule = volumes.VolumeRule(drop=drop, spike=spike)
checks = cached(volumes.volume_table)(snap, scope, volumes.VolumeTable(rule, by_modality))
flags = volumes.flagged(checks)  # the export's table with flagged_only (volumes.volume_table)
st.caption(
    "Each provider's examinations in an activity month against the median of its previous six months "
    "with an accepted file (at least three). Flagged when the change passes the threshold **and** is more "
    f"than {rule.z:g} standard deviations of a Poisson count of that size, with at least {rule.min_records} "
    "examinations on one side — so small providers' ordinary noise is not flagged."
)
st.dataframe(flags, hide_index=True, key="volume_flags", column_config=table_config(flags))
flagged_providers = flags["provider_code"].unique().sort().to_list()
all_codes = names["provider_code"].to_list()
choice = st.selectbox(
    "Provider series", flagged_providers + [c for c in all_codes if c not in flagged_providers], key="volume_provider"
)
if choice:
    series = checks.filter(pl.col("provider_code") == choice)
    if by_modality:
        modality = st.selectbox("Modality", series["modality"].unique().sort().to_list(), key="volume_modality")
        series = series.filter(pl.col("modality") == modality)
    st.markdown(f"**{choice}: examinations per activity month**")
    st.plotly_chart(
        volume_figure(series),
        config=CHART_CONFIG,
        key="volume_chart",
        alt=f"Bar chart: examinations per month for {choice}, months flagged as a fall or rise against "
        f"the median of previous months marked",
    )
    st.page_link(
        "views/provider_drilldown.py",
        label=f"Provider detail for {choice}",
        icon=":material/domain:",
        query_params={"provider": choice},
    )
