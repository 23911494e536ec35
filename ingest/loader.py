"""Take one submission file into the store, in one transaction (architecture §2, §4, §7).

    read (reader.py) -> validate (validation.py) -> pseudonymise -> load

What a load does, all or nothing:
- logs the file in `submission` (accepted, or rejected with its file-level errors);
- writes every rejection and warning to `issue`, and the raw text of rejected rows to
  `quarantine` (the only place raw identifiers are kept);
- supersedes the provider's earlier accepted file for the same period: its records leave
  the store;
- replaces any earlier version of a record with the same (site, accession number) that the same
  provider sent, counting how many were replaced, so nothing is counted twice;
- inserts the accepted records, pseudonymised, with modality, body area and test group
  derived from the NICIP reference.

A crash anywhere before COMMIT leaves the store as it was. Publishing a snapshot is a separate
step (`store.publish`), so a batch of files can be loaded and published once.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from did_model import spec
from did_months import parse_period
from ingest import incremental, ownership, pseudonymise, reader, spec_pack, timetable, validation


@dataclass
class LoadResult:
    file: str
    provider: str
    period: str  # YYYY-MM
    status: str  # accepted / rejected
    file_errors: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    issues: list[dict] = field(default_factory=list)  # the first `issue_limit` issues
    issues_total: int = 0
    submission_id: int | None = None
    timeliness: str | None = None
    version: str | None = None  # the DIDS version the file is written in (None: not readable)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)


def infer_from_name(path: Path) -> tuple[str | None, str | None]:
    """Provider and period from a conventional file name DID_<provider>_<YYYYMM>.csv."""
    m = spec.FILE_NAME.match(Path(path).name)
    if not m:
        return None, None
    period = m["period"]
    return m["provider"].upper(), f"{period[:4]}-{period[4:]}"


def _csv_field(col: str) -> str:
    return (
        f"CASE WHEN t.{col} LIKE '%,%' OR t.{col} LIKE '%\"%' "
        f"THEN '\"' || replace(t.{col}, '\"', '\"\"') || '\"' ELSE coalesce(t.{col}, '') END"
    )


def _raw_row_sql(fields) -> str:
    """SQL: the rejected row as CSV text again, in its version's item order, for quarantine (the
    only place raw values are kept)."""
    return " || ',' || ".join(_csv_field(c) for c in fields)


# Small files are checked together (load_many): planning the screening statement costs about as
# much as checking a few thousand rows, so a file of a few hundred rows paid mostly for planning.
BATCH_BYTES = 2_000_000  # ≈ 15,000 rows; a larger file is checked on its own
BATCH_FILES = 64


@dataclass
class Checked:
    """A file read and judged, ready to load: the verdict plus the rows to write, as Arrow tables.

    Checking touches no store table, so it can run on its own cursor (in another thread) while
    the previous file's load transaction runs; see `load_many`.
    """

    path: Path
    provider: str
    period: date
    submitted_on: date
    result: LoadResult
    read: reader.ReadResult | None = None
    file_no: int = 0  # its place in the batch it was checked with
    # Every row's screen (line, _reject, _warn, then the `record` columns, pseudonymised) and the
    # rejected lines: the rows to load are the screen's rows less those lines (load_checked).
    screen: pa.Table | None = None
    rejected_lines: pa.Array | None = None
    issues: pa.Table | None = None  # (line, code, severity, field, message)
    quarantine: pa.Table | None = None  # (line, raw) of rejected rows
    undo: Undo | None = None  # after load_checked(undoable=True): how to take the load back

    @property
    def file(self) -> reader.ReadResult:
        """`read`, for the steps that only ever see a file that could be read."""
        if self.read is None:
            raise ValueError(f"{self.path.name} could not be read")
        return self.read


@dataclass
class Undo:
    """What a committed load changed that `undo` must put back: its submission, and the records
    it deleted (the superseded file's and the earlier versions it replaced)."""

    submission_id: int
    removed: list[pa.Table] = field(default_factory=list)


def check(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    provider: str,
    period_text: str,
    submitted_on: date | None = None,
    issue_limit: int = 200,
    key: str | None = None,
) -> Checked:
    """Validate `path` and prepare its rows. Raises ownership.SubmissionRefused (a ValueError), before
    anything is read, for a provider code that is not a known ODS code, a file named for another
    provider, a submission date in the future or before the period, or one after the period's
    final close (`timetable.check_open`).

    With `key`, also the rows to load (pseudonymised with it), the issues and the quarantine.
    """
    return check_batch(con, [(path, provider, period_text, submitted_on)], issue_limit, key)[0]


def check_batch(con: duckdb.DuckDBPyConnection, jobs, issue_limit: int = 200, key: str | None = None) -> list[Checked]:
    """Validate several files, each judged on its own, the CSV files in one screening pass.

    `jobs` are (path, provider, period YYYY-MM, submitted_on). No store table is touched. Each
    file's rows are told apart by `file_no`, its context (provider, period, submission date) is
    a row of `batch_files`, and a duplicate is one within a file: the verdicts are the ones each
    file would get alone (tests/ingest/test_loader.py checks this against one file at a time).
    """
    checks = [_begin(con, *job) for job in jobs]
    csvs: dict[str, list[Checked]] = {}  # by DIDS version: each version's rules are screened together
    for no, checked in enumerate(checks):
        try:
            checked.read = reader.read_file(con, checked.path, file_no=no)
            checked.result.version = checked.read.version
            _check_version(checked)
        except reader.FileError as err:
            checked.read = None
            checked.result.file_errors = [{"code": err.code, "message": err.message}]
            checked.result.counts = {"records": 0, "accepted": 0, "rejected": 0, "with_warnings": 0, "replaced": 0}
            continue
        checked.file_no = no
        if checked.read.format == "csv":
            csvs.setdefault(checked.read.version, []).append(checked)
        else:  # an XML file's rows are built in Python, with their own Arrow types: checked alone
            _judge_all(con, [checked], issue_limit, key)
    for group in csvs.values():
        _judge_all(con, group, issue_limit, key)
    return checks


def _check_version(checked: Checked) -> None:
    """FileError when the file is not in the DIDS version its period must be sent in.

    Activity from April 2026 is DIDS v2.0 (did-v2.md); a file for a period reports the month
    before it, so files for 2026-05 onwards are v2.0 and earlier ones v1.0 (spec_pack.version_for_period).
    """
    wanted = spec_pack.version_for_period(checked.period)
    got = checked.file.version
    if got != wanted:
        pack = spec_pack.default_pack(wanted)
        raise reader.FileError(
            "DIDSX10",
            f"{checked.path.name} is a DIDS v{got} file, but a file for "
            f"{checked.period:%Y-%m} reports {pack.months} (the month before it is sent), "
            f"which is sent in DIDS v{wanted}; send this month's extract as DIDS v{wanted}",
        )


def _begin(
    con: duckdb.DuckDBPyConnection, path: Path, provider: str, period_text: str, submitted_on: date | None
) -> Checked:
    path = Path(path)
    period = parse_period(period_text)
    provider = ownership.provider_code(provider)
    ownership.check_file_name(path, provider)
    submitted_on = submitted_on or date.today()
    ownership.check_date(period, submitted_on)
    timetable.check_open(con, period, submitted_on)
    ownership.check_known(con, provider)
    name = path.name if len(path.name) <= 120 else path.name[:60] + "…" + path.name[-40:]
    out = LoadResult(
        file=name,
        provider=provider,
        period=f"{period:%Y-%m}",
        status="rejected",
        timeliness=timetable.timeliness(con, period, submitted_on),
    )
    return Checked(path, provider, period, submitted_on, out)


def _judge_all(con: duckdb.DuckDBPyConnection, reads: list[Checked], issue_limit: int, key: str | None) -> None:
    """Screen the rows of every file in `reads` at once, then give each file its verdict."""
    screen, found = _screen(con, reads, key)
    for checked in reads:
        if len(reads) == 1:
            mine, my_found = screen, found
        else:
            mine = screen.filter(pc.equal(screen["file_no"], checked.file_no))
            my_found = found.filter(pc.equal(found["file_no"], checked.file_no))
        _judge(con, checked, mine.drop_columns(["file_no"]), my_found.drop_columns(["file_no"]), issue_limit, key)


def _screen(con: duckdb.DuckDBPyConnection, reads: list[Checked], key: str | None) -> tuple[pa.Table, pa.Table]:
    """One set-wise pass over the rows of `reads`, registered together as `staging`.

    Over Arrow batches, so that DuckDB uses every core, over `typed_select` of every row (parsed
    dates, reference lookups): does the row break any reject rule, any warning rule? if so,
    which, with their messages (built only for those rows: most rows of a real file break
    nothing); and, when `key` is given, its `record` columns (pseudonymised). Returns the screen
    (`file_no`, `line`, `_reject`, `_warn`, then the record columns) and the issues (`file_no`,
    `line`, `code`, `severity`, `field`, `message`).
    """
    tables = [c.file.table for c in reads]
    reader.register_rows(con, "staging", tables[0] if len(tables) == 1 else pa.concat_tables(tables))
    # Each file's submission context, bound as lists (one row per file).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE batch_files AS SELECT unnest($nos::INTEGER[]) AS file_no, "
        "unnest($dates::DATE[]) AS sub_date, unnest($periods::DATE[]) AS period_start, "
        "unnest($providers::VARCHAR[]) AS provider",
        {
            "nos": [c.file_no for c in reads],
            "dates": [c.submitted_on for c in reads],
            "periods": [c.period for c in reads],
            "providers": [c.provider for c in reads],
        },
    )
    lookups, has_dups = validation.prepare(con)
    params: dict[str, object] = dict(lookups)
    if key is not None:
        params["key"] = key
    pack = spec_pack.pack_for(con, reads[0].file.version)
    sql, rule_params = validation.screen_select(
        validation.typed_select("staging", has_dups),
        "" if key is None else _RECORD_COLUMNS,
        pack.rules,
        pack.code_lists,
    )
    # One statement run, not a relation: `con.sql` binds this 27 kB statement once to learn its
    # columns and again to run it, which cost more than screening a small file's rows did
    # (72 → 50 ms for a file of 80 rows). The copy DuckDB warns of is of the screen (a few MB for a
    # large provider-month), made as it is turned into Arrow.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)
        screen = con.execute(sql, {**params, **rule_params}).to_arrow_table(batch_size=reader.BATCH_ROWS)
    assert screen is not None  # None only for a result already read out; this one is fresh
    flagged = screen.filter(pc.or_(screen["_reject"], screen["_warn"])).select(["file_no", "line", "_issues"])
    if flagged["_issues"].num_chunks == 0:  # nothing flagged: an empty slice keeps the types without
        flagged = screen.slice(0, 0).select(["file_no", "line", "_issues"])  # building from Python (pandas)
    lists = flagged["_issues"].combine_chunks()
    parents = pc.list_parent_indices(lists)
    found = pa.table(
        {
            "file_no": pc.take(flagged["file_no"], parents),
            "line": pc.take(flagged["line"], parents),
            **{f: pc.struct_field(pc.list_flatten(lists), f) for f in ("code", "severity", "field", "message")},
        }
    )
    return screen.drop_columns(["_issues"]), found


