"""Scanner utilisation: how hard each site's scanners work, from the equipment inventory
(`ref_equipment`) and the activity rollups (did_model/rollup_defs/equipment.py).

Definitions (the page states them too):
- **Operating day**: a calendar day on which the site recorded at least one examination of the
  modality.
- **Examinations per scanner per operating day**: examinations ÷ Σ(scanners × operating days),
  so a provider's figure weights each site by its scanners and days.
- **Weekend share**: examinations on Saturdays and Sundays ÷ all. **Bank-holiday share**:
  examinations on England & Wales bank holidays (`bank_holidays`) ÷ all.
- **Estimated utilisation of scheduled capacity**: Σ(examinations × typical duration for the
  modality and body area) ÷ (scheduled hours a week × 60 × calendar days in the period ÷ 7).
  The durations are `DEFAULT_DURATIONS` unless the user gives others; they are assumptions.
  Only sites with scanners *and* scheduled hours count, on both sides of the division: a site
  whose hours are blank (or 0) in the inventory is "hours not known" (`utilisation_note`; a
  provider's `sites_hours_not_known`) and its minutes are left out rather than set against no
  hours.
  In a month with DIDS v2.0 procedure timestamps the monthly trend uses the MEASURED minutes
  instead (`monthly_utilisation`'s `minutes_basis`; queries/productivity.py); the site and
  provider tables keep the estimate.
- **Outliers**: sites whose examinations per scanner per operating day lie beyond Tukey's
  fences (1.5 × IQR below the first or above the third quartile) among all sites in England
  with scanners of the modality (`queries.percentiles.tukey_fences`).

Scope: central users see every site. A provider user sees its own providers' sites and
providers in detail, with the England row as comparator (ranks and fences are national). A
commissioner sees every provider and site as comparators (`providers_shown`): utilisation is a
site's activity, not its patients', and is perturbed like every figure outside central. A GP
user sees the England row only.

Disclosure control (every role but central; queries/disclosure.py): each site's examinations,
weekend and bank-holiday counts, and each (site, body area) count behind the estimated minutes,
are perturbed as soon as they are read — named by modality, months and site, so a one-month
period and that month's row of the monthly table get the same noise — and every rate, share,
minute, utilisation, rank and outlier flag is worked out from the perturbed counts; provider
and England rows add up perturbed sites. Then the counts are suppressed and rounded, and a
suppressed row shows no rate, rank, outlier flag or operating days and sorts last.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import holidays
import polars as pl

from did_errors import UsageError
from did_model.nicip import DEFAULT_DURATIONS
from did_model.scope import Scope
from did_months import add_months
from queries.connection import Snapshot
from queries.disclosure import SUPPRESSED_COLUMN, DisclosureRule, perturb, protect, rank_published, suppressed_last
from queries.percentiles import tukey_fences

ENGLAND = "England"
PRIORITY_MODALITIES = ("MRI", "CT")

BANK_HOLIDAYS_SOURCE = (
    "GOV.UK, UK bank holidays, England and Wales (https://www.gov.uk/bank-holidays), as kept by the holidays package"
)


def bank_holidays(first: date, last: date) -> list[date]:
    """England and Wales bank holidays from `first` to `last`. From the maintained `holidays`
    package (it follows GOV.UK's list, substitute days and one-off holidays included, and is
    updated with the lock file) so that no year is silently without holidays. The package also
    names the weekend day a substitute replaces (Boxing Day 2026 is a Saturday; 28 Dec is the
    holiday); GOV.UK lists only weekdays, so only weekdays count."""
    days = holidays.country_holidays("GB", subdiv="ENG", years=range(first.year, last.year + 1))
    return sorted(d for d in days if first <= d <= last and d.weekday() < 5)


DURATIONS_BASIS = (
    "Assumption: round figures within the slot lengths UK imaging departments "
    "commonly book; not from a published source. Change them to local values."
)

SITE_COUNTS = ["examinations"]
HOURS_NOT_KNOWN = "hours not known"
RATE_COLUMNS = [
    "exams_per_scanner_per_day",
    "exams_per_operating_day",
    "weekend_share",
    "bank_holiday_share",
    "estimated_minutes",
    "utilisation",
]
# What a suppressed site or provider row must not show: its rates, and what would place it.
SUPPRESSED_WITH = [*RATE_COLUMNS, "operating_days", "rank", "outlier"]


def _perturbed(
    snap: Snapshot,
    scope: Scope,
    frame: pl.DataFrame,
    counts: list[str],
    context: tuple,
    first: pl.Expr,
    last: pl.Expr,
    keys: list[str],
) -> pl.DataFrame:
    """`frame` with `counts` perturbed, each cell named by its first and last day or month and
    `keys` (see the module notes)."""
    keyed = frame.with_columns(first.alias("__first"), last.alias("__last"))
    return perturb(snap, keyed, scope, counts, ["__first", "__last", *keys], context).drop("__first", "__last")


def _flagged(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """`columns`, and the `suppressed` flag where protection added it."""
    return frame.select([*columns, *([SUPPRESSED_COLUMN] if SUPPRESSED_COLUMN in frame.columns else [])])


@dataclass(frozen=True)
class UtilisationFilter:
    modality: str
    first_month: date
    last_month: date
    durations: tuple[tuple[str, str, float], ...] = DEFAULT_DURATIONS

    @property
    def first_day(self) -> date:
        return self.first_month

    @property
    def last_day(self) -> date:
        return add_months(self.last_month, 1) - timedelta(days=1)

    @property
    def calendar_days(self) -> int:
        return (self.last_day - self.first_day).days + 1


# The tables of the scanner page (and of `did export equipment`): one row per site (ranked), per
# provider, per day of the week, or per month.
TABLES: tuple[str, ...] = ("site", "provider", "weekday", "month")


@dataclass(frozen=True)
class UtilisationTable:
    """One scanner-utilisation table: its filter, which table (one of TABLES) and the drill-down:
    a provider (its sites; the weekday profile and trend for it) and one of its sites (the weekday
    profile and trend for that site)."""

    filter: UtilisationFilter
    by: str = "site"
    provider: str | None = None
    site: str | None = None

    def __post_init__(self) -> None:
        if self.by not in TABLES:
            raise UsageError(f"unknown scanner-utilisation table {self.by!r}; choose one of {', '.join(TABLES)}")


def utilisation_table(snap: Snapshot, scope: Scope, t: UtilisationTable) -> pl.DataFrame:
    """The table `t` names, as the scanner page shows it (and `did export equipment` writes)."""
    if t.by == "site":
        return site_utilisation(snap, scope, t.filter, t.provider)
    if t.by == "provider":
        return provider_utilisation(snap, scope, t.filter)
    if t.by == "weekday":
        return weekday_profile(snap, scope, t.filter, t.provider, t.site)
    return monthly_utilisation(snap, scope, t.filter, t.provider, t.site)


def durations_for(durations: tuple[tuple[str, str, float], ...], modality: str) -> pl.DataFrame:
    """The duration rows that apply to `modality`: its own, else the "*" modality's."""
    own = [d for d in durations if d[0] == modality] or [d for d in durations if d[0] == "*"]
    return pl.DataFrame(
        own, schema={"modality": pl.String, "body_area": pl.String, "minutes": pl.Float64}, orient="row"
    )


