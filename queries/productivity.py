"""Scans per operating hour: scanner productivity from the DIDS v2.0 procedure timestamps
(issue 20 item 4; the rollup is did_model/rollup_defs/productivity.py, the page a section of
dashboard/views/equipment.py).

Definitions (the page states them too):
- **Operating hour**: a site × modality × UK local date × clock hour in which at least one
  examination of the modality started. The data hold no sessions or rotas, so an hour with a
  start is the hour the data can show the scanner ran. It leans high where examinations run
  longer than an hour (the hour they run on into has no start of its own) and low where a
  scanner stood idle for most of an hour it is counted in.
- **Scans per operating hour**: examinations ÷ operating hours, for the site's scanners of the
  modality together.
- **Scans per scanner-hour**: examinations ÷ (operating hours × scanners of the modality in the
  inventory): as if every scanner ran in each operating hour, so it is the lower of the two and
  the one set against the guidance band (`GUIDANCE_BANDS`), which is per scanner.
- **Measured utilisation**: Σ(procedure end − start, from 0 to 24 hours) ÷ (scheduled hours a
  week × 60 × calendar days ÷ 7), over sites with scanners and scheduled hours; it replaces the
  assumed durations of queries.equipment in every month with timestamps (`minutes_basis` of
  `equipment.monthly_utilisation`).
- Only months from April 2026 (DIDS v2.0) hold timestamps; the period is clipped to them.

Scope and disclosure as the rest of the scanner page (queries.equipment): central sees every
site exactly; a provider its own sites with the England row as comparator; a commissioner every
site as comparators. The counts of examinations (all, those with unusable durations, and the
timed ones behind the minutes) are perturbed as soon as they are read and every rate and minute
is worked out from the perturbed counts; then they are suppressed and rounded. Operating hours
count no one: they stay exact, hidden with their row's examinations. The England row stays first
whatever is hidden in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

from did_errors import UsageError
from did_model.scope import Scope
from did_months import add_months
from queries.connection import Snapshot
from queries.disclosure import perturb, protect, suppressed_last
from queries.equipment import (
    ENGLAND,
    WEEKDAYS,
    _check_provider,
    _has_scanners,
    _hours_known,
    _selection,
    providers_shown,
)

TABLE = "rollup_scanner_hours"
# Scans an hour per scanner, (low, high), from NHS England's diagnostic imaging productivity
# guidance: CT 3–4 an hour, MRI 1.5–3, non-obstetric ultrasound 3 (the
# rollup leaves obstetric ultrasound out).
GUIDANCE_BANDS: dict[str, tuple[float, float]] = {"CT": (3.0, 4.0), "MRI": (1.5, 3.0), "Ultrasound": (3.0, 3.0)}
GUIDANCE_SOURCE = (
    "NHS England's diagnostic imaging productivity guidance: CT 3–4 scans an hour per scanner, "
    "MRI 1.5–3, non-obstetric ultrasound 3"
)
BELOW, WITHIN, ABOVE = "below the band", "within the band", "above the band"
# The counts of examinations, perturbed and protected; operating hours count no one, are kept
# exact and hidden with the examinations of their row (they bound them from below).
COUNTS = ["examinations", "dropped_durations"]
HIDDEN_WITH_EXAMINATIONS = [
    "operating_hours",
    "scans_per_operating_hour",
    "scans_per_scanner_hour",
    "guidance",
    "measured_minutes",
    "measured_utilisation",
]
SITE_COLUMNS = [
    "provider_code",
    "provider_name",
    "site_code",
    "site_name",
    "scanners",
    "examinations",
    "operating_hours",
    "scans_per_operating_hour",
    "scans_per_scanner_hour",
    "guidance",
    "scheduled_hours_per_week",
    "measured_minutes",
    "measured_utilisation",
    "dropped_durations",
]
HOUR_COLUMNS = ["weekday", "hour", "examinations", "operating_hours", "scans_per_operating_hour"]


@dataclass(frozen=True)
class ProductivityFilter:
    modality: str
    first_month: date
    last_month: date

    @property
    def last_day(self) -> date:
        return add_months(self.last_month, 1) - timedelta(days=1)

    @property
    def calendar_days(self) -> int:
        return (self.last_day - self.first_month).days + 1


# The tables of "Scans per operating hour" (and of `did export scanner-productivity`): England then
# one row per site, or one per weekday and hour the examinations started.
TABLES: tuple[str, ...] = ("site", "hour")


@dataclass(frozen=True)
class ProductivityTable:
    """One scans-per-operating-hour table: its filter, which table (one of TABLES), a provider
    (its sites; the hours for it) and one of its sites (the hours for that site only)."""

    filter: ProductivityFilter
    by: str = "site"
    provider: str | None = None
    site: str | None = None

    def __post_init__(self) -> None:
        if self.by not in TABLES:
            raise UsageError(f"unknown scans-per-hour table {self.by!r}; choose one of {', '.join(TABLES)}")
        if self.site is not None and (self.by != "hour" or self.provider is None):
            raise UsageError("a site goes with the table by hour and the site's provider: give both, or no site")


def productivity_table(snap: Snapshot, scope: Scope, t: ProductivityTable) -> pl.DataFrame:
    """The table `t` names, as the scanner page shows it (and `did export scanner-productivity` writes)."""
    if t.by == "site":
        return site_productivity(snap, scope, t.filter, t.provider)
    return hour_weekday(snap, scope, t.filter, t.provider, t.site)


def has_timestamps(snap: Snapshot) -> bool:
    """Whether the snapshot holds the timestamps rollup (one published before it was added does not)."""
    return (
        snap.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = $name", {"name": TABLE})[
            "n"
        ][0]
        > 0
    )


def timed_months(snap: Snapshot, first: date, last: date) -> tuple[date, date] | None:
    """The months of [first, last] that hold timestamps (first and last), or None."""
    row = snap.query(
        f"SELECT min(activity_month) AS a, max(activity_month) AS b FROM {TABLE} "
        "WHERE activity_month BETWEEN $first AND $last",
        {"first": first, "last": last},
    ).row(0)
    return None if row[0] is None else (row[0], row[1])


def _perturbed(
    snap: Snapshot, scope: Scope, frame: pl.DataFrame, context: tuple, first: pl.Expr, last: pl.Expr, keys: list[str]
) -> pl.DataFrame:
    """`frame`'s counts perturbed (module notes), the measured minutes scaled to the perturbed
    timed examinations, and no part count above the examinations it is part of."""
    mean = pl.when(pl.col("timed") > 0).then(pl.col("scanner_minutes") / pl.col("timed")).otherwise(0.0)
    keyed = frame.with_columns(mean.alias("__mean"), first.alias("__first"), last.alias("__last"))
    counts = [c for c in (*COUNTS, "timed") if c in frame.columns]
    out = perturb(snap, keyed, scope, counts, ["__first", "__last", *keys], context)
    return (
        out.with_columns(pl.min_horizontal(c, "examinations").alias(c) for c in counts[1:])
        .with_columns((pl.col("__mean") * pl.col("timed")).alias("measured_minutes"))
        .drop("__mean", "__first", "__last", "timed", "scanner_minutes")
    )


def _guidance(modality: str, rate: pl.Expr) -> pl.Expr:
    """Below, within or above the modality's band; null where it has none or no rate."""
    band = GUIDANCE_BANDS.get(modality)
    if band is None:
        return pl.lit(None, pl.String)
    return (
        pl.when(rate < band[0])
        .then(pl.lit(BELOW))
        .when(rate > band[1])
        .then(pl.lit(ABOVE))
        .when(rate.is_not_null())
        .then(pl.lit(WITHIN))
    )


