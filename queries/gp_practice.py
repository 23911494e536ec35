"""One practice across every measure (the practice page): values, comparators, spine, trend.

Built on `queries.gp_benchmark` — the same England tables the measure page shows, so a
practice's value, interval and verdict are identical on both pages. Scope: the practice must be
one this user may see named (`gp_benchmark.check_practice`); counts and what is computed from
them pass through `queries.disclosure.protect` for everyone but the central team.

A profile is worked out in two parts, so that it need not build twelve full measure tables
(`gb.compute_table`) for the one row of each it shows:
- `england`: what the practice is compared with — every measure over England's benchmarked
  practices at once (counts, expected counts, funnel values, England's value, over-dispersion,
  ranks, spine), from one read of the rollups. It depends on the snapshot and the period only,
  so the dashboard caches it and serves every practice from it.
- `profile_from`: the practice's own intervals and funnel limits (the costly part of a measure
  table, worked out here for one practice) and its areas' values and ranks.
Both do the same arithmetic on the same numbers in the same order as `compute_table` and
`gb.area_values`, so the profile equals the measure tables' rows exactly (a test holds the two
implementations together).
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

import numpy as np
import polars as pl

from did_errors import UsageError
from did_model.demography import KNOWN_SEXES
from did_model.measures import Measure
from did_model.scope import CENTRAL, PUBLICATION, Scope
from did_months import count_months
from queries import deciles as dec
from queries import funnel, rates, standardisation
from queries import gp_benchmark as gb
from queries.connection import Snapshot
from queries.disclosure import DisclosureRule, perturb, protect

PROFILE_COLUMNS = [
    "measure_id",
    "title",
    "short_title",
    "units",
    "polarity",
    "is_ratio",
    "numerator",
    "denominator",
    "value",
    "value_lower",
    "value_upper",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "funnel_value",
    "comparison",
    "note",
    "percentile_rank",
    "england",
    "pcn",
    "sub_icb",
    "icb",
    "pcn_rank",
    "sub_icb_rank",
    "icb_rank",
    "england_rank",
    "spine_min",
    "spine_p25",
    "spine_p75",
    "spine_max",
]
_DERIVED = [
    "value",
    "value_lower",
    "value_upper",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "funnel_value",
    "comparison",
    "percentile_rank",
    "pcn_rank",
    "sub_icb_rank",
    "icb_rank",
    "england_rank",
]
_AREAS = ("pcn", "sub_icb", "icb")


class EnglandMeasure(NamedTuple):
    """One measure over England's benchmarked practices for one period: what a practice's row
    needs from everyone else's. Arrays are in practice_code order (the rows of `England.rows`)."""

    measure: Measure
    numerator: np.ndarray  # int64
    denominator: np.ndarray | None  # int64; ratio measures only
    value: np.ndarray | None  # ratio measures: the percentage and its Wilson interval
    lower: np.ndarray | None
    upper: np.ndarray | None
    expected: np.ndarray  # NaN where the measure table shows null
    funnel_value: np.ndarray  # NaN where the measure table shows null
    target: float  # England's value
    p0: float  # ratio measures: England's proportion (NaN for rate measures)
    dispersion: funnel.Dispersion
    position: np.ndarray  # each practice's row in the measure table (england_rank, practice_code)
    order: np.ndarray  # the practices in the measure table's order
    percentile_rank: np.ndarray  # the measure table's (NaN for null)
    published: np.ndarray  # bool: the practice's counts are shown to the viewer (all, for central)
    spine: tuple[float | None, ...]  # England's funnel values: min, 25th and 75th percentiles, max


class England(NamedTuple):
    """Every measure over England's benchmarked practices for one period (`england`). It depends
    on the snapshot and the period only — not on the practice, the over-dispersion method or the
    user — so one serves every practice page for that period."""

    rows: dict[str, int]  # benchmarked practice_code -> row
    person_years: np.ndarray
    areas: dict[str, np.ndarray]  # pcn / sub_icb / icb -> each practice's code (None: not in one)
    measures: list[EnglandMeasure]
    protected: bool  # from perturbed counts, for everyone but the central team (`england`)


