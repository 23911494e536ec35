"""A hand-made store with DIDS v2.0 procedure timestamps for scans per operating hour
(queries/productivity.py), its figures worked out by hand below; and a naive second
implementation over the raw records.

May 2026 (31 days, British Summer Time: local = UTC + 1 hour), CT; 4 May is a Monday.

    RAJ01 (provider RAJ, 2 CT scanners, 84 scheduled hours a week), times UTC → local:
      1  Mon 4 May 08:10 → 09:10, ends after 15 min
      2  Mon 4 May 08:30 → 09:30, 20 min
      3  Mon 4 May 08:55 → 09:55, no end
      4  Mon 4 May 09:05 → 10:05, 10 min
      5  Mon 11 May 08:20 → 09:20, 20 min
      6  Tue 5 May 23:30 → Wed 6 May 00:30, ends 10 min BEFORE it starts (dropped)
      7  Tue 5 May 22:10 → 23:10, ends 25 hours later (dropped)
    RBK01 (provider RBK, 1 CT scanner, scheduled hours not known):
      8–11  Thu 7 May 13:00, 13:10, 13:20, 13:30 → 14:xx, 15 min each
      12–13 Thu 7 May 14:00, 14:20 → 15:xx, 15 min each

Operating hours: RAJ01 Mon 09 on 4 and 11 May (2), Mon 10 (1), Tue 23 (1), Wed 00 (1) = 5;
RBK01 Thu 14, Thu 15 = 2.
RAJ01: 7 examinations / 5 hours = 1.4 an operating hour; / (5 × 2 scanners) = 0.7 a
scanner-hour, below CT's 3–4; minutes 15 + 20 + 10 + 20 = 65 (3 has no end; 6 and 7 dropped);
scheduled 84 × 60 × 31 / 7 = 22,320 minutes → utilisation 65 / 22,320.
RBK01: 6 / 2 = 3.0, 3.0 a scanner-hour: within the band; 90 minutes; no utilisation (no hours).
England: 13 / 7 an operating hour; 13 / (10 + 2) a scanner-hour (below); utilisation over
RAJ01 only, 65 / 22,320; 2 dropped durations.
Heat map (May): Monday 09:00 4 exams / 2 hours = 2.0; Thursday 14:00 4 / 1 = 4.0.

Kept out: a March 2026 (v1.0 month) CT record with a timestamp; an obstetric ultrasound record.
In: one non-obstetric ultrasound record; a CT record on Monday 26 October 2026 09:30 UTC, after
the clocks go back, which is 09:30 on the UK clock (Monday 09:00).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

UK = ZoneInfo("Europe/London")
MAY = date(2026, 5, 1)
EQUIPMENT = [("RAJ01", "CT", 2, 84.0), ("RBK01", "CT", 1, None), ("RCF01", "MRI", 1, 60.0)]


def _r(
    site: str,
    start: datetime,
    minutes: float | None,
    modality: str = "CT",
    body_area: str | None = None,
    month: date | None = None,
) -> dict:
    end = None if minutes is None else start + timedelta(minutes=minutes)
    return dict(site=site, start=start, end=end, modality=modality, body_area=body_area, month=month)


HAND = [
    _r("RAJ01", datetime(2026, 5, 4, 8, 10), 15),
    _r("RAJ01", datetime(2026, 5, 4, 8, 30), 20),
    _r("RAJ01", datetime(2026, 5, 4, 8, 55), None),
    _r("RAJ01", datetime(2026, 5, 4, 9, 5), 10),
    _r("RAJ01", datetime(2026, 5, 11, 8, 20), 20),
    _r("RAJ01", datetime(2026, 5, 5, 23, 30), -10),
    _r("RAJ01", datetime(2026, 5, 5, 22, 10), 25 * 60),
    *[_r("RBK01", datetime(2026, 5, 7, 13, m), 15) for m in (0, 10, 20, 30)],
    *[_r("RBK01", datetime(2026, 5, 7, 14, m), 15) for m in (0, 20)],
    _r("RAJ01", datetime(2026, 3, 9, 9, 0), 15, month=date(2026, 3, 1)),
    _r("RAJ01", datetime(2026, 5, 4, 9, 0), 20, "Ultrasound", "Obstetric"),
    _r("RAJ01", datetime(2026, 5, 4, 9, 30), 20, "Ultrasound", "Abdomen"),
    _r("RAJ01", datetime(2026, 10, 26, 9, 30), 15),
]


def random_records(n: int = 400, seed: int = 5) -> list[dict]:
    """June–July 2026 across three sites and two modalities; a few without an end, a few with an
    end before the start or more than a day after it."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        start = datetime(2026, 6, 1) + timedelta(minutes=int(rng.integers(0, 61 * 24 * 60)))
        minutes = float(rng.integers(1, 90)) if i % 17 else (None if i % 2 else float(rng.choice([-30, 1500])))
        rows.append(_r(("RAJ01", "RBK01", "RCF01")[i % 3], start, minutes, ("CT", "MRI")[i % 2]))
    return rows