def _site_frame(snap: Snapshot, scope: Scope, f: ProductivityFilter) -> pl.DataFrame:
    """Every site with timed examinations of the modality, unscoped, perturbed, with its inventory."""
    activity = snap.query(
        f"""
        SELECT site_code, any_value(provider_code) AS provider_code,
               sum(examinations)::BIGINT AS examinations, sum(operating_hours)::BIGINT AS operating_hours,
               sum(timed)::BIGINT AS timed, sum(scanner_minutes) AS scanner_minutes,
               sum(dropped_durations)::BIGINT AS dropped_durations
        FROM {TABLE}
        WHERE modality = $modality AND activity_month BETWEEN $first AND $last
        GROUP BY site_code
        """,
        {"modality": f.modality, "first": f.first_month, "last": f.last_month},
    )
    activity = _perturbed(
        snap, scope, activity, ("scanner hours", f.modality), pl.lit(f.first_month), pl.lit(f.last_day), ["site_code"]
    )
    inventory = snap.query(
        """
        SELECT e.site_code, sum(e.scanners)::BIGINT AS scanners,
               sum(e.scheduled_hours_per_week) AS scheduled_hours_per_week
        FROM ref_equipment e WHERE e.modality = $modality GROUP BY ALL
        """,
        {"modality": f.modality},
    )
    names = snap.query("SELECT site_code, site_name, provider_name FROM ref_site")
    return activity.join(inventory, on="site_code", how="left").join(names, on="site_code", how="left")


