"""Official outputs: the monthly DID statistics tables and the KH12-style annual return (issue #10).

Periods and months (architecture §4): a report for **period P** (the submission month) covers
the activity month P − 1 — the month P's files mostly report, as `queries.headline`'s "latest
complete month" and the pre-publication check do — and, for the activity-by-month table, the 13
activity months ending there (the rolling 13 months of NHS England's monthly provisional
release, did-dataset.md §5.1; never before the store's first month).

"% of organisations included" for activity month M: providers with an accepted file for period
M + 1, out of the providers expected for it — by the Completeness page's definition
(`queries.completeness.providers_included`, also the home page's figure): those with an imaging
site open in M, an accepted file in any of the 12 periods before M + 1, or any file for M + 1.

Commissioner: the sub-ICB and ICB of the patient's registered GP practice (ref_practice, 2026
geography), as in the official tables; records whose practice is blank or not in the map are a
"Not known" row.

Disclosure (did-dataset.md §5.3): these tables are for publication, whoever asks — every count
goes through `queries.disclosure` with a non-central scope (`PUBLICATION`): each cell is perturbed
(cell-key noise of at most ±2, the same for the same cell in every report that shows it), then
1–7 suppressed and the rest rounded to the nearest 5, medians of suppressed counts suppressed.
A row total and the England row are cells of their own, perturbed independently of their parts,
so a total minus the shown parts leaves the hidden cell plus noise that cannot be taken out.
This replaces the secondary suppression within each row used before: with perturbation a hidden
cell needs no complementary hidden cells, and rows keep more of their figures. Rows need not add
up to their totals.

Everything reads rollups (rollup_activity, rollup_waits, rollup_official_*); a snapshot
published before the rollup_official_* tables existed runs their definition as a subquery.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from did_errors import UsageError
from did_model.nicip import MODALITIES, PET_MODALITY, TEST_GROUPS
from did_model.rollups import standalone
from did_model.scope import PUBLICATION  # PUBLICATION: official tables are publication-safe whoever builds them
from did_months import add_months, month_range, parse_period
from queries import waits
from queries.connection import Snapshot, has_tables
from queries.disclosure import perturb, protect
from queries.headline import (
    ACTIVITY_BY_MONTH,
    ENGLAND_CODE,
    GP_DIRECT_ACCESS,
    GP_DIRECT_ACCESS_CONTEXT,
    UNKNOWN_MODALITY,
    providers_submitting,
)

ENGLAND = "England"  # the total row, ENGLAND_CODE
NOT_KNOWN = "Not known"
ROLLING_MONTHS = 13

# Modality columns, in a fixed order so every month's file has the same layout.
# Modality names are did_model.nicip's (MODALITIES and PET_MODALITY); Unknown = no NICIP modality.
MODALITY_COLUMNS: tuple[str, ...] = (
    "Plain radiography",
    "Ultrasound",
    "CT",
    "MRI",
    "Fluoroscopy",
    "Nuclear medicine",
    PET_MODALITY,
    "Interventional",
    "Endoscopic",
    "Other",
    UNKNOWN_MODALITY,
)
assert set(MODALITIES.values()) | {PET_MODALITY} <= set(MODALITY_COLUMNS)

# KH12 Part 2 modality rows (did-dataset.md §6.1) and the modalities counted in each.
KH12_COLUMNS: dict[str, tuple[str, ...]] = {
    "xray_radiographs": ("Plain radiography",),
    "ultrasound": ("Ultrasound",),
    "ct": ("CT",),
    "mri": ("MRI",),
    "fluoroscopy": ("Fluoroscopy",),
    "radio_isotopes": ("Nuclear medicine", PET_MODALITY),
    "other": ("Interventional", "Endoscopic", "Other", UNKNOWN_MODALITY),
}


# --- arguments ---------------------------------------------------------------------------------


def period_argument(text: str) -> str:
    """argparse type for --period: 'YYYY-MM' (normalised), ValueError otherwise."""
    return f"{parse_period(text):%Y-%m}"


@dataclass(frozen=True)
class FinancialYear:
    """April to March. `label` is '2025-26'."""

    first_year: int

    @property
    def label(self) -> str:
        return f"{self.first_year}-{(self.first_year + 1) % 100:02d}"

    @property
    def first_month(self) -> date:
        return date(self.first_year, 4, 1)

    @property
    def last_month(self) -> date:
        return date(self.first_year + 1, 3, 1)

    def months(self) -> list[date]:
        return month_range(self.first_month, self.last_month)

    @classmethod
    def parse(cls, text: str) -> FinancialYear:
        """'2025-26' or '2025/26' (the two years must follow each other)."""
        m = re.fullmatch(r"\s*(\d{4})\s*[-/]\s*(\d{2}|\d{4})\s*", text)
        if not m:
            raise UsageError(f"year '{text}' is not a financial year in the form 2025-26")
        first, second = int(m.group(1)), int(m.group(2))
        if second % 100 != (first + 1) % 100 or (second >= 100 and second != first + 1):
            raise UsageError(f"year '{text}': the second year must follow the first (e.g. 2025-26)")
        if not 2012 <= first <= 2100:
            raise UsageError(f"year '{text}' is outside 2012-13 to 2100-01")
        return cls(first)


def year_argument(text: str) -> str:
    """argparse type for --year: the normalised label ('2025-26')."""
    return FinancialYear.parse(text).label


# --- rollups -----------------------------------------------------------------------------------


def rollup_source(snap: Snapshot, name: str) -> str:
    """The rollup table's name, or — when this snapshot predates it — its definition as a
    parenthesised subquery. Either way the same rows; the SQL text is code, never input."""
    return name if has_tables(snap, name) else f"({standalone(name)})"


# --- names -------------------------------------------------------------------------------------


def provider_names(snap: Snapshot) -> pl.DataFrame:
    """provider_code, provider_name for every provider with records: ref_site's name, else the
    ODS organisation name, else the code."""
    return snap.query(
        """
        WITH codes AS (SELECT DISTINCT provider_code FROM rollup_activity),
        sites AS (SELECT provider_code, min(provider_name) AS provider_name FROM ref_site GROUP BY 1)
        SELECT c.provider_code, coalesce(s.provider_name, o.name, c.provider_code) AS provider_name
        FROM codes c
        LEFT JOIN sites s USING (provider_code)
        LEFT JOIN ref_org o ON o.org_code = c.provider_code
        ORDER BY c.provider_code
        """
    )


def _commissioner_names(snap: Snapshot) -> pl.DataFrame:
    return snap.query("SELECT DISTINCT sub_icb_code, sub_icb_name, icb_code, icb_name FROM ref_practice ORDER BY 1")


# --- shared table shaping ----------------------------------------------------------------------


def publication_table(
    snap: Snapshot,
    long: pl.DataFrame,
    keys: list[str],
    column: str,
    columns: Sequence[str],
    context: tuple,
    england: dict[str, str] | None = None,
    count: str = "records",
) -> pl.DataFrame:
    """Exact counts in long form (keys…, column, count) → the published wide table.

    Every key row gets every column (zeros filled). Each cell is perturbed, named by `context`
    (what the table counts: its rollup and period) with the row's first key (a code) and its
    column, then protected; `total` is the row's exact total perturbed as a cell of its own (never
    the sum of the exact parts), protected the same way. With `england` (key → value), a first
    row totals every row, its cells perturbed as cells of their own.
    """
    long = long.with_columns(pl.col(count).cast(pl.Int64))
    rows = long.select(keys).unique()
    if england is not None:
        national = (
            long.group_by(column).agg(pl.col(count).sum()).with_columns(pl.lit(v).alias(k) for k, v in england.items())
        )
        long = pl.concat([national.select(long.columns), long])
        rows = pl.concat([pl.DataFrame({k: [v] for k, v in england.items()}, schema=rows.schema), rows])
    grid = rows.join(pl.DataFrame({column: list(columns)}), how="cross")
    cells = grid.join(
        long.group_by([*keys, column]).agg(pl.col(count).sum()), on=[*keys, column], how="left"
    ).with_columns(pl.col(count).fill_null(0))
    totals = cells.group_by(keys).agg(pl.col(count).sum().alias("total"))
    cells = perturb(snap, cells, PUBLICATION, counts=[count], keys=[keys[0], column], context=context)
    totals = perturb(snap, totals, PUBLICATION, counts=["total"], keys=[keys[0]], context=context)
    cells = protect(cells, PUBLICATION, counts=[count]).drop("suppressed")
    wide = cells.pivot(on=column, index=keys, values=count).select([*keys, *columns])
    out = rows.join(wide, on=keys, how="left", maintain_order="left").join(
        protect(totals, PUBLICATION, counts=["total"]).drop("suppressed"), on=keys, how="left", maintain_order="left"
    )
    return out.with_columns(pl.any_horizontal(pl.col(c).is_null() for c in [*columns, "total"]).alias("suppressed"))


def _ordered(frame: pl.DataFrame, first_key: str, england: bool = True) -> pl.DataFrame:
    """England first, then rows by code, 'Not known' last."""
    rank = pl.when(pl.col(first_key) == ENGLAND_CODE).then(0).when(pl.col(first_key) == NOT_KNOWN).then(2).otherwise(1)
    return (
        frame.with_columns(rank.alias("__rank")).sort(["__rank", *frame.columns[:2]]).drop("__rank")
        if england
        else frame
    )


# --- monthly tables ----------------------------------------------------------------------------


def reporting_month(period: date) -> date:
    """The activity month a period's report covers: the month before."""
    return add_months(period, -1)


