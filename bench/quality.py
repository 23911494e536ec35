"""Query times behind the Completeness, Data quality and Provider detail pages, on a published store.

    python bench/quality.py [--store data/store] [--repeat 20]

Reports p50 / p95 wall-clock milliseconds per view over `--repeat` runs (no cache: these are the
times a page pays once per snapshot, before st.cache_data keeps the result). Read-only: it
attaches the store's published snapshot and never writes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/ingest.py would shadow the package.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from did_model.scope import CENTRAL, Scope  # noqa: E402
from queries import completeness, quality, volumes  # noqa: E402
from queries.connection import get_snapshot  # noqa: E402


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()  # warm up
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    runs.sort()
    return statistics.median(runs), runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", default="data/store")
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    snap = get_snapshot(Path(args.store))
    known = completeness.periods(snap)
    first, last = known[max(0, len(known) - 12)], known[-1]
    some = completeness.providers(snap, CENTRAL)["provider_code"][0]
    own = Scope("provider", providers=frozenset({some}), user="bench")
    sid = int(completeness.submission_history(snap, CENTRAL, some)["submission_id"][0])
    views: dict[str, Callable[[], object]] = {
        "completeness matrix (12 periods)": lambda: completeness.provider_months(snap, CENTRAL, first, last),
        "pre-publication check": lambda: completeness.pre_publication(snap, CENTRAL, last),
        "volume checks, providers": lambda: volumes.volume_checks(snap, CENTRAL),
        "volume checks, by modality": lambda: volumes.volume_checks(snap, CENTRAL, by_modality=True),
        "item scores (12 periods, all providers)": lambda: quality.item_scores(snap, CENTRAL, first, last),
        "provider scores + peer quartiles": lambda: (
            quality.provider_scores(snap, CENTRAL, first, last),
            quality.peer_overall_scores(snap, CENTRAL, first, last),
        ),
        "issues by DIDS code": lambda: quality.issue_summary(snap, CENTRAL, first, last),
        "drill-down: history + issues + scores + volumes (provider scope)": lambda: (
            completeness.submission_history(snap, own, some),
            quality.submission_issue_summary(snap, own, sid),
            quality.submission_issues(snap, own, sid),
            quality.provider_scores(snap, own, provider=some),
            volumes.volume_checks(snap, own, provider=some),
        ),
    }
    records = int(snap.query("SELECT sum(records) AS n FROM rollup_quality_volume")["n"][0])
    files = int(snap.query("SELECT count(*) AS n FROM submission")["n"][0])
    print(
        f"store {args.store}: snapshot {snap.version}, {records:,} records, {files:,} files, "
        f"{len(known)} periods; {args.repeat} runs each"
    )
    print(f"{'view':<66} {'p50 ms':>8} {'p95 ms':>8}")
    for name, fn in views.items():
        p50, p95 = _time(fn, args.repeat)
        print(f"{name:<66} {p50:>8.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()
