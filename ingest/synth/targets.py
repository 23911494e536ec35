"""The calibration targets of the synthetic RIS extracts, as data.

Every figure here comes from `docs/calibration.md` (P = published, D = derived, E = estimate)
and is what the generator aims at for `--scale 1.0` over a recent 12 months. The calibration
report (`calibration.py`) reads the same tables, so a target changed here is a target changed
in the report and in the tests.

Internal modality keys are short: XR plain radiography, US ultrasound, CT, MR MRI, FL
fluoroscopy, NM nuclear medicine, PET PET-CT, OT medical photography / other.
"""

from __future__ import annotations

import numpy as np

MODALITIES: tuple[str, ...] = ("XR", "US", "CT", "MR", "FL", "NM", "PET", "OT")
MODALITY_NAMES: dict[str, str] = {
    "XR": "Plain radiography",
    "US": "Ultrasound",
    "CT": "CT",
    "MR": "MRI",
    "FL": "Fluoroscopy",
    "NM": "Nuclear medicine",
    "PET": "PET-CT",
    "OT": "Medical photography / other",
}

# Examinations a year in England at scale 1.0 (calibration.md "Volumes").
ANNUAL_VOLUME: dict[str, float] = {
    "XR": 23.0e6,
    "US": 11.0e6,
    "CT": 8.5e6,
    "MR": 4.6e6,
    "FL": 1.0e6,
    "NM": 0.6e6,
    "PET": 0.3e6,
    "OT": 0.08e6,
}
VOLUME_TOLERANCE: dict[str, float] = {
    "XR": 0.10,
    "US": 0.10,
    "CT": 0.10,
    "MR": 0.10,
    "FL": 0.25,
    "NM": 0.25,
    "PET": 0.30,
    "OT": 0.5,
}

SOURCES: tuple[str, ...] = ("01", "02", "03", "04", "05", "06", "07")

# Share of each modality's records by patient source; the "06/07 other" column of
# calibration.md is split 60:40 between 06 (other health care provider) and 07 (other).
_OTHERS = (0.15, 0.10, 0.60, 0.05, 0.05, 0.03, 0.02)
SOURCE_MIX: dict[str, tuple[float, ...]] = {
    "MR": (0.08, 0.02, 0.63, 0.16, 0.06, 0.03, 0.02),
    "CT": (0.22, 0.03, 0.38, 0.07, 0.26, 0.024, 0.016),
    "XR": (0.10, 0.01, 0.27, 0.30, 0.29, 0.018, 0.012),
    "US": (0.08, 0.02, 0.42, 0.40, 0.03, 0.03, 0.02),
    "FL": _OTHERS,
    "NM": _OTHERS,
    "PET": _OTHERS,
    "OT": _OTHERS,
}
SOURCE_MIX_TOLERANCE_PP = 5.0

# GP direct access (source 04) for the five cancer test groups, a year at scale 1.0.
GPDA_TESTS: dict[str, tuple[str, float]] = {  # test group -> (modality, volume)
    "chest_xray": ("XR", 2.0e6),
    "us_abdo_pelvis": ("US", 1.4e6),
    "ct_chest": ("CT", 0.07e6),
    "ct_abdo_pelvis": ("CT", 0.10e6),
    "mri_brain": ("MR", 0.13e6),
}
GPDA_TOLERANCE = 0.15  # E figures; the total (3.7 M, D) is held to 10%

# Share of an average month (calibration.md "Seasonality"; Jan..Dec). Sums to 12.
SEASONALITY: tuple[float, ...] = (1.01, 0.96, 1.05, 0.95, 1.05, 1.03, 1.04, 0.95, 1.02, 1.05, 1.02, 0.87)

# Share of examinations on working days (Monday-Friday but bank holidays), by patient source (E).
WEEKDAY_SHARE: dict[str, float] = {
    "01": 0.75,
    "05": 0.75,  # inpatient and A&E run seven days
    "02": 0.97,
    "03": 0.97,
    "04": 0.97,  # day case, outpatient and GP direct access
    "06": 0.92,
    "07": 0.92,
}