def _reference_rates(age_sex: pl.DataFrame, population: pl.DataFrame, measure_ids: list[str]) -> np.ndarray:
    """`standardisation.reference_rates` for several measures at once: a measures x cells matrix
    of rates, cells in `population`'s order (a cell without a rate: 0).

    The same operations cell by cell; the totals it sums per measure are whole numbers of events
    (the rollup's counts), which a float sum adds exactly in any order.
    """
    events = age_sex.filter(pl.col("measure_id").is_in(measure_ids))
    known = events.filter(pl.col("age_band").is_not_null() & pl.col("sex").is_in(KNOWN_SEXES))
    factor = (
        pl.DataFrame({"measure_id": measure_ids})
        .with_row_index("k")
        .join(events.group_by("measure_id").agg(pl.col("events").sum().alias("total")), on="measure_id", how="left")
        .join(known.group_by("measure_id").agg(pl.col("events").sum().alias("known")), on="measure_id", how="left")
        .select(
            "k",
            "measure_id",
            pl.when(pl.col("known").fill_null(0) > 0)
            .then(pl.col("total").fill_null(0) / pl.col("known"))
            .otherwise(0.0)
            .alias("factor"),
        )
    )
    rates_ = (
        factor.join(population.with_row_index("cell"), how="cross")
        .join(
            known.group_by("measure_id", "age_band", "sex").agg(pl.col("events").sum()),
            on=["measure_id", "age_band", "sex"],
            how="left",
        )
        .select(
            "k",
            "cell",
            pl.when(pl.col("person_years") > 0)
            .then(pl.col("events").fill_null(0) * pl.col("factor") / pl.col("person_years"))
            .otherwise(0.0)
            .alias("rate"),
        )
    )
    out = np.zeros((len(measure_ids), population.height))
    out[rates_["k"].to_numpy(), rates_["cell"].to_numpy()] = rates_["rate"].fill_null(0).to_numpy()
    return out


def _suppressed(count: np.ndarray, protected: bool) -> np.ndarray:
    """True where disclosure control hides this (perturbed) count from its viewer."""
    if not protected:
        return np.zeros(count.shape, dtype=bool)
    return (count >= 1) & (count <= DisclosureRule.from_settings().suppress_up_to)