def equipment_modalities(snap: Snapshot) -> list[str]:
    """Modalities with activity: MRI and CT first, then the rest by volume."""
    df = snap.query("SELECT modality FROM rollup_equipment_daily GROUP BY modality ORDER BY sum(records) DESC")
    found = df["modality"].to_list()
    return [m for m in PRIORITY_MODALITIES if m in found] + [m for m in found if m not in PRIORITY_MODALITIES]


def equipment_months(snap: Snapshot) -> list[date]:
    return snap.query("SELECT DISTINCT activity_month FROM rollup_equipment_mix ORDER BY 1")["activity_month"].to_list()


def inventory_status(snap: Snapshot) -> pl.DataFrame:
    """Per modality in ref_equipment: sites, scanners, scheduled hours a week, and how many rows
    are synthetic — flagged so in the file, or at a site that ref_site marks synthetic (a
    made-up site's scanners are made up too)."""
    return snap.query(
        """
        SELECT e.modality, count(*)::BIGINT AS sites, sum(e.scanners)::BIGINT AS scanners,
               sum(e.scheduled_hours_per_week) AS scheduled_hours_per_week,
               count(*) FILTER (WHERE e.synthetic OR coalesce(s.synthetic, false))::BIGINT AS synthetic_rows
        FROM ref_equipment e LEFT JOIN ref_site s USING (site_code)
        GROUP BY e.modality ORDER BY scanners DESC
        """
    )


