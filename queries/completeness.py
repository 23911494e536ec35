"""Who submitted, when, and whether it was accepted: the completeness matrix and its coverage.

Reads the `submission` table (one narrow row per file received, never `record`), `ref_site`,
`ref_trust` and `ref_timetable` (when the store has them).

**Expected providers** for a period (submission month) P — the denominator of coverage:
- every provider with an imaging site in `ref_site` that was open in P's activity month
  (P − 1), and
- every provider with an accepted file in any of the 12 periods before P (the convention of the
  home page's "providers submitting"), and
- every provider that sent any file for P (accepted or not).

**Cell status** of a provider-period, from the files received for it:
- `resubmitted` — an accepted file after an earlier file for the same period (one that was
  superseded, or rejected as a whole). A file rejected as a whole *after* the accepted one
  changes nothing: the accepted file still counts, with its own timeliness;
- `on_time` / `late` — a single accepted file, stamped against the timetable on arrival;
- `rejected` — files were received but none was accepted;
- `missing` — an expected provider with no file once the period's window has closed (as of
  `as_of`, default today);
- `not_due` — an expected provider with no file while the window is still open.

Scope: the matrix is for the central team only; a provider sees its own submission history
through `submission_history`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from did_errors import UsageError
from did_model.scope import Scope, ScopeError
from did_months import add_months
from queries.connection import Snapshot, has_tables

STATUS_LABELS: dict[str, str] = {
    "on_time": "On time",
    "late": "Late",
    "resubmitted": "Resubmitted",
    "rejected": "Rejected",
    "missing": "Missing",
    "not_due": "Not yet due",
}
NOT_KNOWN = "Not known"
HISTORY_PERIODS = 12  # an accepted file in any of the previous 12 periods makes a provider expected
DEFAULT_CLOSE_DAY = 20  # ingest.timetable's default rule, for periods the timetable does not list
INCLUDED = ("on_time", "late", "resubmitted")  # statuses with an accepted file: the provider-period counts
WHICH_FILE_COLUMNS = (
    "provider_code",
    "period",
    "window_closes",
    "submitted_on",
    "final_closes",
    "period_state",
    "counts_file",
    "deadline_submission_id",
    "deadline_file",
)
WHICH_FILE_RULE = (
    "The file that counts for a month is the last good file: each accepted file replaces the month; until the "
    "provisional deadline that is the provisional figure, and late files are taken until the final close (DIDS "
    "v2.0: six months later; v1.0 months have none, so they stay provisional), after which the month is final."
)


def _require_central(scope: Scope, what: str) -> None:
    if not scope.is_central:
        raise ScopeError(f"{scope.user} ({scope.role}) may not see {what}: it is for the central team only")


def _trust_source(snap: Snapshot) -> str:
    # Constant SQL text: either the table or an empty relation of the same shape.
    if has_tables(snap, "ref_trust"):
        return "SELECT provider_code, provider_name, region_name FROM ref_trust"
    return (
        "SELECT NULL::VARCHAR AS provider_code, NULL::VARCHAR AS provider_name, NULL::VARCHAR AS region_name "
        "WHERE false"
    )


def _window_source(snap: Snapshot) -> str:
    # Constant SQL text; a snapshot published before final closes (issue 19) has none.
    if has_tables(snap, "ref_timetable"):
        has_final = snap.query(
            "SELECT count(*) AS n FROM duckdb_columns() WHERE database_name = current_database() "
            "AND table_name = 'ref_timetable' AND column_name = 'final_closes'"
        )["n"][0]
        return (
            f"SELECT period, window_closes, {'final_closes' if has_final else 'NULL::DATE'} AS final_closes, "
            "true AS listed FROM ref_timetable"
        )
    return (
        "SELECT NULL::DATE AS period, NULL::DATE AS window_closes, NULL::DATE AS final_closes, true AS listed "
        "WHERE false"
    )


def providers(snap: Snapshot, scope: Scope) -> pl.DataFrame:
    """Every provider the store knows (from ref_site and the submissions), with name, type and region.

    Columns: provider_code, provider_name, provider_type ('NHS trust' / 'Independent sector' /
    'Not known'), region. A provider role sees only its own providers.
    """
    frame = snap.query(
        f"""
        WITH sites AS (
            SELECT provider_code, min(provider_name) AS provider_name, min(provider_type) AS provider_type
            FROM ref_site GROUP BY provider_code
        ),
        trusts AS ({_trust_source(snap)}),
        codes AS (SELECT provider_code FROM sites UNION SELECT provider_code FROM submission)
        SELECT c.provider_code,
               coalesce(s.provider_name, t.provider_name, c.provider_code) AS provider_name,
               coalesce(s.provider_type, CASE WHEN t.provider_code IS NOT NULL THEN 'NHS trust' END,
                        $nk) AS provider_type,
               coalesce(t.region_name, $nk) AS region
        FROM codes c
        LEFT JOIN sites s USING (provider_code)
        LEFT JOIN trusts t USING (provider_code)
        ORDER BY c.provider_code
        """,
        {"nk": NOT_KNOWN},
    )
    visible = scope.visible_providers()
    return frame if visible is None else frame.filter(pl.col("provider_code").is_in(visible))


def periods(snap: Snapshot) -> list[date]:
    """Every period from the first to the last with a file received (oldest first)."""
    df = snap.query("SELECT min(period) AS first, max(period) AS last FROM submission")
    first, last = df["first"][0], df["last"][0]
    if first is None:
        return []
    out, p = [], first
    while p <= last:
        out.append(p)
        p = add_months(p, 1)
    return out


@dataclass(frozen=True)
class CompletenessTable:
    """The completeness matrix asked for: periods first … last judged as of a date, narrowed to a
    region and a provider type (None: all)."""

    first: date
    last: date
    as_of: date
    region: str | None = None
    provider_type: str | None = None

    def __post_init__(self) -> None:
        if self.first > self.last:
            raise UsageError("the first period is after the last: choose a first period no later than the last")


def completeness_table(snap: Snapshot, scope: Scope, t: CompletenessTable) -> pl.DataFrame:
    """`provider_months` for the request `t`: the page's matrix (and `did export completeness`'s)."""
    return provider_months(snap, scope, t.first, t.last, t.as_of, t.region, t.provider_type)


def provider_months(
    snap: Snapshot,
    scope: Scope,
    first: date,
    last: date,
    as_of: date | None = None,
    region: str | None = None,
    provider_type: str | None = None,
) -> pl.DataFrame:
    """The completeness matrix, long: one row per expected (or submitting) provider × period.

    Columns: provider_code, provider_name, provider_type, region, period, activity_month,
    status (see the module notes), status_label, files (received for the period), submission_id
    (the accepted file, if any), submitted_on, received_at, window_closes, records (rows
    accepted in the current file), then which file counts (`WHICH_FILE_COLUMNS`). Central scope only.
    """
    _require_central(scope, "the completeness matrix")
    frame = _statuses(snap, first, last, as_of or date.today())
    names = providers(snap, scope)
    out = frame.join(names, on="provider_code", how="left").with_columns(
        pl.col("provider_name").fill_null(pl.col("provider_code")),
        pl.col("provider_type").fill_null(NOT_KNOWN),
        pl.col("region").fill_null(NOT_KNOWN),
        pl.col("status").replace_strict(STATUS_LABELS, return_dtype=pl.String).alias("status_label"),
    )
    if region:
        out = out.filter(pl.col("region") == region)
    if provider_type:
        out = out.filter(pl.col("provider_type") == provider_type)
    return out.select(
        "provider_code",
        "provider_name",
        "provider_type",
        "region",
        "period",
        "activity_month",
        "status",
        "status_label",
        "files",
        "submission_id",
        "submitted_on",
        "received_at",
        "window_closes",
        "records",
        *WHICH_FILE_COLUMNS[4:],
    ).sort("provider_code", "period")


def files_that_count(snap: Snapshot, scope: Scope, first: date, last: date, as_of: date | None = None) -> pl.DataFrame:
    """Which file counts for each provider-month from `first` to `last` in the user's scope (a
    provider sees its own): the last good file now and, once the provisional deadline has passed,
    the one that counted then; and whether the period's figures are provisional or final.

    Columns: WHICH_FILE_COLUMNS. Rows with no file received are left out.
    """
    frame = _statuses(snap, first, last, as_of or date.today()).filter(pl.col("files") > 0)
    visible = scope.visible_providers()
    if visible is not None:
        frame = frame.filter(pl.col("provider_code").is_in(visible))
    return frame.select(WHICH_FILE_COLUMNS).sort("provider_code", "period")


def provider_statuses(
    snap: Snapshot, scope: Scope, providers: list[str] | None, first: date, last: date, as_of: date | None = None
) -> pl.DataFrame:
    """The matrix's status of each period from `first` to `last` for the providers asked (each one
    the user may see in detail; None: every provider, central scope only): provider_code, period,
    status, status_label, files. Only the periods each provider was expected for (module notes).
    The provider profile reads its submission timeliness from here, so it and the Completeness
    page agree."""
    if providers is None:
        _require_central(scope, "every provider's submissions")
    for code in providers or []:
        scope.check_provider(code)
    frame = _statuses(snap, first, last, as_of or date.today())
    if providers is not None:
        frame = frame.filter(pl.col("provider_code").is_in(providers))
    return (
        frame.with_columns(pl.col("status").replace_strict(STATUS_LABELS, return_dtype=pl.String).alias("status_label"))
        .select("provider_code", "period", "status", "status_label", "files")
        .sort("provider_code", "period")
    )


def _statuses(snap: Snapshot, first: date, last: date, as_of: date) -> pl.DataFrame:
    """Every expected provider × period from `first` to `last` with its status (module notes),
    unscoped and unnamed: provider_months adds the names and the scope check, coverage the counts."""
    frame = snap.query(
        f"""
        WITH RECURSIVE
        months(period) AS (
            SELECT $first::DATE UNION ALL
            SELECT (period + INTERVAL 1 MONTH)::DATE FROM months WHERE period < $last::DATE
        ),
        site_open AS (
            SELECT m.period, s.provider_code
            FROM months m JOIN ref_site s
              ON coalesce(s.open_date, DATE '1900-01-01') <= (m.period - INTERVAL 1 DAY)
             AND coalesce(s.close_date, DATE '9999-12-31') >= (m.period - INTERVAL 1 MONTH)
            GROUP BY ALL
        ),
        history AS (
            SELECT DISTINCT m.period, s.provider_code
            FROM months m JOIN submission s
              ON s.status IN ('accepted', 'superseded')
             AND s.period < m.period AND s.period >= m.period - INTERVAL {HISTORY_PERIODS} MONTH
        ),
        files AS (
            SELECT provider_code, period,
                   count(*) AS files,
                   max(submission_id) FILTER (WHERE status = 'accepted') AS submission_id,
                   min(submission_id) AS first_id
            FROM submission
            WHERE period BETWEEN $first AND $last
            GROUP BY ALL
        ),
        expected AS (
            SELECT period, provider_code FROM site_open
            UNION SELECT period, provider_code FROM history
            UNION SELECT period, provider_code FROM files
        ),
        windows AS ({_window_source(snap)}),
        at_deadline AS (  -- the last good file received by the provisional deadline
            SELECT s.provider_code, s.period, max(s.submission_id) AS deadline_submission_id
            FROM submission s LEFT JOIN windows w USING (period)
            WHERE s.period BETWEEN $first AND $last AND s.status IN ('accepted', 'superseded')
              AND s.submitted_on <= coalesce(w.window_closes, (s.period + INTERVAL {DEFAULT_CLOSE_DAY - 1} DAY)::DATE)
            GROUP BY ALL
        )
        SELECT e.provider_code, e.period,
               (e.period - INTERVAL 1 MONTH)::DATE AS activity_month,
               coalesce(f.files, 0)::BIGINT AS files,
               f.submission_id,
               s.submitted_on, s.received_at,
               coalesce(w.window_closes, (e.period + INTERVAL {DEFAULT_CLOSE_DAY - 1} DAY)::DATE) AS window_closes,
               CASE
                   WHEN f.submission_id > f.first_id THEN 'resubmitted'
                   WHEN f.submission_id IS NOT NULL THEN coalesce(s.timeliness, 'on_time')
                   WHEN f.files > 0 THEN 'rejected'
                   WHEN coalesce(w.window_closes, (e.period + INTERVAL {DEFAULT_CLOSE_DAY - 1} DAY)::DATE) < $as_of
                       THEN 'missing'
                   ELSE 'not_due'
               END AS status,
               s.rows_accepted AS records,
               s.file_name AS counts_file,
               w.final_closes, coalesce(w.listed, false) AS listed,
               CASE WHEN coalesce(w.window_closes, (e.period + INTERVAL {DEFAULT_CLOSE_DAY - 1} DAY)::DATE) < $as_of
                    THEN d.deadline_submission_id END AS deadline_submission_id,
               CASE WHEN coalesce(w.window_closes, (e.period + INTERVAL {DEFAULT_CLOSE_DAY - 1} DAY)::DATE) < $as_of
                    THEN ds.file_name END AS deadline_file
        FROM expected e
        LEFT JOIN files f USING (provider_code, period)
        LEFT JOIN submission s ON s.submission_id = f.submission_id
        LEFT JOIN windows w ON w.period = e.period
        LEFT JOIN at_deadline d USING (provider_code, period)
        LEFT JOIN submission ds ON ds.submission_id = d.deadline_submission_id
        """,
        {"first": first, "last": last, "as_of": as_of},
    )
    return _with_final_close(frame, as_of)


def _with_final_close(frame: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Fill the final close of periods the timetable does not list (its default rule) and say
    whether each period is provisional or final as of `as_of`."""
    from did_model.timetable import final_closes

    unlisted = {p: final_closes(p) for p in frame.filter(~pl.col("listed"))["period"].unique().to_list()}
    defaults = pl.col("period").replace_strict(unlisted, default=None, return_dtype=pl.Date)
    frame = frame.with_columns(
        pl.when(pl.col("listed")).then(pl.col("final_closes")).otherwise(defaults).alias("final_closes")
    ).drop("listed")
    return frame.with_columns(
        pl.when(pl.col("final_closes") < as_of)
        .then(pl.lit("final"))
        .otherwise(pl.lit("provisional"))
        .alias("period_state")
    )