def england(
    practices: pl.DataFrame,
    counts: pl.DataFrame,
    age_sex: pl.DataFrame,
    structures: pl.DataFrame,
    months: int,
    measures: list[Measure] | None = None,
    protected: bool = False,
) -> England:
    """The England-wide part of `gb.compute_table` for every measure, in one pass.

    practices: the practice map (`gb._practices`); counts: measure_id, practice_code, numerator,
    denominator over the period (`gb._counts`); age_sex: measure_id, age_band, sex, events
    (`gb._age_sex_events`); structures: registered patients by PCN / sub-ICB, age band and sex
    (`gb._structures`). Everything but intervals and funnel limits, which a profile needs for
    one practice only. `protected`: the counts are perturbed (`gb.perturbed_counts`) for a user
    outside the central team; ranks, percentiles and the spine then leave out the practices whose
    counts that user cannot see, as the measure table does.
    """
    measures = list(gb.measures().values()) if measures is None else measures
    bench = practices.filter(pl.col("list_size") >= gb.MIN_LIST_SIZE)  # compute_table's rows, in order
    at = {m.id: k for k, m in enumerate(measures)}
    keyed = (
        counts.filter(pl.col("measure_id").is_in(list(at)))
        .join(bench.select("practice_code").with_row_index("row"), on="practice_code")
        .with_columns(pl.col("measure_id").replace_strict(at, return_dtype=pl.Int64).alias("k"))
    )
    numerators = np.zeros((len(measures), bench.height), dtype=np.int64)
    denominators = np.zeros((len(measures), bench.height), dtype=np.int64)
    where = keyed["k"].to_numpy(), keyed["row"].to_numpy()
    numerators[where] = keyed["numerator"].fill_null(0).to_numpy()
    denominators[where] = keyed["denominator"].fill_null(0).to_numpy()
    person_years = bench["list_size"].to_numpy().astype(float) * months / 12
    standardised = [m.id for m in measures if not m.is_ratio and m.standardise]
    if standardised:
        cells, shares = gb.share_matrix(bench, structures)
        population = cells.with_columns(pl.Series("person_years", shares.T @ person_years))
        reference = dict(zip(standardised, _reference_rates(age_sex, population, standardised), strict=True))
    parts = []
    for k, m in enumerate(measures):  # as compute_table
        o = numerators[k].astype(float)
        value = lower = upper = None
        p0 = np.nan
        if m.is_ratio:
            n = denominators[k].astype(float)
            value, lower, upper = rates.proportion(o, n, m.multiplier)
            p0 = o.sum() / n.sum() if n.sum() > 0 else np.nan
            expected = p0 * n
            y, s = funnel.proportion_scale(o, n, p0)
            judged = n >= gb.MIN_EVENTS
            dispersion = funnel.estimate_dispersion(y[judged], p0, s[judged])
            target = p0 * 100
            fvalue = value
        else:
            target = o.sum() / person_years.sum() * m.multiplier
            if m.standardise:
                raw = shares @ np.ascontiguousarray(reference[m.id]) * person_years
            else:
                raw = person_years.copy()
            expected = raw * (o.sum() / raw.sum()) if raw.sum() > 0 else raw * np.nan
            with np.errstate(invalid="ignore", divide="ignore"):  # standardisation.standardised_ratio's O/E
                ratio = o * np.where(expected > 0, 1 / expected, np.nan)
            y, s = funnel.ratio_scale(o, expected)
            dispersion = funnel.estimate_dispersion(y, 1.0, s)
            fvalue = ratio * target
        hidden = _suppressed(numerators[k], protected) | (
            _suppressed(denominators[k], protected) if m.is_ratio else False
        )
        parts.append(
            (
                m,
                value,
                lower,
                upper,
                np.asarray(expected, dtype=float),
                np.asarray(fvalue, dtype=float),
                float(target),
                float(p0),
                dispersion,
                hidden,
            )
        )
    # funnel_value as the table shows it (null for NaN and, protected, where the row is suppressed),
    # for its percentile_rank, the ranks and the spine.
    funnel_values = pl.DataFrame(
        {f"f{k}": np.where(part[9], np.nan, part[5]) for k, part in enumerate(parts)}
    ).with_columns(pl.all().fill_nan(None))
    out = []
    for k, (m, value, lower, upper, expected, fvalue, target, p0, dispersion, hidden) in enumerate(parts):
        # compute_table's order: england_rank (funnel_value descending, ties sharing a rank, nulls
        # last), then practice_code — the rows' own order, which a stable sort keeps. Area values
        # are summed in it, so that they equal `gb.area_values` to the last bit.
        missing = np.isnan(fvalue)
        shown = np.flatnonzero(~missing)
        order = np.concatenate([shown[np.argsort(-fvalue[shown], kind="stable")], np.flatnonzero(missing)])
        position = np.empty_like(order)
        position[order] = np.arange(order.size)
        ranked = dec.percentile_rank(funnel_values.select(f"f{k}"), by=None, column=f"f{k}")["percentile_rank"]
        spread = funnel_values[f"f{k}"].drop_nulls()
        out.append(
            EnglandMeasure(
                m,
                numerators[k],
                denominators[k] if m.is_ratio else None,
                value,
                lower,
                upper,
                expected,
                fvalue,
                target,
                p0,
                dispersion,
                position,
                order,
                ranked.fill_null(np.nan).to_numpy(),
                ~hidden,
                (
                    spread.quantile(0.0, "linear"),
                    spread.quantile(0.25, "linear"),
                    spread.quantile(0.75, "linear"),
                    spread.quantile(1.0, "linear"),
                ),
            )
        )
    return England(
        dict(zip(bench["practice_code"].to_list(), range(bench.height), strict=True)),
        person_years,
        {level: bench[f"{level}_code"].to_numpy() for level in _AREAS},
        out,
        protected,
    )