def _rates(frame: pl.DataFrame, f: ProductivityFilter) -> pl.DataFrame:
    """The rates of the module notes over a frame of (summed) counts, scanner-hours and minutes."""
    per_scanner = pl.when(pl.col("_scanner_hours") > 0).then(pl.col("_kit_exams") / pl.col("_scanner_hours"))
    scheduled = pl.col("_kit_hours") * 60 * f.calendar_days / 7
    return frame.with_columns(
        pl.when(pl.col("operating_hours") > 0)
        .then(pl.col("examinations") / pl.col("operating_hours"))
        .alias("scans_per_operating_hour"),
        per_scanner.alias("scans_per_scanner_hour"),
        _guidance(f.modality, per_scanner).alias("guidance"),
        pl.when(scheduled > 0).then(pl.col("_kit_minutes") / scheduled).alias("measured_utilisation"),
    )


def _totals(group: list[str]) -> list[pl.Expr]:
    """Sums over sites; the per-scanner and utilisation parts only over sites with the kit they need."""
    kit, known = _has_scanners(), _hours_known()
    return [
        *[pl.col(c).sum() for c in (*COUNTS, "operating_hours", "measured_minutes")],
        pl.col("scanners").sum(),
        pl.col("scheduled_hours_per_week").sum(),
        pl.col("examinations").filter(kit).sum().alias("_kit_exams"),
        (pl.col("operating_hours") * pl.col("scanners")).filter(kit).sum().alias("_scanner_hours"),
        pl.col("measured_minutes").filter(known).sum().alias("_kit_minutes"),
        pl.col("scheduled_hours_per_week").filter(known).sum().alias("_kit_hours"),
        *[pl.col(c).first() for c in group],
    ]


def site_productivity(snap: Snapshot, scope: Scope, f: ProductivityFilter, provider: str | None = None) -> pl.DataFrame:
    """An England row (every site), then one row per site the user may see with timed
    examinations of the modality, most scans per scanner-hour first (module notes for each
    column). `provider` narrows the sites to one provider."""
    _check_provider(scope, provider)
    sites = _site_frame(snap, scope, f)
    per_site = sites.group_by("site_code").agg(_totals(["provider_code", "provider_name", "site_name"]))
    england = sites.select(_totals([])).with_columns(
        pl.lit(ENGLAND).alias("provider_code"),
        pl.lit(ENGLAND).alias("provider_name"),
        pl.lit(None, pl.String).alias("site_code"),
        pl.lit(None, pl.String).alias("site_name"),
    )
    visible = providers_shown(scope)
    if visible is not None:
        per_site = per_site.filter(pl.col("provider_code").is_in(visible))
    if provider is not None:
        per_site = per_site.filter(pl.col("provider_code") == provider)
    per_site = _rates(per_site, f).sort(
        ["scans_per_scanner_hour", "scans_per_operating_hour", "site_code"],
        descending=[True, True, False],
        nulls_last=True,
    )
    table = pl.concat([_rates(england, f), per_site], how="diagonal_relaxed").select(SITE_COLUMNS)
    table = protect(table, scope, counts=COUNTS, derived={"examinations": HIDDEN_WITH_EXAMINATIONS})
    return pl.concat([table.head(1), suppressed_last(table.slice(1))])