def _judge(
    con: duckdb.DuckDBPyConnection,
    checked: Checked,
    screen: pa.Table,
    found: pa.Table,
    issue_limit: int,
    key: str | None,
) -> None:
    """One file's verdict and counts from its screen and issues; with `key`, what to load."""
    out = checked.result
    # From the screen's flags, not from comparing the issues' severity with a Python string:
    # converting a Python value is what makes pyarrow import pandas (0.15 s of `did submit`).
    screen_lines = screen["line"]
    rejected_lines = pc.unique(screen_lines.filter(screen["_reject"]))
    warned_lines = pc.unique(screen_lines.filter(screen["_warn"]))
    records, rejected = checked.file.rows, len(rejected_lines)
    warned = (
        len(warned_lines) - pc.sum(pc.is_in(warned_lines, value_set=rejected_lines)).as_py() if len(warned_lines) else 0
    )
    out.status = "accepted"
    out.issues_total = found.num_rows
    out.issues = found.sort_by([("line", "ascending"), ("code", "ascending")]).slice(0, issue_limit).to_pylist()
    out.counts = {
        "records": records,
        "accepted": records - rejected,
        "rejected": rejected,
        "with_warnings": warned,
        "replaced": 0,
    }
    if key is None:
        return
    checked.screen, checked.rejected_lines = screen, rejected_lines
    checked.issues = found
    if rejected:
        con.register("rejected_lines", pa.table({"line": rejected_lines}))
        try:
            checked.quarantine = con.sql(
                f"SELECT t.line, {_raw_row_sql(i.field for i in spec_pack.pack_for(con, checked.file.version).items)} "
                "AS raw FROM staging t SEMI JOIN rejected_lines USING (line) "
                "WHERE t.file_no = $file_no",
                params={"file_no": checked.file_no},
            ).to_arrow_table()
        finally:
            con.unregister("rejected_lines")