def _cell(v) -> float | None:
    """A float as the table shows it: NaN is null (compute_table's fill_nan(None))."""
    v = float(v)
    return None if np.isnan(v) else v


def _rate_rows(eng: England, i: int, method: str) -> dict[str, dict]:
    """Intervals and verdicts of the practice in row `i` for every rate measure, as
    `compute_table` works them out (elementwise: the practice's alone, every measure at once)."""
    measures = [em for em in eng.measures if not em.measure.is_ratio]
    o = np.array([em.numerator[i] for em in measures], dtype=np.int64).astype(float)
    e = np.array([em.expected[i] for em in measures], dtype=float)
    multiplier = np.array([em.measure.multiplier for em in measures], dtype=float)
    value, lower, upper = rates.crude_rate(o, np.full(o.shape, eng.person_years[i]), multiplier)
    ratio, ratio_lower, ratio_upper = standardisation.standardised_ratio(o, e)
    out = {}
    for j, em in enumerate(measures):
        one = slice(j, j + 1)
        out[em.measure.id] = {
            "denominator": None,
            "value": value[j],
            "value_lower": lower[j],
            "value_upper": upper[j],
            "ratio": ratio[j],
            "ratio_lower": ratio_lower[j],
            "ratio_upper": ratio_upper[j],
            "comparison": funnel.ratio_verdicts(o[one], e[one], em.dispersion, method)[0],
            "few": o[j] < gb.MIN_EVENTS,
            "note": f"Fewer than {gb.MIN_EVENTS} events: no interval shown",
        }
    return out


def _ratio_row(em: EnglandMeasure, i: int, method: str) -> dict:
    """The same for a ratio measure (compute_table's is_ratio branch)."""
    assert em.denominator is not None and em.value is not None and em.lower is not None and em.upper is not None
    one = slice(i, i + 1)
    n = em.denominator[one].astype(float)
    value, lower, upper = em.value[one], em.lower[one], em.upper[one]
    ratio, ratio_lower, ratio_upper = (
        v / em.p0 if em.p0 > 0 else v * np.nan for v in (value / 100, lower / 100, upper / 100)
    )
    return {
        "denominator": int(em.denominator[i]),
        "value": value[0],
        "value_lower": lower[0],
        "value_upper": upper[0],
        "ratio": ratio[0],
        "ratio_lower": ratio_lower[0],
        "ratio_upper": ratio_upper[0],
        "comparison": funnel.proportion_verdicts(em.numerator[one], n, em.p0, em.dispersion, method)[0],
        "few": n[0] < gb.MIN_EVENTS,
        "note": f"Fewer than {gb.MIN_EVENTS} examinations in the denominator: no interval shown",
    }


def _areas(em: EnglandMeasure, i: int, members: dict[str, np.ndarray | None]) -> dict:
    """The practice's PCN, sub-ICB, ICB and England values and its rank in each, as
    `gb.area_values` works them out over the measure table (sums in the table's row order).
    members: each area's rows (None: England)."""
    m, mine = em.measure, em.funnel_value[i]
    out: dict = {key: None for level in (*_AREAS, "england") for key in (level, f"{level}_rank")}
    for level, rows in members.items():
        rows = em.order if rows is None else rows[np.argsort(em.position[rows])]
        numerator = int(em.numerator[rows].sum())
        if m.is_ratio:
            assert em.denominator is not None
            n = int(em.denominator[rows].sum())
            out[level] = numerator / n * 100 if n else None
        else:
            expected = float(pl.Series(em.expected[rows]).fill_nan(None).sum())
            out[level] = numerator / expected * em.target if expected else None
        # Ranked among the practices whose figures the viewer sees (everyone, for central).
        ranked = rows[em.published[rows]]
        rank = None if np.isnan(mine) else int((em.funnel_value[ranked] > mine).sum()) + 1
        out[f"{level}_rank"] = f"{rank} of {ranked.size}" if rank else None
    return out


