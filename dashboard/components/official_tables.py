"""Showing an official output on a page: its tables, CSV downloads and the workbook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import polars as pl
import streamlit as st

from dashboard.components import formatting as fmt
from dashboard.components.glossary import published_heading
from queries.reports import ReportOutput


def _config(frame: pl.DataFrame) -> dict:
    config = {}
    for name, dtype in frame.schema.items():
        label = published_heading(name)
        if dtype == pl.Date:
            config[name] = st.column_config.DateColumn(label, format="MMM YYYY")
        elif dtype.is_integer() and name not in ("months_with_data",):
            config[name] = st.column_config.NumberColumn(label, format="localized")
        elif dtype.is_float():
            config[name] = st.column_config.NumberColumn(label)
        elif dtype == pl.Boolean:
            config[name] = st.column_config.CheckboxColumn(label)
        else:
            config[name] = st.column_config.TextColumn(label)
    return config


def show_table(frame: pl.DataFrame, stem: str, name: str, height: int | Literal["auto"] = "auto") -> None:
    """The table as the CSV holds it, and its CSV download. In a published table an empty cell is
    a suppressed count or a figure built on one (the notes say so), so it reads `*` here as well."""
    st.dataframe(frame, hide_index=True, placeholder="*", column_config=_config(frame), height=height)
    fmt.csv_download(frame, f"{stem}_{name}.csv", f"download-{stem}-{name}")


def workbook_button(data: Callable[[], bytes], stem: str, label: str = "Download workbook (.xlsx, with notes)") -> None:
    st.download_button(
        label,
        data,
        file_name=f"{stem}.xlsx",
        key=f"workbook-{stem}",
        icon=":material/table_view:",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def show_notes(output: ReportOutput) -> None:
    with st.expander("Method and notes (as in the workbook's Notes sheet)"):
        st.markdown(output.notes)


def significant(value: float | None, unit: str, digits: int = 4) -> str:
    """A dose for a metric: `digits` significant figures (whole numbers from 1,000 up); * if suppressed."""
    if value is None:
        return "*"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"
    return f"{text} {unit}" if unit else text


def year_label(snap, label: str) -> str:
    """'2026-27 (part year: 5 of 12 months)' when the store holds activity for fewer than the 12
    months of the financial year ('2026-27'), so a part year is never shown as a whole one. Counts
    the months held as the dose summary's months_with_data does, so the two always agree."""
    from dashboard.components.formatting import part_year
    from queries.official import FinancialYear, months_held

    year = FinancialYear.parse(label)
    return f"{year.label}{part_year(len(months_held(snap, year.first_month, year.last_month)))}"
