"""Python functions over a frame's values, worked out in the calling thread.

Never as a polars user-defined function (`map_elements`, `map_batches`): polars runs those on its
own thread pool, where each needs the interpreter lock, and a second Python thread asking polars
for anything that holds that lock while it waits for the pool (`DataFrame.to_pandas`, which
`st.dataframe` calls on every polars frame) deadlocks the process: two users' pages at once hung
the dashboard's server for good (polars issue 26821; seen here on polars 2.1). A test keeps
`map_elements` and `map_batches` out of the code the server and the loader run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl


def each(
    series: pl.Series, function: Callable[[Any], Any], dtype: pl.DataType | type[pl.DataType] = pl.String
) -> pl.Series:
    """`function` of each value of `series`, an empty value staying empty (as map_elements)."""
    return pl.Series(series.name, [None if v is None else function(v) for v in series.to_list()], dtype=dtype)


def each_row(
    frame: pl.DataFrame, columns: list[str], function: Callable[..., Any], name: str, dtype=pl.String
) -> pl.Series:
    """`function(*values)` of each row's `columns`, as a Series called `name`."""
    return pl.Series(name, [function(*values) for values in frame.select(columns).iter_rows()], dtype=dtype)