def profile_from(eng: England, scope: Scope, practice: dict, method: str = gb.DEFAULT_METHOD) -> pl.DataFrame:
    """`practice_profile` from England's tables (`england`), for a benchmarked practice's row
    of the practice map that this user may see named (`gb.check_practice`, or the practice
    directory: the caller checks)."""
    if method not in funnel.METHODS:
        raise UsageError(f"over-dispersion method {method!r}: one of {', '.join(funnel.METHODS)}")
    if eng.protected != scope.needs_disclosure_control:
        raise UsageError(
            f"England's tables were built for {'protected' if eng.protected else 'exact'} figures; "
            f"{scope.role} users see {'protected' if scope.needs_disclosure_control else 'exact'} ones"
        )
    i = eng.rows[practice["practice_code"]]
    members: dict[str, np.ndarray | None] = {
        level: np.flatnonzero(eng.areas[level] == practice[f"{level}_code"])
        for level in _AREAS
        if practice.get(f"{level}_code") is not None
    }
    members["england"] = None
    by_rate = _rate_rows(eng, i, method)
    rows = []
    for em in eng.measures:
        m = em.measure
        mine = by_rate[m.id] if not m.is_ratio else _ratio_row(em, i, method)
        few = bool(mine["few"])
        rows.append(
            {
                "measure_id": m.id,
                "title": m.title,
                "short_title": m.short_title,
                "units": m.units,
                "polarity": m.polarity,
                "is_ratio": m.is_ratio,
                "numerator": int(em.numerator[i]),
                "denominator": mine["denominator"],
                "value": _cell(mine["value"]),
                **{
                    c: None if few else _cell(mine[c])
                    for c in ("value_lower", "value_upper", "ratio_lower", "ratio_upper")
                },
                "ratio": _cell(mine["ratio"]),
                "funnel_value": _cell(em.funnel_value[i]),
                "comparison": str(mine["comparison"]),
                "note": mine["note"] if few else "",
                "percentile_rank": _cell(em.percentile_rank[i]),
                **_areas(em, i, members),
                **dict(zip(("spine_min", "spine_p25", "spine_p75", "spine_max"), em.spine, strict=True)),
            }
        )
    frame = pl.DataFrame(rows, infer_schema_length=None).select(PROFILE_COLUMNS)
    return protect(
        frame, scope, counts=["numerator", "denominator"], derived={"numerator": _DERIVED, "denominator": _DERIVED}
    )


def england_for(
    snap: Snapshot, start: date, end: date, practices: pl.DataFrame | None = None, protected: bool = False
) -> England:
    """England's tables for every measure over a period, read from the store: four queries
    (`practices`: the practice map, when already read). `protected`: as everyone but the
    central team sees them — from the perturbed counts, the same for every such user."""
    measures = gb.measures()
    counts = gb.perturbed_counts(
        snap, PUBLICATION if protected else CENTRAL, gb._counts(snap, start, end, None), start, end
    )
    return england(
        gb._practices(snap) if practices is None else practices,
        counts,
        gb._age_sex_events(snap, start, end, list(measures)),
        gb._structures(snap),
        count_months(start, end),
        list(measures.values()),
        protected,
    )


def practice_profile(
    snap: Snapshot,
    scope: Scope,
    practice_code: str,
    start: date,
    end: date,
    method: str = gb.DEFAULT_METHOD,
    england: England | None = None,
) -> pl.DataFrame:
    """One row per measure for one benchmarked practice (PROFILE_COLUMNS).

    value/ratio/funnel_value as in the measure table; england/pcn/sub_icb/icb: those areas'
    values in the funnel's units (standardised rate, or percentage); *_rank: "3 of 8" (1 =
    highest); spine_*: England's practices' minimum, quartiles and maximum of funnel_value,
    for the spine chart. Empty when the practice has fewer than 750 registered patients.

    `england`: England's tables for this period, `england_for(snap, start, end)`, when the
    caller holds them (the dashboard caches them per snapshot and period); else read here.
    """
    practices = gb._practices(snap)
    practice = gb._check(practices, scope, practice_code)
    if not practice["benchmarked"]:
        return pl.DataFrame(schema={c: pl.String for c in PROFILE_COLUMNS})
    if method not in funnel.METHODS:
        raise UsageError(f"over-dispersion method {method!r}: one of {', '.join(funnel.METHODS)}")
    if england is None:
        england = england_for(snap, start, end, practices, protected=scope.needs_disclosure_control)
    return profile_from(england, scope, practice, method)


