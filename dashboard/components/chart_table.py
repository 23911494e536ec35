"""The table alternative next to a chart (WCAG 2.2 1.1.1, non-text content): the figures the chart
draws, in an expander named "Table: <the chart's name>", with the same figures as a CSV download.

A screen-reader user cannot read a Plotly chart; the table says the same thing, and the CSV lets
anyone take the figures away. Both go through disclosure control the way every table does: a
hidden figure reads `*` (formatting.protected_table, queries.disclosure.for_csv).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl
import streamlit as st

from dashboard.components import formatting as fmt
from queries.disclosure import SUPPRESSED_COLUMN
from queries.exports import to_csv_bytes

MONTH_FORMAT = "MMM YYYY"
LAZY_PREFIX = "table-"  # the keys of expanders whose content runs only while open


@contextmanager
def lazy_expander(label: str, key: str) -> Iterator[bool]:
    """An expander whose content runs only while it is open: `with lazy_expander(...) as opened:
    if opened: ...`. Opening it reruns the page. A closed expander's data grid is still built and
    measured by the browser on every draw (0.2 s of Waiting times' 0.95 s revisit went on two
    closed "as a table" expanders); this one sends nothing until asked. Keyed `table-<key>`."""
    with st.expander(label, key=f"{LAZY_PREFIX}{key}", on_change="rerun") as box:
        yield bool(box.open)  # None only for an expander without on_change


def _config(frame: pl.DataFrame, columns: dict[str, tuple[str, int | None]], protected: bool) -> dict:
    """Streamlit column configs: dates as months, figures with their decimals (as text when
    protected, since `*` is not a number), everything else as text."""
    config = {}
    for column, (label, places) in columns.items():
        if frame.schema[column] == pl.Date:
            config[column] = st.column_config.DateColumn(label, format=MONTH_FORMAT)
        elif places is None or protected:
            config[column] = st.column_config.TextColumn(label)
        else:
            counts = places == 0 and frame.schema[column].is_integer()  # thousands separators
            config[column] = st.column_config.NumberColumn(label, format="localized" if counts else f"%.{places}f")
    return config


def table_alternative(
    title: str, frame: pl.DataFrame, columns: dict[str, tuple[str, int | None]], *, key: str, file_name: str
) -> None:
    """An expander "Table: {title}" holding `frame`'s `columns` (column -> (heading, decimals or
    None for text and dates)) and a CSV download of the same rows, built only while it is open
    (`lazy_expander`, keyed `table-{key}`)."""
    with lazy_expander(f"Table: {title}", key) as opened:
        if not opened:
            return
        frame = frame.select(
            [c for c in columns if c in frame.columns]
            + ([SUPPRESSED_COLUMN] if SUPPRESSED_COLUMN in frame.columns else [])
        )
        columns = {c: v for c, v in columns.items() if c in frame.columns}
        protected = SUPPRESSED_COLUMN in frame.columns
        shown = fmt.protected_table(frame, {c: p for c, (_, p) in columns.items() if p is not None})
        if protected:
            st.caption("\\* hidden to protect patients (small numbers). – no figure.")
        st.dataframe(
            shown,
            hide_index=True,
            placeholder="–",
            key=f"{key}_table",
            column_order=list(columns),
            column_config=_config(frame, columns, protected),
        )
        st.download_button(
            f"Download: {title} (CSV)",
            to_csv_bytes(frame),
            file_name=file_name,
            mime="text/csv",
            key=f"{key}_csv",
            icon=":material/download:",
        )
