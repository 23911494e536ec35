"""Age bands and sex: defined once, for every rollup that counts records and every query that
divides them by registered patients.

- **Age band** (`age_band_sql`): the five-year bands of the European Standard Population 2013,
  numbered 0 (0-4) to 18 (90 and over), `AGE_BAND_LABELS[i]` naming band i. The variation
  pages' directly standardised rates, the GP pages' indirect standardisation and the registered
  populations all use it, so counts and denominators join on the same key. An age not known
  (blank, or negative: a test date before the birth date) has no band (NULL).
- **Sex** (`sex_sql`): PERSON GENDER CODE (NHS Data Dictionary) 1 → 'M', 2 → 'F', the
  codes of the registered-population file; 0 (not known), 9 (not specified) and blank → 'U'.
  Only M and F have a denominator (`KNOWN_SEXES`).
- **Dose age bands** (`DOSE_AGE_BANDS`, `dose_age_band_sql`): a second classification with a
  purpose of its own: the radiation dose tables keep children (0-15) apart, because the risk
  per unit of effective dose is higher for them (ICRP 103, 2007).

The SQL snippets take a column name from code (never user input) and are written into rollup
definitions, so a change here changes those rollups' SQL and the next publish builds them
afresh (`ingest.store`).
"""

from __future__ import annotations

AGE_BAND_YEARS = 5
TOP_AGE_BAND = 18  # 90 and over: ESP2013's last band (the population file's top age is 95+)
AGE_BAND_LABELS: tuple[str, ...] = tuple(
    f"{AGE_BAND_YEARS * i}-{AGE_BAND_YEARS * i + AGE_BAND_YEARS - 1}" for i in range(TOP_AGE_BAND)
) + (f"{AGE_BAND_YEARS * TOP_AGE_BAND}+",)

SEX_FROM_GENDER_CODE: dict[str, str] = {"1": "M", "2": "F"}
UNKNOWN_SEX = "U"
KNOWN_SEXES: tuple[str, ...] = ("M", "F")
SEX_LABELS: dict[str, str] = {"M": "Male", "F": "Female", UNKNOWN_SEX: "Not known"}

# (label, first year, last year) for the dose tables.
DOSE_AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0-15", 0, 15),
    ("16-39", 16, 39),
    ("40-64", 40, 64),
    ("65-74", 65, 74),
    ("75-84", 75, 84),
    ("85+", 85, 200),
)
UNKNOWN_DOSE_AGE_BAND = "Not known"


def age_band(age: int | None) -> int | None:
    """The band of one age in years (None when not known): what `age_band_sql` computes."""
    if age is None or age < 0:
        return None
    return min(age // AGE_BAND_YEARS, TOP_AGE_BAND)


def age_band_sql(column: str) -> str:
    """SQL for the age band (0..18, INTEGER) of an age column; NULL for a blank or negative age."""
    return f"CASE WHEN {column} >= 0 THEN least({column} // {AGE_BAND_YEARS}, {TOP_AGE_BAND}) END::INTEGER"


def sex_sql(column: str) -> str:
    """SQL recoding a PERSON GENDER CODE column to 'M' / 'F' / 'U'."""
    cases = " ".join(f"WHEN '{code}' THEN '{sex}'" for code, sex in SEX_FROM_GENDER_CODE.items())
    return f"CASE {column} {cases} ELSE '{UNKNOWN_SEX}' END"


def dose_age_band_sql(column: str) -> str:
    """SQL for the dose tables' age band label of an age column; 'Not known' when blank."""
    cases = " ".join(f"WHEN {column} BETWEEN {lo} AND {hi} THEN '{label}'" for label, lo, hi in DOSE_AGE_BANDS)
    return f"CASE {cases} ELSE '{UNKNOWN_DOSE_AGE_BAND}' END"
