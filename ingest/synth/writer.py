"""Turning a provider-month frame into a DID v1.0 CSV file, and counting what it holds.

Columns are the 18 items in `ingest.spec` order; a header row (the NHS Data Dictionary names,
`spec.HEADER`) is written by most providers and left out by about one in five, as real RIS
extracts differ. Dates are CCYY-MM-DD, absent values are empty strings, lines end with LF.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ingest import spec
from ingest.synth.defects import DEFECTS

DATE_FIELDS = spec.DATE_FIELDS


def to_text(frame: pl.DataFrame, bad_rule: str | None = None) -> pl.DataFrame:
    """The 18 items as strings. With `bad_rule`, rows flagged `_bad` are broken the way that rule catches."""
    exprs = []
    for c in spec.COLUMNS:
        e = pl.col(c).cast(pl.String) if c in DATE_FIELDS else pl.col(c)
        if bad_rule == "DIDS045" and c == "test_date":
            e = pl.when(pl.col("_bad")).then(pl.col(c).dt.strftime("%d/%m/%Y")).otherwise(e)
        if bad_rule == "DIDS020" and c == "patient_source":
            e = pl.when(pl.col("_bad")).then(None).otherwise(e)
        exprs.append(e.alias(c))
    return frame.select(exprs)


def write_csv(text: pl.DataFrame, path: Path, header: bool, drop_column: str | None = None) -> None:
    """Write one extract. `drop_column` makes a 17-column file (a file-level reject, DIDS075)."""
    cols = [c for c in spec.COLUMNS if c != drop_column]
    names = {c: spec.BY_FIELD[c].name for c in cols}
    path.parent.mkdir(parents=True, exist_ok=True)
    text.select(cols).rename(names).write_csv(path, include_header=header, null_value="",
                                              line_terminator="\n", quote_style="necessary")


def count(frame: pl.DataFrame) -> dict[str, int]:
    """What a file holds, for planted.json: each planted defect and the normal-but-notable values."""
    labels = frame["_defect"].value_counts() if "_defect" in frame.columns else None
    by = dict(labels.iter_rows()) if labels is not None else {}
    out = {d: int(by.get(d, 0)) for d in DEFECTS}
    out["duplicate_accession"] = frame.height - frame.select("site_code", "accession_number").n_unique() \
        if frame.height else 0
    out["records"] = frame.height
    out["report_date_missing"] = int(frame["report_date"].is_null().sum())
    out["ethnicity_not_stated"] = int(frame["ethnic_category"].is_in(["Z", "99"]).sum())
    out["late_records"] = int(frame["_late"].sum())
    out["corrections"] = int(frame["_correction"].sum())
    return out