def _site_frame(snap: Snapshot, f: UtilisationFilter, scope: Scope) -> pl.DataFrame:
    """Every site with activity or scanners of the modality, unscoped, its counts perturbed for
    non-central scopes but not yet protected. The same frame for every scope that needs
    disclosure control (a cell's noise depends on the cell, not on who asks), so it is worked out
    once per snapshot and filter: the providers' table, the sites' and the fences all start from
    it (three times 0.24 s for a commissioner at national scale)."""
    rule = DisclosureRule.from_settings() if scope.needs_disclosure_control else None
    return snap.remember(("equipment._site_frame", f, rule), lambda: _work_out_site_frame(snap, f, scope))


def _work_out_site_frame(snap: Snapshot, f: UtilisationFilter, scope: Scope) -> pl.DataFrame:
    activity = snap.query(
        """
        SELECT site_code, any_value(provider_code) AS provider_code,
               sum(records)::BIGINT AS examinations,
               count(*) FILTER (WHERE records > 0)::BIGINT AS operating_days,
               coalesce(sum(records) FILTER (WHERE isodow(test_date) >= 6), 0)::BIGINT AS weekend,
               coalesce(sum(records) FILTER (WHERE list_contains($holidays, test_date)), 0)::BIGINT
                   AS bank_holiday
        FROM rollup_equipment_daily
        WHERE modality = $modality AND test_date BETWEEN $first AND $last
        GROUP BY site_code
        """,
        {
            "modality": f.modality,
            "first": f.first_day,
            "last": f.last_day,
            "holidays": bank_holidays(f.first_day, f.last_day),
        },
    )
    activity = _perturbed(
        snap,
        scope,
        activity,
        ["examinations", "weekend", "bank_holiday"],
        ("equipment", f.modality),
        pl.lit(f.first_day),
        pl.lit(f.last_day),
        ["site_code"],
    )
    activity = activity.with_columns(pl.min_horizontal(c, "examinations").alias(c) for c in ("weekend", "bank_holiday"))
    mix = snap.query(
        """
        SELECT site_code, body_area, sum(records)::BIGINT AS records
        FROM rollup_equipment_mix
        WHERE modality = $modality AND activity_month BETWEEN $first AND $last
        GROUP BY ALL
        """,
        {"modality": f.modality, "first": f.first_month, "last": f.last_month},
    )
    mix = _perturbed(
        snap,
        scope,
        mix,
        ["records"],
        ("equipment mix", f.modality),
        pl.lit(f.first_month),
        pl.lit(f.last_month),
        ["site_code", "body_area"],
    )
    inventory = snap.query(
        """
        SELECT e.site_code, s.provider_code AS inventory_provider, s.site_name, s.provider_name,
               sum(e.scanners)::BIGINT AS scanners,
               sum(e.scheduled_hours_per_week) AS scheduled_hours_per_week
        FROM ref_equipment e LEFT JOIN ref_site s USING (site_code)
        WHERE e.modality = $modality
        GROUP BY ALL
        """,
        {"modality": f.modality},
    )
    names = snap.query("SELECT site_code, site_name, provider_name FROM ref_site")
    minutes = _minutes(mix, durations_for(f.durations, f.modality))
    sites = (
        activity.join(inventory.drop("site_name", "provider_name"), on="site_code", how="full", coalesce=True)
        .with_columns(pl.coalesce("provider_code", "inventory_provider").alias("provider_code"))
        .drop("inventory_provider")
        .join(names, on="site_code", how="left")
        .join(minutes, on="site_code", how="left")
        .with_columns([pl.col(c).fill_null(0) for c in ("examinations", "operating_days", "weekend", "bank_holiday")])
        .with_columns(pl.col("estimated_minutes").fill_null(0.0))
    )
    return _rates(sites, f.calendar_days)


