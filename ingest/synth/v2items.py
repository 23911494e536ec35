"""The DIDS v2.0 items of a synthetic record, drawn from its v1.0 items (docs/calibration.md,
"DIDS v2.0 items").

From April 2026 activity a provider sends DIDS v2.0 (`spec_pack.version_for_period`): the test
and report dates become timestamps with a UK offset, and the request gains a priority, an
activity category and, on the diagnostic waiting list, a clock start. The writer makes these
from the text of a provider-month's records, so the generator's records, defects and counts are
the same for both versions. The draws are seeded by the file name: the same run writes the same
bytes.

Planted defects survive the move: a date-order defect (report before test) keeps its report
before the procedure start (DIDSX23), an unknown procedure code stays unknown (DIDSX32), a test
date written DD/MM/YYYY gives a start timestamp that is not ISO 8601 (DIDSX11). Two defects only
v2.0 can have are planted by `plant_v2` (bad_offset, end_before_start), at the rates of
`V2_DEFECT_RATES`.
"""

from __future__ import annotations

import calendar
import zlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from ingest.nicip import modality

_UK = ZoneInfo("Europe/London")

# SERVICE REQUEST PRIORITY TYPE shares (routine 1, urgent 2, urgent suspected cancer 3) by
# patient source (E; calibration.md). A&E and inpatient requests are urgent; GP direct access
# carries the two-week-wait share.
PRIORITY_BY_SOURCE: dict[str, tuple[float, float, float]] = {
    "01": (0.25, 0.70, 0.05),
    "02": (0.60, 0.30, 0.10),
    "03": (0.70, 0.18, 0.12),
    "04": (0.78, 0.10, 0.12),
    "05": (0.02, 0.98, 0.00),
    "06": (0.70, 0.20, 0.10),
    "07": (0.80, 0.15, 0.05),
}
# Activity category (project codes, data/reference/dids-v2/codes.csv): share on the diagnostic
# waiting list (01) by patient source (E: DM01 counts planned outpatient and GP direct-access
# tests); the rest planned (02) or unscheduled (03: A&E and inpatients).
WAITING_LIST_SHARE: dict[str, float] = {
    "01": 0.05,
    "02": 0.30,
    "03": 0.80,
    "04": 0.85,
    "05": 0.0,
    "06": 0.60,
    "07": 0.50,
}
UNSCHEDULED_SOURCES = frozenset({"01", "05"})
# How strongly the priority follows the request wait (a Gaussian copula: the correlation between
# a record's latent priority score and the normal score of its wait's rank in its source and
# modality). The priority shares stay those above, and the waits stay the v1.0 ones (calibrated):
# urgent suspected cancer takes the shortest waits, routine the longest (E: two-week-wait and
# urgent requests are booked first; see calibration.md for the medians this gives).
PRIORITY_WAIT_CORRELATION = 0.75

# Procedure start, hour of the day (UK clock): relative weights per hour from 00:00 (E: scanners
# open about 08:00-20:00 on weekdays, a shorter 09:00-17:00 day at weekends; a morning and an
# afternoon peak with a dip at lunch; unscheduled work follows A&E arrivals, busiest late
# morning to evening and quietest 03:00-06:00).
PLANNED_WEEKDAY_HOURS = (0,) * 8 + (8, 10, 10, 9, 6, 8, 10, 10, 9, 7, 4, 3) + (0,) * 4
PLANNED_WEEKEND_HOURS = (0,) * 9 + (8, 10, 10, 7, 8, 9, 8, 6) + (0,) * 7
UNSCHEDULED_HOURS = (3, 2, 2, 1.5, 1.5, 1.5, 2, 3, 5, 7, 8, 8, 8, 8, 8, 8, 7.5, 7.5, 7, 6.5, 6, 5, 2.5, 0)
# so that the procedure ends the day it starts, unscheduled work starts by 22:30 (hour 22 carries
# half an hour's weight above, its minutes drawn from 0-29).