def activity_by_month(snap: Snapshot, period: date) -> pl.DataFrame:
    """Examinations by activity month × modality for the 13 months ending with the reporting month,
    with the total and "% of organisations included" for each month.

    Columns: activity_month, one per MODALITY_COLUMNS, total, organisations_included,
    organisations_expected, pct_organisations_included (0-100, one decimal).
    """
    last = reporting_month(period)
    first = add_months(last, -(ROLLING_MONTHS - 1))
    long = snap.query(
        """
        SELECT activity_month, coalesce(modality, $unknown) AS modality, sum(records)::BIGINT AS records
        FROM rollup_activity WHERE activity_month BETWEEN $first AND $last
        GROUP BY ALL
        """,
        {"unknown": UNKNOWN_MODALITY, "first": first, "last": last},
    )
    start = snap.query("SELECT min(activity_month) AS m FROM rollup_activity")["m"][0]
    if start is None or start > last:
        months: list[date] = []
    else:
        months = [m for m in (add_months(first, i) for i in range(ROLLING_MONTHS)) if m >= start]
    long = (
        pl.DataFrame({"activity_month": months}, schema={"activity_month": pl.Date})
        .join(long, on="activity_month", how="left")
        .with_columns(pl.col("modality").fill_null(UNKNOWN_MODALITY), pl.col("records").fill_null(0))
    )
    table = publication_table(snap, long, ["activity_month"], "modality", MODALITY_COLUMNS, ACTIVITY_BY_MONTH).sort(
        "activity_month"
    )
    orgs = [providers_submitting(snap, add_months(m, 1)) for m in months]
    coverage = pl.DataFrame(
        {
            "activity_month": months,
            "organisations_included": [o.submitted for o in orgs],
            "organisations_expected": [o.expected for o in orgs],
        },
        schema={"activity_month": pl.Date, "organisations_included": pl.Int64, "organisations_expected": pl.Int64},
    ).with_columns(
        pl.when(pl.col("organisations_expected") > 0)
        .then((pl.col("organisations_included") * 100 / pl.col("organisations_expected")).round(1))
        .alias("pct_organisations_included")
    )
    return table.join(coverage, on="activity_month", how="left", maintain_order="left")


