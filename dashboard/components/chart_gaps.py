"""Breaking a line at a missing month, so a chart never draws activity across a month with no figure.

Plotly joins consecutive points whatever lies between them; a row of nulls for each missing month
(with connectgaps off, plotly's default) leaves the gap visible.
"""

from __future__ import annotations

from datetime import date

import polars as pl


def with_missing_months(frame: pl.DataFrame, month: str) -> pl.DataFrame:
    """`frame` sorted by `month` with a row of nulls for every month missing between its first and
    last (first-of-month dates), so a line drawn from it breaks there."""
    if frame.height < 2:
        return frame.sort(month)
    first, last = frame[month].min(), frame[month].max()
    assert isinstance(first, date) and isinstance(last, date), f"{month} holds dates"
    every = pl.DataFrame(
        {month: pl.date_range(first, last, interval="1mo", eager=True)}, schema={month: frame.schema[month]}
    )
    return every.join(frame, on=month, how="left").select(frame.columns)