def _local(ts: datetime) -> datetime:
    return ts.replace(tzinfo=ZoneInfo("UTC")).astimezone(UK).replace(tzinfo=None)


def insert(con, rows: list[dict], first_id: int = 0) -> None:
    con.executemany(
        """INSERT INTO record (submission_id, provider_code, site_code, accession_number, patient_source,
               test_date, modality, body_area, activity_month, procedure_start_utc, procedure_end_utc)
           VALUES (1, ?, ?, ?, '03', ?, ?, ?, ?, ?, ?)""",
        [
            (
                r["site"][:3],
                r["site"],
                f"A{first_id + i:06d}",
                _local(r["start"]).date(),
                r["modality"],
                r["body_area"],
                r["month"] or _local(r["start"]).date().replace(day=1),
                r["start"],
                r["end"],
            )
            for i, r in enumerate(rows)
        ],
    )


def build(store_dir, rows: list[dict] = HAND) -> None:
    """A published store with the sites, the inventory and `rows`."""
    from ingest import store

    store.create_store(store_dir)
    with store.writer(store_dir) as con:
        con.execute("DELETE FROM ref_site")
        con.executemany(
            "INSERT INTO ref_site (site_code, provider_code, site_name, provider_name) VALUES (?, ?, ?, ?)",
            [(s, s[:3], f"Site {s}", f"Provider {s[:3]}") for s in ("RAJ01", "RBK01", "RCF01")],
        )
        con.execute("DELETE FROM ref_equipment")
        con.executemany("INSERT INTO ref_equipment VALUES (?, ?, ?, ?, false)", EQUIPMENT)
        insert(con, rows)
        store.publish(con, store_dir)


def naive(rows: list[dict], modality: str, first: date, last: date) -> tuple[dict, dict]:
    """The second implementation, a loop over records: per site, (examinations, operating
    hours, minutes, dropped); per (weekday, hour), (examinations, operating hours)."""
    sites: dict[str, list] = {}
    cells: dict[tuple[int, int], list] = {}
    for r in rows:
        local = _local(r["start"])
        month = r["month"] or local.date().replace(day=1)
        obstetric = r["modality"] == "Ultrasound" and r["body_area"] == "Obstetric"
        if r["modality"] != modality or not first <= month <= last or month < date(2026, 4, 1) or obstetric:
            continue
        s = sites.setdefault(r["site"], [0, set(), 0.0, 0])
        c = cells.setdefault((local.isoweekday(), local.hour), [0, set()])
        s[0] += 1
        c[0] += 1
        s[1].add((local.date(), local.hour))
        c[1].add((r["site"], local.date()))
        if r["end"] is not None:
            seconds = (r["end"] - r["start"]).total_seconds()
            if 0 <= seconds <= 24 * 3600:
                s[2] += seconds / 60
            else:
                s[3] += 1
    return (
        {k: (v[0], len(v[1]), v[2], v[3]) for k, v in sites.items()},
        {k: (v[0], len(v[1])) for k, v in cells.items()},
    )
