"""A naive second reading of generated files: recount every planted defect from the text alone."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from did_model import spec
from ingest import spec_pack
from ingest.synth.v2items import read_as_v1
from ingest.synth.writer import version_of

REFERRER_OK = r"^([A-Z][0-9]{7}|[A-Z]{2}[0-9]{6})$"


def first_line(path: Path) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.readline()


def n_columns(path: Path) -> int:
    """How many columns a complete file of its DIDS version has (22 for v2.0, 18 for v1.0)."""
    return len(spec_pack.default_pack(version_of(path)).items)


def read_items(path: Path) -> pl.DataFrame | None:
    """A file's rows as the 18 v1.0 items, as strings (None for a file missing a column).

    A v2.0 file through `v2items.read_as_v1`.
    """
    first = first_line(path)
    if first.count(",") + 1 != n_columns(path):
        return None
    if version_of(path) == "1.0":
        header = first.startswith(spec.HEADER[0])
        return pl.read_csv(path, has_header=header, new_columns=list(spec.COLUMNS), infer_schema=False)
    return read_as_v1(path)


def read_all(out: Path, manifest) -> pl.DataFrame:
    """Every row of every complete file, as strings, with its manifest row's fields."""
    frames = []
    for f in manifest.files:
        path = out / f.path
        df = read_items(path)
        if df is None:
            continue
        header = version_of(path) == "2.0" or first_line(path).startswith(spec.HEADER[0])
        frames.append(
            df.with_columns(
                path=pl.lit(f.path),
                submitted_on=pl.lit(f.submitted_on),
                file_activity_month=pl.lit(f.activity_month),
                header=pl.lit(header),
                provider_code=pl.lit(f.provider_code),
            )
        )
    return pl.concat(frames)


def mod11_ok(col: str = "nhs_number") -> pl.Expr:
    d = [pl.col(col).str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(10)]
    check = 11 - sum(x * (10 - i) for i, x in enumerate(d[:9])) % 11
    check = pl.when(check == 11).then(0).otherwise(check)
    return pl.col(col).str.contains(r"^[0-9]{10}$") & (check == d[9])


def recount(rows: pl.DataFrame, known_codes: pl.Series) -> pl.DataFrame:
    """Per file: the planted defect types, recounted from the text."""
    date = {c: pl.col(c).str.to_date("%Y-%m-%d", strict=False) for c in spec.DATE_FIELDS}
    flags = rows.with_columns(
        nhs_number_missing=pl.col("nhs_number").is_null(),
        nhs_number_invalid=pl.col("nhs_number").is_not_null() & ~mod11_ok(),
        referrer_malformed=~pl.col("referrer_code").str.contains(REFERRER_OK),
        date_order=(date["request_date"] > date["test_date"])
        | (date["report_date"] < date["test_date"])
        | (date["request_received_date"] < date["request_date"]),
        unknown_procedure=~pl.col("nicip_code").is_in(known_codes.implode()),
        report_date_missing=pl.col("report_date").is_null(),
        ethnicity_not_stated=pl.col("ethnic_category").is_in(["Z", "99"]),
        late_records=date["test_date"].dt.strftime("%Y-%m") < pl.col("file_activity_month"),
    )
    names = [
        "nhs_number_missing",
        "nhs_number_invalid",
        "referrer_malformed",
        "date_order",
        "unknown_procedure",
        "report_date_missing",
        "ethnicity_not_stated",
        "late_records",
    ]
    per_file = flags.group_by("path").agg(pl.len().alias("records"), *[pl.col(n).sum() for n in names])
    dups = rows.group_by("path").agg(
        (pl.len() - pl.struct("site_code", "accession_number").n_unique()).alias("duplicate_accession")
    )
    return per_file.join(dups, on="path")