def coverage_by_period(matrix: pl.DataFrame) -> pl.DataFrame:
    """Per period: expected providers, providers included (an accepted file), and the percentage.

    Takes `provider_months(...)` so the figures follow the same filters. While a period's window
    is open its not-yet-due providers are counted as expected and not (yet) included.
    Columns: period, expected, included, coverage (0-1), missing, late, resubmitted, rejected.
    """
    return (
        matrix.group_by("period")
        .agg(
            pl.len().alias("expected"),
            pl.col("status").is_in(INCLUDED).sum().alias("included"),
            *[
                (pl.col("status") == s).sum().alias(s)
                for s in ("missing", "late", "resubmitted", "rejected", "not_due")
            ],
        )
        .with_columns((pl.col("included") / pl.col("expected")).alias("coverage"))
        .select("period", "expected", "included", "coverage", "missing", "late", "resubmitted", "rejected", "not_due")
        .sort("period")
    )


def providers_included(snap: Snapshot, period: date) -> tuple[int, int]:
    """(included, expected) providers for `period` by the matrix's definitions (module notes).

    The one definition of coverage: the home page's "Providers submitting" and the monthly
    report's "% of organisations included" call this, so they always match the Completeness
    page. Counts only, naming no provider, so any role may see them.
    """
    statuses = _statuses(snap, period, period, date.today())["status"]
    return int(statuses.is_in(INCLUDED).sum()), statuses.len()


