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

from ingest.nicip import modality

_UK = ZoneInfo("Europe/London")

# SERVICE REQUEST PRIORITY TYPE shares (routine 1, urgent 2, urgent suspected cancer 3) by
# patient source (E; calibration.md). A&E and inpatient requests are urgent; GP direct access
# carries the two-week-wait share.
PRIORITY_BY_SOURCE: dict[str, tuple[float, float, float]] = {
    "01": (0.25, 0.70, 0.05), "02": (0.60, 0.30, 0.10), "03": (0.70, 0.18, 0.12),
    "04": (0.78, 0.10, 0.12), "05": (0.02, 0.98, 0.00), "06": (0.70, 0.20, 0.10), "07": (0.80, 0.15, 0.05),
}
# Activity category (project codes, data/reference/dids-v2/codes.csv): share on the diagnostic
# waiting list (01) by patient source (E: DM01 counts planned outpatient and GP direct-access
# tests); the rest planned (02) or unscheduled (03: A&E and inpatients).
WAITING_LIST_SHARE: dict[str, float] = {"01": 0.05, "02": 0.30, "03": 0.80, "04": 0.85, "05": 0.0,
                                         "06": 0.60, "07": 0.50}
UNSCHEDULED_SOURCES = frozenset({"01", "05"})
# Procedure start -> end, minutes: (median, spread of a lognormal) by modality (E).
DURATION_MINUTES: dict[str, tuple[float, float]] = {
    "Plain radiography": (8, 0.4), "Ultrasound": (20, 0.35), "CT": (15, 0.4), "MRI": (35, 0.3),
    "Fluoroscopy": (30, 0.4), "Nuclear medicine": (45, 0.5), "PET-CT": (60, 0.3),
}
_DEFAULT_DURATION = (20, 0.4)
# Report issued on the procedure day: minutes after its end (median, spread; E).
SAME_DAY_REPORT_MINUTES = (90, 0.8)
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


def add_v2_items(text: pl.DataFrame, seed_text: str) -> pl.DataFrame:
    """The v1.0 text columns with the v2.0 items added (as text) and the test and report dates
    turned into timestamps (`procedure_start_ts`, `procedure_end_ts`, `report_issue_ts`)."""
    rng = np.random.default_rng(zlib.crc32(seed_text.encode()))
    n = text.height
    sources = text["patient_source"].fill_null("07").to_list()
    u = rng.random(n)
    priority = []
    for s, x in zip(sources, u, strict=True):
        routine, urgent, _ = PRIORITY_BY_SOURCE.get(s, PRIORITY_BY_SOURCE["07"])
        priority.append("1" if x < routine else "2" if x < routine + urgent else "3")
    on_list = rng.random(n) < np.array([WAITING_LIST_SHARE.get(s, 0.5) for s in sources])
    category = ["01" if w else "03" if s in UNSCHEDULED_SOURCES else "02"
                for s, w in zip(sources, on_list, strict=True)]
    codes = text["nicip_code"].fill_null("").to_list()
    durations = np.array([DURATION_MINUTES.get(modality(c) or "", _DEFAULT_DURATION) for c in codes])
    length = np.maximum(1, np.round(durations[:, 0] * np.exp(rng.normal(0, 1, n) * durations[:, 1])))
    unscheduled = np.isin(np.array(sources, dtype=object), list(UNSCHEDULED_SOURCES))
    # Start: 08:00-18:00 for planned work, any hour for A&E and inpatients, to the minute.
    start_min = np.where(unscheduled, rng.integers(0, 24 * 60 - 90, n), rng.integers(8 * 60, 18 * 60, n))
    report_gap = np.round(SAME_DAY_REPORT_MINUTES[0] * np.exp(rng.normal(0, SAME_DAY_REPORT_MINUTES[1], n)))
    report_min = rng.integers(8 * 60, 18 * 60, n)
    starts: list[str | None] = []
    ends: list[str | None] = []
    reports: list[str | None] = []
    clocks: list[str | None] = []
    for i, (test, report, request) in enumerate(zip(text["test_date"].to_list(), text["report_date"].to_list(),
                                                    text["request_date"].to_list(), strict=True)):
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
        clocks.append(request if category[i] == "01" and request and (day is None or request <= test) else
                      (test if category[i] == "01" else None))
    return text.drop("test_date", "report_date").with_columns(
        priority=pl.Series(priority, dtype=pl.String), activity_category=pl.Series(category, dtype=pl.String),
        waiting_list_clock_start=pl.Series(clocks, dtype=pl.String),
        procedure_start_ts=pl.Series(starts, dtype=pl.String), procedure_end_ts=pl.Series(ends, dtype=pl.String),
        report_issue_ts=pl.Series(reports, dtype=pl.String))


def plant_v2(text: pl.DataFrame, seed_text: str,
             rates: dict[str, float] = V2_DEFECT_RATES) -> tuple[pl.DataFrame, dict]:
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
    end_before = (ok & ~bad_offset & (draw >= rates["bad_offset"])
                  & (draw < rates["bad_offset"] + rates["end_before_start"]))
    new_start = [s[:19] + "+02:00" if b else s for s, b in zip(starts, bad_offset, strict=True)]
    ends = text["procedure_end_ts"].to_list()
    for i in np.flatnonzero(end_before):
        t = datetime.fromisoformat(starts[i]) - timedelta(hours=1)
        ends[i] = t.isoformat()  # in the start's own offset (every start chosen has one)
    out = text.with_columns(procedure_start_ts=pl.Series(new_start, dtype=pl.String),
                            procedure_end_ts=pl.Series(ends, dtype=pl.String))
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
    return df.with_columns(test_date=pl.col("procedure_start_ts").str.slice(0, 10),
                           report_date=pl.col("report_issue_ts").str.slice(0, 10)).select(spec.COLUMNS)
