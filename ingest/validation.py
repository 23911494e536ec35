"""The DIDS record-level validation rules, as data: one SQL condition per rule, run set-wise.

Each rule is checked by one INSERT ... SELECT over the whole staging table, so validating a
national-size file is a handful of column scans, not a Python loop per record. A rule's
`condition` is a SQL boolean over the `typed` table (the staging text columns plus parsed
dates `d_*` and the submission context `sub_date`, `period_start`); its `message` is a SQL
expression that says what is wrong and what is wanted.

Messages name the item, the rule and what is expected, and never quote a value from the file:
issues are stored outside quarantine and shown on pages and in CSVs, and a value under the
wrong header (a file with two columns swapped) can be a postcode or an NHS number whatever
item it was sent as. They may name what is not from the file: the submission's provider,
date and month, the line of a duplicate's first occurrence, and reference data
(`MESSAGE_COLUMNS`; tests/test_identifier_scan.py holds the rules to it).

Codes and severities are the v1.0 platform's (did-dataset.md §3.3, from
nhsengland/Reusable-Code-Library `src/dsp/dam/dq_errors.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ingest import spec

REJECT = "reject"
WARNING = "warning"


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    field: str | None
    condition: str
    message: str


def _mod11_invalid(col: str) -> str:
    """SQL: true when a 10-digit NHS number fails the Modulus 11 check (NHS DD).

    Integer arithmetic on the number as a BIGINT (digit i is n // 10^(10-i) % 10): one cast per
    row instead of ten substrings, and NULL (never an error) for anything that is not digits.
    """
    n = f"TRY_CAST({col} AS BIGINT)"
    terms = " + ".join(f"{11 - i} * ({n} // {10 ** (10 - i)} % 10)" for i in range(1, 10))
    check = f"(11 - (({terms}) % 11))"
    return f"(CASE {check} WHEN 11 THEN 0 WHEN 10 THEN -1 ELSE {check} END) <> {n} % 10"


# `n_<item>` is the item trimmed, NULL when blank: computed once per row in `typed_select`.
def _blank(col: str) -> str:
    return f"(n_{col} IS NULL)"


def _present(col: str) -> str:
    return f"(n_{col} IS NOT NULL)"


def _codes(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"  # constants from spec, never input


def _bad_date(col: str) -> str:
    return f"({_present(col)} AND d_{col} IS NULL)"


# The only columns a rule's message may read: none of them holds a value from the file.
MESSAGE_COLUMNS = frozenset({"sub_date", "period_start", "sub_provider", "dup_first_line",
                             "x_nicip_retired_on", "x_nicip_snomed"})

_DEMOGRAPHIC_PRESENT = " OR ".join(_present(c) for c in spec.DEMOGRAPHIC_FIELDS)

RULES: tuple[Rule, ...] = (
    # Personal and demographic
    Rule("DIDS002", REJECT, "nhs_number", f"{_present('nhs_number')} AND NOT x_nhs_format_ok",
         "'NHS NUMBER is not 10 digits (or is a dummy number); send the 10-digit NHS number without spaces, or leave it empty'"),
    Rule("DIDS001", REJECT, "nhs_number", "x_nhs_format_ok AND x_nhs_mod11_invalid",
         "'NHS NUMBER fails the Modulus 11 check digit test; check the number on the RIS'"),
    Rule("DIDS003", REJECT, "nhs_number_status",
         f"{_present('nhs_number_status')} AND nhs_number_status NOT IN {_codes(spec.NHS_NUMBER_STATUS)}",
         "'NHS NUMBER STATUS INDICATOR CODE is not a valid code; expected 01-08 (keep the leading zero)'"),
    Rule("DIDS005", REJECT, "birth_date", _bad_date("birth_date"),
         "'PERSON BIRTH DATE is not a valid date; expected a date CCYY-MM-DD'"),
    Rule("DIDS006", REJECT, "birth_date", "d_birth_date > d_test_date",
         "'PERSON BIRTH DATE is after the DIAGNOSTIC TEST DATE'"),
    Rule("DIDS008", REJECT, "birth_date", "d_birth_date > d_report_date",
         "'PERSON BIRTH DATE is after the SERVICE REPORT ISSUE DATE'"),
    Rule("DIDS009", REJECT, "birth_date", "d_birth_date <= DATE '1900-01-01'",
         "'PERSON BIRTH DATE is on or before 1900-01-01'"),
    Rule("DIDS010", REJECT, "birth_date", "d_birth_date > d_request_date + INTERVAL 6 MONTH",
         "'PERSON BIRTH DATE is more than 6 months after the DIAGNOSTIC TEST REQUEST DATE'"),
    Rule("DIDS012", REJECT, "ethnic_category",
         f"{_present('ethnic_category')} AND ethnic_category NOT IN {_codes(spec.ETHNIC_CATEGORY)}",
         "'ETHNIC CATEGORY is not a valid code; expected A-S, Z or 99'"),
    Rule("DIDS014", REJECT, "gender", f"{_present('gender')} AND gender NOT IN {_codes(spec.PERSON_GENDER)}",
         "'PERSON GENDER CODE CURRENT is not a valid code; expected 0, 1, 2 or 9'"),
    Rule("DIDS017", REJECT, "postcode",
         # the value as sent must match: spaces around it fail too
         f"{_present('postcode')} AND NOT (postcode = n_postcode AND x_postcode_ok)",
         "'POSTCODE OF USUAL ADDRESS is not a valid postcode format (outward code, one space, inward code)'"),
    Rule("DIDS073", REJECT, None, f"NOT ({_DEMOGRAPHIC_PRESENT})",
         "'none of the six personal and demographic items is present; send at least one'"),
    # Referrals
    Rule("DIDS020", REJECT, "patient_source", _blank("patient_source"),
         "'PATIENT SOURCE SETTING TYPE is missing; it is mandatory (01-07)'"),
    Rule("DIDS021", REJECT, "patient_source",
         f"{_present('patient_source')} AND patient_source NOT IN {_codes(spec.PATIENT_SOURCE_SETTING)}",
         "'PATIENT SOURCE SETTING TYPE is not a valid code; expected 01-07 (keep the leading zero)'"),
    Rule("DIDS023", WARNING, "referrer_code",
         f"{_present('referrer_code')} AND NOT x_referrer_ok",
         "'REFERRER CODE is not a valid code; expected 8 characters (1-2 letters then 6-7 digits); loaded as 99'"),
    Rule("DIDS026", REJECT, "request_date", _bad_date("request_date"),
         "'DIAGNOSTIC TEST REQUEST DATE is not a valid date; expected a date CCYY-MM-DD'"),
    Rule("DIDS027", REJECT, "request_date", "d_request_date > d_request_received_date",
         "'DIAGNOSTIC TEST REQUEST DATE is after the DIAGNOSTIC TEST REQUEST RECEIVED DATE'"),
    Rule("DIDS028", WARNING, "request_date", "date_diff('day', d_request_date, d_test_date) > 365",
         "'DIAGNOSTIC TEST REQUEST DATE is more than a year before the DIAGNOSTIC TEST DATE'"),
    Rule("DIDS031", REJECT, "request_date", "d_request_date < DATE '1970-01-01'",
         "'DIAGNOSTIC TEST REQUEST DATE is before 1970-01-01'"),
    Rule("DIDS034", REJECT, "request_date", "d_request_date > d_test_date",
         "'DIAGNOSTIC TEST REQUEST DATE is after the DIAGNOSTIC TEST DATE'"),
    Rule("DIDS035", REJECT, "report_date", "d_report_date < d_request_date",
         "'SERVICE REPORT ISSUE DATE is before the DIAGNOSTIC TEST REQUEST DATE'"),
    Rule("DIDS036", REJECT, "request_received_date", _bad_date("request_received_date"),
         "'DIAGNOSTIC TEST REQUEST RECEIVED DATE is not a valid date; expected a date CCYY-MM-DD'"),
    Rule("DIDS038", WARNING, "request_received_date", "date_diff('day', d_request_received_date, d_test_date) > 365",
         "'DIAGNOSTIC TEST REQUEST RECEIVED DATE is more than a year before the DIAGNOSTIC TEST DATE'"),
    Rule("DIDS040", REJECT, "request_received_date", "d_request_received_date < d_birth_date - INTERVAL 6 MONTH",
         "'DIAGNOSTIC TEST REQUEST RECEIVED DATE is more than 6 months before the PERSON BIRTH DATE'"),
    Rule("DIDS041", REJECT, "request_received_date", "d_request_received_date < DATE '1970-01-01'",
         "'DIAGNOSTIC TEST REQUEST RECEIVED DATE is before 1970-01-01'"),
    Rule("DIDS043", REJECT, "request_received_date", "d_request_received_date > d_test_date",
         "'DIAGNOSTIC TEST REQUEST RECEIVED DATE is after the DIAGNOSTIC TEST DATE'"),
    Rule("DIDS044", REJECT, "request_received_date", "d_request_received_date > d_report_date",
         "'DIAGNOSTIC TEST REQUEST RECEIVED DATE is after the SERVICE REPORT ISSUE DATE'"),
    # Imaging activity
    Rule("DIDS050", REJECT, "test_date", _blank("test_date"),
         "'DIAGNOSTIC TEST DATE is missing; it is mandatory'"),
    Rule("DIDS045", REJECT, "test_date", _bad_date("test_date"),
         "'DIAGNOSTIC TEST DATE is not a valid date; expected a date CCYY-MM-DD'"),
    Rule("DIDS051", REJECT, "test_date", "d_test_date > sub_date",
         "'DIAGNOSTIC TEST DATE is after the submission date ' || sub_date"),
    Rule("DIDS055", REJECT, "test_date", "d_test_date < period_start - INTERVAL 6 MONTH",
         "'DIAGNOSTIC TEST DATE is more than 6 months before the submission month ' || strftime(period_start, '%Y-%m')"),
    Rule("DIDS049", WARNING, "test_date",
         "d_test_date < period_start - INTERVAL 3 MONTH AND d_test_date >= period_start - INTERVAL 6 MONTH",
         "'DIAGNOSTIC TEST DATE is more than 3 months before the submission month ' || strftime(period_start, '%Y-%m')"),
    Rule("DIDS056", REJECT, "nicip_code", f"{_blank('nicip_code')} AND {_blank('snomed_code')}",
         "'neither IMAGING CODE (NICIP) nor IMAGING CODE (SNOMED CT) is present; send at least one'"),
    Rule("DIDS061", REJECT, "report_date", _bad_date("report_date"),
         "'SERVICE REPORT ISSUE DATE is not a valid date; expected a date CCYY-MM-DD'"),
    Rule("DIDS048", REJECT, "report_date", "d_report_date < d_test_date",
         "'SERVICE REPORT ISSUE DATE is before the DIAGNOSTIC TEST DATE'"),
    Rule("DIDS066", REJECT, "report_date", "d_report_date > sub_date",
         "'SERVICE REPORT ISSUE DATE is after the submission date ' || sub_date"),
    Rule("DIDS062", WARNING, "report_date", "d_report_date > d_test_date + INTERVAL 1 MONTH",
         "'SERVICE REPORT ISSUE DATE is more than a month after the DIAGNOSTIC TEST DATE'"),
    Rule("DIDS067", REJECT, "site_code", _blank("site_code"),
         "'SITE CODE (OF IMAGING) is missing; it is mandatory'"),
    Rule("DIDS069", REJECT, "site_code",
         f"{_present('site_code')} AND NOT x_site_ok",
         "'SITE CODE (OF IMAGING) is not an ODS site code; expected 5-12 letters and digits'"),
    Rule("DIDS070", REJECT, "accession_number", _blank("accession_number"),
         "'RADIOLOGICAL ACCESSION NUMBER is missing; it is mandatory'"),
    Rule("DIDS072", REJECT, "accession_number", f"{_present('accession_number')} AND length(accession_number) > 20",
         "'RADIOLOGICAL ACCESSION NUMBER is longer than 20 characters'"),
    Rule("DIDS071", REJECT, "accession_number", "dup_rank > 1",
         "'the pair (RADIOLOGICAL ACCESSION NUMBER, SITE CODE (OF IMAGING)) already appears at line ' "
         "|| dup_first_line || '; each examination must have a unique pair'"),
    # Checks against reference data in the store (ref_* tables, local_code): the lookups are
    # joined once in build_typed (columns x_*), so each rule is a plain column test.
    Rule("DIDS074", REJECT, "postcode",
         " AND ".join(_blank(c) for c in spec.DEMOGRAPHIC_FIELDS if c != "postcode")
         + " AND x_postcode_zz99",
         "'the only personal and demographic item is a ZZ99 pseudo-postcode, which identifies no one; "
         "send at least one other demographic item'"),
    Rule("DIDS016", REJECT, "postcode",
         f"{_present('postcode')} AND NOT x_postcode_zz99 "
         "AND x_postcodes_loaded AND x_postcode IS NULL",
         "'POSTCODE OF USUAL ADDRESS is not in the postcode reference data'"),
    Rule("DIDS018", REJECT, "practice_code",
         f"{_present('practice_code')} AND u_practice_code NOT IN {_codes(spec.DEFAULT_PRACTICE_CODES)} "
         "AND x_practice IS NULL",
         "'GENERAL MEDICAL PRACTICE CODE is not an ODS practice code; expected the code of a GP practice, "
         "e.g. A81001 (V81999 when the practice is not known)'"),
    Rule("DIDS080", WARNING, "practice_code",
         "x_practice_open > d_test_date OR x_practice_close < d_test_date",
         "'GENERAL MEDICAL PRACTICE CODE was not open on the DIAGNOSTIC TEST DATE'"),
    Rule("DIDS024", REJECT, "referring_org_code",
         f"{_present('referring_org_code')} AND x_referrer_org IS NULL",
         "'REFERRING ORGANISATION CODE is not in the ODS reference data; expected an ODS organisation or site code'"),
    Rule("DIDS079", WARNING, "referring_org_code",
         "x_referrer_open > coalesce(d_request_date, d_test_date) "
         "OR x_referrer_close < coalesce(d_request_date, d_test_date)",
         "'REFERRING ORGANISATION CODE was not open on the DIAGNOSTIC TEST REQUEST DATE "
         "(or on the DIAGNOSTIC TEST DATE, when there is no request date)'"),
    Rule("DIDS057", REJECT, "nicip_code",
         f"{_present('nicip_code')} AND x_nicip IS NULL AND x_local_nicip IS NULL",
         "'IMAGING CODE (NICIP) is neither a national NICIP code nor a local code notified by ' || sub_provider "
         "|| '; notify it first (did local-codes add --provider ' || sub_provider "
         "|| ' --code <local code> --maps-to <NICIP code>, or the Local codes page) and submit the file again'"),
    Rule("DIDS077", WARNING, "nicip_code", "x_nicip_retired_on <= d_test_date",
         "'IMAGING CODE (NICIP) was retired on ' || x_nicip_retired_on "
         "|| ', before the test date; future submissions of this code will be rejected'"),
    Rule("DIDS059", REJECT, "snomed_code",
         f"{_present('snomed_code')} AND n_snomed_code IN (SELECT code FROM snomed_invalid)",
         "'IMAGING CODE (SNOMED CT) is not a valid SNOMED CT concept id; "
         "expected 6-18 digits with a valid check digit'"),
    Rule("DIDS078", WARNING, "snomed_code", "NOT x_snomed_active",
         "'IMAGING CODE (SNOMED CT) is inactive in the imaging reference set; "
         "future submissions of this code will be rejected'"),
    Rule("DIDS082", REJECT, "snomed_code",
         f"{_present('snomed_code')} AND x_nicip_snomed IS NOT NULL AND x_nicip_snomed <> n_snomed_code",
         "'IMAGING CODE (NICIP) does not map to the IMAGING CODE (SNOMED CT) sent with it; "
         "in the NICIP reference it maps to ' || x_nicip_snomed"),
    Rule("DIDS068", REJECT, "site_code",
         "x_site_ok AND x_sites_loaded AND x_site IS NULL",
         "'SITE CODE (OF IMAGING) is not a known imaging site; expected the ODS code of one of the provider''s sites'"),
    Rule("DIDS081", WARNING, "site_code",
         "x_site_open > d_test_date OR x_site_close < d_test_date",
         "'SITE CODE (OF IMAGING) was not open on the DIAGNOSTIC TEST DATE'"),
    # Project rule, not in the DIDS catalogue: a provider sends only its own sites' records. The
    # owner is the site reference's provider for the site code (ODS gives a site that moves to
    # another trust a new code under that trust, so the old code's row, with its close date,
    # keeps its old owner); with no site reference loaded, an ODS site code begins with its
    # provider's code. The message quotes nothing from the file, only the submitting provider.
    Rule("DIDSX01", REJECT, "site_code",
         "x_site_ok AND CASE WHEN x_sites_loaded THEN x_site_provider <> sub_provider "
         "ELSE NOT starts_with(u_site_code, sub_provider) END",
         "'SITE CODE (OF IMAGING) is not a site of ' || sub_provider || ' (per the site reference, or by its "
         "ODS code''s prefix when none is loaded); send each site''s records in its own provider''s file'"),
)


def prepare(con: duckdb.DuckDBPyConnection, source: str = "staging") -> dict:
    """Small TEMP tables the rules need from the whole file, and the reference-data switches.

    - `dups(file_no, site, acc, first_line)`: each (site, accession) pair that occurs more than
      once in one file, with its first line (DIDS071). An aggregate, so the rows themselves are
      never sorted. `source` may hold several files (`file_no`); a pair in two files is no duplicate.
    - `snomed_invalid(code)`: the distinct SNOMED codes that fail the Verhoeff check (DIDS059).

    Returns the parameters `typed_select` binds besides the submission context, and whether
    there are duplicates (`typed_select`'s `with_dups`).
    """
    if not source.isidentifier():
        raise ValueError(f"{source!r} is not a table name")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE dups AS
        SELECT file_no, nullif(trim(site_code), '') AS site, nullif(trim(accession_number), '') AS acc,
               min(line) AS first_line
        FROM {source} GROUP BY ALL HAVING count(*) > 1
        """
    )
    codes = [r[0] for r in con.execute(
        f"SELECT DISTINCT trim(snomed_code) FROM {source} WHERE nullif(trim(snomed_code), '') IS NOT NULL"
    ).fetchall()]
    con.execute("CREATE OR REPLACE TEMP TABLE snomed_invalid (code VARCHAR)")
    bad = [c for c in codes if not snomed_id_valid(c)]
    if bad:
        con.executemany("INSERT INTO snomed_invalid VALUES (?)", [[c] for c in bad])
    sites, postcodes = con.execute(
        "SELECT (SELECT count(*) > 0 FROM ref_site), (SELECT count(*) > 0 FROM ref_postcode)").fetchall()[0]
    has_dups = con.execute("SELECT count(*) > 0 FROM dups").fetchall()[0][0]
    return {"sites_loaded": sites, "postcodes_loaded": postcodes}, has_dups


# CCYY-MM-DD exactly: strptime alone would also take 2026-1-2.
_DATES = ", ".join(
    f"CASE WHEN regexp_full_match(s.n_{c}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
    f"THEN try_strptime(s.n_{c}, '%Y-%m-%d')::DATE END AS d_{c}"
    for c in spec.DATE_FIELDS
)
_TRIMMED = ", ".join(f"nullif(trim(s0.{c}), '') AS n_{c}" for c in spec.COLUMNS)
# Codes looked up in reference tables, upper-cased once.
_UPPER = ", ".join(f"upper(s1.n_{c}) AS u_{c}"
                   for c in ("practice_code", "referring_org_code", "nicip_code", "site_code", "postcode"))


def typed_select(source: str, with_dups: bool = True) -> str:
    """SQL: the rows of `source` (staging's columns) as the rules see them.

    The staging text columns; each trimmed (`n_*`, NULL when blank) and the codes upper-cased
    (`u_*`); parsed dates `d_*`; format tests `x_*_ok`; the submission context (`sub_date`,
    `period_start`, `sub_provider`); duplicate ranks; and every reference lookup (`x_*`) the
    rules and the record need, each joined once. Each of these is computed once per row in a
    projection of its own, so that the sixty rules and the record's columns only compare
    columns. NHS numbers lose spaces and dashes first, as the national platform does.

    `source` may hold rows of several files, told apart by `file_no`; each file's submission
    context comes from the table `batch_files(file_no, sub_date, period_start, provider)`, so
    that one statement checks many small files (planning it costs more than checking a
    thousand rows). Needs `prepare` first; binds $sites_loaded, $postcodes_loaded. `source` is a
    table name or a subquery written by this package, never input. `with_dups=False` leaves out
    the join to `dups` when `prepare` found none (most files).
    """
    dup_rank, dup_first, dup_join = "1", "s.line", ""
    if with_dups:
        dup_rank, dup_first = "CASE WHEN s.line > dup.first_line THEN 2 ELSE 1 END", "coalesce(dup.first_line, s.line)"
        dup_join = """LEFT JOIN dups dup ON dup.file_no = s.file_no AND dup.site IS NOT DISTINCT FROM s.n_site_code
                          AND dup.acc IS NOT DISTINCT FROM s.n_accession_number"""
    return f"""
        WITH site_orgs AS (SELECT site_code AS code FROM ref_site UNION SELECT provider_code FROM ref_site)
        SELECT s.*, {_DATES}, bf.sub_date AS sub_date, bf.period_start AS period_start,
               bf.provider AS sub_provider,
               {dup_rank} AS dup_rank, {dup_first} AS dup_first_line,
               -- 10 digits and not a dummy number (1234567890, 0123456789, d00000000d)
               (s.x_nhs_digits10 AND s.nhs_number NOT IN ('1234567890', '0123456789')
                AND NOT (s.nhs_number ~ '^([1-9])00000000[1-9]$'
                         AND substr(s.nhs_number, 1, 1) = substr(s.nhs_number, 10, 1))) AS x_nhs_format_ok,
               {_mod11_invalid("s.nhs_number")} AS x_nhs_mod11_invalid,
               pr.org_code AS x_practice, pr.open_date AS x_practice_open, pr.close_date AS x_practice_close,
               coalesce(ro.org_code, so.code) AS x_referrer_org,
               ro.open_date AS x_referrer_open, ro.close_date AS x_referrer_close,
               n.nicip_code AS x_nicip, n.snomed_code AS x_nicip_snomed, lc.nicip_code AS x_local_nicip,
               rt.retired_on AS x_nicip_retired_on, sn.active AS x_snomed_active,
               st.site_code AS x_site, st.provider_code AS x_site_provider, st.open_date AS x_site_open, st.close_date AS x_site_close,
               $sites_loaded::BOOLEAN AS x_sites_loaded,
               pc.postcode AS x_postcode, pc.lsoa_code AS x_lsoa, $postcodes_loaded::BOOLEAN AS x_postcodes_loaded,
               -- the code the record is loaded as: national, or a notified local code's national code
               m.modality AS x_modality, m.body_area AS x_body_area,
               m.test_group AS x_test_group
        FROM (
            SELECT s1.*, {_UPPER},
                   s1.nhs_number ~ '^[0-9]{{10}}$' AS x_nhs_digits10,
                   -- 8 characters, as sent: 1 letter + 7 digits or 2 letters + 6 digits (dids_attributes.txt)
                   regexp_full_match(s1.referrer_code, '[A-Z][0-9]{{7}}|[A-Z]{{2}}[0-9]{{6}}') AS x_referrer_ok,
                   -- a full postcode: outward code, one space, inward code
                   regexp_full_match(upper(s1.n_postcode), '[A-Z]{{1,2}}[0-9][0-9A-Z]? [0-9][A-Z]{{2}}')
                       AS x_postcode_ok,
                   upper(left(s1.n_postcode, 4)) = 'ZZ99' AS x_postcode_zz99,
                   regexp_full_match(s1.n_site_code, '[A-Za-z0-9]{{5,12}}') AS x_site_ok
            FROM (
                SELECT s0.*, {_TRIMMED}
                FROM (SELECT src.* REPLACE (regexp_replace(src.nhs_number, '[\\s-]', '', 'g') AS nhs_number)
                      FROM {source} src) s0
            ) s1
        ) s
        JOIN batch_files bf ON bf.file_no = s.file_no
        {dup_join}
        LEFT JOIN ref_org pr ON pr.org_code = s.u_practice_code
        LEFT JOIN ref_org ro ON ro.org_code = s.u_referring_org_code
        LEFT JOIN site_orgs so ON so.code = s.u_referring_org_code
        LEFT JOIN ref_nicip n ON n.nicip_code = s.u_nicip_code
        LEFT JOIN local_code lc ON lc.provider_code = bf.provider AND lc.local_code = s.u_nicip_code
        LEFT JOIN ref_nicip m ON m.nicip_code = CASE WHEN n.nicip_code IS NULL THEN lc.nicip_code
                                                     ELSE n.nicip_code END
        LEFT JOIN ref_nicip_retired rt ON rt.nicip_code = s.u_nicip_code
        LEFT JOIN ref_snomed sn ON sn.snomed_code = s.n_snomed_code
        LEFT JOIN ref_site st ON st.site_code = s.u_site_code
        LEFT JOIN ref_postcode pc ON pc.postcode = s.u_postcode
    """


# Verhoeff check digit tables (SNOMED CT Technical Implementation Guide, "Check digit").
_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def snomed_id_valid(code: str) -> bool:
    """A SNOMED CT concept id: 6-18 digits, no leading zero, concept partition (00 or 10), Verhoeff check.

    Without the imaging refset loaded this is as far as validity can be checked offline.
    """
    if not (6 <= len(code) <= 18 and code.isdigit() and code[0] != "0"):
        return False
    if code[-3:-1] not in ("00", "10"):
        return False
    c = 0
    for i, ch in enumerate(reversed(code)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][int(ch)]]
    return c == 0