def load_checked(con: duckdb.DuckDBPyConnection, checked: Checked, undoable: bool = False) -> LoadResult:
    """Write a checked file into the store in one transaction (or log it as rejected).

    `undoable` keeps in `checked.undo` the records the load deletes, so that `undo` can take it
    back if it cannot be published (one file at a time: `submit.load_and_publish`).
    """
    out = checked.result
    if out.status == "rejected":
        if checked.path.exists() and checked.path.is_file():
            out.submission_id = _log_rejected_file(
                con, checked.path, checked.provider, checked.period, checked.submitted_on, out
            )
            checked.undo = Undo(out.submission_id) if undoable else None
        return out
    removed: list[pa.Table] | None = [] if undoable else None
    con.register("checked_screen", checked.screen)
    con.register("checked_rejected", pa.table({"line": checked.rejected_lines}))
    con.register("checked_issues", checked.issues)
    # A rejected line keeps none of its rows (an XML record's activities share one line). A view,
    # so that the rows are filtered as they are inserted rather than copied first.
    con.execute(
        "CREATE OR REPLACE TEMP VIEW checked_records AS SELECT * EXCLUDE (line, _reject, _warn) "
        "FROM checked_screen ANTI JOIN checked_rejected USING (line)"
    )
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            sid = _insert_submission(
                con,
                checked.path,
                checked.provider,
                checked.period,
                checked.submitted_on,
                "accepted",
                checked.read,
                out.counts,
                out.timeliness,
            )
            _supersede_earlier(con, checked.provider, checked.period, sid, removed)
            replaced = _replace_earlier_versions(con, sid, checked.provider, removed)
            _insert_records(con, sid)
            con.execute("INSERT INTO issue SELECT ?, * FROM checked_issues", [sid])
            if checked.quarantine is not None:
                con.register("checked_quarantine", checked.quarantine)
                con.execute(
                    "INSERT INTO quarantine SELECT ?, line, raw, ? FROM checked_quarantine",
                    [sid, datetime.now(UTC).replace(tzinfo=None)],
                )
                con.unregister("checked_quarantine")
            con.execute("UPDATE submission SET rows_replaced = ? WHERE submission_id = ?", [replaced, sid])
            # Every record this load inserted, superseded or replaced is the provider's own
            # (`provider_code` is the submitting provider; the deletes filter on it).
            incremental.refingerprint(con, {checked.provider})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.execute("DROP VIEW IF EXISTS checked_records")
        for name in ("checked_screen", "checked_rejected", "checked_issues"):
            con.unregister(name)
    out.counts["replaced"] = replaced
    out.submission_id = sid
    checked.undo = Undo(sid, removed) if removed is not None else None
    return out


