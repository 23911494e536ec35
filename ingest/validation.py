"""The DIDS record-level validation rules: named conditions in code, bound to codes by a spec pack.

Each rule is checked by one SQL pass over the whole staging table, so validating a
national-size file is a handful of column scans, not a Python loop per record. A rule's
condition is a SQL boolean over the `typed` table (the staging text columns plus parsed
dates `d_*`, timestamps `t_*` and the submission context `sub_date`, `period_start`).

The conditions live here, under stable ids (`CONDITIONS`); which of them a data set version
applies, under which code, severity and message, is data: the version's spec pack
(`ingest/spec_pack.py`, `data/reference/dids-v1/` and `dids-v2/`). A licensed user who holds
the official ETOS re-binds codes, severities, messages and code lists by loading another
pack; a new condition is a code change. The v1.0 conditions are named by the v1.0 code they
implement in lower case (`dids002`); the v2.0 ones by what they test.

Messages name the item, the rule and what is expected, and never quote a value from the file:
issues are stored outside quarantine and shown on pages and in CSVs, and a value under the
wrong header (a file with two columns swapped) can be a postcode or an NHS number whatever
item it was sent as. A pack's message is text with `{placeholders}` (`PLACEHOLDERS`) for
what is not from the file: the submission's provider, date and month, the line of a
duplicate's first occurrence, and reference data. The text is bound as parameters, never
written into the SQL (tests/test_identifier_scan.py holds the placeholders to it).

v1.0 codes and severities are the v1.0 platform's (did-dataset.md §3.3, from
nhsengland/Reusable-Code-Library `src/dsp/dam/dq_errors.py`); v2.0's are in the v2 pack
with their status (CONFIRMED / INFERRED / PROJECT).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from did_model import spec

REJECT = "reject"
WARNING = "warning"
SEVERITIES = (REJECT, WARNING)


@dataclass(frozen=True)
class Condition:
    """A named test a record can fail: `sql` over the typed row; `field` the item it is about."""

    id: str
    field: str | None
    sql: str


@dataclass(frozen=True)
class Rule:
    """A condition as a pack binds it: the code, severity and message a provider sees."""

    code: str
    severity: str
    field: str | None
    condition: str  # SQL (the bound Condition's)
    message: str  # text with {placeholders}
    condition_id: str = ""


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


def _not_in(col: str, code_list: str) -> str:
    """SQL: `col` is not in the pack's code list (bound as `$cl_<code_list>`, never written in)."""
    return f"NOT list_contains($cl_{code_list}, {col})"


def _bad_date(col: str) -> str:
    return f"({_present(col)} AND d_{col} IS NULL)"


# What a message may say besides its text: none of it is a value from the file.
PLACEHOLDERS: dict[str, str] = {
    "submission_date": "sub_date::VARCHAR",
    "period": "strftime(period_start, '%Y-%m')",
    "provider": "sub_provider",
    "first_line": "dup_first_line::VARCHAR",
    "retired_on": "x_nicip_retired_on::VARCHAR",
    "mapped_snomed": "x_nicip_snomed",
}
# The columns those read (tests/test_identifier_scan.py).
MESSAGE_COLUMNS = frozenset(
    {"sub_date", "period_start", "sub_provider", "dup_first_line", "x_nicip_retired_on", "x_nicip_snomed"}
)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

_DEMOGRAPHIC_PRESENT = " OR ".join(_present(c) for c in spec.DEMOGRAPHIC_FIELDS)