def _minutes(mix: pl.DataFrame, durations: pl.DataFrame) -> pl.DataFrame:
    default = durations.filter(pl.col("body_area") == "*")["minutes"]
    default_minutes = float(default[0]) if default.len() else None
    specific = durations.filter(pl.col("body_area") != "*").select("body_area", "minutes")
    return (
        mix.join(specific, on="body_area", how="left")
        .with_columns(pl.col("minutes").fill_null(default_minutes))
        .group_by("site_code")
        .agg((pl.col("records") * pl.col("minutes")).sum().alias("estimated_minutes"))
    )


def _has_scanners() -> pl.Expr:
    return pl.col("scanners").fill_null(0) > 0


def _hours_known(hours: str = "scheduled_hours_per_week") -> pl.Expr:
    """Sites that enter estimated utilisation: scanners and scheduled hours both in the inventory.
    Minutes of a site with blank hours would otherwise be set against hours it does not add."""
    return _has_scanners() & (pl.col(hours).fill_null(0) > 0)


def _rates(frame: pl.DataFrame, calendar_days: int) -> pl.DataFrame:
    scanner_days = pl.col("scanners") * pl.col("operating_days")
    scheduled = pl.col("scheduled_hours_per_week") * 60 * calendar_days / 7
    return frame.with_columns(
        pl.when(scanner_days > 0).then(pl.col("examinations") / scanner_days).alias("exams_per_scanner_per_day"),
        pl.when(pl.col("operating_days") > 0)
        .then(pl.col("examinations") / pl.col("operating_days"))
        .alias("exams_per_operating_day"),
        pl.when(pl.col("examinations") > 0).then(pl.col("weekend") / pl.col("examinations")).alias("weekend_share"),
        pl.when(pl.col("examinations") > 0)
        .then(pl.col("bank_holiday") / pl.col("examinations"))
        .alias("bank_holiday_share"),
        pl.when(scheduled > 0).then(pl.col("estimated_minutes") / scheduled).alias("utilisation"),
        pl.when(_has_scanners() & ~_hours_known()).then(pl.lit(HOURS_NOT_KNOWN)).alias("utilisation_note"),
    )


SITE_COLUMNS = [
    "rank",
    "outlier",
    "provider_code",
    "provider_name",
    "site_code",
    "site_name",
    "scanners",
    "scheduled_hours_per_week",
    "examinations",
    "operating_days",
    "exams_per_scanner_per_day",
    "exams_per_operating_day",
    "weekend_share",
    "bank_holiday_share",
    "estimated_minutes",
    "utilisation",
    "utilisation_note",
]


def providers_shown(scope: Scope) -> list[str] | None:
    """Providers whose sites and totals the user sees (None = all): a commissioner every one, as
    comparators (see the module notes); otherwise those the scope shows in detail."""
    return None if scope.role == "commissioner" else scope.visible_providers()