def coverage_by_provider(matrix: pl.DataFrame) -> pl.DataFrame:
    """Per provider: periods expected (window closed or a file sent), periods included, percentage.

    Columns: provider_code, provider_name, provider_type, region, expected, included, coverage,
    missing, late, resubmitted, rejected. Worst coverage first.
    """
    due = matrix.filter(pl.col("status") != "not_due")
    return (
        due.group_by("provider_code", "provider_name", "provider_type", "region")
        .agg(
            pl.len().alias("expected"),
            pl.col("status").is_in(INCLUDED).sum().alias("included"),
            *[(pl.col("status") == s).sum().alias(s) for s in ("missing", "late", "resubmitted", "rejected")],
        )
        .with_columns((pl.col("included") / pl.col("expected")).alias("coverage"))
        .sort(["coverage", "provider_code"])
    )


def submission_history(snap: Snapshot, scope: Scope, provider: str) -> pl.DataFrame:
    """Every file a provider sent, newest first: what was received, when, and what was decided.

    Columns: submission_id, period, file_name, format, received_at, submitted_on, status,
    timeliness, rows_read, rows_accepted, rows_rejected, rows_with_warnings, rows_replaced,
    superseded_by, file_errors. Raises ScopeError outside the user's scope.
    """
    scope.check_provider(provider)
    return snap.query(
        """
        SELECT submission_id, period, file_name, format, received_at, submitted_on, status, timeliness,
               rows_read, rows_accepted, rows_rejected, rows_with_warnings, rows_replaced, superseded_by,
               file_errors
        FROM submission WHERE provider_code = $p
        ORDER BY period DESC, submission_id DESC
        """,
        {"p": provider.upper()},
    )