V1_CONDITIONS: tuple[Condition, ...] = (
    # Personal and demographic
    Condition("dids002", "nhs_number", f"{_present('nhs_number')} AND NOT x_nhs_format_ok"),
    Condition("dids001", "nhs_number", "x_nhs_format_ok AND x_nhs_mod11_invalid"),
    Condition(
        "dids003",
        "nhs_number_status",
        f"{_present('nhs_number_status')} AND {_not_in('nhs_number_status', 'nhs_number_status')}",
    ),
    Condition("dids005", "birth_date", _bad_date("birth_date")),
    Condition("dids006", "birth_date", "d_birth_date > d_test_date"),
    Condition("dids008", "birth_date", "d_birth_date > d_report_date"),
    Condition("dids009", "birth_date", "d_birth_date <= DATE '1900-01-01'"),
    Condition("dids010", "birth_date", "d_birth_date > d_request_date + INTERVAL 6 MONTH"),
    Condition(
        "dids012",
        "ethnic_category",
        f"{_present('ethnic_category')} AND {_not_in('ethnic_category', 'ethnic_category')}",
    ),
    Condition("dids014", "gender", f"{_present('gender')} AND {_not_in('gender', 'person_gender')}"),
    Condition("dids017", "postcode", f"{_present('postcode')} AND NOT (postcode = n_postcode AND x_postcode_ok)"),
    Condition("dids073", None, f"NOT ({_DEMOGRAPHIC_PRESENT})"),
    # Referrals
    Condition("dids020", "patient_source", _blank("patient_source")),
    Condition(
        "dids021",
        "patient_source",
        f"{_present('patient_source')} AND {_not_in('patient_source', 'patient_source_setting')}",
    ),
    Condition("dids023", "referrer_code", f"{_present('referrer_code')} AND NOT x_referrer_ok"),
    Condition("dids026", "request_date", _bad_date("request_date")),
    Condition("dids027", "request_date", "d_request_date > d_request_received_date"),
    Condition("dids028", "request_date", "date_diff('day', d_request_date, d_test_date) > 365"),
    Condition("dids031", "request_date", "d_request_date < DATE '1970-01-01'"),
    Condition("dids034", "request_date", "d_request_date > d_test_date"),
    Condition("dids035", "report_date", "d_report_date < d_request_date"),
    Condition("dids036", "request_received_date", _bad_date("request_received_date")),
    Condition("dids038", "request_received_date", "date_diff('day', d_request_received_date, d_test_date) > 365"),
    Condition("dids040", "request_received_date", "d_request_received_date < d_birth_date - INTERVAL 6 MONTH"),
    Condition("dids041", "request_received_date", "d_request_received_date < DATE '1970-01-01'"),
    Condition("dids043", "request_received_date", "d_request_received_date > d_test_date"),
    Condition("dids044", "request_received_date", "d_request_received_date > d_report_date"),
    # Imaging activity
    Condition("dids050", "test_date", _blank("test_date")),
    Condition("dids045", "test_date", _bad_date("test_date")),
    Condition("dids051", "test_date", "d_test_date > sub_date"),
    Condition("dids055", "test_date", "d_test_date < period_start - INTERVAL 6 MONTH"),
    Condition(
        "dids049",
        "test_date",
        "d_test_date < period_start - INTERVAL 3 MONTH AND d_test_date >= period_start - INTERVAL 6 MONTH",
    ),
    Condition("dids056", "nicip_code", f"{_blank('nicip_code')} AND {_blank('snomed_code')}"),
    Condition("dids061", "report_date", _bad_date("report_date")),
    Condition("dids048", "report_date", "d_report_date < d_test_date"),
    Condition("dids066", "report_date", "d_report_date > sub_date"),
    Condition("dids062", "report_date", "d_report_date > d_test_date + INTERVAL 1 MONTH"),
    Condition("dids067", "site_code", _blank("site_code")),
    Condition("dids069", "site_code", f"{_present('site_code')} AND NOT x_site_ok"),
    Condition("dids070", "accession_number", _blank("accession_number")),
    Condition("dids072", "accession_number", f"{_present('accession_number')} AND length(accession_number) > 20"),
    Condition("dids071", "accession_number", "dup_rank > 1"),
    # Checks against reference data in the store (ref_* tables, local_code): the lookups are
    # joined once in build_typed (columns x_*), so each rule is a plain column test.
    Condition(
        "dids074",
        "postcode",
        " AND ".join(_blank(c) for c in spec.DEMOGRAPHIC_FIELDS if c != "postcode") + " AND x_postcode_zz99",
    ),
    Condition(
        "dids016",
        "postcode",
        f"{_present('postcode')} AND NOT x_postcode_zz99 AND x_postcodes_loaded AND x_postcode IS NULL",
    ),
    Condition(
        "dids018",
        "practice_code",
        f"{_present('practice_code')} AND {_not_in('u_practice_code', 'default_practice_code')} AND x_practice IS NULL",
    ),
    Condition("dids080", "practice_code", "x_practice_open > d_test_date OR x_practice_close < d_test_date"),
    Condition("dids024", "referring_org_code", f"{_present('referring_org_code')} AND x_referrer_org IS NULL"),
    Condition(
        "dids079",
        "referring_org_code",
        "x_referrer_open > coalesce(d_request_date, d_test_date) "
        "OR x_referrer_close < coalesce(d_request_date, d_test_date)",
    ),
    Condition("dids057", "nicip_code", f"{_present('nicip_code')} AND x_nicip IS NULL AND x_local_nicip IS NULL"),
    Condition("dids077", "nicip_code", "x_nicip_retired_on <= d_test_date"),
    Condition(
        "dids059", "snomed_code", f"{_present('snomed_code')} AND n_snomed_code IN (SELECT code FROM snomed_invalid)"
    ),
    Condition("dids078", "snomed_code", "NOT x_snomed_active"),
    Condition(
        "dids082",
        "snomed_code",
        f"{_present('snomed_code')} AND x_nicip_snomed IS NOT NULL AND x_nicip_snomed <> n_snomed_code",
    ),
    Condition("dids068", "site_code", "x_site_ok AND x_sites_loaded AND x_site IS NULL"),
    Condition("dids081", "site_code", "x_site_open > d_test_date OR x_site_close < d_test_date"),
    # Project rule, not in the DIDS catalogue: a provider sends only its own sites' records. The
    # owner is the site reference's provider for the site code (ODS gives a site that moves to
    # another trust a new code under that trust, so the old code's row, with its close date,
    # keeps its old owner); with no site reference loaded, an ODS site code begins with its
    # provider's code. The message quotes nothing from the file, only the submitting provider.
    Condition(
        "didsx01",
        "site_code",
        "x_site_ok AND CASE WHEN x_sites_loaded THEN x_site_provider <> sub_provider "
        "ELSE NOT starts_with(u_site_code, sub_provider) END",
    ),
)