def _check_provider(scope: Scope, provider: str | None) -> None:
    """Refuse a drill-down to a provider whose sites the user does not see."""
    shown = providers_shown(scope)
    if provider is not None and shown is not None and provider.upper() not in shown:
        scope.check_provider(provider)


def site_utilisation(snap: Snapshot, scope: Scope, f: UtilisationFilter, provider: str | None = None) -> pl.DataFrame:
    """One row per site (the user may see) with activity or scanners of the modality, busiest
    per scanner first: national rank among sites with scanners, outlier flag ("high" / "low"
    beyond Tukey's fences), scanners, scheduled hours, examinations, operating days and the rates
    in the module notes. `provider` narrows it to one provider (the drill-down)."""
    _check_provider(scope, provider)
    sites = _site_frame(snap, f, scope)
    fences = tukey_fences(sites["exams_per_scanner_per_day"])
    rate = pl.col("exams_per_scanner_per_day")
    outlier = (
        pl.lit(None, pl.String)
        if fences is None
        else (pl.when(rate > fences[1]).then(pl.lit("high")).when(rate < fences[0]).then(pl.lit("low")))
    )
    sites = protect(
        sites.with_columns(outlier.alias("outlier"), pl.lit(None, pl.Int64).alias("rank")),
        scope,
        counts=SITE_COUNTS,
        derived={"examinations": SUPPRESSED_WITH},
    )
    sites = suppressed_last(
        rank_published(sites, "exams_per_scanner_per_day", "rank").sort(
            ["rank", "examinations", "site_code"], descending=[False, True, False], nulls_last=True
        )
    )
    visible = providers_shown(scope)
    if visible is not None:
        sites = sites.filter(pl.col("provider_code").is_in(visible))
    if provider is not None:
        sites = sites.filter(pl.col("provider_code") == provider)
    return _flagged(sites, SITE_COLUMNS)


def site_fences(snap: Snapshot, scope: Scope, f: UtilisationFilter) -> tuple[float, float] | None:
    """Tukey's fences over every site in England with scanners (the same ones `site_utilisation`
    flags outliers by), so a chart can draw them: worked out from the figures the user's scope
    sees (perturbed outside the central team). None with fewer than four such sites."""
    return tukey_fences(_site_frame(snap, f, scope)["exams_per_scanner_per_day"])


def provider_utilisation(snap: Snapshot, scope: Scope, f: UtilisationFilter) -> pl.DataFrame:
    """The same figures per provider (its sites added up), after an "England" row."""
    sites = _site_frame(snap, f, scope)
    sums = [pl.col(c).sum() for c in ("examinations", "weekend", "bank_holiday", "estimated_minutes")]
    # Rates over sites with scanners count only those sites' activity and days; utilisation only
    # the sites whose scheduled hours are known too.
    with_kit, with_hours = _has_scanners(), _hours_known()
    aggs = [
        *sums,
        pl.col("scanners").sum().alias("scanners"),
        pl.col("scheduled_hours_per_week").sum().alias("scheduled_hours_per_week"),
        pl.col("site_code").n_unique().alias("sites"),
        (pl.col("scanners") * pl.col("operating_days")).sum().alias("_scanner_days"),
        pl.col("examinations").filter(with_kit).sum().alias("_kit_exams"),
        pl.col("estimated_minutes").filter(with_hours).sum().alias("_kit_minutes"),
        pl.col("scheduled_hours_per_week").filter(with_hours).sum().alias("_kit_hours"),
        (with_kit & ~with_hours).sum().cast(pl.Int64).alias("sites_hours_not_known"),
        pl.col("operating_days").sum().alias("operating_days"),
    ]
    by_provider = sites.group_by("provider_code").agg(pl.col("provider_name").first(), *aggs)
    england = sites.select(pl.lit(ENGLAND).alias("provider_code"), pl.lit(ENGLAND).alias("provider_name"), *aggs)
    scheduled = pl.col("_kit_hours") * 60 * f.calendar_days / 7

    def finish(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            pl.when(pl.col("_scanner_days") > 0)
            .then(pl.col("_kit_exams") / pl.col("_scanner_days"))
            .alias("exams_per_scanner_per_day"),
            pl.when(pl.col("operating_days") > 0)
            .then(pl.col("examinations") / pl.col("operating_days"))
            .alias("exams_per_operating_day"),
            pl.when(pl.col("examinations") > 0).then(pl.col("weekend") / pl.col("examinations")).alias("weekend_share"),
            pl.when(pl.col("examinations") > 0)
            .then(pl.col("bank_holiday") / pl.col("examinations"))
            .alias("bank_holiday_share"),
            pl.when(scheduled > 0).then(pl.col("_kit_minutes") / scheduled).alias("utilisation"),
        ).select(
            [
                "provider_code",
                "provider_name",
                "sites",
                "scanners",
                "scheduled_hours_per_week",
                "examinations",
                "exams_per_scanner_per_day",
                "exams_per_operating_day",
                "weekend_share",
                "bank_holiday_share",
                "estimated_minutes",
                "utilisation",
                "sites_hours_not_known",
            ]
        )

    providers = finish(by_provider).sort(
        "exams_per_scanner_per_day", "provider_code", descending=[True, False], nulls_last=True
    )
    visible = providers_shown(scope)
    if visible is not None:
        providers = providers.filter(pl.col("provider_code").is_in(visible))
    table = pl.concat([finish(england).with_columns(pl.col("sites").cast(providers["sites"].dtype)), providers])
    return suppressed_last(protect(table, scope, counts=SITE_COUNTS, derived={"examinations": RATE_COLUMNS}))


