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

import zlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from did_model.nicip import modality

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
    """`minutes` after midnight of `day`, on the UK clock with its offset (2026-04-01T09:30:00+01:00)."""
    local = datetime(day.year, day.month, day.day) + timedelta(minutes=float(minutes))
    return f"{local:%Y-%m-%dT%H:%M:%S}{_offset(local)}"


_NAT = np.datetime64("NaT")
_EPOCH = date(1970, 1, 1)
_BST, _GMT = "+01:00", "+00:00"


def _stamps(days: np.ndarray, minutes: np.ndarray) -> pl.Series:
    """`_stamp` of every (day, minutes) pair at once, null where the day is NaT (`days` is
    datetime64[D], `minutes` whole numbers). The offset is looked up once per local date, and
    per record only on the two days a year the clocks change: a national year has 50 M records."""
    local = days.astype("datetime64[s]") + (np.round(np.asarray(minutes, float) * 60).astype(np.int64)).astype(
        "timedelta64[s]"
    )
    local_days = local.astype("datetime64[D]")
    summer = np.zeros(len(local), bool)
    for d in np.unique(local_days[~np.isnat(local_days)]):
        on_day = local_days == d
        midnight = datetime.fromisoformat(str(d))
        first, last = _offset(midnight), _offset(midnight + timedelta(hours=23, minutes=59, seconds=59))
        if first == last:
            summer[on_day] = first == _BST
        else:  # the clocks change this day
            for i in np.flatnonzero(on_day):
                summer[i] = _offset(datetime.fromisoformat(str(local[i]))) == _BST
    return pl.DataFrame({"local": local.astype("datetime64[ms]"), "summer": summer}).select(
        pl.when(pl.col("local").is_not_null()).then(
            pl.concat_str(
                pl.col("local").dt.strftime("%Y-%m-%dT%H:%M:%S"),
                pl.when(pl.col("summer")).then(pl.lit(_BST)).otherwise(pl.lit(_GMT)),
            )
        )
    )["local"]


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _days(texts: list[str | None]) -> np.ndarray:
    """`_parse_date` of each text as datetime64[D] (NaT where it is no date), each distinct text
    parsed once (a month's file has a few hundred)."""
    nat = _NAT.astype(np.int64)
    number = {t: nat if (d := _parse_date(t)) is None else (d - _EPOCH).days for t in set(texts)}
    return np.array([number[t] for t in texts], dtype=np.int64).view("datetime64[D]")


def _one_month_on(days: np.ndarray) -> np.ndarray:
    """The same day a calendar month later, clamped to that month's end (as SQL's + INTERVAL 1
    MONTH), of each datetime64[D]."""
    month = days.astype("datetime64[M]")
    next_start = (month + 1).astype("datetime64[D]")
    next_end = (month + 2).astype("datetime64[D]") - 1
    return np.minimum(next_start + (days - month.astype("datetime64[D]")), next_end)


