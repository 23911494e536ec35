"""Plain words for what a person reads: one place that says what each column is called on a page,
in what unit, and how a place, a count or a rejection message is written.

Why one place: the same column (provider_code, p25, rows_read) turns up in many tables, and a
header worded once is worded the same everywhere. Frames keep their snake_case column names (the
CSV downloads and tests use them); only what the page shows is relabelled, through `table_config`.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

import polars as pl
import streamlit as st


class Term(NamedTuple):
    label: str
    unit: str | None = None  # shown after the label, in brackets: "Median wait (days)"
    places: int | None = None  # decimal places for a float; None = as the column's type says

    @property
    def heading(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


_COUNT = "examinations"
_SCORE = "score 0–100"
_PCT = "%"
_RATE = "per 1,000 a year"

# column name -> what a page calls it. Counts say what they count; scores and shares their scale.
TERMS: dict[str, Term] = {
    # organisations and places
    "provider_code": Term("Provider code"),
    "provider_name": Term("Provider"),
    "provider": Term("Provider"),
    "provider_type": Term("Provider type"),
    "region": Term("Region"),
    "region_name": Term("Region"),
    "sub_icb_code": Term("Sub-ICB code"),
    "sub_icb_name": Term("Sub-ICB"),
    "icb_code": Term("ICB code"),
    "icb_name": Term("ICB"),
    "practice_code": Term("Practice code"),
    "practice_name": Term("Practice"),
    # months
    "period": Term("Submission month"),
    "activity_month": Term("Activity month"),
    "window_closes": Term("Submission window closed"),
    "submitted_on": Term("Submission date"),
    "final_closes": Term("Final close"),
    "period_state": Term("Figures"),
    "received_at": Term("Received"),
    "notified_at": Term("Notified"),
    "notified_by": Term("Notified by"),
    # files and what was decided
    "submission_id": Term("File number"),
    "file_name": Term("File"),
    "format": Term("Format"),
    "status": Term("Status"),
    "status_label": Term("Status"),
    "timeliness": Term("On time?"),
    "files": Term("Files received"),
    "rows_read": Term("Records read"),
    "rows_accepted": Term("Records accepted"),
    "rows_rejected": Term("Records rejected"),
    "rows_with_warnings": Term("Records with warnings"),
    "rows_replaced": Term("Earlier versions replaced"),
    "superseded_by": Term("Replaced by file"),
    "counts_file": Term("File that counts now"),
    "deadline_submission_id": Term("File number at the deadline"),
    "deadline_file": Term("File that counted at the provisional deadline"),
    "line": Term("Line in the file"),
    "code": Term("DIDS rule"),
    "severity": Term("Effect"),
    "field": Term("Data item"),
    "message": Term("What is wrong"),
    "issues": Term("Issues"),
    "lines": Term("Records affected"),
    "rule": Term("DIDS rule"),
    # counts
    "records": Term("Examinations"),
    "examinations": Term("Examinations"),
    "total": Term("Examinations"),
    "included": Term("Providers included"),
    "expected": Term("Providers expected"),
    "missing": Term("Providers missing"),
    "late": Term("Providers late"),
    "providers": Term("Providers scored"),
    "months_due": Term("Months due"),
    "months_included": Term("Months with an accepted file"),
    "baseline": Term("Median of previous months", _COUNT, 0),
    "change": Term("Change", _PCT),
    "flag": Term("Flag"),
    # data quality
    "item": Term("Field"),  # the data item's field name in the file (nhs_number), beside its name
    "item_name": Term("Data item"),
    "position": Term("Item number"),
    "invalid": Term("Invalid", "records"),
    "incomplete": Term("Blank", "records"),
    "defaults": Term("Default value", "records"),
    "default_excess": Term("Defaults over the tolerance", "records"),
    "valid_pct": Term("Valid", _PCT, 1),
    "complete_pct": Term("Complete", _PCT, 1),
    "default_pct": Term("Default value", _PCT, 1),
    "score": Term("Score", _SCORE, 1),
    "lowest_score": Term("Lowest item score", _SCORE, 1),
    "median": Term("Median provider", _SCORE, 1),
    "p25": Term("25th percentile", _SCORE, 1),
    "p75": Term("75th percentile", _SCORE, 1),
    # codes
    "local_code": Term("Local code"),
    "nicip_code": Term("NICIP code"),
    "modality": Term("Modality"),
    "body_area": Term("Body area"),
    "description": Term("Description"),
    "coverage": Term("Share of expected", _PCT),
    "resubmitted": Term("Providers resubmitted"),
    "rejected": Term("Providers rejected"),
    "file_errors": Term("Why the whole file was rejected"),
    # variation (rates per 1,000 registered patients a year; shares of examinations)
    "age_band": Term("Age band from", "years"),
    "age_group": Term("Age"),
    "sex": Term("Sex"),
    "population": Term("Registered patients", None, 0),
    "rate": Term("Crude rate", _RATE, 2),
    "rate_lower": Term("Crude rate, 95% CI from", _RATE, 2),
    "rate_upper": Term("Crude rate, 95% CI to", _RATE, 2),
    "dsr": Term("Standardised rate", _RATE, 2),
    "dsr_lower": Term("Standardised rate, 95% CI from", _RATE, 2),
    "dsr_upper": Term("Standardised rate, 95% CI to", _RATE, 2),
    "imd_quintile": Term("IMD quintile (1 = most deprived)"),
    "quintile": Term("Deprivation quintile"),
    "imd_decile": Term("IMD decile (1 = most deprived)"),
    "ethnic_group": Term("Ethnic group"),
    "share": Term("Share", _PCT),
    "share_lower": Term("Share, 95% CI from", _PCT),
    "share_upper": Term("Share, 95% CI to", _PCT),
    "compared": Term("Compared with England"),
    "rank": Term("Rank"),
    "suppressed": Term("Hidden (small numbers)"),
}
# Columns kept in the CSV for re-use but not worth a reader's attention on a page.
HIDDEN_ON_PAGE = ("dsr_var",)

# Headings of the published tables (queries/reports), as the workbooks word them; modality and test-group columns
# keep their names. Counts are integers; a suppressed count is an empty cell, shown as *.
PUBLISHED = {
    "activity_month": "Activity month",
    "total": "Total",
    "organisations_included": "Organisations included",
    "organisations_expected": "Organisations expected",
    "pct_organisations_included": "% of organisations included",
    "provider_code": "Provider",
    "provider_name": "Provider name",
    "sub_icb_code": "Sub-ICB",
    "sub_icb_name": "Sub-ICB name",
    "icb_code": "ICB",
    "icb_name": "ICB name",
    "modality": "Modality",
    "request_to_test_records": "Request → test: records",
    "request_to_test_median_days": "Request → test: median days",
    "test_to_report_records": "Test → report: records",
    "test_to_report_median_days": "Test → report: median days",
    "xray_radiographs": "X-ray (radiographs)",
    "ultrasound": "Ultrasound",
    "ct": "CT",
    "mri": "MRI",
    "fluoroscopy": "Fluoroscopy",
    "radio_isotopes": "Radio-isotopes",
    "other": "Other",
    "examination": "Examination (HPA 2008)",
    "typical_dose_msv": "Typical dose (mSv)",
    "nicip_codes": "NICIP codes",
    "examinations": "Examinations",
    "examinations_with_dose": "With a dose",
    "pct_with_dose": "% with a dose",
    "collective_dose_man_sv": "Collective dose (man Sv)",
    "pct_of_collective_dose": "% of collective dose",
    "age_band": "Age",
    "sex": "Sex",
    "population": "Registered population",
    "examinations_per_1000": "Examinations per 1,000",
    "per_caput_usv": "Per-caput dose (µSv)",
    "months_with_data": "Months held",
    "body_area": "Body area",
    "reason": "Why no dose",
    "chest_xray": "Chest X-ray",
    "ct_chest": "CT chest",
    "ct_abdo_pelvis": "CT abdomen & pelvis",
    "us_abdo_pelvis": "US abdomen & pelvis",
    "mri_brain": "MRI brain",
    "suppressed": "Suppressed",
}


_SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def heading(column: str) -> str:
    """What a page calls a column: the glossary's words, else the name in words (never snake_case)."""
    term = TERMS.get(column)
    if term is not None:
        return term.heading
    return column.replace("_", " ").capitalize() if _SNAKE.match(column) else column