def _selection(scope: Scope, provider: str | None, site: str | None) -> tuple[str | None, str | None]:
    """The drill-down asked for, checked: a provider the user sees, and a site only with its
    provider (the queries match both, so another provider's site code finds nothing)."""
    if site is not None and provider is None:
        raise UsageError(f"Site {site} needs its provider: give the provider's code as well.")
    _check_provider(scope, provider)
    return provider, site


def daily_activity(
    snap: Snapshot, scope: Scope, f: UtilisationFilter, provider: str | None = None, site: str | None = None
) -> pl.DataFrame:
    """Examinations per calendar day for England, one provider or one of its sites (site
    requires its provider). Every day of the period is listed (zero when nothing was done),
    with its weekday and whether it was a bank holiday. Unprotected: for queries only."""
    provider, site = _selection(scope, provider, site)
    df = snap.query(
        """
        SELECT test_date, sum(records)::BIGINT AS examinations
        FROM rollup_equipment_daily
        WHERE modality = $modality AND test_date BETWEEN $first AND $last
          AND ($provider IS NULL OR provider_code = $provider)
          AND ($site IS NULL OR site_code = $site)
        GROUP BY test_date
        """,
        {"modality": f.modality, "first": f.first_day, "last": f.last_day, "provider": provider, "site": site},
    )
    days = pl.DataFrame({"test_date": pl.date_range(f.first_day, f.last_day, "1d", eager=True)})
    return (
        days.join(df, on="test_date", how="left")
        .with_columns(
            pl.col("examinations").fill_null(0),
            pl.col("test_date").dt.weekday().alias("weekday"),
            pl.col("test_date").is_in(bank_holidays(f.first_day, f.last_day)).alias("bank_holiday"),
        )
        .sort("test_date")
    )


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
BANK_HOLIDAY_LABEL = "Bank holiday"


