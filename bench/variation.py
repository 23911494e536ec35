"""Query times of the variation views over realistic filter choices: p50 / p95 per query.

    .venv/bin/python bench/variation.py [--store data/store] [--repeat 3]

Reads the published snapshot of --store (read-only). Each query runs uncached (the dashboard's
st.cache_data would hide repeats) for every combination of measure (all imaging, each GP
cancer test group with source 04, each of CT / MRI), period (latest 12 months, latest 3, latest
1) and area (England, a region, an ICB, a sub-ICB); the map levels for the geographic view.
Times include the statistics in Python (DSR, intervals), not the page drawing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from did_model.nicip import TEST_GROUPS  # noqa: E402
from did_model.scope import CENTRAL  # noqa: E402
from did_months import add_months  # noqa: E402
from queries import variation, variation_demographic, variation_flows, variation_geographic  # noqa: E402
from queries.areas import ENGLAND_AREA, Area  # noqa: E402
from queries.connection import get_snapshot  # noqa: E402
from queries.variation import Filters  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", default="data/store")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    snap = get_snapshot(Path(args.store))
    records = snap.query("SELECT count(*) AS n FROM record")["n"][0]
    rollups = snap.query("SELECT sum(records) AS n, count(*) AS rows FROM rollup_variation_area").row(0)
    first, last = variation.default_period(snap)
    periods = [(first, last), (max(first, add_months(last, -2)), last), (last, last)]
    measures = (
        [{}]
        + [{"test_group": g, "patient_source": "04"} for g in TEST_GROUPS]
        + [{"modality": "CT"}, {"modality": "MRI"}]
    )
    practice = snap.query(
        "SELECT region_code, icb_code, sub_icb_code FROM ref_practice ORDER BY list_size DESC LIMIT 1"
    ).row(0)
    areas = [
        ENGLAND_AREA,
        Area("region", practice[0]),
        Area("icb", practice[1]),
        Area("sub_icb", practice[2]),
    ]
    provider = snap.query(
        "SELECT provider_code FROM rollup_variation_flows GROUP BY 1 ORDER BY sum(records) DESC LIMIT 1"
    )["provider_code"][0]
    times: dict[str, list[float]] = defaultdict(list)

    def timed(name, fn, *a):
        t = time.perf_counter()
        fn(*a)
        times[name].append(time.perf_counter() - t)

    for _ in range(args.repeat):
        for period in periods:
            for m in measures:
                f = Filters(*period, **m)
                for area in areas:
                    timed("age_sex_rates", variation_demographic.age_sex_rates, snap, CENTRAL, f, area)
                    timed("area_summary", variation_demographic.area_summary, snap, CENTRAL, f, area)
                    timed("deprivation_rates", variation_demographic.deprivation_rates, snap, CENTRAL, f, area)
                    timed("ethnic_mix", variation_demographic.ethnic_mix, snap, CENTRAL, f, area)
                    timed("lsoa_deprivation", variation_demographic.lsoa_deprivation, snap, CENTRAL, f, area)
                for level in variation.MAP_LEVELS:
                    timed(f"area_rates[{level}]", variation_geographic.area_rates, snap, CENTRAL, f, level)
                timed("area_providers[icb]", variation_flows.area_providers, snap, CENTRAL, f, areas[2])
                timed(
                    "area_provider_modalities[icb]",
                    variation_flows.area_provider_modalities,
                    snap,
                    CENTRAL,
                    f,
                    areas[2],
                )
                timed("provider_origins", variation_flows.provider_origins, snap, CENTRAL, f, provider)
    print(
        f"store {args.store}: snapshot {snap.version}, {records:,} records; rollup_variation_area {rollups[1]:,} rows"
    )
    print(f"{'query':34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, values in times.items():
        values.sort()
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(
            f"{name:34} {len(values):5d} {statistics.median(values) * 1000:8.1f} {p95 * 1000:8.1f} "
            f"{values[-1] * 1000:8.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