# The v2.0 timestamps (CODED PROCEDURE START / END, SERVICE REPORT ISSUE): ISO 8601 with an
# offset. `typed_select` parses each into UTC (`t_*`) and the UK local date (`l_*`); the test
# date of a v2.0 record is the local date of its procedure start (ADR 0009).
TIMESTAMP_FIELDS = ("procedure_start_ts", "procedure_end_ts", "report_issue_ts")
# The date at which a procedure code's validity is judged: the end, or the start when no end was sent.
_CODE_DATE = "coalesce(l_procedure_end_ts, d_test_date)"
# NICIP valid: national or notified local, and not made inactive more than 183 days before the
# procedure end (NS). SNOMED CT valid: a concept id, and a member of the imaging refset when a
# refset release is loaded (ref_snomed); with none loaded membership cannot be judged.
_NICIP_VALID = (
    f"(x_nicip IS NOT NULL OR x_local_nicip IS NOT NULL) AND NOT coalesce("
    f"date_diff('day', x_nicip_retired_on, {_CODE_DATE}) > 183, false)"
)
_SNOMED_VALID = (
    "n_snomed_code NOT IN (SELECT code FROM snomed_invalid) AND (NOT x_snomed_loaded OR x_snomed_active IS NOT NULL)"
)
_NICIP_BAD = f"({_present('nicip_code')} AND NOT ({_NICIP_VALID}))"
_SNOMED_BAD = f"({_present('snomed_code')} AND NOT ({_SNOMED_VALID}))"
_NICIP_GOOD = f"({_present('nicip_code')} AND {_NICIP_VALID})"
_SNOMED_GOOD = f"({_present('snomed_code')} AND {_SNOMED_VALID})"