def weekday_profile(
    snap: Snapshot, scope: Scope, f: UtilisationFilter, provider: str | None = None, site: str | None = None
) -> pl.DataFrame:
    """Examinations by day of the week (bank holidays in a row of their own): day, calendar
    days of that kind in the period, examinations, mean examinations per day, share of all.
    Each kind of day's count is perturbed before the mean and share are worked out from it."""
    daily = daily_activity(snap, scope, f, provider, site)
    kind = pl.when(pl.col("bank_holiday")).then(pl.lit(len(WEEKDAYS) + 1)).otherwise(pl.col("weekday"))
    counts = (
        daily.group_by(kind.alias("order"))
        .agg(pl.len().cast(pl.Int64).alias("days"), pl.col("examinations").sum())
        .sort("order")
    )
    counts = _perturbed(
        snap,
        scope,
        counts,
        ["examinations"],
        ("equipment weekday", f.modality, provider, site),
        pl.lit(f.first_day),
        pl.lit(f.last_day),
        ["order"],
    )
    out = counts.with_columns(
        pl.col("order")
        .replace_strict({i + 1: d for i, d in enumerate(WEEKDAYS)} | {len(WEEKDAYS) + 1: BANK_HOLIDAY_LABEL})
        .alias("day"),
        (pl.col("examinations") / pl.col("days")).alias("mean_per_day"),
        (pl.col("examinations") / pl.col("examinations").sum()).alias("share"),
    ).select("day", "days", "examinations", "mean_per_day", "share")
    return protect(out, scope, counts=["examinations"], derived={"examinations": ["mean_per_day", "share"]})


def monthly_utilisation(
    snap: Snapshot, scope: Scope, f: UtilisationFilter, provider: str | None = None, site: str | None = None
) -> pl.DataFrame:
    """Per activity month: examinations, scanner-days, examinations per scanner per operating day
    (over sites with scanners) and utilisation (over sites with scanners and scheduled hours),
    for England, a provider or a site; `minutes_basis` says whether the month's minutes are
    measured from timestamps or estimated from assumed durations."""
    provider, site = _selection(scope, provider, site)
    where = {"modality": f.modality, "provider": provider, "site": site}
    per_site = snap.query(
        """
        WITH kit AS (
            SELECT site_code, sum(scanners)::BIGINT AS scanners, sum(scheduled_hours_per_week) AS hours
            FROM ref_equipment WHERE modality = $modality GROUP BY site_code
        )
        SELECT date_trunc('month', d.test_date)::DATE AS activity_month, d.site_code,
               sum(d.records)::BIGINT AS examinations, count(*)::BIGINT AS operating_days,
               any_value(k.scanners) AS scanners, any_value(k.hours) AS hours
        FROM rollup_equipment_daily d LEFT JOIN kit k USING (site_code)
        WHERE d.modality = $modality AND d.test_date BETWEEN $first AND $last
          AND ($provider IS NULL OR d.provider_code = $provider)
          AND ($site IS NULL OR d.site_code = $site)
        GROUP BY ALL
        """,
        {**where, "first": f.first_day, "last": f.last_day},
    )
    month = pl.col("activity_month")
    per_site = _perturbed(
        snap, scope, per_site, ["examinations"], ("equipment", f.modality), month, month.dt.month_end(), ["site_code"]
    )
    mix = snap.query(
        """
        SELECT activity_month, site_code, body_area, sum(records)::BIGINT AS records
        FROM rollup_equipment_mix
        WHERE modality = $modality AND activity_month BETWEEN $first_month AND $last_month
          AND ($provider IS NULL OR provider_code = $provider)
          AND ($site IS NULL OR site_code = $site)
        GROUP BY ALL
        """,
        {**where, "first_month": f.first_month, "last_month": f.last_month},
    )
    mix = _perturbed(
        snap, scope, mix, ["records"], ("equipment mix", f.modality), month, month, ["site_code", "body_area"]
    )
    durations = durations_for(f.durations, f.modality)
    default = durations.filter(pl.col("body_area") == "*")["minutes"]
    minutes = (
        mix.join(
            durations.filter(pl.col("body_area") != "*").select("body_area", "minutes"), on="body_area", how="left"
        )
        .with_columns(pl.col("minutes").fill_null(float(default[0]) if default.len() else None))
        .group_by("activity_month", "site_code")
        .agg((pl.col("records") * pl.col("minutes")).sum().alias("minutes"))
    )
    minutes, measured_months = _with_measured(snap, scope, f, minutes, provider, site)
    joined = per_site.join(minutes, on=["activity_month", "site_code"], how="left").with_columns(
        (pl.col("activity_month").dt.month_end().dt.day()).alias("days_in_month")
    )
    kit, known = _has_scanners(), _hours_known("hours")
    out = (
        joined.group_by("activity_month")
        .agg(
            pl.col("examinations").sum(),
            (pl.col("scanners") * pl.col("operating_days")).filter(kit).sum().alias("scanner_days"),
            pl.col("examinations").filter(kit).sum().alias("_kit_exams"),
            pl.col("minutes").filter(known).sum().alias("_kit_minutes"),
            (pl.col("hours") * 60 * pl.col("days_in_month") / 7).filter(known).sum().alias("_scheduled"),
        )
        .sort("activity_month")
        .with_columns(
            pl.when(pl.col("scanner_days") > 0)
            .then(pl.col("_kit_exams") / pl.col("scanner_days"))
            .alias("exams_per_scanner_per_day"),
            pl.when(pl.col("_scheduled") > 0).then(pl.col("_kit_minutes") / pl.col("_scheduled")).alias("utilisation"),
        )
        .with_columns(
            pl.when(pl.col("activity_month").is_in(measured_months))
            .then(pl.lit(MEASURED))
            .otherwise(pl.lit(ASSUMED))
            .alias("minutes_basis")
        )
        .select(
            "activity_month",
            "examinations",
            "scanner_days",
            "exams_per_scanner_per_day",
            "utilisation",
            "minutes_basis",
        )
    )
    return protect(
        out, scope, counts=["examinations"], derived={"examinations": ["exams_per_scanner_per_day", "utilisation"]}
    )