def activity_by_provider(snap: Snapshot, period: date) -> pl.DataFrame:
    """Examinations in the reporting month by provider × modality, England first."""
    month = reporting_month(period)
    long = snap.query(
        """
        SELECT provider_code, coalesce(modality, $unknown) AS modality, sum(records)::BIGINT AS records
        FROM rollup_activity WHERE activity_month = $month GROUP BY ALL
        """,
        {"unknown": UNKNOWN_MODALITY, "month": month},
    ).join(provider_names(snap), on="provider_code", how="left")
    table = publication_table(
        snap,
        long,
        ["provider_code", "provider_name"],
        "modality",
        MODALITY_COLUMNS,
        ("official activity by provider", month),
        england={"provider_code": ENGLAND_CODE, "provider_name": ENGLAND},
    )
    return _ordered(table, "provider_code")


def _commissioner_long(snap: Snapshot, month: date, level: str, gpda: bool) -> pl.DataFrame:
    source = rollup_source(snap, "rollup_official_commissioner")
    column = "test_group" if gpda else f"coalesce(modality, '{UNKNOWN_MODALITY}')"
    where = "AND patient_source = $gpda AND test_group IS NOT NULL" if gpda else ""
    long = snap.query(
        f"""
        SELECT sub_icb_code, icb_code, {column} AS measure, sum(records)::BIGINT AS records
        FROM {source} WHERE activity_month = $month {where}
        GROUP BY ALL
        """,
        {"month": month, **({"gpda": GP_DIRECT_ACCESS} if gpda else {})},
    )
    names = _commissioner_names(snap)
    if level == "icb":
        icbs = names.select("icb_code", "icb_name").unique()
        return (
            long.group_by("icb_code", "measure")
            .agg(pl.col("records").sum())
            .join(icbs, on="icb_code", how="left")
            .with_columns(pl.col("icb_code").fill_null(NOT_KNOWN), pl.col("icb_name").fill_null(NOT_KNOWN))
        )
    return (
        long.drop("icb_code")
        .join(names, on="sub_icb_code", how="left")
        .with_columns(pl.col(c).fill_null(NOT_KNOWN) for c in ("sub_icb_code", "sub_icb_name", "icb_code", "icb_name"))
    )


