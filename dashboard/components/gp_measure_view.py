"""What the Measure across practices page draws from one measure's benchmark, worked out once per
request and cached (`dashboard.caching.cached`), not on every run of the page.

A rerun of the page (a click on the funnel, the practice picker, a peer-group change that gives the
same practices, a revisit) used to rebuild the funnel's Vega-Lite spec (~35 ms across England), the
ranked table's disclosure-controlled text (~30 ms outside the central team) and the CSV download
(~20 ms) from the same table each time; the script's run is what a user waits for before the page is
drawn (issue 22). The figures are the same: these are the page's own functions, cached.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components import gp_text as text
from dashboard.components.gp_charts import funnel_chart, verdict_column
from did_model.scope import Scope
from queries import gp_benchmark as gb
from queries.connection import Snapshot
from queries.exports import to_csv_bytes

# The chart's accessible name is its description (Streamlit warns if `alt=` repeats it).
FUNNEL_DESCRIPTION = (
    "Funnel plot: each practice's value against its expected events or examinations, "
    "with 95% and 99.8% limits around England"
)
# A suppressed figure reads *, one not worked out reads – (fmt.protected_table).
PROTECTED_FIGURES: dict[str, int | None] = {
    "rank": 0,
    "numerator": 0,
    "denominator": 0,
    "value": 2,
    "value_lower": 2,
    "value_upper": 2,
    "funnel_value": 2,
}


@dataclass(frozen=True)
class MeasureView:
    """The ranked table as shown (its columns in order), the CSV offered, the named practices the
    picker lists (code -> name, in the table's order) and how many practices have each verdict."""

    shown: pl.DataFrame
    columns: list[str]
    protected: bool
    csv: bytes
    names: dict[str, str]
    counts: dict[str, int]


def measure_view(snap: Snapshot, scope: Scope, request: gb.MeasureTable) -> MeasureView:
    """The page's table, download and picker for `request` (the page caches it)."""
    table = cached(gb.measure_benchmark)(snap, scope, request).table
    measure = gb.measures()[request.measure_id]
    shown = table.with_columns(verdict_column(table))
    protected = "suppressed" in shown.columns
    if protected:
        shown = fmt.protected_table(shown, PROTECTED_FIGURES)
    # the verdict right after the practice and its value, where a 1,400 px screen still shows it
    columns = [
        "rank",
        "practice_code",
        "practice_name",
        "funnel_value",
        "verdict",
        "pcn_name",
        "icb_name",
        "list_size" if scope.is_central else "list_size_band",
        "imd_quintile",
        "numerator",
        *(["denominator"] if measure.is_ratio else []),
        "value",
        "value_lower",
        "value_upper",
        "note",
    ]
    named = table.filter(pl.col("practice_code").is_not_null())
    return MeasureView(
        # only the columns shown: Streamlit sends every column of the frame it is given (the table
        # has 33, 2.7 MB across England), and Chromium decodes them all each time the page is drawn
        shown=shown.select(columns),
        columns=columns,
        protected=protected,
        csv=to_csv_bytes(table),
        names=dict(zip(named["practice_code"].to_list(), named["practice_name"].to_list(), strict=True)),
        counts=dict(table["comparison"].fill_null("").value_counts().iter_rows()),
    )


def measure_funnel(snap: Snapshot, scope: Scope, request: gb.MeasureTable, highlight: str | None) -> dict:
    """The funnel's Vega-Lite spec for `request`, `highlight` ringed (the page caches it)."""
    bench = cached(gb.measure_benchmark)(snap, scope, request)
    x_title, y_title = text.funnel_axes(gb.measures()[request.measure_id])
    return funnel_chart(
        bench.table,
        bench.curves,
        bench.target,
        x_title=x_title,
        y_title=y_title,
        highlight=highlight,
        description=FUNNEL_DESCRIPTION,
    )