def provider_productivity(snap: Snapshot, scope: Scope, f: ProductivityFilter) -> pl.DataFrame:
    """An England row, then one row per provider the user may see: its sites' counts and
    operating hours summed as the England row sums every site's (the same perturbed site counts),
    then the same rates and the same protection (the provider profile sets a provider's scans per
    operating hour beside its peers')."""
    sites = _site_frame(snap, scope, f)
    per_provider = sites.group_by("provider_code").agg(_totals(["provider_name"]))
    england = sites.select(_totals([])).with_columns(
        pl.lit(ENGLAND).alias("provider_code"), pl.lit(ENGLAND).alias("provider_name")
    )
    visible = providers_shown(scope)
    if visible is not None:
        per_provider = per_provider.filter(pl.col("provider_code").is_in(visible))
    columns = [c for c in SITE_COLUMNS if c not in ("site_code", "site_name")]
    table = pl.concat([_rates(england, f), _rates(per_provider, f).sort("provider_code")], how="diagonal_relaxed")
    return protect(table.select(columns), scope, counts=COUNTS, derived={"examinations": HIDDEN_WITH_EXAMINATIONS})


def hour_weekday(
    snap: Snapshot, scope: Scope, f: ProductivityFilter, provider: str | None = None, site: str | None = None
) -> pl.DataFrame:
    """Per weekday (Monday first) × local hour of the start with any examination: examinations,
    operating hours, scans per operating hour — England, a provider or one of its sites."""
    provider, site = _selection(scope, provider, site)
    cells = snap.query(
        f"""
        SELECT weekday, hour, sum(examinations)::BIGINT AS examinations,
               sum(operating_hours)::BIGINT AS operating_hours
        FROM {TABLE}
        WHERE modality = $modality AND activity_month BETWEEN $first AND $last
          AND ($provider IS NULL OR provider_code = $provider) AND ($site IS NULL OR site_code = $site)
        GROUP BY ALL ORDER BY weekday, hour
        """,
        {"modality": f.modality, "first": f.first_month, "last": f.last_month, "provider": provider, "site": site},
    )
    cells = perturb(
        snap,
        cells,
        scope,
        ["examinations"],
        ["weekday", "hour"],
        ("scanner hours by hour", f.modality, f.first_month, f.last_day, provider, site),
    )
    out = cells.with_columns(
        pl.col("weekday").cast(pl.Int64).replace_strict({i + 1: d for i, d in enumerate(WEEKDAYS)}).alias("weekday"),
        pl.format("{}:00", pl.col("hour").cast(pl.String).str.zfill(2)).alias("hour"),
        (pl.col("examinations") / pl.col("operating_hours")).alias("scans_per_operating_hour"),
    ).select(HOUR_COLUMNS)
    return protect(
        out, scope, counts=["examinations"], derived={"examinations": ["operating_hours", "scans_per_operating_hour"]}
    )


def measured_minutes(
    snap: Snapshot, scope: Scope, modality: str, first: date, last: date, provider: str | None, site: str | None
) -> pl.DataFrame:
    """Measured scanner minutes per activity month × site with timestamps (perturbed as the site
    table's, month by month), for `equipment.monthly_utilisation`."""
    frame = snap.query(
        f"""
        SELECT activity_month, site_code, sum(examinations)::BIGINT AS examinations,
               sum(timed)::BIGINT AS timed, sum(scanner_minutes) AS scanner_minutes
        FROM {TABLE}
        WHERE modality = $modality AND activity_month BETWEEN $first AND $last
          AND ($provider IS NULL OR provider_code = $provider) AND ($site IS NULL OR site_code = $site)
        GROUP BY ALL
        """,
        {"modality": modality, "first": first, "last": last, "provider": provider, "site": site},
    )
    month = pl.col("activity_month")
    return _perturbed(snap, scope, frame, ("scanner hours", modality), month, month.dt.month_end(), ["site_code"]).drop(
        "examinations"
    )