def undo(con: duckdb.DuckDBPyConnection, done: Undo) -> None:
    """Take back a committed load, in one transaction: its submission, records, issues, quarantine
    and sites go; the records it superseded or replaced come back, their submissions accepted
    again. The store is then as it was before the file (but for the submission id it used)."""
    sid = done.submission_id
    con.execute("BEGIN TRANSACTION")
    try:
        # The records it inserted, superseded or replaced are all its provider's (`load_checked`).
        providers = {
            r[0] for r in con.execute("SELECT provider_code FROM submission WHERE submission_id = ?", [sid]).fetchall()
        }
        for table in ("record", "issue", "quarantine", "submission_site"):  # constants
            con.execute(f"DELETE FROM {table} WHERE submission_id = ?", [sid])
        for rows in done.removed:
            con.register("undo_rows", rows)
            try:
                con.execute("INSERT INTO record BY NAME SELECT * FROM undo_rows")
            finally:
                con.unregister("undo_rows")
        con.execute("UPDATE submission SET status = 'accepted', superseded_by = NULL WHERE superseded_by = ?", [sid])
        con.execute("DELETE FROM submission WHERE submission_id = ?", [sid])
        incremental.refingerprint(con, providers)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def load_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    provider: str,
    period_text: str,
    submitted_on: date | None = None,
    issue_limit: int = 200,
    dry_run: bool = False,
) -> LoadResult:
    """Validate `path` and, unless `dry_run`, load it into the working store behind `con`."""
    key = None if dry_run else pseudonymise.load_key()
    checked = check(con, path, provider, period_text, submitted_on, issue_limit, key)
    return checked.result if dry_run else load_checked(con, checked)


