"""The DID v1.0 data items, defined once.

Everything that reads or writes a DID extract — the readers, the loader, the synthetic
generator, the validation report and the docs — takes the 18 items, their order, formats and
code lists from here. Sources: NHS Data Dictionary DID data-set page and XML schema pack v1.0;
nhsengland/Reusable-Code-Library `src/dsp/datasets/dids/submitted.py` (CSV order) and
`src/dsp/dam/dids_attributes.txt` (M/R and validation), as summarised in
`docs/did-dataset.md` §2.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from enum import StrEnum


class Obligation(StrEnum):
    """How the data set specification marks an item."""

    MANDATORY = "M"  # must be present
    REQUIRED = "R"  # send if available
    DEMOGRAPHIC = "M*"  # one of the personal-and-demographic group must be present (DIDS073)
    ONE_OF_CODES = "M (one of 14/15)"  # NICIP or SNOMED CT must be present (DIDS056)


@dataclass(frozen=True)
class DataItem:
    position: int  # 1-based CSV column
    name: str  # NHS Data Dictionary data element name (used as the CSV header)
    field: str  # our column name, snake case
    xml_element: str  # element name in the DIDS XML schema
    xml_group: str  # PersonalAndDemographics / Referrals / ImagingActivity
    obligation: Obligation
    format: str  # NHS DD format, e.g. "n10", "an10 CCYY-MM-DD"
    max_length: int
    codes: dict[str, str] = dataclasses.field(default_factory=dict)  # allowed values -> meaning, when a code list
    identifying: bool = False  # patient identifier: never leaves ingest in raw form

    @property
    def is_date(self) -> bool:
        return "CCYY-MM-DD" in self.format


PATIENT_SOURCE_SETTING: dict[str, str] = {
    "01": "Admitted patient care – inpatient",
    "02": "Admitted patient care – day case",
    "03": "Outpatient",
    "04": "GP direct access",
    "05": "Accident & Emergency",
    "06": "Other health care provider",
    "07": "Other",
}

PERSON_GENDER: dict[str, str] = {"0": "Not known", "1": "Male", "2": "Female", "9": "Not specified"}

# NHS DD meanings of 01-08 are not verified in our sources (did-dataset.md §2.3); the validator
# accepts 01-08 as the national platform does (DIDS003).
NHS_NUMBER_STATUS: dict[str, str] = {
    "01": "Number present and verified",
    "02": "Number present but not traced",
    "03": "Trace required",
    "04": "Trace attempted – no match or multiple match found",
    "05": "Trace needs to be resolved",
    "06": "Trace in progress",
    "07": "Number not present and trace not required",
    "08": "Trace postponed (baby under six weeks old)",
}

ETHNIC_CATEGORY: dict[str, str] = {
    "A": "White – British",
    "B": "White – Irish",
    "C": "White – Any other White background",
    "D": "Mixed – White and Black Caribbean",
    "E": "Mixed – White and Black African",
    "F": "Mixed – White and Asian",
    "G": "Mixed – Any other mixed background",
    "H": "Asian or Asian British – Indian",
    "J": "Asian or Asian British – Pakistani",
    "K": "Asian or Asian British – Bangladeshi",
    "L": "Asian or Asian British – Any other Asian background",
    "M": "Black or Black British – Caribbean",
    "N": "Black or Black British – African",
    "P": "Black or Black British – Any other Black background",
    "R": "Other – Chinese",
    "S": "Other – Any other ethnic group",
    "Z": "Not stated",
    "99": "Not known",
}

ETHNIC_GROUP: dict[str, str] = {
    **{c: "White" for c in "ABC"},
    **{c: "Mixed" for c in "DEFG"},
    **{c: "Asian or Asian British" for c in "HJKL"},
    **{c: "Black or Black British" for c in "MNP"},
    **{c: "Other ethnic group" for c in "RS"},
    "Z": "Not stated",
    "99": "Not known",
}

_DATE = "an10 CCYY-MM-DD"

ITEMS: tuple[DataItem, ...] = (
    DataItem(
        1,
        "NHS NUMBER",
        "nhs_number",
        "NHSNumber",
        "PersonalAndDemographics",
        Obligation.DEMOGRAPHIC,
        "n10",
        10,
        identifying=True,
    ),
    DataItem(
        2,
        "NHS NUMBER STATUS INDICATOR CODE",
        "nhs_number_status",
        "NHSNumberStatus",
        "PersonalAndDemographics",
        Obligation.REQUIRED,
        "an2",
        2,
        NHS_NUMBER_STATUS,
    ),
    DataItem(
        3,
        "PERSON BIRTH DATE",
        "birth_date",
        "PersonBirthDate",
        "PersonalAndDemographics",
        Obligation.DEMOGRAPHIC,
        _DATE,
        10,
        identifying=True,
    ),
    DataItem(
        4,
        "ETHNIC CATEGORY",
        "ethnic_category",
        "EthnicCategory",
        "PersonalAndDemographics",
        Obligation.DEMOGRAPHIC,
        "max an2",
        2,
        ETHNIC_CATEGORY,
    ),
    DataItem(
        5,
        "PERSON GENDER CODE CURRENT",
        "gender",
        "PersonGenderCode",
        "PersonalAndDemographics",
        Obligation.DEMOGRAPHIC,
        "an1",
        1,
        PERSON_GENDER,
    ),
    DataItem(
        6,
        "POSTCODE OF USUAL ADDRESS",
        "postcode",
        "Address",
        "PersonalAndDemographics",
        Obligation.DEMOGRAPHIC,
        "max an8",
        8,
        identifying=True,
    ),
    DataItem(
        7,
        "GENERAL MEDICAL PRACTICE CODE (PATIENT REGISTRATION)",
        "practice_code",
        "GPCodeRegistration",
        "PersonalAndDemographics",
        Obligation.DEMOGRAPHIC,
        "an6",
        12,
    ),
    DataItem(
        8,
        "PATIENT SOURCE SETTING TYPE (DIAGNOSTIC IMAGING)",
        "patient_source",
        "PatientSourceSetting",
        "Referrals",
        Obligation.MANDATORY,
        "an2",
        2,
        PATIENT_SOURCE_SETTING,
    ),
    DataItem(9, "REFERRER CODE", "referrer_code", "ReferrerCode", "Referrals", Obligation.REQUIRED, "an8", 8),
    DataItem(
        10,
        "REFERRING ORGANISATION CODE",
        "referring_org_code",
        "ReferringOrgCode",
        "Referrals",
        Obligation.REQUIRED,
        "max an6",
        12,
    ),
    DataItem(
        11,
        "DIAGNOSTIC TEST REQUEST DATE",
        "request_date",
        "DiagnosticTestReqDate",
        "Referrals",
        Obligation.REQUIRED,
        _DATE,
        10,
    ),
    DataItem(
        12,
        "DIAGNOSTIC TEST REQUEST RECEIVED DATE",
        "request_received_date",
        "DiagnosticTestReqRecDate",
        "Referrals",
        Obligation.REQUIRED,
        _DATE,
        10,
    ),
    DataItem(
        13,
        "DIAGNOSTIC TEST DATE",
        "test_date",
        "DiagnosticTestDate",
        "ImagingActivity",
        Obligation.MANDATORY,
        _DATE,
        10,
    ),
    DataItem(
        14,
        "IMAGING CODE (NICIP)",
        "nicip_code",
        "ImagingCodeNICIP",
        "ImagingActivity",
        Obligation.ONE_OF_CODES,
        "max an6",
        6,
    ),
    DataItem(
        15,
        "IMAGING CODE (SNOMED CT)",
        "snomed_code",
        "ImagingCodeSNOMEDCT",
        "ImagingActivity",
        Obligation.ONE_OF_CODES,
        "min an6 max n18",
        18,
    ),
    DataItem(
        16,
        "SERVICE REPORT ISSUE DATE",
        "report_date",
        "ServiceReportIssueDate",
        "ImagingActivity",
        Obligation.REQUIRED,
        _DATE,
        10,
    ),
    DataItem(
        17,
        "SITE CODE (OF IMAGING)",
        "site_code",
        "ImagingSiteCode",
        "ImagingActivity",
        Obligation.MANDATORY,
        "min an5 max an9",
        12,
    ),
    DataItem(
        18,
        "RADIOLOGICAL ACCESSION NUMBER",
        "accession_number",
        "RadiologicalAccessionNumber",
        "ImagingActivity",
        Obligation.MANDATORY,
        "max an20",
        20,
    ),
)

COLUMNS: tuple[str, ...] = tuple(item.field for item in ITEMS)
HEADER: tuple[str, ...] = tuple(item.name for item in ITEMS)
N_COLUMNS = len(ITEMS)
BY_FIELD: dict[str, DataItem] = {item.field: item for item in ITEMS}
DATE_FIELDS: tuple[str, ...] = tuple(item.field for item in ITEMS if item.is_date)
IDENTIFYING_FIELDS: tuple[str, ...] = tuple(item.field for item in ITEMS if item.identifying)
DEMOGRAPHIC_FIELDS: tuple[str, ...] = tuple(item.field for item in ITEMS if item.obligation is Obligation.DEMOGRAPHIC)

# The items DIDS v2.0 added (data/reference/dids-v2/items.csv names them; did-v2.md). Staging
# holds every item of either version: a v1.0 file leaves these empty, a v2.0 file leaves the
# v1.0 test and report dates empty (they are derived from its timestamps, ADR 0009).
V2_FIELDS: tuple[str, ...] = (
    "priority",
    "activity_category",
    "waiting_list_clock_start",
    "procedure_start_ts",
    "procedure_end_ts",
    "report_issue_ts",
)
STAGING_COLUMNS: tuple[str, ...] = COLUMNS + V2_FIELDS

# Default practice codes for "not registered / not applicable / not known" (did-dataset.md §2.2).
DEFAULT_PRACTICE_CODES = frozenset({"V81997", "V81998", "V81999"})

# Submission files are named DID_<provider>_<YYYYMM> with the submission month (architecture §4).
FILE_NAME = re.compile(
    r"^DID_(?P<provider>[A-Z0-9]{3,5})_(?P<period>\d{6})(?:_[A-Za-z0-9-]+)?\.(?P<ext>csv|xml)$", re.IGNORECASE
)


def file_name(provider: str, period: str, ext: str = "csv", suffix: str | None = None) -> str:
    """The conventional file name for a provider's submission for a period (`YYYY-MM`)."""
    stem = f"DID_{provider}_{period.replace('-', '')}"
    return f"{stem}_{suffix}.{ext}" if suffix else f"{stem}.{ext}"


def local_date_sql(utc: str) -> str:
    """SQL: the UK local (Europe/London) calendar date of a UTC timestamp."""
    return f"(({utc} AT TIME ZONE 'UTC') AT TIME ZONE 'Europe/London')::DATE"