MEASURED, ASSUMED = "measured", "assumed"


def _with_measured(
    snap: Snapshot, scope: Scope, f: UtilisationFilter, assumed: pl.DataFrame, provider: str | None, site: str | None
) -> tuple[pl.DataFrame, list[date]]:
    """Minutes per (activity month, site): MEASURED from the DIDS v2.0 timestamps in every month
    that has them (queries.productivity), the assumed durations' estimate in the others; and the
    measured months. A snapshot published before the timestamps rollup existed has none."""
    from queries import productivity

    if not productivity.has_timestamps(snap):
        return assumed, []
    measured = productivity.measured_minutes(snap, scope, f.modality, f.first_month, f.last_month, provider, site)
    months = measured["activity_month"].unique().to_list()
    return pl.concat(
        [
            assumed.filter(~pl.col("activity_month").is_in(months)),
            measured.select("activity_month", "site_code", pl.col("measured_minutes").alias("minutes")),
        ],
        how="vertical_relaxed",
    ), months


def default_months(snap: Snapshot, months: int = 12) -> tuple[date, date] | None:
    """The default period (page and export alike): the 12 activity months ending with the latest
    complete month, clipped to the months held."""
    from queries.headline import latest_complete_month

    held = equipment_months(snap)
    if not held:
        return None
    last = latest_complete_month(snap) or held[-1]
    last = min(max(last, held[0]), held[-1])
    return max(add_months(last, -(months - 1)), held[0]), last


def with_durations(
    base: tuple[tuple[str, str, float], ...], changes: list[tuple[str, str, float]]
) -> tuple[tuple[str, str, float], ...]:
    """`base` with each (modality, body area, minutes) in `changes` replacing or adding its row."""
    out = {(m, a): minutes for m, a, minutes in base}
    for m, a, minutes in changes:
        if not minutes > 0:
            raise UsageError(f"a duration must be more than 0 minutes ({m}, {a}: {minutes})")
        out[(m, a)] = float(minutes)
    return tuple((m, a, minutes) for (m, a), minutes in out.items())
