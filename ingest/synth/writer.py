"""Turning a provider-month frame into a DIDS CSV file, and counting what it holds.

A file for a period before 2026-05 (activity before April 2026) is DIDS v1.0: the 18 items in
`did_model.spec` order; a header row (the NHS Data Dictionary names, `spec.HEADER`) is written by
most providers and left out by about one in five, as real RIS extracts differ. From 2026-05 it
is DIDS v2.0 (`spec_pack.version_for_period`, the period read from the file's conventional
name): the v2.0 pack's items with their header, always (v2.0 needs one), the v2.0 items drawn by
`v2items`. Dates are CCYY-MM-DD, absent values are empty strings, lines end with LF.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from did_model import spec
from ingest import spec_pack
from ingest.synth import v2items
from ingest.synth.defects import DEFECTS

DATE_FIELDS = spec.DATE_FIELDS


def to_text(frame: pl.DataFrame, bad_rule: str | None = None) -> pl.DataFrame:
    """The 18 items as strings. With `bad_rule`, rows flagged `_bad` are broken the way that rule catches.

    Also `_clean`: the row carries no planted defect, is not a protected carried-over row nor
    one of a bad batch (a v2.0 defect is planted only there, so that each record carries at most
    one defect); and `_planting`: the file has planted v1.0 defects at all (none in a `--clean`
    run, so none of v2.0 either). `write_csv` writes neither.
    """
    exprs = []
    for c in spec.COLUMNS:
        e = pl.col(c).cast(pl.String) if c in DATE_FIELDS else pl.col(c)
        if bad_rule == "DIDS045" and c == "test_date":
            e = pl.when(pl.col("_bad")).then(pl.col(c).dt.strftime("%d/%m/%Y")).otherwise(e)
        if bad_rule == "DIDS020" and c == "patient_source":
            e = pl.when(pl.col("_bad")).then(None).otherwise(e)
        exprs.append(e.alias(c))
    clean = pl.lit(True)
    for flag in ("_protect", "_bad"):
        if flag in frame.columns:
            clean = clean & ~pl.col(flag).fill_null(False)
    planting = pl.lit(False)
    if "_defect" in frame.columns:
        clean = clean & pl.col("_defect").is_null()
        planting = pl.col("_defect").is_not_null().any()
    return frame.select(*exprs, clean.alias("_clean"), planting.alias("_planting"))


def version_of(path: Path) -> str:
    """The DIDS version a synthetic file is written in: the one its period must be sent in."""
    m = spec.FILE_NAME.match(Path(path).name)
    if not m:
        return "1.0"
    period = m["period"]
    return spec_pack.version_for_period(date(int(period[:4]), int(period[4:]), 1))


def write_csv(text: pl.DataFrame, path: Path, header: bool, drop_column: str | None = None) -> dict[str, int]:
    """Write one extract. `drop_column` makes a file without that mandatory column (a file-level
    reject, DIDS075). Returns the v2.0-only defects planted (none in a v1.0 file)."""
    planted: dict[str, int] = {}
    items = spec.ITEMS
    if version_of(path) == "2.0":
        items = spec_pack.default_pack("2.0").items
        text = v2items.add_v2_items(text, Path(path).name)
        if drop_column is None and text.height and text["_planting"][0]:
            text, planted = v2items.plant_v2(text, Path(path).name)
        header = True
    cols = [i.field for i in items if i.field != drop_column]
    names = {i.field: i.name for i in items}
    path.parent.mkdir(parents=True, exist_ok=True)
    text.select(cols).rename({c: names[c] for c in cols}).write_csv(
        path, include_header=header, null_value="", line_terminator="\n", quote_style="necessary"
    )
    return planted


def count(frame: pl.DataFrame) -> dict[str, int]:
    """What a file holds, for planted.json: each planted defect and the normal-but-notable values."""
    labels = frame["_defect"].value_counts() if "_defect" in frame.columns else None
    by = dict(labels.iter_rows()) if labels is not None else {}
    out = {d: int(by.get(d, 0)) for d in DEFECTS}
    out["duplicate_accession"] = (
        frame.height - frame.select("site_code", "accession_number").n_unique() if frame.height else 0
    )
    out.update({d: 0 for d in v2items.V2_DEFECT_RATES})  # a v2.0 file's are set by the generator from write_csv
    out["records"] = frame.height
    out["report_date_missing"] = int(frame["report_date"].is_null().sum())
    out["ethnicity_not_stated"] = int(frame["ethnic_category"].is_in(["Z", "99"]).sum())
    out["late_records"] = int(frame["_late"].sum())
    out["corrections"] = int(frame["_correction"].sum())
    return out