def _batches(jobs):
    """Consecutive jobs grouped for `check_batch`: up to BATCH_FILES files and BATCH_BYTES bytes;
    a larger file on its own."""
    batch: list = []
    size = 0
    for job in jobs:
        try:
            n = Path(job[0]).stat().st_size
        except OSError:
            n = 0  # the reader will say what is wrong with it
        if batch and (size + n > BATCH_BYTES or len(batch) >= BATCH_FILES):
            yield batch
            batch, size = [], 0
        batch.append(job)
        size += n
    if batch:
        yield batch


def load_many(con: duckdb.DuckDBPyConnection, jobs, issue_limit: int = 200):
    """Load files in order, checking the next batch of files on a second cursor while the
    current batch loads.

    `jobs` yields (path, provider, period, submitted_on). Yields each LoadResult in order. The
    loads themselves stay one transaction each, in order, on `con`; only the checking (reading,
    rules, pseudonymisation — no store table is written) overlaps, which uses the second core.
    Small files are checked several at a time (`check_batch`).
    """
    from concurrent.futures import ThreadPoolExecutor

    from ingest.store import cursor

    key = pseudonymise.load_key()
    checker = cursor(con)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for batch in _batches(jobs):
            future = pool.submit(check_batch, checker, batch, issue_limit, key)
            if pending is not None:
                for checked in pending.result():
                    yield load_checked(con, checked)
            pending = future
        if pending is not None:
            for checked in pending.result():
                yield load_checked(con, checked)
    checker.close()


def _insert_submission(
    con, path, provider, period, submitted_on, status, read, counts, timeliness, file_errors=None
) -> int:
    return con.execute(
        """
        INSERT INTO submission (provider_code, period, received_at, submitted_on, file_name, sha256, format,
                                status, timeliness, rows_read, rows_accepted, rows_rejected,
                                rows_with_warnings, file_errors)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        RETURNING submission_id
        """,
        [
            provider,
            period,
            datetime.now(UTC).replace(tzinfo=None),
            submitted_on,
            path.name,
            read.sha256 if read else reader.sha256_of(path),
            read.format if read else path.suffix.lstrip(".").lower(),
            status,
            timeliness,
            counts["records"],
            counts["accepted"],
            counts["rejected"],
            counts["with_warnings"],
            json.dumps(file_errors) if file_errors else None,
        ],
    ).fetchall()[0][0]


def _log_rejected_file(con, path, provider, period, submitted_on, out: LoadResult) -> int:
    con.execute("BEGIN TRANSACTION")
    try:
        sid = _insert_submission(
            con, path, provider, period, submitted_on, "rejected", None, out.counts, out.timeliness, out.file_errors
        )
        for err in out.file_errors:
            con.execute("INSERT INTO issue VALUES (?, NULL, ?, 'file', NULL, ?)", [sid, err["code"], err["message"]])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return sid


def _delete_records(con, sql: str, params: dict, removed: list[pa.Table] | None) -> int:
    """Run a DELETE FROM record; keep the deleted rows in `removed` when given. Returns how many."""
    if removed is None:
        return con.execute(sql, params).fetchall()[0][0]
    rows = con.sql(sql + " RETURNING *", params=params).to_arrow_table()
    removed.append(rows)
    return rows.num_rows


def _supersede_earlier(con, provider: str, period: date, sid: int, removed: list[pa.Table] | None) -> None:
    earlier = [
        r[0]
        for r in con.execute(
            "SELECT submission_id FROM submission WHERE provider_code = ? AND period = ? AND status = 'accepted' "
            "AND submission_id <> ?",
            [provider, period, sid],
        ).fetchall()
    ]
    for old in earlier:
        _delete_records(con, "DELETE FROM record WHERE submission_id = $old", {"old": old}, removed)
        con.execute(
            "UPDATE submission SET status = 'superseded', superseded_by = ? WHERE submission_id = ?", [sid, old]
        )