# Request -> test wait: (median days, log-sd) by modality and source. A continuous lognormal
# with median (m + 0.5) is floored to whole days, so the median of the days is m and for
# m >= 7 the 90th centile is about 3 x m (log-sd ln 3 / 1.2816 = 0.857). "Same day" settings
# use m = 0 and a small log-sd (A&E: ~97% same day; inpatients: ~88%).
_OP = 0.857
_SAME_DAY_AE = (0, 0.35)
_SAME_DAY_IP = (0, 0.60)
REQUEST_WAIT: dict[str, dict[str, tuple[int, float]]] = {
    "MR": {
        "01": (1, 0.8),
        "02": (14, _OP),
        "03": (21, _OP),
        "04": (21, _OP),
        "05": _SAME_DAY_AE,
        "06": (21, _OP),
        "07": (21, _OP),
    },
    "CT": {
        "01": _SAME_DAY_IP,
        "02": (7, _OP),
        "03": (10, _OP),
        "04": (10, _OP),
        "05": _SAME_DAY_AE,
        "06": (10, _OP),
        "07": (10, _OP),
    },
    "US": {
        "01": (1, 0.8),
        "02": (7, _OP),
        "03": (14, _OP),
        "04": (14, _OP),
        "05": _SAME_DAY_AE,
        "06": (14, _OP),
        "07": (14, _OP),
    },
    "XR": {
        "01": _SAME_DAY_IP,
        "02": (0, _OP),
        "03": (0, _OP),
        "04": (1, _OP),
        "05": _SAME_DAY_AE,
        "06": (1, _OP),
        "07": (1, _OP),
    },
    "FL": {
        "01": (1, 0.8),
        "02": (7, _OP),
        "03": (7, _OP),
        "04": (7, _OP),
        "05": _SAME_DAY_AE,
        "06": (7, _OP),
        "07": (7, _OP),
    },
    "NM": {
        "01": (2, 0.8),
        "02": (14, _OP),
        "03": (14, _OP),
        "04": (14, _OP),
        "05": (1, 0.8),
        "06": (14, _OP),
        "07": (14, _OP),
    },
    "PET": {
        "01": (3, 0.8),
        "02": (10, _OP),
        "03": (10, _OP),
        "04": (10, _OP),
        "05": (2, 0.8),
        "06": (10, _OP),
        "07": (10, _OP),
    },
    "OT": {
        "01": (0, _OP),
        "02": (7, _OP),
        "03": (7, _OP),
        "04": (7, _OP),
        "05": _SAME_DAY_AE,
        "06": (7, _OP),
        "07": (7, _OP),
    },
}
REQUEST_WAIT_MAX_DAYS = 300  # below the 1-year warning (DIDS028/038)

# Test -> report: (median days, log-sd) by modality (E). Capped below the 1-month warning.
REPORT_DELAY: dict[str, tuple[int, float]] = {
    "XR": (1, 0.9),
    "CT": (1, 0.8),
    "MR": (3, 0.8),
    "US": (0, 0.5),
    "FL": (1, 0.8),
    "NM": (2, 0.8),
    "PET": (2, 0.8),
    "OT": (0, 0.8),
}
REPORT_DELAY_MAX_DAYS = 28
REPORT_MISSING_SHARE = 0.05  # records with no report date, target (E)

# Who is imaged. Relative rate by age (per registered person, both sexes), as knots for
# linear interpolation over single years 0..95 (95 = 95+). Calibrated so that all modalities
# together give ~2x the 20-39 rate at 50-59 and ~5x at 80+ (calibration.md: 0.3 / 0.6 / 1.5).
AGE_KNOTS = np.array([0, 4, 10, 17, 20, 30, 39, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95])
AGE_BASE = np.array(
    [0.22, 0.12, 0.14, 0.20, 0.24, 0.26, 0.30, 0.38, 0.48, 0.58, 0.70, 0.86, 1.02, 1.20, 1.36, 1.46, 1.46, 1.40]
)
AGE_RATE_TARGETS = {"20-39": 0.3, "50-59": 0.6, "80+": 1.5}  # per person a year (E)
AGE_RATIO_TOLERANCE = 0.25  # relative, on the ratios to the 20-39 rate

# Deprivation (practice IMD quintile 1 = most deprived .. 5 = least): rate multipliers,
# linear from quintile 5 (1.0) to quintile 1 (the value given), for (modality, source, test
# group) matches; None matches anything.
IMD_GRADIENT: tuple[tuple[str | None, str | None, str | None, float], ...] = (
    (None, "05", None, 1.30),  # A&E-sourced imaging ~30% higher in the most deprived quintile
    ("MR", "03", None, 0.85),  # outpatient MRI ~15% lower
    ("XR", "04", "chest_xray", 1.10),  # GPDA chest X-ray ~10% higher
)
IMD_TOLERANCE = 0.08  # absolute, on the q1/q5 ratio of standardised rates

