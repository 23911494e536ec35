"""Provider detail: one provider's files and what was decided about each, its issue reports,
quality trend and monthly volumes."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components.chart_table import table_alternative
from dashboard.components.charts import CHART_CONFIG
from dashboard.components.glossary import table_config
from dashboard.components.quality_charts import score_trend_figure, volume_figure
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from queries import completeness, headline, quality, volumes

st.title("Provider detail")
snap = snapshot_or_stop()
scope = current_scope()
names = cached(completeness.providers)(snap, scope)
if names.is_empty():
    st.info("Your account is linked to no provider with data in this store.")
    st.stop()
codes = names["provider_code"].to_list()
labels = dict(names.select("provider_code", "provider_name").iter_rows())
wanted = st.query_params.get("provider")
provider = st.selectbox(
    "Provider",
    codes,
    index=codes.index(wanted) if wanted in codes else 0,
    format_func=lambda c: f"{c} — {labels.get(c, c)}",
    key="provider",
)
st.query_params["provider"] = provider
st.caption(fmt.as_of("every submission month held", cached(headline.latest_complete_month)(snap)))

# --- Submission history -----------------------------------------------------------------------
st.subheader("Files received")
history = cached(completeness.submission_history)(snap, scope, provider)
if history.is_empty():
    st.info(f"No files from {provider} yet.")
    st.stop()
st.dataframe(
    history,
    hide_index=True,
    key="history",
    column_config=table_config(history, submitted_on=st.column_config.DateColumn("Submission date")),
)

# --- Issue report of one file -----------------------------------------------------------------
st.subheader("Issue report")
files = {
    r["submission_id"]: f"{r['file_name']} — {fmt.month(r['period'])}, {r['status']} (#{r['submission_id']})"
    for r in history.iter_rows(named=True)
}
submission_id = st.selectbox("File", list(files), format_func=lambda sid: files[sid], key="submission")
summary = cached(quality.submission_issue_summary)(snap, scope, submission_id)
if summary.is_empty():
    st.success("No rejections or warnings in this file.")
else:
    st.dataframe(summary, hide_index=True, key="issue_summary", column_config=table_config(summary))
    lines = cached(quality.submission_issues)(snap, scope, submission_id)
    with st.expander(f"Line by line (first {lines.height:,})"):
        st.dataframe(lines, hide_index=True, key="issue_lines", column_config=table_config(lines))

# --- Quality trend ----------------------------------------------------------------------------
st.subheader("Data quality by month")
scores = cached(quality.provider_scores)(snap, scope, None, None, provider)
peers = cached(quality.peer_overall_scores)(snap, scope, None, None)
st.plotly_chart(
    score_trend_figure(scores, peers, provider),
    config=CHART_CONFIG,
    key="quality_trend",
    alt=f"Line chart: data quality score by month for {provider} against the median provider",
)
table_alternative(
    f"Data quality by month, {provider}",
    scores.join(peers, on="period", how="left").sort("period"),
    {
        "period": ("Submission month", None),
        "score": (f"{provider} score out of 100", 1),
        "median": ("Median provider", 1),
        "p25": ("Middle half of providers from", 1),
        "p75": ("to", 1),
        "lowest_item": ("Lowest-scoring item", None),
    },
    key="quality_trend",
    file_name=f"data-quality-{provider}.csv",
)
st.page_link(
    "views/data_quality.py",
    label="Item by item on the Data quality page",
    icon=":material/fact_check:",
    query_params={"provider": provider},
)

# --- Volumes ----------------------------------------------------------------------------------
st.subheader("Examinations per month")
series = cached(volumes.volume_checks)(snap, scope, volumes.DEFAULT_RULE, by_modality=False, provider=provider)
st.plotly_chart(
    volume_figure(series),
    config=CHART_CONFIG,
    key="volume_chart",
    alt=f"Bar chart: examinations per month for {provider}, flagged months marked",
)
table_alternative(
    f"Examinations per month, {provider}",
    series.sort("activity_month").with_columns(pl.col("change") * 100),
    {
        "activity_month": ("Activity month", None),
        "records": ("Examinations", 0),
        "baseline": ("Median of previous months", 0),
        "flag": ("Flagged", None),
        "change": ("Change on the median (%)", 1),
    },
    key="volume_chart",
    file_name=f"examinations-per-month-{provider}.csv",
)
flags = series.filter(pl.col("flag").is_not_null())
if flags.height:
    st.warning(
        "Flagged months: "
        + "; ".join(
            f"{fmt.month(r['activity_month'])} {r['flag']} {r['change']:+.0%} ({r['records']:,} against "
            f"{r['baseline']:,.0f})"
            for r in flags.iter_rows(named=True)
        )
    )