def _timestamp_conditions() -> tuple[Condition, ...]:
    out = []
    for f in TIMESTAMP_FIELDS:
        out += [
            Condition(f"{f}_not_iso", f, f"{_present(f)} AND NOT x_{f}_format_ok"),
            Condition(f"{f}_offset", f, f"x_{f}_format_ok AND {_not_in(f'x_{f}_offset', 'timestamp_offset')}"),
        ]
    return tuple(out)


V2_CONDITIONS: tuple[Condition, ...] = (
    *_timestamp_conditions(),
    Condition("procedure_start_missing", "procedure_start_ts", _blank("procedure_start_ts")),
    Condition("procedure_end_missing", "procedure_end_ts", _blank("procedure_end_ts")),
    Condition("procedure_end_before_start", "procedure_end_ts", "t_procedure_end_ts < t_procedure_start_ts"),
    Condition("report_before_procedure_start", "report_issue_ts", "t_report_issue_ts < t_procedure_start_ts"),
    Condition("priority_missing", "priority", _blank("priority")),
    Condition(
        "priority_invalid",
        "priority",
        f"{_present('priority')} AND {_not_in('n_priority', 'service_request_priority')}",
    ),
    Condition("activity_category_missing", "activity_category", _blank("activity_category")),
    Condition(
        "activity_category_invalid",
        "activity_category",
        f"{_present('activity_category')} AND {_not_in('n_activity_category', 'activity_category')}",
    ),
    Condition(
        "waiting_list_clock_start_missing",
        "waiting_list_clock_start",
        f"list_contains($cl_waiting_list_category, n_activity_category) AND {_blank('waiting_list_clock_start')}",
    ),
    Condition("waiting_list_clock_start_invalid", "waiting_list_clock_start", _bad_date("waiting_list_clock_start")),
    Condition(
        "waiting_list_clock_start_after_procedure_start",
        "waiting_list_clock_start",
        "d_waiting_list_clock_start > d_test_date",
    ),
    # The SNOMED CT | NICIP combinations (NS): valid | invalid, invalid | missing or valid, both invalid.
    Condition("snomed_valid_nicip_invalid", "nicip_code", f"{_SNOMED_GOOD} AND {_NICIP_BAD}"),
    Condition(
        "snomed_invalid_nicip_missing_or_valid",
        "snomed_code",
        f"{_SNOMED_BAD} AND ({_blank('nicip_code')} OR {_NICIP_GOOD})",
    ),
    Condition("snomed_invalid_nicip_invalid", "nicip_code", f"{_SNOMED_BAD} AND {_NICIP_BAD}"),
    Condition("nicip_invalid_snomed_missing", "nicip_code", f"{_blank('snomed_code')} AND {_NICIP_BAD}"),
    # Both valid but the NICIP code maps to another SNOMED CT concept (meaning of DIDSREJ012 UNVERIFIED).
    Condition(
        "snomed_nicip_disagree",
        "snomed_code",
        f"{_SNOMED_GOOD} AND {_NICIP_GOOD} AND x_nicip_snomed IS NOT NULL AND x_nicip_snomed <> n_snomed_code",
    ),
)

CONDITIONS: dict[str, Condition] = {c.id: c for c in V1_CONDITIONS + V2_CONDITIONS}


def prepare(con: duckdb.DuckDBPyConnection, source: str = "staging") -> tuple[dict[str, bool], bool]:
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
    codes = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT trim(snomed_code) FROM {source} WHERE nullif(trim(snomed_code), '') IS NOT NULL"
        ).fetchall()
    ]
    con.execute("CREATE OR REPLACE TEMP TABLE snomed_invalid (code VARCHAR)")
    bad = [c for c in codes if not snomed_id_valid(c)]
    if bad:
        con.executemany("INSERT INTO snomed_invalid VALUES (?)", [[c] for c in bad])
    sites, postcodes, snomed = con.execute(
        "SELECT (SELECT count(*) > 0 FROM ref_site), (SELECT count(*) > 0 FROM ref_postcode), "
        "(SELECT count(*) > 0 FROM ref_snomed)"
    ).fetchall()[0]
    has_dups = con.execute("SELECT count(*) > 0 FROM dups").fetchall()[0][0]
    return {"sites_loaded": sites, "postcodes_loaded": postcodes, "snomed_loaded": snomed}, has_dups


