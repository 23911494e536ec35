"""A synthetic DM01 file for the demo, made from the demo's own examinations (ingest/dm01.py
describes the format), so that the waiting-times page's reconciliation has something to line up.

DM01's activity is the DID count of each month, provider and test with a little noise (±2%, as
two counts of the same tests made at different times differ), except for a few providers whose
every figure is 15–30% off either way, so the ±10% flag shows. The month-end waiting list is
made up from the month's waiting-list tests (1.1–1.6 times them; 60% of the activity before DIDS
v2.0 says which tests were listed), and its 6-weeks-or-more share is the share of the month's
completed waits of 6 weeks or more, or 5–35% where there are none.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from did_model.dm01 import TEST_JOIN, TEST_SQL
from did_model.rollup_defs.urgency import WAITING_LIST_CATEGORY

OFF_PROVIDERS = 3


def write_dm01_file(con: duckdb.DuckDBPyConnection, path: Path, seed: int = 0) -> Path:
    """Write the DM01 CSV for the records in the working store `con`; returns its path."""
    figures = con.sql(
        f"""
        SELECT strftime(activity_month, '%Y-%m') AS period, provider_code, {TEST_SQL} AS test,
               count(*) AS activity,
               count(*) FILTER (WHERE activity_category = $listed) AS listed,
               count(*) FILTER (WHERE activity_category = $listed
                                  AND date_diff('day', waiting_list_clock_start, test_date) >= 42) AS over_6wk
        FROM record {TEST_JOIN}
        WHERE {TEST_SQL} IS NOT NULL
        GROUP BY ALL ORDER BY ALL
        """,
        params={"listed": WAITING_LIST_CATEGORY},
    ).pl()
    rng = np.random.default_rng(seed)
    providers = sorted(set(figures["provider_code"]))
    off = {
        p: rng.choice([rng.uniform(0.70, 0.85), rng.uniform(1.15, 1.30)])
        for p in rng.choice(providers, size=min(OFF_PROVIDERS, len(providers)), replace=False)
    }
    n = figures.height
    factor = figures["provider_code"].replace_strict(off, default=1.0, return_dtype=pl.Float64).to_numpy()
    activity = np.rint(figures["activity"].to_numpy() * factor * rng.normal(1.0, 0.02 / 3, n)).astype(int)
    listed, over = figures["listed"].to_numpy(), figures["over_6wk"].to_numpy()
    base = np.where(listed > 0, listed, figures["activity"].to_numpy() * 0.6)
    waiting = np.rint(base * rng.uniform(1.1, 1.6, n)).astype(int)
    share = np.where(listed > 0, over / np.maximum(listed, 1), rng.uniform(0.05, 0.35, n))
    out = figures.select("period", "provider_code", "test").with_columns(
        pl.Series("activity", np.maximum(activity, 0)),
        pl.Series("waiting_total", waiting),
        pl.Series("waiting_6wk_plus", np.minimum(np.rint(waiting * share).astype(int), waiting)),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    out.write_csv(path)
    return path