def _wait_scores(text: pl.DataFrame, kinds: list[str]) -> np.ndarray:
    """The normal score of each record's request → test wait among the file's records of its
    patient source and modality (short wait, low score); 0 (the middle) where a date is missing,
    unreadable or out of order."""
    from statistics import NormalDist

    days = text.select(
        (pl.col("test_date").str.to_date(strict=False) - pl.col("request_date").str.to_date(strict=False))
        .dt.total_days()
        .alias("wait"),
        pl.col("patient_source").fill_null("07").alias("source"),
        pl.Series("modality", kinds, dtype=pl.String),
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


def _tail_reports(text: pl.DataFrame, kinds: list[str], test_days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The report days (datetime64[D], NaT where none or unreadable) with REPORT_TAIL_SHARE of each
    modality's (`kinds`) clean, reported records moved to 29 days or more after the test: drawn
    from the records whose window (29 days to one calendar month, never after the file's latest
    report) is open, so the share holds whatever the month."""
    report_days = _days(text["report_date"].to_list())
    clean = text["_clean"].to_numpy() if "_clean" in text.columns else np.ones(text.height, bool)
    dated = report_days[~np.isnat(report_days)]
    if not len(dated):  # no report dated at all: nothing can be moved later
        return report_days
    extract = dated.max()
    kind = np.array(kinds, dtype=object)
    reported = clean & ~np.isnat(test_days) & ~np.isnat(report_days) & (report_days >= test_days)
    first = test_days + (REPORT_STANDARD_DAYS + 1)
    last = np.minimum(_one_month_on(test_days), extract)
    open_ = reported & (last >= first)
    out = report_days.copy()
    for k in sorted(set(kind[open_])):
        rows = np.flatnonzero(open_ & (kind == k))  # in file order
        want = REPORT_TAIL_SHARE.get(k, REPORT_TAIL_SHARE_OTHER) * int((reported & (kind == k)).sum())
        n = min(len(rows), int(want) + int(rng.random() < want % 1))  # a small modality's share holds on average
        for j in rng.choice(len(rows), size=n, replace=False):
            i = rows[j]
            out[i] = first[i] + int(rng.integers(0, (last[i] - first[i]).astype(int) + 1))
    return out


def add_v2_items(text: pl.DataFrame, seed_text: str) -> pl.DataFrame:
    """The v1.0 text columns with the v2.0 items added (as text) and the test and report dates
    turned into timestamps (`procedure_start_ts`, `procedure_end_ts`, `report_issue_ts`)."""
    rng = np.random.default_rng(zlib.crc32(seed_text.encode()))
    n = text.height
    sources = text["patient_source"].fill_null("07").to_list()
    codes = text["nicip_code"].fill_null("").to_list()
    kinds = [modality(c) or "" for c in codes]
    priority = _priorities(sources, _wait_scores(text, kinds), rng)
    on_list = rng.random(n) < np.array([WAITING_LIST_SHARE.get(s, 0.5) for s in sources])
    category = [
        "01" if w else "03" if s in UNSCHEDULED_SOURCES else "02" for s, w in zip(sources, on_list, strict=True)
    ]
    durations = np.array([DURATION_MINUTES.get(k, _DEFAULT_DURATION) for k in kinds])
    length = np.maximum(1, np.round(durations[:, 0] * np.exp(rng.normal(0, 1, n) * durations[:, 1])))
    unscheduled = np.isin(np.array(sources, dtype=object), list(UNSCHEDULED_SOURCES))
    start_min = _start_minutes(text, unscheduled, rng)
    report_gap = np.round(SAME_DAY_REPORT_MINUTES[0] * np.exp(rng.normal(0, SAME_DAY_REPORT_MINUTES[1], n)))
    report_min = rng.integers(8 * 60, 18 * 60, n)
    tests = text["test_date"].to_list()
    requests = text["request_date"].to_list()
    test_days = _days(tests)
    report_days = _tail_reports(text, kinds, test_days, rng)
    end_min = start_min + length
    starts = _stamps(test_days, start_min)
    # A planted bad test date (DD/MM/YYYY) stays bad in the start only (DIDSX11): the end is
    # stamped on the date it was written for.
    bad = np.flatnonzero(np.isnat(test_days)).tolist()
    written = test_days.copy()
    if bad:
        starts = starts.scatter(
            bad, pl.Series([f"{tests[i]} 10:00" if tests[i] else None for i in bad], dtype=pl.String)
        )
        written[bad] = _days(["-".join(reversed(tests[i].split("/"))) if tests[i] else None for i in bad])
    ends = _stamps(written, end_min)
    # A report on the procedure day follows its end; one on a later day is issued in office hours.
    same_day = test_days == report_days  # (NaT never equals)
    reports = _stamps(report_days, np.where(same_day, np.minimum(end_min + report_gap, 24 * 60 - 1), report_min))
    dated = ~np.isnat(test_days)
    # The clock starts at the request (calibration.md); never after the procedure.
    clocks = [
        (request if request and (not has_day or request <= test) else test) if listed == "01" else None
        for listed, request, test, has_day in zip(category, requests, tests, dated.tolist(), strict=True)
    ]
    return text.drop("test_date", "report_date").with_columns(
        priority=pl.Series(priority, dtype=pl.String),
        activity_category=pl.Series(category, dtype=pl.String),
        waiting_list_clock_start=pl.Series(clocks, dtype=pl.String),
        procedure_start_ts=starts,
        procedure_end_ts=ends,
        report_issue_ts=reports,
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
    from did_model import spec
    from ingest import spec_pack

    names = {i.name: i.field for i in spec_pack.default_pack("2.0").items}
    df = pl.read_csv(path, infer_schema=False)
    df = df.rename({c: names[c] for c in df.columns if c in names})
    return df.with_columns(
        test_date=pl.col("procedure_start_ts").str.slice(0, 10), report_date=pl.col("report_issue_ts").str.slice(0, 10)
    ).select(spec.COLUMNS)