# The local date a v1.0 date item stands for in a v2.0 record (ADR 0009): the test date is the
# procedure start's, the report date the report issue's.
_DERIVED_DATE = {"test_date": "procedure_start_ts", "report_date": "report_issue_ts"}
_DATE_ITEMS = spec.DATE_FIELDS + ("waiting_list_clock_start",)


def _date_column(c: str) -> str:
    parsed = (
        f"CASE WHEN regexp_full_match(s.n_{c}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
        f"THEN try_strptime(s.n_{c}, '%Y-%m-%d')::DATE END"
    )
    if c in _DERIVED_DATE:
        parsed = f"coalesce({parsed}, {spec.local_date_sql('s.t_' + _DERIVED_DATE[c])})"
    return f"{parsed} AS d_{c}"


# CCYY-MM-DD exactly: strptime alone would also take 2026-1-2.
_DATES = ", ".join(
    [_date_column(c) for c in _DATE_ITEMS] + [f"{spec.local_date_sql('s.t_' + f)} AS l_{f}" for f in TIMESTAMP_FIELDS]
)
_TRIMMED = ", ".join(f"nullif(trim(s0.{c}), '') AS n_{c}" for c in spec.STAGING_COLUMNS)
_ISO = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})"


def _timestamp(f: str) -> str:
    """SQL over s1: a v2.0 timestamp's format test, its offset as sent, and the instant in UTC.

    CCYY-MM-DDThh:mm:ss then Z or ±hh:mm (max an25). The offset is taken off the clock time, so
    every date comparison is between instants (DIG: "the time zone offset should be factored
    into any date comparison"); which offsets are allowed is the pack's code list
    `timestamp_offset`, tested by a rule.
    """
    n = f"s1.n_{f}"
    clock = f"try_strptime(left({n}, 19), '%Y-%m-%dT%H:%M:%S')"
    offset = f"CASE WHEN right({n}, 1) = 'Z' THEN 'Z' ELSE right({n}, 6) END"
    minutes = (
        f"CASE WHEN right({n}, 1) = 'Z' THEN 0 ELSE (CASE substr({n}, 20, 1) WHEN '-' THEN -1 ELSE 1 END) * "
        f"(TRY_CAST(substr({n}, 21, 2) AS INTEGER) * 60 + TRY_CAST(substr({n}, 24, 2) AS INTEGER)) END"
    )
    ok = f"(regexp_full_match({n}, '{_ISO}') AND {clock} IS NOT NULL)"
    return (
        f"{ok} AS x_{f}_format_ok, {offset} AS x_{f}_offset, "
        f"CASE WHEN {ok} THEN {clock} - to_minutes(({minutes})::BIGINT) END AS t_{f}"
    )


_TIMESTAMPS = ", ".join(_timestamp(f) for f in TIMESTAMP_FIELDS)
# Codes looked up in reference tables, upper-cased once.
_UPPER = ", ".join(
    f"upper(s1.n_{c}) AS u_{c}" for c in ("practice_code", "referring_org_code", "nicip_code", "site_code", "postcode")
)


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
               $snomed_loaded::BOOLEAN AS x_snomed_loaded,
               st.site_code AS x_site, st.provider_code AS x_site_provider,
               st.open_date AS x_site_open, st.close_date AS x_site_close,
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
                   regexp_full_match(s1.n_site_code, '[A-Za-z0-9]{{5,12}}') AS x_site_ok,
                   {_TIMESTAMPS}
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
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
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