def monthly_values(snap: Snapshot, measure_id: str, start: date, end: date) -> pl.DataFrame:
    """Every benchmarked practice x month: activity_month, practice and area codes, numerator,
    denominator (person-years for a rate measure: list size / 12 a month; the count for a
    ratio), zero-filled."""
    m = gb.get_measure(measure_id)
    counts = snap.query(
        """
        SELECT practice_code, activity_month, numerator, denominator
        FROM rollup_gp_measure
        WHERE measure_id = $m AND activity_month BETWEEN $start AND $end
        """,
        {"m": m.id, "start": start, "end": end},
    )
    practices = (
        gb._practices(snap)
        .filter(pl.col("list_size") >= gb.MIN_LIST_SIZE)
        .select("practice_code", "pcn_code", "sub_icb_code", "icb_code", "list_size")
    )
    months = pl.DataFrame({"activity_month": pl.date_range(start, end, "1mo", eager=True)})
    grid = practices.join(months, how="cross").join(counts, on=["practice_code", "activity_month"], how="left")
    denominator = pl.col("denominator").fill_null(0).cast(pl.Float64) if m.is_ratio else pl.col("list_size") / 12
    return grid.with_columns(pl.col("numerator").fill_null(0), denominator.alias("denominator"))


def practice_trend(
    snap: Snapshot, scope: Scope, measure_id: str, practice_code: str, start: date, end: date, level: str = "practice"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(series, deciles) for the trend chart, by month, at `level` (practice, pcn, sub_icb, icb).

    series: activity_month, org_code, numerator, value, percentile_rank (among England's
    organisations at that level that month) — the practice (or its PCN / sub-ICB / ICB) month
    by month, crude (not standardised: deciles compare like with like). deciles:
    activity_month, percentile (10..90), value — across every organisation at that level in
    England (queries.deciles). Rate measures are annualised (a month's events x 12 per list).
    """
    practice = gb.check_practice(snap, scope, practice_code)
    m = gb.get_measure(measure_id)
    monthly = perturb(
        snap,
        monthly_values(snap, measure_id, start, end),
        scope,
        ["numerator"],
        keys=["practice_code", "activity_month"],
        context=("gp_measure_month", m.id),
    )
    if m.is_ratio:  # the denominator of a ratio measure is a count too
        monthly = perturb(
            snap,
            monthly.with_columns(pl.col("denominator").cast(pl.Int64)),
            scope,
            ["denominator"],
            keys=["practice_code", "activity_month"],
            context=("gp_measure_month", m.id),
        ).with_columns(pl.col("denominator").cast(pl.Float64))
    values = dec.values_by_level(monthly, level, m.multiplier)
    org = practice[dec.LEVEL_COLUMNS[level]]
    if org is None:  # the reference places a few practices in no PCN (or no sub-ICB / ICB)
        raise UsageError(
            f"practice {practice_code} is in no {level.replace('_', '-').upper()} in the reference "
            "data, so it has no trend at that level; choose the practice or another level"
        )
    everyone = values
    if scope.needs_disclosure_control:  # ranks and deciles over the organisations the user can see
        shown = ~pl.col("numerator").is_between(1, DisclosureRule.from_settings().suppress_up_to)
        values = values.filter(shown | (pl.col("org_code") == org))
        everyone = values.filter(shown)
    series = (
        dec.percentile_rank(values)
        .filter(pl.col("org_code") == org)
        .select("activity_month", "org_code", "numerator", "value", "percentile_rank")
    )
    series = protect(series, scope, counts=["numerator"], derived={"numerator": ["value", "percentile_rank"]})
    return series, dec.deciles(everyone)