# Practice-level over-dispersion: a persistent multiplier (mean 1) per practice and group (E;
# calibration.md "Practices"). For GP direct access it is a two-part lognormal: most practices
# follow the national pattern closely and a minority are distinctly high or low users. A single
# lognormal with CV 0.25-0.35 would put over half of England-sized practices outside 99.8%
# funnel limits over 12 months (age structure and deprivation alone put ~24% outside, at
# scale 1). The mixture (6% of practices distinct, log-sd 0.9) gives CV ~0.26 and, for chest
# X-ray over 12 months, ~28% outside unadjusted and ~4.5% outside over-dispersion-adjusted 99.8%
# limits on crude rates (~5.5% on age-sex standardised ones), meeting every figure of the doc.
# (15% and 0.7 gave ~33% and ~8-12%: too many practices far from the rest after adjustment.)
PRACTICE_DISTINCT_SHARE = 0.06  # practices that are distinct users of direct access
PRACTICE_DISTINCT_LOGSD = 0.90
PRACTICE_TYPICAL_LOGSD = 0.03
PRACTICE_CV_OTHER = 0.15  # hospital-sourced groups: a plain lognormal
PRACTICE_CV_TARGET = (0.25, 0.35)
FUNNEL_OUTSIDE_TARGET = (0.20, 0.40)  # unadjusted 99.8% funnel, GPDA chest X-ray, 12 months

# Ethnic category: England's mix (ONS Census 2021, 2001 categories, rounded) for records that
# state one; "not stated" Z / "not known" 99 is drawn per provider between these bounds.
ETHNIC_MIX: dict[str, float] = {
    "A": 73.5,
    "B": 0.9,
    "C": 6.3,
    "D": 0.9,
    "E": 0.4,
    "F": 0.8,
    "G": 0.9,
    "H": 3.3,
    "J": 2.7,
    "K": 1.1,
    "L": 1.7,
    "M": 1.1,
    "N": 2.5,
    "P": 0.5,
    "R": 0.8,
    "S": 1.6,
}
ETHNIC_NOT_STATED_RANGE = (0.08, 0.22)  # per provider, uniform; mean ~15%
ETHNIC_NOT_STATED_TARGET = (0.10, 0.20)

# Record-level defects: average share of records (calibration.md "Defects"), drawn per
# provider so some are clean and a few poor.
DEFECT_RATES: dict[str, float] = {
    "nhs_number_missing": 0.010,
    "nhs_number_invalid": 0.002,
    "referrer_malformed": 0.020,
    "date_order": 0.003,
    "unknown_procedure": 0.005,
    "duplicate_accession": 0.001,
}
# Provider-month events (unless --clean).
LATE_SHARE = 0.05
MISSING_SHARE = 0.015
RESUBMITTED_SHARE = 0.03
VOLUME_DROP_FACTOR = 0.40
# Realistic non-defects.
LATE_DATA_SHARE = 0.01  # records sent a month late (test date in the month before the file's)
CORRECTION_SHARE = 0.003  # records re-sent next month with the report date now filled in
NO_HEADER_SHARE = 0.20  # providers whose files carry no header row

# Scanners in England (D: 10 CT and 8.6 MRI per million, 2021); the inventory does not scale
# with --scale (a slice of England gets its share, world.py).
SCANNERS = {"CT": 570, "MR": 490}
SCANNER_TOLERANCE = 0.15  # examinations per scanner a year: ANNUAL_VOLUME / SCANNERS (D)
# Estimated utilisation of scheduled scanner hours (queries/equipment.py's method and its
# assumed minutes), E: an MRI scanner is staffed for the hours it is booked, so about all of them
# (a list overrunning its session reads above 100%); the acute site's CT is scheduled round the
# clock (168 h a week) and stands idle much of the night.
UTILISATION_TARGET = {"CT": (0.35, 0.70), "MR": (0.75, 1.15)}

# Rates per 1,000 registered patients a year (calibration.md "Rates"): England's volumes over
# its registered population, 63.4 M (practice list sizes, April 2026, P). Rates do not depend
# on the size of the world, so a slice of England is held to them too (with an area whose age
# structure is close to England's).
REGISTERED_ENGLAND = 63.4e6
RATE_TOLERANCE = 0.10
# Per-caput effective dose (µSv a year, calibration.md "Rates"): about 400 µSv in 2008 (P,
# HPA-CRCE-012), when CT gave about half the collective dose; CT examinations have about doubled
# since, so about 600 µSv now (E), held to 400-900.
PER_CAPUT_DOSE_USV = (400.0, 900.0)
