"""Data quality: DQMI-style scores across providers and data items, their trend, and the DIDS issues behind them."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components.charts import CHART_CONFIG
from dashboard.components.glossary import table_config
from dashboard.components.quality_charts import item_heatmap_figure, score_trend_figure
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from did_months import add_months
from queries import completeness, headline, quality
from queries.exports import to_csv_bytes
from queries.quality import MIN_RECORDS

ALL = "All providers"
DEFAULT_PERIODS = 12

st.title("Data quality")
st.caption(
    "Scores in the style of NHS England's Data Quality Maturity Index: for each DID data item, the share "
    "of a file's records that are valid, complete and not a default value beyond a tolerance; the overall "
    f"score is the mean of the 18 item scores, out of 100. No score under {MIN_RECORDS} records. The method, "
    "item by item, is in the project's data-quality method note."
)
snap = snapshot_or_stop()
scope = current_scope()
known = cached(completeness.periods)(snap)
if not known:
    st.info("No files have been received yet, so there is nothing to show.")
    st.stop()

# --- Filters ----------------------------------------------------------------------------------
names = cached(completeness.providers)(snap, scope)
codes = names["provider_code"].to_list()
options = ([ALL] if scope.is_central else []) + codes
if not options:
    st.info("Your account is linked to no provider with data in this store.")
    st.stop()
c1, c2 = st.columns([2, 1])
default_first = max(known[0], add_months(known[-1], -(DEFAULT_PERIODS - 1)))
first, last = c1.select_slider(
    "Submission months (periods)",
    options=known,
    value=(default_first, known[-1]),
    format_func=fmt.month,
    key="quality_months",
)
wanted = st.query_params.get("provider")
provider_choice = c2.selectbox(
    "Provider", options, index=options.index(wanted) if wanted in options else 0, key="quality_provider"
)
provider = None if provider_choice == ALL else provider_choice
st.caption(
    fmt.as_of(
        f"submission months {fmt.month(first)} to {fmt.month(last)}",
        cached(headline.latest_complete_month)(snap),
    )
)
if provider:
    st.query_params["provider"] = provider

items = cached(quality.quality_table)(snap, scope, quality.QualityTable(first, last, provider, "item"))
scores = cached(quality.quality_table)(snap, scope, quality.QualityTable(first, last, provider, "provider"))
peers = cached(quality.peer_overall_scores)(snap, scope, first, last)
peer_items = cached(quality.peer_item_scores)(snap, scope, last, last)

# --- Overall, latest month --------------------------------------------------------------------
latest = scores.filter(pl.col("period") == last)
peer_latest = peers.filter(pl.col("period") == last)
m1, m2, m3 = st.columns(3)
if provider and latest.height and latest["score"][0] is not None:
    m1.metric(
        f"{provider} score", fmt.score(latest["score"][0]), border=True, help=f"Overall score for {fmt.month(last)}."
    )
else:
    m1.metric(
        "Providers scored",
        fmt.count(latest.filter(pl.col("score").is_not_null()).height),
        border=True,
        help=f"Providers with an overall score for {fmt.month(last)}.",
    )
if peer_latest.height:
    m2.metric(
        "Median provider",
        fmt.score(peer_latest["median"][0]),
        border=True,
        help=f"Across {peer_latest['providers'][0]} providers scored for {fmt.month(last)}.",
    )
    m3.metric(
        "Middle half of providers",
        f"{peer_latest['p25'][0]:.1f}–{peer_latest['p75'][0]:.1f} / 100",
        border=True,
        help="25th to 75th percentile of the providers' overall scores.",
    )

# --- Trend ------------------------------------------------------------------------------------
st.subheader("Overall score by month")
if provider:
    st.plotly_chart(
        score_trend_figure(scores, peers, provider),
        config=CHART_CONFIG,
        key="trend",
        alt="Line chart: data quality score out of 100 by submission month, the median provider with "
        "the middle half of providers shaded, and the chosen provider's own line",
    )
else:
    st.plotly_chart(
        score_trend_figure(scores.head(0), peers),
        config=CHART_CONFIG,
        key="trend",
        alt="Line chart: data quality score out of 100 by submission month, the median provider with "
        "the middle half of providers shaded, and the chosen provider's own line",
    )
    st.caption("The median provider and the middle half of providers. Pick a provider to see its own line.")

# --- Per item ---------------------------------------------------------------------------------
st.subheader(f"By data item, {fmt.month(last)}")
latest_items = items.filter(pl.col("period") == last)
if provider:
    table = latest_items.join(peer_items.select("item", "median"), on="item", how="left")
    st.dataframe(
        table.select(
            "item_name",
            "records",
            "invalid",
            "incomplete",
            "defaults",
            "default_excess",
            "valid_pct",
            "complete_pct",
            "default_pct",
            "score",
            "median",
        ),
        hide_index=True,
        key="item_table",
        column_config=table_config(table),
    )
else:
    st.dataframe(
        peer_items.select("item_name", "providers", "p25", "median", "p75"),
        hide_index=True,
        key="item_table",
        column_config=table_config(peer_items),
    )
    if latest_items.height:
        st.plotly_chart(
            item_heatmap_figure(latest_items),
            config=CHART_CONFIG,
            key="item_heatmap",
            alt="Heat map: data quality score by provider and data item for the latest month",
        )

st.markdown("**Lowest-scoring providers**" if not provider else "**Score by month**")
st.dataframe(
    scores.filter(pl.col("period") == last).sort("score", nulls_last=True) if not provider else scores,
    hide_index=True,
    key="provider_scores",
    column_config=table_config(scores),
)

# --- Issues -----------------------------------------------------------------------------------
st.subheader("Rejections and warnings by DIDS code")
st.caption(
    "In the files that count now (each provider's accepted file per month), "
    f"{fmt.month(first)} to {fmt.month(last)}. Rejected records are not loaded; a warning is loaded as sent "
    "(a bad referrer code as 99)."
)
issues = cached(quality.issue_summary)(snap, scope, first, last, provider)
st.dataframe(
    issues,
    hide_index=True,
    key="issues",
    column_config=table_config(
        issues,  # beside the item's name, the field is its name in the file; providers, those with the issue
        field=st.column_config.TextColumn("Field"),
        providers=st.column_config.NumberColumn("Providers with it"),
    ),
)

# Every provider's items for every month is 30,000 rows (4.8 MB) across England, too many to read
# on screen and sent to the browser on every draw: the table shows the heat map's month, the
# download every month.
on_screen = items if provider else latest_items
with st.expander(
    "All item scores as a table" if provider else f"Item scores by provider, {fmt.month(last)}, as a table"
):
    st.dataframe(on_screen, hide_index=True, key="data_quality_table", column_config=table_config(on_screen))
    if not provider:
        st.caption(f"The download holds every month from {fmt.month(first)} to {fmt.month(last)}.")
    st.download_button(
        "Download (CSV)", to_csv_bytes(items), file_name="data-quality.csv", mime="text/csv", key="dl_quality"
    )