_LEVEL_KEYS = {"sub_icb": ["sub_icb_code", "sub_icb_name", "icb_code", "icb_name"], "icb": ["icb_code", "icb_name"]}


def activity_by_commissioner(snap: Snapshot, period: date, level: str = "sub_icb") -> pl.DataFrame:
    """Examinations in the reporting month by commissioner (level 'sub_icb' or 'icb') × modality."""
    keys = _LEVEL_KEYS[level]
    month = reporting_month(period)
    long = _commissioner_long(snap, month, level, gpda=False)
    table = publication_table(
        snap,
        long,
        keys,
        "measure",
        MODALITY_COLUMNS,
        ("official commissioner", month),
        england={k: (ENGLAND_CODE if k.endswith("code") else ENGLAND) for k in keys},
    )
    return _ordered(table, keys[0])


def gp_direct_access_by_commissioner(snap: Snapshot, period: date) -> pl.DataFrame:
    """GP-direct-access cancer tests (patient source 04, the five test groups) in the reporting
    month by sub-ICB of the registered practice. Columns: keys, one per test group id, total."""
    keys = _LEVEL_KEYS["sub_icb"]
    month = reporting_month(period)
    long = _commissioner_long(snap, month, "sub_icb", gpda=True)
    table = publication_table(
        snap,
        long,
        keys,
        "measure",
        list(TEST_GROUPS),
        (*GP_DIRECT_ACCESS_CONTEXT, month),
        england={k: (ENGLAND_CODE if k.endswith("code") else ENGLAND) for k in keys},
    )
    return _ordered(table, keys[0])


WAIT_INTERVALS = ("request_to_test", "test_to_report")