def published_heading(column: str) -> str:
    """A published table's heading: as the workbook words it, else as `heading`."""
    return PUBLISHED.get(column) or heading(column)


def table_config(frame: pl.DataFrame, **overrides) -> dict:
    """st.dataframe column_config for every column of `frame`: the glossary heading, months as
    'Mon YYYY', counts with thousands separators, shares as %, scores rounded (never 98.4177).
    `overrides` (column -> config) win, for a heading that depends on the page (a month's name)."""
    config: dict[str, object] = {}  # a column's config; None hides it
    for name, dtype in frame.schema.items():
        term, label = TERMS.get(name), heading(name)
        if dtype == pl.Date:
            config[name] = st.column_config.DateColumn(label, format="MMM YYYY")
        elif dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            config[name] = st.column_config.DatetimeColumn(label, format="YYYY-MM-DD HH:mm")
        elif dtype == pl.Boolean:
            config[name] = st.column_config.CheckboxColumn(label)
        elif dtype.is_numeric() and term is not None and term.unit == _PCT and term.places is None:
            config[name] = st.column_config.NumberColumn(label.replace(" (%)", ""), format="percent")
        elif dtype.is_float():
            places = 1 if term is None or term.places is None else term.places
            config[name] = st.column_config.NumberColumn(label, format=f"%.{places}f")
        elif dtype.is_integer() and name not in ("submission_id", "line", "item", "position"):
            config[name] = st.column_config.NumberColumn(label, format="localized")
        else:
            config[name] = st.column_config.TextColumn(label)
    config.update({name: None for name in HIDDEN_ON_PAGE if name in frame.columns})
    return config | overrides