# Procedure start -> end, minutes: (median, spread of a lognormal) by modality (E).
DURATION_MINUTES: dict[str, tuple[float, float]] = {
    "Plain radiography": (8, 0.4),
    "Ultrasound": (20, 0.35),
    "CT": (15, 0.4),
    "MRI": (30, 0.3),  # the 30-minute slot the scanner page assumes: measured ≈ estimated use
    "Fluoroscopy": (30, 0.4),
    "Nuclear medicine": (45, 0.5),
    "PET-CT": (60, 0.3),
}
_DEFAULT_DURATION = (20, 0.4)
# Report issued on the procedure day: minutes after its end (median, spread; E).
SAME_DAY_REPORT_MINUTES = (90, 0.8)
# Report turnaround's tail: the share of reported examinations whose report is issued more than 28
# days after the procedure (NHS England's 4-week standard), by modality (E, anchored on the Royal
# College of Radiologists' count of 745,290 patients waiting over 4 weeks for a report in 2023,
# a few per cent of NHS imaging; plain X-ray is reported last). The report moves to a day from
# 29 to the last the file allows: one calendar month after the procedure (a later report is
# warning DIDS062, which only a planted defect may raise) and no later than the latest report in
# the file (its extract). Longer waits are the examinations still unreported at the extract.
REPORT_TAIL_SHARE: dict[str, float] = {"Plain radiography": 0.05}
REPORT_TAIL_SHARE_OTHER = 0.02
REPORT_STANDARD_DAYS = 28
V2_DEFECT_RATES: dict[str, float] = {"bad_offset": 0.0008, "end_before_start": 0.0005}  # E


def _offset(local: datetime) -> str:
    """+01:00 in British Summer Time, else +00:00, as the clock on the wall shows."""
    return "+01:00" if local.replace(tzinfo=_UK).utcoffset() else "+00:00"


def _stamp(day: date, minutes: float) -> str:
    local = datetime(day.year, day.month, day.day) + timedelta(minutes=float(minutes))
    return f"{local:%Y-%m-%dT%H:%M:%S}{_offset(local)}"


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _one_month_on(day: date) -> date:
    """The same day a calendar month later, clamped to that month's end (as SQL's + INTERVAL 1 MONTH)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _wait_scores(text: pl.DataFrame, codes: list[str]) -> np.ndarray:
    """The normal score of each record's request → test wait among the file's records of its
    patient source and modality (short wait, low score); 0 (the middle) where a date is missing,
    unreadable or out of order."""
    from statistics import NormalDist

    days = text.select(
        (pl.col("test_date").str.to_date(strict=False) - pl.col("request_date").str.to_date(strict=False))
        .dt.total_days()
        .alias("wait"),
        pl.col("patient_source").fill_null("07").alias("source"),
        pl.Series("modality", [modality(c) or "" for c in codes], dtype=pl.String),
    )
    ranked = days.with_columns(pl.when(pl.col("wait") >= 0).then(pl.col("wait")).alias("wait")).with_columns(
        (
            (pl.col("wait").rank("average").over("source", "modality") - 0.5)
            / pl.col("wait").count().over("source", "modality")
        ).alias("q")
    )
    inv = NormalDist().inv_cdf
    return np.array([inv(q) if q is not None else 0.0 for q in ranked["q"].to_list()])


def _priorities(sources: list[str], scores: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Priority by source shares, ordered by a latent score that follows the wait: the lowest
    scores are urgent suspected cancer (3), then urgent (2), then routine (1)."""
    from statistics import NormalDist

    rho = PRIORITY_WAIT_CORRELATION
    latent = rho * scores + np.sqrt(1 - rho * rho) * rng.normal(0, 1, len(sources))
    cdf = NormalDist().cdf
    out = []
    for s, z in zip(sources, latent, strict=True):
        _, urgent, usc = PRIORITY_BY_SOURCE.get(s, PRIORITY_BY_SOURCE["07"])
        u = cdf(float(z))
        out.append("3" if u < usc else "2" if u < usc + urgent else "1")
    return out