def message_sql(template: str, prefix: str) -> tuple[str, dict]:
    """SQL building a pack's message: its text as bound parameters (`$<prefix>_<n>`), its
    placeholders as the columns of `PLACEHOLDERS`. ValueError for an unknown placeholder."""
    parts, params = [], {}
    for n, piece in enumerate(_PLACEHOLDER.split(template)):
        if n % 2:
            if piece not in PLACEHOLDERS:
                raise ValueError(
                    f"the message placeholder {{{piece}}} is not one of "
                    f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
                )
            parts.append(f"coalesce({PLACEHOLDERS[piece]}, '')")
        elif piece:
            params[f"{prefix}_{n}"] = piece
            parts.append(f"${prefix}_{n}::VARCHAR")
    return ("concat(" + ", ".join(parts) + ")" if parts else "''"), params


def code_list_params(sql: str, code_lists: dict[str, tuple[str, ...]]) -> dict:
    """The `$cl_<name>` parameters `sql` reads, from the pack's code lists (DuckDB refuses
    parameters a statement does not use)."""
    out = {}
    for name in set(re.findall(r"\$cl_([a-z0-9_]+)", sql)):
        if name not in code_lists:
            raise ValueError(f"the spec pack has no code list {name!r}, which its rules need")
        out[f"cl_{name}"] = list(code_lists[name])
    return out


def screen_select(
    typed: str,
    columns: str = "",
    rules: tuple[Rule, ...] | None = None,
    code_lists: dict[str, tuple[str, ...]] | None = None,
) -> tuple[str, dict]:
    """SQL: one row per typed row of `typed` (a `typed_select` subquery): `file_no`, `line`; `_reject` and
    `_warn`, whether it breaks any reject rule / any warning rule; `_issues`, the list of the
    issues it raises as structs (code, severity, field, message), NULL when there are none;
    then `columns` (SQL over the typed row `t`). Returns the SQL and the parameters it binds
    (each rule's code, severity, field and message text, and the code lists). `rules` default
    to the v1.0 pack's.

    Each rule's condition is evaluated once per row (columns `_c<i>`); CASE builds the messages
    only for the rows that break something, which in a real file are few. Conditions are code
    in this module, never user input; values from the file are only ever columns, and
    everything a pack supplies (codes, messages, code lists) is a bound parameter.
    """
    if rules is None:
        from ingest import spec_pack

        pack = spec_pack.default_pack("1.0")
        rules, code_lists = pack.rules, pack.code_lists
    conditions = ", ".join(f"coalesce(({rule.condition}), false) AS _c{i}" for i, rule in enumerate(rules))

    def any_of(severity: str) -> str:
        return " OR ".join(f"_c{i}" for i, rule in enumerate(rules) if rule.severity == severity) or "false"

    params, cases = {}, []
    for i, rule in enumerate(rules):
        message, message_params = message_sql(rule.message, f"r{i}_m")
        params.update(message_params)
        params[f"r{i}_code"], params[f"r{i}_sev"], params[f"r{i}_field"] = rule.code, rule.severity, rule.field
        cases.append(
            f"CASE WHEN _c{i} THEN {{'code': $r{i}_code::VARCHAR, 'severity': $r{i}_sev::VARCHAR, "
            f"'field': $r{i}_field::VARCHAR, 'message': ({message})::VARCHAR}} END"
        )
    sql = f"""
        SELECT file_no, line, _reject, _warn,
               CASE WHEN _reject OR _warn THEN list_filter([{", ".join(cases)}], lambda x: x IS NOT NULL) END AS _issues
               {", " + columns if columns else ""}
        FROM (
            SELECT t.*, {any_of(REJECT)} AS _reject, {any_of(WARNING)} AS _warn
            FROM (SELECT t.*, {conditions} FROM ({typed}) t) t
        ) t
    """
    params.update(code_list_params(sql, code_lists or {}))
    return sql, params


def __getattr__(name: str):
    """`RULES`: the v1.0 rules as the shipped pack binds them (tests and docs read them)."""
    if name == "RULES":
        from ingest import spec_pack

        return spec_pack.default_pack("1.0").rules
    raise AttributeError(name)
