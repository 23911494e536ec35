"""Benchmark: the provider profile (issue 23) for the largest provider — figures, HTML and PDF.

    .venv/bin/python bench/provider_profile.py --store data/store [--period YYYY-MM] [--months 12] \
        [--repeat 3] [--json FILE]

Attaches the store's published snapshot read-only and builds, uncached, the whole pack for the
provider with the most examinations in the months: the figures (queries/profile.py: every page
query for the provider, its ten peers and England, the peer selection, the SPC signals), then
the HTML and the WeasyPrint PDF, as the central team and as the provider's own user (whose peer
figures are asked for once more under the peers' scope). The issue's bar: ≤ 5 s a pack at
national scale. Writes nothing beside the store (no audit line: it calls the library, not `did`).

Prints the time of each step (best and worst of --repeat) as a Markdown table; `--json` writes it too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from did_model.scope import CENTRAL, Scope  # noqa: E402
from did_months import parse_period  # noqa: E402
from ingest.store import current_snapshot  # noqa: E402
from queries.connection import Snapshot  # noqa: E402
from queries.profile import activity_months, build_profile  # noqa: E402
from queries.profile_html import render  # noqa: E402
from queries.reports.provider_profile import notes_html, notes_lines, pdf_from_html  # noqa: E402

TARGET_S = 5.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, type=Path)
    ap.add_argument("--period", help="last activity month YYYY-MM (default: the latest held)")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    snap = Snapshot(current_snapshot(args.store))
    last = parse_period(args.period) if args.period else activity_months(snap)[-1]
    provider = snap.query(
        "SELECT provider_code FROM rollup_activity WHERE activity_month <= $last "
        "GROUP BY 1 ORDER BY sum(records) DESC, 1 LIMIT 1",
        {"last": last},
    ).item()
    scopes = {"central": CENTRAL, "provider": Scope("provider", providers=frozenset({provider}), user="bench")}
    rows = []
    for who, scope in scopes.items():
        times: dict[str, list[float]] = {"figures": [], "html": [], "pdf": [], "pack": []}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            profile = build_profile(snap, scope, provider, last, args.months)
            t1 = time.perf_counter()
            html = render(profile, notes_html(notes_lines(snap, profile)))
            t2 = time.perf_counter()
            pdf = pdf_from_html(html)
            t3 = time.perf_counter()
            times["figures"].append(t1 - t0)
            times["html"].append(t2 - t1)
            times["pdf"].append(t3 - t2)
            times["pack"].append(t3 - t0)
        for step, values in times.items():
            rows.append({"scope": who, "step": step, "best_s": min(values), "worst_s": max(values)})
    print(f"Provider profile: {provider}, {args.months} months to {last:%Y-%m}, PDF {len(pdf):,} bytes")
    print("| scope | step | best (s) | worst (s) |\n|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['scope']} | {r['step']} | {r['best_s']:.2f} | {r['worst_s']:.2f} |")
    worst = max(r["worst_s"] for r in rows if r["step"] == "pack")
    print(
        f"Worst whole pack {worst:.2f} s against the {TARGET_S:.0f} s bar: {'met' if worst <= TARGET_S else 'MISSED'}"
    )
    if args.json:
        args.json.write_text(json.dumps({"provider": provider, "last": f"{last:%Y-%m}", "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
