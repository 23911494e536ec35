"""Showing an official output on a page: its tables, CSV downloads and the workbook."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import streamlit as st

from queries.exports import to_csv_bytes
from queries.reports import ReportOutput

# Column headings for the snake_case columns the reports use; modality and test-group columns
# keep their names. Counts are integers; a suppressed count is an empty cell, shown as *.
LABELS = {
    "activity_month": "Activity month", "total": "Total", "organisations_included": "Organisations included",
    "organisations_expected": "Organisations expected", "pct_organisations_included": "% of organisations included",
    "provider_code": "Provider", "provider_name": "Provider name", "sub_icb_code": "Sub-ICB",
    "sub_icb_name": "Sub-ICB name", "icb_code": "ICB", "icb_name": "ICB name", "modality": "Modality",
    "request_to_test_records": "Request → test: records", "request_to_test_median_days": "Request → test: median days",
    "test_to_report_records": "Test → report: records", "test_to_report_median_days": "Test → report: median days",
    "xray_radiographs": "X-ray (radiographs)", "ultrasound": "Ultrasound", "ct": "CT", "mri": "MRI",
    "fluoroscopy": "Fluoroscopy", "radio_isotopes": "Radio-isotopes", "other": "Other",
    "examination": "Examination (HPA 2008)", "typical_dose_msv": "Typical dose (mSv)", "nicip_codes": "NICIP codes",
    "examinations": "Examinations", "examinations_with_dose": "With a dose", "pct_with_dose": "% with a dose",
    "collective_dose_man_sv": "Collective dose (man Sv)", "pct_of_collective_dose": "% of collective dose",
    "age_band": "Age", "sex": "Sex", "population": "Registered population",
    "examinations_per_1000": "Examinations per 1,000", "per_caput_usv": "Per-caput dose (µSv)",
    "months_with_data": "Months held", "body_area": "Body area", "reason": "Why no dose",
    "chest_xray": "Chest X-ray", "ct_chest": "CT chest", "ct_abdo_pelvis": "CT abdomen & pelvis",
    "us_abdo_pelvis": "US abdomen & pelvis", "mri_brain": "MRI brain", "suppressed": "Suppressed",
}


def _config(frame: pl.DataFrame) -> dict:
    config = {}
    for name, dtype in frame.schema.items():
        label = LABELS.get(name, name)
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


def show_table(frame: pl.DataFrame, stem: str, name: str, height: int | str = "auto") -> None:
    """The table as the CSV holds it (suppressed cells shown as *), and its CSV download."""
    st.dataframe(frame, hide_index=True, placeholder="*", column_config=_config(frame), height=height)
    st.download_button("Download CSV", to_csv_bytes(frame), file_name=f"{stem}_{name}.csv", mime="text/csv",
                       key=f"download-{stem}-{name}", icon=":material/download:")


def workbook_button(data: Callable[[], bytes], stem: str, label: str = "Download workbook (.xlsx, with notes)") -> None:
    st.download_button(label, data, file_name=f"{stem}.xlsx", key=f"workbook-{stem}", icon=":material/table_view:",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def show_notes(output: ReportOutput) -> None:
    with st.expander("Method and notes (as in the workbook's Notes sheet)"):
        st.markdown(output.notes)


def significant(value: float | None, unit: str, digits: int = 4) -> str:
    """A dose for a metric: `digits` significant figures (whole numbers from 1,000 up); * if suppressed."""
    if value is None:
        return "*"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"
    return f"{text} {unit}"
