"""The v2.0 items' realism (ingest/synth/v2items.py, calibration.md "DIDS v2.0 items"), on a
hand-made provider-month of text records, without a generator run: urgent suspected cancer waits
less than routine, reports have a tail past 28 days that stays within DIDS062, and procedures
start in opening hours."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from ingest.synth import v2items

N = 4000


def month_of_text(code: str, source: str, seed: int = 1) -> pl.DataFrame:
    """N records of one code and patient source tested in May 2026: request waits lognormal
    (median 21 days), reports 1 day after the test (the last, tested on 31 May, reported on 25
    June: the file's extract), every record clean."""
    rng = np.random.default_rng(seed)
    tests = [date(2026, 5, 1) + timedelta(days=int(d)) for d in rng.integers(0, 31, N - 1)] + [date(2026, 5, 31)]
    waits = np.floor(np.exp(rng.normal(np.log(21.5), 0.857, N))).astype(int)
    return pl.DataFrame(
        {
            "patient_source": [source] * N,
            "nicip_code": [code] * N,
            "test_date": [t.isoformat() for t in tests],
            "request_date": [(t - timedelta(days=int(w))).isoformat() for t, w in zip(tests, waits, strict=True)],
            "report_date": [(t + timedelta(days=1)).isoformat() for t in tests[:-1]] + ["2026-06-25"],
            "_clean": [True] * N,
        }
    )


def waits_by_priority(out: pl.DataFrame) -> dict[str, float]:
    days = out.select(
        pl.col("priority"),
        (pl.col("procedure_start_ts").str.slice(0, 10).str.to_date() - pl.col("request_date").str.to_date())
        .dt.total_days()
        .alias("wait"),
    )
    return dict(days.group_by("priority").agg(pl.col("wait").median()).iter_rows())


def test_urgent_suspected_cancer_waits_less_than_routine_and_the_waits_are_unchanged():
    text = month_of_text("MBRAI", "04")
    out = v2items.add_v2_items(text, "DID_RXX_202606.csv")
    medians = waits_by_priority(out)
    assert medians["3"] <= 10 and medians["1"] >= 21 and medians["3"] < medians["2"] < medians["1"]
    # the request and test dates are the v1.0 ones (their calibration holds); only the priority follows them
    assert out["request_date"].to_list() == text["request_date"].to_list()
    assert (out["procedure_start_ts"].str.slice(0, 10) == text["test_date"]).all()
    shares = out["priority"].value_counts(normalize=True)
    usc = shares.filter(pl.col("priority") == "3")["proportion"][0]
    assert abs(usc - v2items.PRIORITY_BY_SOURCE["04"][2]) < 0.02


def test_report_tail_past_28_days_within_one_calendar_month_and_the_extract():
    for code, share in (
        ("XCHES", v2items.REPORT_TAIL_SHARE["Plain radiography"]),
        ("CHEAC", v2items.REPORT_TAIL_SHARE_OTHER),
    ):
        out = v2items.add_v2_items(month_of_text(code, "04"), "DID_RXX_202606.csv")
        frame = out.select(
            test=pl.col("procedure_start_ts").str.slice(0, 10).str.to_date(),
            report=pl.col("report_issue_ts").str.slice(0, 10).str.to_date(),
        )
        late = frame.filter((pl.col("report") - pl.col("test")).dt.total_days() > 28)
        assert abs(late.height / N - share) < 0.005, code
        assert (late["report"] <= late["test"].dt.offset_by("1mo")).all()  # no DIDS062 warning
        assert late["report"].max() <= date(2026, 6, 25)  # the latest report in the file (its extract)


def test_procedures_start_in_opening_hours():
    planned = v2items.add_v2_items(month_of_text("MBRAI", "04"), "DID_RXX_202606.csv")
    start = planned.select(ts=pl.col("procedure_start_ts").str.slice(0, 19).str.to_datetime())["ts"]
    weekday, weekend = start.filter(start.dt.weekday() <= 5), start.filter(start.dt.weekday() >= 6)
    assert weekday.dt.hour().min() == 8 and weekday.dt.hour().max() == 19
    assert weekday.dt.hour().is_between(18, 19).mean() < 0.15  # evening sessions are lighter
    assert weekend.dt.hour().min() >= 9 and weekend.dt.hour().max() <= 16
    ae = v2items.add_v2_items(month_of_text("CHEAC", "05"), "DID_RXX_202606.csv")
    hours = ae.select(pl.col("procedure_start_ts").str.slice(11, 5))["procedure_start_ts"]
    assert hours.min() < "06:00" and hours.max() <= "22:30"
    night = hours.is_between("03:00", "05:59").mean()
    assert night < hours.is_between("12:00", "14:59").mean() / 3


def test_the_same_file_name_draws_the_same_items():
    text = month_of_text("XCHES", "03")
    assert v2items.add_v2_items(text, "DID_RXX_202606.csv").equals(v2items.add_v2_items(text, "DID_RXX_202606.csv"))


def test_timestamps_written_at_once_equal_those_written_one_by_one_across_the_clock_changes():
    """The writer stamps a month's records at once (`_stamps`); each must read as the one-record
    `_stamp` writes it, on the UK clock with its offset — also in the hour that does not exist in
    March and the hour that happens twice in October — and a missing day stays missing."""
    days, minutes = [], []
    for day in (date(2026, 3, 28), date(2026, 3, 29), date(2026, 10, 25), date(2025, 10, 26), date(2026, 7, 1)):
        for minute in range(0, 24 * 60 + 45, 7):  # past midnight: the next day's offset
            days.append(day)
            minutes.append(minute)
    stamped = v2items._stamps(np.array(days + [None], dtype="datetime64[D]"), np.array(minutes + [60], float))
    assert stamped.to_list() == [v2items._stamp(d, m) for d, m in zip(days, minutes, strict=True)] + [None]
    assert "2026-03-29T01:31:00+00:00" in stamped.to_list() and "2026-10-25T01:31:00+01:00" in stamped.to_list()
    assert "2026-10-25T02:06:00+00:00" in stamped.to_list() and "2026-07-02T00:02:00+01:00" in stamped.to_list()
