"""Benchmark: the DIDS v2.0 queries (issue 20) of the Waiting times and Scanner pages over realistic filter choices.

    .venv/bin/python bench/urgency.py --store data/store [--repeat 3] [--json FILE]

Attaches the store's published snapshot read-only and runs, uncached, every query the "By urgency"
part of the page makes — waits by urgency (headline, each breakdown, urgent suspected cancer
beside routine), report turnaround (each breakdown), the diagnostic waiting list (each
breakdown) — and the three Making Data Count charts (median wait, % reported within 28 days, %
waiting 6 weeks or more: the by-month query, the XmR chart and its icons), the DM01 waiting list
and reconciliation, and the scanner page's scans per operating hour and heat map, for modalities (MRI,
CT, all), patient-source groups (all, GP direct access), England and the busiest provider, and a
central and a provider scope, over the v2.0 months held. The issue's bar: p95 ≤ 200 ms a query
at national scale.

Prints p50 / p95 / max per query in milliseconds as a Markdown table; `--json` writes them too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.equipment_waits import percentile  # noqa: E402
from did_model.scope import CENTRAL, Scope  # noqa: E402
from ingest.store import current_snapshot  # noqa: E402
from queries import dm01, productivity, spc, turnaround, urgency, waiting_list, waits  # noqa: E402
from queries.connection import Snapshot  # noqa: E402

TARGETS_MS = 200


def run(snap: Snapshot, repeat: int) -> dict[str, list[float]]:
    """Timings in milliseconds per query kind."""
    times: dict[str, list[float]] = defaultdict(list)

    def timed(kind: str, fn, *a):
        started = time.perf_counter()
        out = fn(*a)
        times[kind].append((time.perf_counter() - started) * 1000)
        return out

    first, last = urgency.default_months(snap)
    wait_months = waits.default_months(snap)
    busiest = snap.query("SELECT provider_code FROM rollup_waits_v2 GROUP BY 1 ORDER BY sum(records) DESC LIMIT 1")[
        "provider_code"
    ][0]
    scopes = [CENTRAL, Scope("provider", providers=frozenset({busiest}))]
    for _ in range(repeat):
        for modality, source, provider, scope in itertools.product(
            ("MRI", "CT", None), (None, "gp_direct_access"), (None, busiest), scopes
        ):
            f = urgency.UrgencyFilter(first, last, "request_to_procedure", modality, source, provider)
            timed("urgency: headline", urgency.urgency_summary, snap, scope, f)
            for by in urgency.BREAKDOWNS:
                timed(f"urgency: by {by}", urgency.urgency_summary, snap, scope, f, by)
            timed(
                "urgency: USC beside routine",
                lambda: urgency.usc_vs_routine(urgency.urgency_summary(snap, scope, f, "modality"), "modality"),
            )
            report = urgency.UrgencyFilter(first, last, "procedure_to_report", modality, source, provider)
            for by in turnaround.BREAKDOWNS:
                timed(f"turnaround: by {by}", turnaround.turnaround, snap, scope, report, by)
            for by in (None, *urgency.BREAKDOWNS):
                timed(f"waiting list: by {by or 'england'}", waiting_list.waiting_list, snap, scope, f, by)
            wf = waits.WaitFilter(*wait_months, "request_to_test", modality, source, provider)
            timed("DM01: waiting list by test and provider", waiting_list.dm01_waiting_list, snap, scope, f)
            if dm01.loaded_months(snap):
                timed("DM01: reconciliation", dm01.reconciliation, snap, scope, first, last)
            if modality is not None and source is None:  # the scanner page: one modality, every source
                pf = productivity.ProductivityFilter(modality, first, last)
                timed("scanner page: scans per operating hour by site", productivity.site_productivity, snap, scope, pf)
                timed("scanner page: hour × weekday heat map", productivity.hour_weekday, snap, scope, pf, provider)
            timed(
                "SPC: median wait",
                lambda: _icons(spc.with_xmr(waits.wait_summary(snap, scope, wf, "month"), "median_days"), False, None),
            )
            timed(
                "SPC: % reported within 28 days",
                lambda: _icons(
                    spc.with_xmr(turnaround.turnaround(snap, scope, report, "month"), "share_within_28d"),
                    True,
                    spc.REPORT_TARGET,
                ),
            )
            timed(
                "SPC: % waiting 6 weeks or more",
                lambda: _icons(
                    spc.with_xmr(waiting_list.waiting_list(snap, scope, f, "month"), "share_six_weeks_or_more"),
                    False,
                    spc.SIX_WEEK_TARGET,
                ),
            )
    return times


def _icons(chart, higher_is_better: bool, target: float | None):
    return spc.variation(chart, higher_is_better), spc.assurance(chart, target, higher_is_better)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, help="a store directory (with a published snapshot)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the timings here")
    args = ap.parse_args(argv)
    path = current_snapshot(Path(args.store))
    if path is None:
        print(
            f"no published snapshot in {args.store}: build one first (did demo, or did load then did publish)",
            file=sys.stderr,
        )
        return 2
    snap = Snapshot(path)
    try:
        if (
            not snap.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'rollup_waits_v2'")[
                "n"
            ][0]
            or urgency.default_months(snap) is None
        ):
            print(
                f"the snapshot in {args.store} holds no DIDS v2.0 month (April 2026 activity on): nothing to time",
                file=sys.stderr,
            )
            return 2
        times = run(snap, args.repeat)
        size = snap.query("SELECT count(*) AS n FROM rollup_waits_v2")["n"][0]
        print(f"snapshot {snap.version}: rollup_waits_v2 {size:,} rows; {args.repeat} repeats\n")
        print(f"| query | runs | p50 ms | p95 ms | max ms | p95 ≤ {TARGETS_MS} ms |")
        print("|---|---:|---:|---:|---:|---|")
        summary = {}
        for kind, values in times.items():
            s = summary[kind] = {
                "runs": len(values),
                "p50": statistics.median(values),
                "p95": percentile(values, 95),
                "max": max(values),
            }
            print(
                f"| {kind} | {s['runs']} | {s['p50']:.1f} | {s['p95']:.1f} | {s['max']:.1f} | "
                f"{'yes' if s['p95'] <= TARGETS_MS else 'no'} |"
            )
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {"snapshot": snap.version, "rollup_waits_v2_rows": size, "timings": summary}, indent=2, default=int
                )
            )
    finally:
        snap.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
