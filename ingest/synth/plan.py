"""Which files exist and when they are sent: the provider-month plan.

A file for activity month m has period (submission month) P = m + 1 (architecture.md §4). It is
on time if sent on or before the 20th of P (`ingest.timetable`). Regular files are sent on days
3..18 of P, each provider around its own habitual day; late ones between the 21st of P and the
25th of P + 1 (and never after P's final close: `timetable.final_closes`), always before the
provider's next file so that a later file never carries older versions of records than an earlier
one. Resubmissions follow their first file by 1-12 days.

Unless `clean`, the plan also holds the planted provider-month events: missing (no file), late,
resubmitted (first file missing a chunk of records or carrying a batch of bad rows), file-level
rejects (17 columns, then a good resubmission) and one RIS-migration month at 40% volume.
No file is dated after the day the plan is built: a file cannot arrive in the future.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from did_months import add_months
from ingest import timetable
from ingest.synth import targets as T


@dataclass
class FilePlan:
    provider: int
    month: int  # activity month index
    submitted_on: date
    missing: bool = False
    late: bool = False
    resubmit: str | None = None  # 'missing_chunk' | 'bad_batch' | 'file_reject'
    resubmitted_on: date | None = None
    volume_factor: float = 1.0


@dataclass
class Plan:
    months: list[date]  # activity months
    files: dict[tuple[int, int], FilePlan] = field(default_factory=dict)

    def get(self, provider: int, month: int) -> FilePlan | None:
        return self.files.get((provider, month))

    def exists(self, provider: int, month: int) -> bool:
        f = self.files.get((provider, month))
        return f is not None and not f.missing


def period_of(activity_month: date) -> date:
    return add_months(activity_month, 1)


def build_plan(
    months: list[date], n_providers: int, seed: int, clean: bool, volume: np.ndarray, as_of: date | None = None
) -> Plan:
    """The submission plan. `volume` (expected records by provider) picks the migration provider.

    No file is received after `as_of` (default: today, the day the extracts are built): see
    `_received_by`.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    n_m = len(months)
    plan = Plan(months)
    habit = rng.integers(4, 17, n_providers)
    for t in range(n_providers):
        for m in range(n_m):
            p = period_of(months[m])
            day = int(np.clip(habit[t] + rng.integers(-2, 3), 3, 18))
            plan.files[(t, m)] = FilePlan(t, m, submitted_on=p.replace(day=day))
    if not clean:
        _plant_events(plan, rng, n_providers, volume)
    # late dates, last month first: each before the provider's next file
    for t in range(n_providers):
        next_sent: date | None = None
        for m in reversed(range(n_m)):
            f = plan.files[(t, m)]
            if f.missing:
                continue
            p = period_of(months[m])
            final = timetable.final_closes(p) or date.max  # no file after the period closes for good
            if f.late:
                lo = timetable.window_closes(p) + timedelta(days=1)
                hi = min(add_months(p, 1).replace(day=25), final)
                if next_sent is not None:
                    hi = min(hi, next_sent - timedelta(days=2))
                f.submitted_on = lo + timedelta(days=int(rng.integers(0, max((hi - lo).days, 0) + 1)))
            if f.resubmit:
                hi = min(f.submitted_on + timedelta(days=12), final)
                if next_sent is not None:
                    hi = min(hi, next_sent - timedelta(days=1))
                span = max((hi - f.submitted_on).days, 1)
                f.resubmitted_on = f.submitted_on + timedelta(days=int(rng.integers(1, span + 1)))
            next_sent = f.submitted_on
    _received_by(plan, as_of or date.today())
    return plan


def _received_by(plan: Plan, as_of: date) -> None:
    """Hold every planned date to `as_of`: a file cannot have arrived after the day it is written.

    A file (or resubmission) planned later is received on `as_of` instead; one whose period has
    not started by then cannot be sent at all and is left out (marked missing); a late file
    received on `as_of` while its window is still open is on time. The order of a provider's
    files is kept: dates only move back to `as_of`, and files received on the same day load in
    period order (the manifest's sort).
    """
    for f in plan.files.values():
        if f.missing:
            continue
        period = period_of(plan.months[f.month])
        if period > as_of:
            f.missing, f.late, f.resubmit, f.resubmitted_on = True, False, None, None
            continue
        if f.submitted_on > as_of:
            f.submitted_on = as_of
            f.late = f.late and as_of > timetable.window_closes(period)
        if f.resubmitted_on is not None and f.resubmitted_on > as_of:
            f.resubmitted_on = as_of


def _plant_events(plan: Plan, rng: np.random.Generator, n_providers: int, volume: np.ndarray) -> None:
    n_m = len(plan.months)
    keys = [(t, m) for t in range(n_providers) for m in range(n_m)]
    n = len(keys)
    # some providers are habitually late or patchy, most are not
    propensity = rng.gamma(0.6, 1.0, n_providers)
    w = np.array([propensity[t] for t, _ in keys])

    def pick(k: int, eligible: np.ndarray, weighted: bool = True) -> list[int]:
        idx = np.flatnonzero(eligible)
        if k <= 0 or len(idx) == 0:
            return []
        p = w[idx] if weighted else np.ones(len(idx))
        return list(rng.choice(idx, size=min(k, len(idx)), replace=False, p=p / p.sum()))

    free = np.ones(n, bool)
    # the migration provider: a mid-sized trust, in a month that is not the first
    order = np.argsort(volume[: n_providers - 6] if n_providers > 6 else volume)
    migrant = int(order[len(order) // 2])
    drop_month = min(max(1, n_m // 2), n_m - 1) if n_m > 1 else 0
    i = keys.index((migrant, drop_month))
    plan.files[keys[i]].volume_factor = T.VOLUME_DROP_FACTOR
    free[i] = False

    for i in pick(max(1, round(T.MISSING_SHARE * n)), free):
        plan.files[keys[i]].missing = True
        free[i] = False
    for i in pick(max(1, round(T.LATE_SHARE * n)), free):
        plan.files[keys[i]].late = True
        free[i] = False
    resub = pick(max(2, round(T.RESUBMITTED_SHARE * n)), free, weighted=False)
    for j, i in enumerate(resub):
        plan.files[keys[i]].resubmit = "missing_chunk" if j % 2 == 0 else "bad_batch"
        free[i] = False
    for i in pick(max(1, round(0.002 * n)), free, weighted=False):
        plan.files[keys[i]].resubmit = "file_reject"
        free[i] = False