def _replace_earlier_versions(con, sid: int, provider: str, removed: list[pa.Table] | None) -> int:
    """Delete the earlier versions of the records about to be inserted; returns how many.

    Only the same provider's accepted submissions that sent records for one of this file's sites
    can hold one (`submission_site`), so only their rows are compared, whatever the size of the
    store. Another provider's record is never replaced: a file cannot take over records it does
    not own (its rows for another provider's site are rejected, DIDSX01).
    """
    sites = [r[0] for r in con.execute("SELECT DISTINCT site_code FROM checked_records").fetchall()]
    con.execute("INSERT INTO submission_site SELECT ?, unnest(?::VARCHAR[])", [sid, sites])
    candidates = [
        r[0]
        for r in con.execute(
            """
        SELECT DISTINCT ss.submission_id FROM submission_site ss JOIN submission s USING (submission_id)
        WHERE s.status = 'accepted' AND s.provider_code = $provider AND ss.submission_id <> $sid
          AND ss.site_code IN (SELECT unnest($sites))
        """,
            {"sid": sid, "sites": sites, "provider": provider},
        ).fetchall()
    ]
    if not candidates:
        return 0
    # DELETE reports how many rows it removed: the records this file replaces.
    return _delete_records(
        con,
        """
        DELETE FROM record r USING checked_records c
        WHERE r.submission_id IN (SELECT unnest($candidates::BIGINT[])) AND r.provider_code = $provider
          AND r.site_code = c.site_code AND r.accession_number = c.accession_number
        """,
        {"candidates": candidates, "provider": provider},
        removed,
    )


def _insert_records(con, sid: int) -> None:
    con.execute("INSERT INTO record SELECT ?, * FROM checked_records", [sid])


# The accepted rows as `record` rows (all columns but submission_id, in table order),
# pseudonymised: NHS number -> keyed hash, birth date -> age at test, postcode -> district
# (+ LSOA where a postcode lookup is loaded); modality, body area and test group from the NICIP
# reference, a notified local code loaded as its national code. Over `typed_select` rows, `t`.
_RECORD_COLUMNS = f"""
    t.sub_provider AS provider_code, t.n_site_code AS site_code, t.n_accession_number AS accession_number,
    {pseudonymise.PSEUDO_ID_SQL} AS patient_pseudo_id,
    t.n_nhs_number_status AS nhs_number_status,
    ({pseudonymise.AGE_SQL})::SMALLINT AS age_at_test,
    t.n_gender AS sex, t.n_ethnic_category AS ethnic_category,
    {pseudonymise.POSTCODE_DISTRICT_SQL} AS postcode_district,
    t.x_lsoa AS lsoa_code,
    t.u_practice_code AS practice_code,
    t.n_patient_source AS patient_source,
    CASE WHEN t.n_referrer_code IS NULL THEN NULL WHEN t.x_referrer_ok THEN t.n_referrer_code ELSE '99' END
        AS referrer_code,
    t.u_referring_org_code AS referring_org_code,
    t.d_request_date AS request_date, t.d_request_received_date AS request_received_date,
    t.d_test_date AS test_date, t.d_report_date AS report_date,
    coalesce(CASE WHEN t.x_nicip IS NULL THEN t.x_local_nicip END, t.u_nicip_code) AS nicip_code,
    t.n_snomed_code AS snomed_code,
    CASE WHEN t.x_nicip IS NULL AND t.x_local_nicip IS NOT NULL THEN t.u_nicip_code END AS local_code,
    t.x_modality AS modality, t.x_body_area AS body_area, t.x_test_group AS test_group,
    date_trunc('month', t.d_test_date)::DATE AS activity_month,
    t.n_priority AS priority, t.n_activity_category AS activity_category,
    t.d_waiting_list_clock_start AS waiting_list_clock_start,
    t.t_procedure_start_ts AS procedure_start_utc, t.t_procedure_end_ts AS procedure_end_utc,
    t.t_report_issue_ts AS report_issue_utc
"""