def plural(n: int | None, one: str, many: str | None = None) -> str:
    """'1 examination', '2 examinations', '1,204 providers'; None reads as an en dash."""
    if n is None:
        return f"– {many or one + 's'}"
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


# --- Places -------------------------------------------------------------------------------------
MAX_PLACES = 3  # more local authorities than this and a sub-ICB is named by its first two and a count


@functools.lru_cache(maxsize=1)
def _sub_icb_places() -> dict[str, str]:
    """Sub-ICB code -> the local authority areas its neighbourhoods lie in, largest first.

    The reference names a sub-ICB only by its ICB and code ("NHS West Yorkshire ICB - 36J"). Each
    LSOA's name starts with its local authority ("Bradford 001A"), so the LSOA → sub-ICB lookup
    gives every sub-ICB a place name people know ("Bradford and Craven") without a new source.
    """
    from ingest.reference import lsoa

    areas = (
        lsoa()
        .with_columns(pl.col("lsoa_name").str.replace(r"\s+\d{3}[A-Z]$", "").alias("area"))
        .group_by("sub_icb_code", "area")
        .len()
        .sort(["sub_icb_code", "len", "area"], descending=[False, True, False])
    )
    return {
        code: _join_places(group["area"].to_list())
        for (code,), group in areas.group_by("sub_icb_code", maintain_order=True)
    }


def _join_places(names: list[str]) -> str:
    if len(names) > MAX_PLACES:
        return f"{names[0]}, {names[1]} and {len(names) - 2} more areas"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def sub_icb(code: str | None, name: str | None = None) -> str:
    """A sub-ICB as people know it: 'Bradford and Craven (36J)'. Falls back to the reference name
    without its ICB prefix ('West Yorkshire (36J)') when the place is not in the lookup."""
    if not code:
        return name or "–"
    place = _sub_icb_places().get(code)
    if place is None and name:
        place = re.sub(r"^NHS |\s+ICB\s*-\s*\S+$", "", name)
    return f"{place} ({code})" if place else code


# --- Messages for a trust's data manager ---------------------------------------------------------
_CLI_HINT = re.compile(r"\(did local-codes add [^)]*?, or the Local codes page\)")


def for_data_manager(message: str) -> str:
    """A validation message as a trust's data manager reads it on the Submit page: what to do
    there, not a command-line tool only the central team runs."""
    return _CLI_HINT.sub("on the Local codes page of this dashboard", message)


# --- NICIP codes ---------------------------------------------------------------------------------
DERIVED = " (derived)"  # did_model.nicip.derived_description's mark: not an official description


def nicip_choice(row: dict) -> str:
    """A NICIP code as a choice in a list: its official description where the reference has one
    ('CCHES — CT Chest'), else what its letters say ('CCHESB — CT, chest (no official description)').
    Derived labels are the same for every code of a modality and body area, so they alone would
    make CCHES, CCHESB and CCHESC all read 'CT Chest (derived)'."""
    code, description = row["nicip_code"], row.get("description") or ""
    if description and not description.endswith(DERIVED):
        return f"{code} — {description}"
    what = ", ".join(x for x in (row.get("modality"), (row.get("body_area") or "").lower()) if x)
    return f"{code} — {what or 'unknown'} (no official description)"