def waiting_time_medians(snap: Snapshot, period: date) -> pl.DataFrame:
    """Median request→test and test→report days by modality in the reporting month, with an
    "All modalities" row first — `queries.waits.wait_summary` (the waiting-times page's figures)
    under the publication's disclosure rule.

    Columns: modality, then for each interval: <interval>_records, <interval>_median_days.
    """
    month = reporting_month(period)
    out: pl.DataFrame | None = None
    for interval in WAIT_INTERVALS:
        f = waits.WaitFilter(first_month=month, last_month=month, interval=interval)
        total = waits.wait_summary(snap, PUBLICATION, f, None).with_columns(pl.lit("All modalities").alias("modality"))
        by = waits.wait_summary(snap, PUBLICATION, f, "modality").sort("modality")
        part = pl.concat([total.select(by.columns), by]).select(
            "modality",
            pl.col("records").alias(f"{interval}_records"),
            pl.col("median_days").alias(f"{interval}_median_days"),
        )
        out = (
            part
            if out is None
            else out.join(part, on="modality", how="full", coalesce=True, maintain_order="left_right")
        )
    assert out is not None
    return out


def monthly_tables(snap: Snapshot, period: date) -> dict[str, pl.DataFrame]:
    """Every table of the monthly release for `period`, in publication order."""
    return {
        "activity_by_month": activity_by_month(snap, period),
        "activity_by_provider": activity_by_provider(snap, period),
        "activity_by_sub_icb": activity_by_commissioner(snap, period, "sub_icb"),
        "activity_by_icb": activity_by_commissioner(snap, period, "icb"),
        "waiting_times": waiting_time_medians(snap, period),
        "gp_direct_access_by_sub_icb": gp_direct_access_by_commissioner(snap, period),
    }


def report_periods(snap: Snapshot) -> list[date]:
    """Periods a monthly report can be asked for: those with an accepted file, newest first."""
    df = snap.query(
        "SELECT DISTINCT period FROM submission WHERE status IN ('accepted', 'superseded') ORDER BY period DESC"
    )
    return df["period"].to_list()


# --- KH12 --------------------------------------------------------------------------------------


def kh12(snap: Snapshot, year: FinancialYear) -> pl.DataFrame:
    """Examinations in a financial year by provider in the KH12 Part 2 layout, England first.

    Columns: provider_code, provider_name, the KH12_COLUMNS, total.
    """
    to_column = {m: col for col, mods in KH12_COLUMNS.items() for m in mods}
    long = snap.query(
        """
        SELECT provider_code, coalesce(modality, $unknown) AS modality, sum(records)::BIGINT AS records
        FROM rollup_activity WHERE activity_month BETWEEN $first AND $last GROUP BY ALL
        """,
        {"unknown": UNKNOWN_MODALITY, "first": year.first_month, "last": year.last_month},
    ).with_columns(pl.col("modality").replace_strict(to_column, default="other").alias("kh12"))
    long = (
        long.group_by("provider_code", "kh12")
        .agg(pl.col("records").sum())
        .join(provider_names(snap), on="provider_code", how="left")
    )
    table = publication_table(
        snap,
        long,
        ["provider_code", "provider_name"],
        "kh12",
        list(KH12_COLUMNS),
        ("official KH12", year.label),
        england={"provider_code": ENGLAND_CODE, "provider_name": ENGLAND},
    )
    return _ordered(table, "provider_code")


def months_held(snap: Snapshot, first: date, last: date) -> list[date]:
    """Activity months between first and last (inclusive) that hold any record."""
    df = snap.query(
        "SELECT DISTINCT activity_month FROM rollup_activity WHERE activity_month BETWEEN $f AND $l ORDER BY 1",
        {"f": first, "l": last},
    )
    return df["activity_month"].to_list()


def report_years(snap: Snapshot) -> list[FinancialYear]:
    """Financial years with any activity, newest first."""
    df = snap.query("SELECT min(activity_month) AS a, max(activity_month) AS b FROM rollup_activity")
    a, b = df["a"][0], df["b"][0]
    if a is None:
        return []
    fy = lambda d: d.year if d.month >= 4 else d.year - 1  # noqa: E731 - a one-line helper
    return [FinancialYear(y) for y in range(fy(b), fy(a) - 1, -1)]