def submission_provider(snap: Snapshot, submission_id: int) -> str | None:
    """The provider that sent a submission (None if there is no such submission)."""
    df = snap.query("SELECT provider_code FROM submission WHERE submission_id = $id", {"id": submission_id})
    return df["provider_code"][0] if df.height else None


# --- The monthly pre-publication check ----------------------------------------------------------

PRE_PUBLICATION_CHECKS: dict[str, str] = {
    "missing": "Missing",
    "late": "Late",
    "rejected": "Rejected, nothing accepted",
    "resubmitted": "Resubmitted",
    "volume_drop": "Volume drop",
    "volume_spike": "Volume spike",
    "quality_fell": "Quality fell",
}


@dataclass(frozen=True)
class PrePublication:
    """The pre-publication check asked for: one period, its windows judged as of a date."""

    period: date
    as_of: date


def pre_publication_table(snap: Snapshot, scope: Scope, t: PrePublication) -> pl.DataFrame:
    """`pre_publication` for the request `t`: the page's findings (and `did export pre-publication`'s)."""
    return pre_publication(snap, scope, t.period, as_of=t.as_of)


def pre_publication(
    snap: Snapshot, scope: Scope, period: date, as_of: date | None = None, volume_rule=None, fall_rule=None
) -> pl.DataFrame:
    """What to look at before publishing `period`'s figures, one row per finding.

    Who is missing, late, rejected or resubmitted for the period; whose volume for its activity
    month (period − 1) looks wrong against their own history, overall and by modality; whose
    overall quality score fell. Columns: check (a key of PRE_PUBLICATION_CHECKS), check_label,
    provider_code, provider_name, modality (volume rows; 'All' for the provider total), detail
    (a sentence), value (records for volumes, points for quality, else null). Central only.
    """
    from queries import quality, volumes

    _require_central(scope, "the pre-publication check")
    volume_rule = volume_rule or volumes.DEFAULT_RULE
    fall_rule = fall_rule or quality.DEFAULT_FALL
    matrix = provider_months(snap, scope, period, period, as_of=as_of)
    names = providers(snap, scope).select("provider_code", "provider_name")
    rows: list[dict] = []

    def add(check: str, code: str, detail: str, modality: str | None = None, value: float | None = None) -> None:
        rows.append({"check": check, "provider_code": code, "modality": modality, "detail": detail, "value": value})

    for r in matrix.filter(pl.col("status") == "missing").iter_rows(named=True):
        add("missing", r["provider_code"], f"no file accepted; the window closed on {r['window_closes']:%d %B %Y}")
    for r in matrix.filter(pl.col("status") == "late").iter_rows(named=True):
        add(
            "late",
            r["provider_code"],
            f"received {r['submitted_on']:%d %B %Y}, after the window closed on {r['window_closes']:%d %B %Y}",
        )
    for r in matrix.filter(pl.col("status") == "rejected").iter_rows(named=True):
        add("rejected", r["provider_code"], f"{r['files']} file(s) received, none accepted")
    for r in matrix.filter(pl.col("status") == "resubmitted").iter_rows(named=True):
        then = r["deadline_file"]
        add(
            "resubmitted",
            r["provider_code"],
            f"{r['files']} files received; the latest, sent "
            f"{r['submitted_on']:%d %B %Y}, is the one that counts"
            + (f" (at the provisional deadline {then} counted)" if then and then != r["counts_file"] else ""),
        )

    month = add_months(period, -1)
    for by_modality in (False, True):
        checks = volumes.volume_checks(snap, scope, volume_rule, by_modality=by_modality, first=month, last=month)
        for r in volumes.flagged(checks).iter_rows(named=True):
            what = r["modality"] if by_modality else "All"
            add(
                f"volume_{r['flag']}",
                r["provider_code"],
                f"{what if by_modality else 'all modalities'}: {r['records']:,} examinations in {month:%B %Y}, "
                f"{r['change']:+.0%} against the median of the previous months ({r['baseline']:,.0f})",
                modality=what,
                value=float(r["records"]),
            )

    for r in quality.quality_falls(snap, scope, period, fall_rule).iter_rows(named=True):
        add(
            "quality_fell",
            r["provider_code"],
            f"overall score {r['score']:.1f}, {r['change']:+.1f} points against its usual {r['baseline']:.1f}; "
            f"lowest item {r['lowest_item']} ({r['lowest_score']:.1f})",
            value=round(r["change"], 2),
        )

    schema = {
        "check": pl.String,
        "provider_code": pl.String,
        "modality": pl.String,
        "detail": pl.String,
        "value": pl.Float64,
    }
    order = {k: i for i, k in enumerate(PRE_PUBLICATION_CHECKS)}
    frame = pl.DataFrame(rows, schema=schema)
    return (
        frame.join(names, on="provider_code", how="left")
        .with_columns(
            pl.col("check").replace_strict(PRE_PUBLICATION_CHECKS, return_dtype=pl.String).alias("check_label"),
            pl.col("provider_name").fill_null(pl.col("provider_code")),
            pl.col("check").replace_strict(order, return_dtype=pl.Int64).alias("_order"),
        )
        .sort("_order", "provider_code", "modality", nulls_last=False)
        .select("check", "check_label", "provider_code", "provider_name", "modality", "detail", "value")
    )


def pre_publication_markdown(findings: pl.DataFrame, period: date) -> str:
    """The check as a short markdown summary a person can read in a minute."""
    lines = [f"## Pre-publication check, {period:%B %Y} (activity month {add_months(period, -1):%B %Y})", ""]
    for check, label in PRE_PUBLICATION_CHECKS.items():
        part = findings.filter(pl.col("check") == check)
        if part.is_empty():
            lines.append(f"- **{label}**: none")
            continue
        lines.append(f"- **{label}** ({part.height}):")
        lines.extend(
            f"  - {r['provider_name']} ({r['provider_code']}): {r['detail']}" for r in part.iter_rows(named=True)
        )
    return "\n".join(lines) + "\n"