def screen_select(typed: str, columns: str = "", rules: tuple[Rule, ...] = RULES) -> tuple[str, dict]:
    """SQL: one row per typed row of `typed` (a `typed_select` subquery): `file_no`, `line`; `_reject` and
    `_warn`, whether it breaks any reject rule / any warning rule; `_issues`, the list of the
    issues it raises as structs (code, severity, field, message), NULL when there are none;
    then `columns` (SQL over the typed row `t`). Returns the SQL and the parameters it binds
    (each rule's code, severity and field).

    Each rule's condition is evaluated once per row (columns `_c<i>`); CASE builds the messages
    only for the rows that break something, which in a real file are few. Rule text is code in
    this module, never user input; values from the file are only ever columns, and the rule
    codes are bound parameters.
    """
    conditions = ", ".join(f"coalesce(({rule.condition}), false) AS _c{i}" for i, rule in enumerate(rules))

    def any_of(severity: str) -> str:
        return " OR ".join(f"_c{i}" for i, rule in enumerate(rules) if rule.severity == severity) or "false"

    cases = ", ".join(
        f"CASE WHEN _c{i} THEN {{'code': $r{i}_code::VARCHAR, 'severity': $r{i}_sev::VARCHAR, "
        f"'field': $r{i}_field::VARCHAR, 'message': ({rule.message})::VARCHAR}} END"
        for i, rule in enumerate(rules)
    )
    params = {}
    for i, rule in enumerate(rules):
        params[f"r{i}_code"], params[f"r{i}_sev"], params[f"r{i}_field"] = rule.code, rule.severity, rule.field
    sql = f"""
        SELECT file_no, line, _reject, _warn,
               CASE WHEN _reject OR _warn THEN list_filter([{cases}], lambda x: x IS NOT NULL) END AS _issues
               {", " + columns if columns else ""}
        FROM (
            SELECT t.*, {any_of(REJECT)} AS _reject, {any_of(WARNING)} AS _warn
            FROM (SELECT t.*, {conditions} FROM ({typed}) t) t
        ) t
    """
    return sql, params