def _start_minutes(text: pl.DataFrame, unscheduled: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Minute of the day each procedure starts: an hour drawn from the profile for its setting and
    day (planned work on a weekday or at a weekend; unscheduled), then a minute within it."""
    weekend = (
        text.select(pl.col("test_date").str.to_date(strict=False).dt.weekday() >= 6)
        .to_series()
        .fill_null(False)
        .to_numpy()
    )
    hours = np.zeros(len(unscheduled), np.int64)
    for mask, weights in (
        (unscheduled, UNSCHEDULED_HOURS),
        (~unscheduled & ~weekend, PLANNED_WEEKDAY_HOURS),
        (~unscheduled & weekend, PLANNED_WEEKEND_HOURS),
    ):
        p = np.array(weights, float)
        hours[mask] = rng.choice(24, size=int(mask.sum()), p=p / p.sum())
    minutes = rng.integers(0, 60, len(hours))
    return hours * 60 + np.where(hours == 22, minutes // 2, minutes)


def _tail_reports(text: pl.DataFrame, codes: list[str], rng: np.random.Generator) -> list[str | None]:
    """The report dates with REPORT_TAIL_SHARE of each modality's clean, reported records moved to
    29 days or more after the test: drawn from the records whose window (29 days to one calendar
    month, never after the file's latest report) is open, so the share holds whatever the month."""
    reports = text["report_date"].to_list()
    clean = text["_clean"].to_list() if "_clean" in text.columns else [True] * text.height
    extract = max((d for d in map(_parse_date, reports) if d), default=None)
    windows: dict[str, list[tuple[int, date, date]]] = {}
    reported: dict[str, int] = {}
    for i, (test, report) in enumerate(zip(text["test_date"].to_list(), reports, strict=True)):
        day, rday = _parse_date(test), _parse_date(report)
        if not clean[i] or day is None or rday is None or rday < day:
            continue
        kind = modality(codes[i]) or ""
        reported[kind] = reported.get(kind, 0) + 1
        if extract is None:  # no report dated at all: nothing can be moved later
            continue
        first, last = day + timedelta(days=REPORT_STANDARD_DAYS + 1), min(_one_month_on(day), extract)
        if last >= first:
            windows.setdefault(kind, []).append((i, first, last))
    out = list(reports)
    for kind in sorted(windows):
        open_ = windows[kind]
        want = REPORT_TAIL_SHARE.get(kind, REPORT_TAIL_SHARE_OTHER) * reported[kind]
        k = min(len(open_), int(want) + int(rng.random() < want % 1))  # a small modality's share holds on average
        for j in rng.choice(len(open_), size=k, replace=False):
            i, first, last = open_[j]
            out[i] = (first + timedelta(days=int(rng.integers(0, (last - first).days + 1)))).isoformat()
    return out


def add_v2_items(text: pl.DataFrame, seed_text: str) -> pl.DataFrame:
    """The v1.0 text columns with the v2.0 items added (as text) and the test and report dates
    turned into timestamps (`procedure_start_ts`, `procedure_end_ts`, `report_issue_ts`)."""
    rng = np.random.default_rng(zlib.crc32(seed_text.encode()))
    n = text.height
    sources = text["patient_source"].fill_null("07").to_list()
    codes = text["nicip_code"].fill_null("").to_list()
    priority = _priorities(sources, _wait_scores(text, codes), rng)
    on_list = rng.random(n) < np.array([WAITING_LIST_SHARE.get(s, 0.5) for s in sources])
    category = [
        "01" if w else "03" if s in UNSCHEDULED_SOURCES else "02" for s, w in zip(sources, on_list, strict=True)
    ]
    durations = np.array([DURATION_MINUTES.get(modality(c) or "", _DEFAULT_DURATION) for c in codes])
    length = np.maximum(1, np.round(durations[:, 0] * np.exp(rng.normal(0, 1, n) * durations[:, 1])))
    unscheduled = np.isin(np.array(sources, dtype=object), list(UNSCHEDULED_SOURCES))
    start_min = _start_minutes(text, unscheduled, rng)
    report_gap = np.round(SAME_DAY_REPORT_MINUTES[0] * np.exp(rng.normal(0, SAME_DAY_REPORT_MINUTES[1], n)))
    report_min = rng.integers(8 * 60, 18 * 60, n)
    starts: list[str | None] = []
    ends: list[str | None] = []
    reports: list[str | None] = []
    clocks: list[str | None] = []
    for i, (test, report, request) in enumerate(
        zip(text["test_date"].to_list(), _tail_reports(text, codes, rng), text["request_date"].to_list(), strict=True)
    ):
        day = _parse_date(test)
        if day is None:  # a planted bad test date (DD/MM/YYYY) stays bad in the start only (DIDSX11)
            written = _parse_date("-".join(reversed(test.split("/")))) if test else None
            starts.append(f"{test} 10:00" if test else None)
            ends.append(_stamp(written, start_min[i] + length[i]) if written else None)
        else:
            starts.append(_stamp(day, start_min[i]))
            ends.append(_stamp(day, start_min[i] + length[i]))
        rday = _parse_date(report)
        if rday is None:
            reports.append(None)
        elif day is not None and rday == day:
            reports.append(_stamp(day, min(start_min[i] + length[i] + report_gap[i], 24 * 60 - 1)))
        else:
            reports.append(_stamp(rday, report_min[i]))
        # The clock starts at the request (calibration.md); never after the procedure.
        clocks.append(
            request
            if category[i] == "01" and request and (day is None or request <= test)
            else (test if category[i] == "01" else None)
        )
    return text.drop("test_date", "report_date").with_columns(
        priority=pl.Series(priority, dtype=pl.String),
        activity_category=pl.Series(category, dtype=pl.String),
        waiting_list_clock_start=pl.Series(clocks, dtype=pl.String),
        procedure_start_ts=pl.Series(starts, dtype=pl.String),
        procedure_end_ts=pl.Series(ends, dtype=pl.String),
        report_issue_ts=pl.Series(reports, dtype=pl.String),
    )


def plant_v2(
    text: pl.DataFrame, seed_text: str, rates: dict[str, float] = V2_DEFECT_RATES
) -> tuple[pl.DataFrame, dict]:
    """Break a few records the ways only v2.0 can be broken; returns the text and the counts.

    bad_offset: the start written with +02:00 (DIDSX12), on a start from 02:00 so its UK date
    stays; end_before_start: the end an hour before the start (DIDSX22). Only clean records with
    a well-formed start are broken.
    """
    rng = np.random.default_rng(zlib.crc32(("defects " + seed_text).encode()))
    n = text.height
    starts = text["procedure_start_ts"].to_list()
    # Only a clean record (`_clean`, writer.to_text) whose (site, accession) is not repeated:
    # each record carries at most one defect.
    single = ~text.select(pl.struct("site_code", "accession_number").is_duplicated()).to_series().to_numpy()
    clean = text["_clean"].to_numpy() if "_clean" in text.columns else np.ones(n, bool)
    ok = np.array([bool(s) and len(s) == 25 for s in starts]) & single & clean
    draw = rng.random(n)
    # +02:00 moves the instant one or two hours earlier: only where that keeps the UK date, so the
    # record breaks its own rule and no date-order rule besides (a start at 00:30 would be the day before).
    keeps_date = np.array([bool(s) and s[11:13].isdigit() and int(s[11:13]) >= 2 for s in starts])
    bad_offset = ok & keeps_date & (draw < rates["bad_offset"])
    end_before = (
        ok & ~bad_offset & (draw >= rates["bad_offset"]) & (draw < rates["bad_offset"] + rates["end_before_start"])
    )
    new_start = [s[:19] + "+02:00" if b else s for s, b in zip(starts, bad_offset, strict=True)]
    ends = text["procedure_end_ts"].to_list()
    for i in np.flatnonzero(end_before):
        t = datetime.fromisoformat(starts[i]) - timedelta(hours=1)
        ends[i] = t.isoformat()  # in the start's own offset (every start chosen has one)
    out = text.with_columns(
        procedure_start_ts=pl.Series(new_start, dtype=pl.String), procedure_end_ts=pl.Series(ends, dtype=pl.String)
    )
    return out, {"bad_offset": int(bad_offset.sum()), "end_before_start": int(end_before.sum())}


# The rule each planted defect meets in a v2.0 file, where it is not the v1.0 one (shipped v2.0
# pack): report before test is now report issue before procedure start, an unknown code with no
# SNOMED CT code is the NICIP half of the combination rules, a DD/MM/YYYY test date a start
# timestamp that is not ISO 8601; and the v2.0-only defects.
V2_RULE_FOR_V1 = {"DIDS048": "DIDSX23", "DIDS057": "DIDSX32", "DIDS045": "DIDSX11"}
V2_DEFECT_RULES = {"bad_offset": "DIDSX12", "end_before_start": "DIDSX22"}


def rule_in(version: str, code: str) -> str:
    """The code a v1.0 rule's planted defect is reported under in a file of `version`."""
    return V2_RULE_FOR_V1.get(code, code) if version == "2.0" else code


def read_as_v1(path) -> pl.DataFrame:
    """A v2.0 synthetic file's rows as the 18 v1.0 items (strings), for the checks that count
    v1.0 items across the switch: the test and report dates are the dates its timestamps are
    written with (the writer writes the UK clock time)."""
    from ingest import spec, spec_pack

    names = {i.name: i.field for i in spec_pack.default_pack("2.0").items}
    df = pl.read_csv(path, infer_schema=False)
    df = df.rename({c: names[c] for c in df.columns if c in names})
    return df.with_columns(
        test_date=pl.col("procedure_start_ts").str.slice(0, 10), report_date=pl.col("report_issue_ts").str.slice(0, 10)
    ).select(spec.COLUMNS)
