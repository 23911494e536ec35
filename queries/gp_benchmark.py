"""GP usage benchmarking: each practice's direct-access imaging against its peers, chance allowed for.

Reads the rollups of `did_model/rollup_defs/gp.py` (never `record`) and the reference tables. The
measures are the files in `did_model/measures/`; the methods are in `queries/rates.py`,
`queries/standardisation.py`, `queries/funnel.py` and `queries/deciles.py`.

How one measure is benchmarked over a period (`benchmark`):
- Practices with fewer than 750 registered patients are left out, as in the national GP
  profiles (Fingertips). England means every other practice in the practice map.
- A rate measure: crude rate per 1,000 registered patients a year (events / (list size x months
  / 12)) with a Poisson interval; an indirectly age-sex standardised ratio O/E, E from
  England's age-sex rates and the practice's approximated age-sex structure (its PCN's, scaled
  to its list size — see `queries.standardisation`); the funnel plots the standardised rate
  (ratio x England's crude rate) against E.
- A ratio measure: a percentage with a Wilson interval; the funnel plots it against its
  denominator around England's percentage.
- The funnel's target and over-dispersion are always estimated over England's practices, so a
  practice's verdict does not change when the page is narrowed to an ICB or a peer group.
- A practice with fewer than 10 events (10 examinations in a ratio's denominator) says so and
  shows no interval; it still has a place on the funnel, whose limits depend on what was
  expected, not on what was seen.
- Verdicts come from exact tail probabilities (`funnel.ratio_verdicts`,
  `funnel.proportion_verdicts`), not from the drawn limits; a practice whose expected count is
  too small for any count to be significant in both directions is "too few to judge".

Scope (did_model/scope.py): the central team sees every practice with exact figures. Everyone
else gets disclosure-controlled counts (`queries.disclosure.protect`: a value computed from a
suppressed count is suppressed with it), and sees practice names only for practices they are
responsible for (a commissioner's ICBs / sub-ICBs, a GP's own practice); other practices are
shown as "Another practice" — there to benchmark against, not to be named.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np
import polars as pl

from did_errors import UsageError
from did_model.demography import age_band_sql
from did_model.measures import Measure, load_measures
from did_model.scope import Scope, ScopeError
from did_months import add_months, count_months
from queries import deciles as dec
from queries import funnel, rates, standardisation
from queries.areas import ENGLAND_AREA, LEVEL_LABELS, Area
from queries.connection import Snapshot
from queries.disclosure import SUPPRESSED_COLUMN, perturb, protect, rank_published, suppressed_last
from queries.headline import latest_complete_month

MIN_LIST_SIZE = 750
MIN_EVENTS = 10
TOO_FEW = funnel.TOO_FEW
DEFAULT_METHOD = "additive"
# The areas (queries.areas) whose practices a measure is shown for.
LEVELS = ("england", "icb", "sub_icb", "pcn")
ANONYMOUS = "Another practice"
NO_PCN = "U"  # the practice map's code for practices outside any PCN
# What a practice that is not named shows of its size: a band, never the list size, which with
# its area would single it out of the public practice list (docs/disclosure.md). The edges are
# also the only list-size limits a peer group may take for anyone but the central team.
LIST_SIZE_EDGES = (750, 2_500, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000)
K_ANONYMITY = 5  # every unnamed row looks like at least 4 others on what is shown

APPROXIMATION = (
    "Age-sex standardisation approximates each practice's age-sex structure by its PCN's "
    "registered patients by single year of age and sex, scaled to the practice's list size "
    "(practice-level age-sex counts are not available to the project)."
)

TABLE_COLUMNS = [
    "measure_id",
    "practice_code",
    "practice_name",
    "pcn_code",
    "pcn_name",
    "sub_icb_code",
    "sub_icb_name",
    "icb_code",
    "icb_name",
    "list_size",
    "imd_quintile",
    "numerator",
    "denominator",
    "value",
    "value_lower",
    "value_upper",
    "expected",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "funnel_x",
    "funnel_value",
    "funnel_lower95",
    "funnel_upper95",
    "funnel_lower998",
    "funnel_upper998",
    "comparison",
    "comparison_unadjusted",
    "percentile_rank",
    "england_rank",
    "note",
]


@dataclass(frozen=True)
class Peers:
    """A peer group: practices of similar size and deprivation."""

    list_size_min: int | None = None
    list_size_max: int | None = None
    imd_quintiles: tuple[int, ...] = ()


class Benchmark(NamedTuple):
    measure: Measure
    start: date
    end: date
    months: int
    table: pl.DataFrame  # rank (within the practices shown) + TABLE_COLUMNS, highest funnel_value first
    target: float  # England's value, in the measure's units (crude rate or percentage)
    dispersion: funnel.Dispersion
    method: str
    curves: pl.DataFrame  # funnel_x and the four limits, for drawing
    excluded_small: int  # practices in the area left out for a list under 750


# --- measures and periods --------------------------------------------------------------------


def measures() -> dict[str, Measure]:
    """Every measure, by id, in file order."""
    return load_measures()


def get_measure(measure_id: str) -> Measure:
    try:
        return load_measures()[measure_id]
    except KeyError:
        raise KeyError(f"no measure {measure_id!r}; measures are {', '.join(load_measures())}") from None


def months_available(snap: Snapshot) -> list[date]:
    """Activity months present in the GP benchmarking rollup, oldest first (none when the
    snapshot was published before the rollup existed: it appears at the next publish)."""
    built = snap.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'rollup_gp_measure'")
    if not built["n"][0]:
        return []
    df = snap.query("SELECT DISTINCT activity_month FROM rollup_gp_measure ORDER BY 1")
    return df["activity_month"].to_list()


def default_period(snap: Snapshot, months: int = 12) -> tuple[date, date] | None:
    """The `months` months ending with the latest complete month (bounded by the data held)."""
    held = months_available(snap)
    if not held:
        return None
    end = latest_complete_month(snap) or held[-1]
    end = min(end, held[-1])
    start = max(add_months(end, -(months - 1)), held[0])
    return start, end


# --- practices -------------------------------------------------------------------------------


def _practices(snap: Snapshot) -> pl.DataFrame:
    return snap.query(
        """
        SELECT practice_code, practice_name,
               CASE WHEN pcn_code = $no_pcn THEN NULL ELSE pcn_code END AS pcn_code,
               CASE WHEN pcn_code = $no_pcn THEN 'Not in a PCN' ELSE pcn_name END AS pcn_name,
               sub_icb_code, sub_icb_name, icb_code, icb_name, list_size, imd_score,
               imd_quintile::INTEGER AS imd_quintile
        FROM ref_practice ORDER BY practice_code
        """,
        {"no_pcn": NO_PCN},
    )


def _named(frame: pl.DataFrame, scope: Scope) -> pl.Expr:
    """True for the rows whose practice this user may see named."""
    if scope.is_central:
        return pl.lit(True)
    if scope.role == "gp":
        return pl.col("practice_code") == scope.practice
    if scope.role == "commissioner":
        return pl.col("icb_code").is_in(sorted(scope.icbs)) | pl.col("sub_icb_code").is_in(sorted(scope.sub_icbs))
    return pl.lit(False)


def size_band(list_size: pl.Expr) -> pl.Expr:
    """The list-size band a practice shows when it is not named ("5,000–7,499", "30,000 or more")."""
    edges = LIST_SIZE_EDGES
    expr = pl.when(list_size.is_null()).then(None).when(list_size < edges[0]).then(pl.lit(f"under {edges[0]:,}"))
    for lo, hi in itertools.pairwise(edges):
        expr = expr.when(list_size < hi).then(pl.lit(f"{lo:,}–{hi - 1:,}"))
    return expr.otherwise(pl.lit(f"{edges[-1]:,} or more"))


def _mask(frame: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """Practices this user may not see named become "Another practice" showing only their ICB,
    list-size band and IMD quintile — enough to benchmark against, too little to tell which
    practice it is — generalised until each combination is shared by at least K_ANONYMITY rows."""
    if scope.is_central:
        return frame
    named = _named(frame, scope)
    out = frame.with_columns(size_band(pl.col("list_size")).alias("list_size_band"), named.alias("__named"))
    hide = [
        c
        for c in ("practice_code", "pcn_code", "pcn_name", "sub_icb_code", "sub_icb_name", "list_size")
        if c in out.columns
    ]
    out = out.with_columns(
        *[pl.when(pl.col("__named")).then(pl.col(c)).otherwise(None).alias(c) for c in hide],
        pl.when(pl.col("__named")).then(pl.col("practice_name")).otherwise(pl.lit(ANONYMOUS)).alias("practice_name"),
    )
    return _generalise(out).drop("__named")


def _generalise(frame: pl.DataFrame) -> pl.DataFrame:
    """Blank the IMD quintile, then the size band, then the ICB of unnamed rows whose combination
    of the three is shared by fewer than K_ANONYMITY unnamed rows; drop any still that rare."""
    keys = ["icb_code", "list_size_band", "imd_quintile"]
    rare = (~pl.col("__named")) & (pl.len().over(["__named", *keys]) < K_ANONYMITY)
    for drop in ("imd_quintile", "list_size_band", "icb_code"):
        cols = [drop, "icb_name"] if drop == "icb_code" else [drop]
        frame = frame.with_columns(pl.when(rare).then(None).otherwise(pl.col(c)).alias(c) for c in cols)
    return frame.filter(~rare)


def practice_directory(snap: Snapshot, scope: Scope) -> pl.DataFrame:
    """Practices this user may open on the practice page: code, name, hierarchy, list size, IMD,
    and `benchmarked` (a list of at least 750)."""
    frame = _practices(snap).filter(_named(_practices(snap), scope) if not scope.is_central else pl.lit(True))
    return frame.with_columns((pl.col("list_size") >= MIN_LIST_SIZE).fill_null(False).alias("benchmarked"))


def check_practice(snap: Snapshot, scope: Scope, practice_code: str) -> dict:
    """The practice's directory row; ScopeError if this user may not see it named, KeyError if unknown."""
    return _check(_practices(snap), scope, practice_code)


def _check(practices: pl.DataFrame, scope: Scope, practice_code: str) -> dict:
    """check_practice on the practice map already read (`_practices`)."""
    everyone = practices.filter(pl.col("practice_code") == practice_code)
    if everyone.is_empty():
        raise KeyError(f"no practice {practice_code!r} in the practice map")
    if not everyone.filter(_named(everyone, scope)).height:
        raise ScopeError(
            f"{scope.user} ({scope.role}) may see practice {practice_code} only inside the "
            "benchmark, not on its own page"
        )
    row = everyone.row(0, named=True)
    row["benchmarked"] = (row["list_size"] or 0) >= MIN_LIST_SIZE
    return row


def areas(snap: Snapshot) -> pl.DataFrame:
    """Every ICB, sub-ICB and PCN with practices: level, code, name, icb_code (for narrowing)."""
    p = _practices(snap)
    parts = [
        p.select(
            pl.lit(level).alias("level"),
            pl.col(f"{level}_code").alias("code"),
            pl.col(f"{level}_name").alias("name"),
            "icb_code",
            "sub_icb_code",
        )
        for level in ("icb", "sub_icb", "pcn")
    ]
    return pl.concat(parts).filter(pl.col("code").is_not_null()).unique(["level", "code"]).sort("level", "name")


# --- inputs from the store -------------------------------------------------------------------


def _counts(snap: Snapshot, start: date, end: date, measure_ids: list[str] | None) -> pl.DataFrame:
    """measure_id, practice_code, numerator, denominator over the period; `measure_ids` None:
    every measure in the rollup (cheaper than naming them all)."""
    if measure_ids is None:
        return snap.query(
            """
            SELECT measure_id, practice_code, sum(numerator)::BIGINT AS numerator,
                   sum(denominator)::BIGINT AS denominator
            FROM rollup_gp_measure
            WHERE activity_month BETWEEN $start AND $end
            GROUP BY ALL
            """,
            {"start": start, "end": end},
        )
    return snap.query(
        """
        SELECT measure_id, practice_code, sum(numerator)::BIGINT AS numerator,
               sum(denominator)::BIGINT AS denominator
        FROM rollup_gp_measure
        WHERE activity_month BETWEEN $start AND $end AND list_contains($ids, measure_id)
        GROUP BY ALL
        """,
        {"start": start, "end": end, "ids": measure_ids},
    )


def _age_sex_events(snap: Snapshot, start: date, end: date, measure_ids: list[str]) -> pl.DataFrame:
    return snap.query(
        """
        SELECT measure_id, age_band, sex, sum(numerator)::DOUBLE AS events
        FROM rollup_gp_measure_age_sex
        WHERE activity_month BETWEEN $start AND $end AND list_contains($ids, measure_id)
        GROUP BY ALL
        """,
        {"start": start, "end": end, "ids": measure_ids},
    )


def _structures(snap: Snapshot) -> pl.DataFrame:
    """Registered patients by age band (did_model.demography) and sex for every PCN and sub-ICB."""
    return snap.query(
        f"""
        SELECT org_type, org_code, {age_band_sql("age")} AS age_band, sex,
               sum(patients)::DOUBLE AS patients
        FROM ref_population
        WHERE org_type IN ('PCN', 'SUB_ICB') AND org_code <> $no_pcn
        GROUP BY ALL
        """,
        {"no_pcn": NO_PCN},
    )


class _Inputs(NamedTuple):
    practices: pl.DataFrame
    counts: pl.DataFrame
    age_sex: pl.DataFrame
    structure: pl.DataFrame  # practice_code, age_band, sex, share (see practice_structure)


def _inputs(snap: Snapshot, start: date, end: date, measure_ids: list[str]) -> _Inputs:
    practices = _practices(snap)
    return _Inputs(
        practices,
        _counts(snap, start, end, measure_ids),
        _age_sex_events(snap, start, end, measure_ids),
        snap.remember(
            ("gp_benchmark.practice_structure",),
            lambda: practice_structure(practices.filter(pl.col("list_size") >= MIN_LIST_SIZE), _structures(snap)),
        ),
    )


class Shares(NamedTuple):
    """Every benchmarked practice's age-sex shares (`_share_matrix`): the cells, and the matrix's
    rows in the order of `practice_codes`."""

    practice_codes: pl.Series
    cells: pl.DataFrame
    matrix: np.ndarray


def england_shares(snap: Snapshot, inputs: _Inputs) -> Shares:
    """The share matrix of England's benchmarked practices, worked out once per snapshot
    (Snapshot.remember) and shared by every measure, period and user: it depends only on the
    practices and their PCNs' and sub-ICBs' registered populations (0.03 s of each measure's
    0.18 s for a commissioner, national store)."""
    codes = inputs.practices.filter(pl.col("list_size") >= MIN_LIST_SIZE)["practice_code"]
    cells = snap.remember(("gp_benchmark.share_cells",), lambda: _share_cells(inputs.structure))
    kept = snap.remember(
        ("gp_benchmark.share_matrix",),
        lambda: pl.DataFrame(_share_matrix(inputs.structure, codes)[1], orient="row").with_columns(practice_code=codes),
    )
    # row-major, as _share_matrix builds it: a matrix product sums in the same order, to the last bit
    return Shares(kept["practice_code"], cells, np.ascontiguousarray(kept.drop("practice_code").to_numpy()))


# --- the computation (pure: frames in, frames out) -------------------------------------------


def practice_structure(practices: pl.DataFrame, structures: pl.DataFrame) -> pl.DataFrame:
    """practice_code, age_band, sex, share: its PCN's age-sex shares, else its sub-ICB's."""
    shares = structures.with_columns(
        (pl.col("patients") / pl.col("patients").sum().over("org_type", "org_code")).alias("share")
    )
    pcn = shares.filter(pl.col("org_type") == "PCN")
    has_pcn = practices.filter(pl.col("pcn_code").is_in(pcn["org_code"].unique().to_list()))
    by_pcn = has_pcn.select("practice_code", "pcn_code").join(
        pcn.select(pl.col("org_code").alias("pcn_code"), "age_band", "sex", "share"), on="pcn_code"
    )
    by_sub = (
        practices.join(has_pcn.select("practice_code"), on="practice_code", how="anti")
        .select("practice_code", "sub_icb_code")
        .join(
            shares.filter(pl.col("org_type") == "SUB_ICB").select(
                pl.col("org_code").alias("sub_icb_code"), "age_band", "sex", "share"
            ),
            on="sub_icb_code",
        )
    )
    return pl.concat([by_pcn.drop("pcn_code"), by_sub.drop("sub_icb_code")])


def _share_cells(structure: pl.DataFrame) -> pl.DataFrame:
    """The age-sex cells (age_band, sex) of a structure, in the order `_share_matrix`'s columns take."""
    return structure.select("age_band", "sex").unique().sort("age_band", "sex", nulls_last=True)


def _share_matrix(structure: pl.DataFrame, practice_codes: pl.Series) -> tuple[pl.DataFrame, np.ndarray]:
    """(cells, shares): the age-sex cells (age_band, sex) and a practices x cells matrix of
    shares, rows in `practice_codes` order (a practice with no structure has a row of zeros)."""
    cells = _share_cells(structure)
    keyed = structure.join(cells.with_row_index("cell"), on=["age_band", "sex"])
    rows = pl.DataFrame({"practice_code": practice_codes}).with_row_index("row")
    keyed = keyed.join(rows, on="practice_code")
    shares = np.zeros((rows.height, cells.height))
    shares[keyed["row"].to_numpy(), keyed["cell"].to_numpy()] = keyed["share"].to_numpy()
    return cells, shares


def share_matrix(practices: pl.DataFrame, structures: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """`_share_matrix(practice_structure(practices, structures), practices["practice_code"])`,
    built from one row per PCN / sub-ICB instead of one per practice: the same cells in the same
    order and the same shares (each practice's row is a copy of its PCN's, else its sub-ICB's)."""
    shares = structures.with_columns(
        (pl.col("patients") / pl.col("patients").sum().over("org_type", "org_code")).alias("share")
    )
    pcns = shares.filter(pl.col("org_type") == "PCN")["org_code"].unique()
    keys = practices.select(
        pl.when(pl.col("pcn_code").is_in(pcns.to_list()).fill_null(False))
        .then(pl.struct(org_type=pl.lit("PCN"), org_code=pl.col("pcn_code")))
        .otherwise(pl.struct(org_type=pl.lit("SUB_ICB"), org_code=pl.col("sub_icb_code")))
        .alias("key")
    ).unnest("key")
    orgs = keys.unique().with_row_index("org")
    used = shares.join(orgs, on=["org_type", "org_code"])  # the organisations some practice takes
    cells = used.select("age_band", "sex").unique().sort("age_band", "sex", nulls_last=True)
    used = used.join(cells.with_row_index("cell"), on=["age_band", "sex"])
    by_org = np.zeros((orgs.height + 1, cells.height))  # the last row: no structure (zeros)
    by_org[used["org"].to_numpy(), used["cell"].to_numpy()] = used["share"].to_numpy()
    org = keys.join(orgs, on=["org_type", "org_code"], how="left", maintain_order="left")["org"]
    return cells, by_org[org.fill_null(orgs.height).to_numpy()]


def _drawn(limits: dict) -> dict:
    """The adjusted limits at each level, for the verdicts (which may not go past them)."""
    return {lvl: limits[(lvl, True)] for lvl in funnel.LEVELS}


def compute_table(
    measure: Measure,
    practices: pl.DataFrame,
    counts: pl.DataFrame,
    age_sex: pl.DataFrame,
    structure: pl.DataFrame,
    months: int,
    method: str = DEFAULT_METHOD,
    shares: Shares | None = None,
) -> tuple[pl.DataFrame, float, funnel.Dispersion]:
    """Every benchmarked practice in England for one measure: (table, England value, dispersion).

    counts: practice_code, numerator, denominator for this measure over the period; age_sex:
    age_band, sex, events (England); structure: practice_code, age_band, sex, share — each
    practice's approximated age-sex structure (`practice_structure`). Pure, so the golden
    tests can feed it hand-made frames. `shares`: the structure as a matrix worked out ahead
    (`england_shares`), used when its practices are the table's, in the same order. (The practice
    page needs one practice's row of every measure's table: `queries.gp_practice` works that out
    without building the tables.)
    """
    frame = (
        practices.filter(pl.col("list_size") >= MIN_LIST_SIZE)
        .join(counts.select("practice_code", "numerator", "denominator"), on="practice_code", how="left")
        .with_columns(pl.col("numerator").fill_null(0), pl.col("denominator").fill_null(0))
    )
    o = frame["numerator"].to_numpy().astype(float)
    level95, level998 = funnel.LEVELS
    if measure.is_ratio:
        n = frame["denominator"].to_numpy().astype(float)
        value, lower, upper = rates.proportion(o, n, measure.multiplier)
        p0 = o.sum() / n.sum() if n.sum() > 0 else np.nan
        expected = p0 * n
        ratio, ratio_lower, ratio_upper = (
            x / p0 if p0 > 0 else x * np.nan for x in (value / 100, lower / 100, upper / 100)
        )
        y, s = funnel.proportion_scale(o, n, p0)
        # A share of fewer than 10 examinations does not feed the over-dispersion estimate.
        enough = n >= MIN_EVENTS
        dispersion = funnel.estimate_dispersion(y[enough], p0, s[enough])
        x = n
        limits = {(lvl, False): funnel.binomial_limits(n, p0, lvl) for lvl in funnel.LEVELS}
        limits |= {
            (lvl, True): funnel.proportion_limits(n, p0, lvl, dispersion, method, limits[(lvl, False)])
            for lvl in funnel.LEVELS
        }
        adjusted = funnel.proportion_verdicts(o, n, p0, dispersion, method, _drawn(limits))
        unadjusted = funnel.proportion_verdicts(o, n, p0)
        limits = {k: (lo * 100, hi * 100) for k, (lo, hi) in limits.items()}
        target = p0 * 100
        fvalue = value
        too_few = n < MIN_EVENTS
        few_note = f"Fewer than {MIN_EVENTS} examinations in the denominator: no interval shown"
        denominator = frame["denominator"]
    else:
        person_years = frame["list_size"].to_numpy().astype(float) * months / 12
        value, lower, upper = rates.crude_rate(o, person_years, measure.multiplier)
        target = o.sum() / person_years.sum() * measure.multiplier
        if measure.standardise:
            if shares is not None and shares.practice_codes.equals(frame["practice_code"]):
                cells, matrix = shares.cells, shares.matrix  # worked out ahead (england_shares)
            else:
                cells, matrix = _share_matrix(structure, frame["practice_code"])
            population = cells.with_columns(pl.Series("person_years", matrix.T @ person_years))
            ref = standardisation.reference_rates(age_sex, population)
            rate = cells.join(ref, on=["age_band", "sex"], how="left", maintain_order="left")["rate"]
            raw = matrix @ rate.fill_null(0).to_numpy() * person_years
        else:
            raw = person_years.copy()
        expected = raw * (o.sum() / raw.sum()) if raw.sum() > 0 else raw * np.nan
        ratio, ratio_lower, ratio_upper = standardisation.standardised_ratio(o, expected)
        y, s = funnel.ratio_scale(o, expected)
        dispersion = funnel.estimate_dispersion(y, 1.0, s)
        x = expected
        limits = {(lvl, False): funnel.poisson_limits(expected, lvl) for lvl in funnel.LEVELS}
        limits |= {
            (lvl, True): funnel.ratio_limits(expected, lvl, dispersion, method, limits[(lvl, False)])
            for lvl in funnel.LEVELS
        }
        adjusted = funnel.ratio_verdicts(o, expected, dispersion, method, _drawn(limits))
        unadjusted = funnel.ratio_verdicts(o, expected)
        limits = {k: (lo * target, hi * target) for k, (lo, hi) in limits.items()}
        fvalue = ratio * target
        too_few = o < MIN_EVENTS
        few_note = f"Fewer than {MIN_EVENTS} events: no interval shown"
        denominator = pl.Series("denominator", [None] * frame.height, dtype=pl.Int64)

    def nan_if_few(a):
        return np.where(too_few, np.nan, a)

    table = frame.with_columns(
        pl.lit(measure.id).alias("measure_id"),
        denominator.alias("denominator"),
        pl.Series("value", value),
        pl.Series("value_lower", nan_if_few(lower)),
        pl.Series("value_upper", nan_if_few(upper)),
        pl.Series("expected", expected),
        pl.Series("ratio", ratio),
        pl.Series("ratio_lower", nan_if_few(ratio_lower)),
        pl.Series("ratio_upper", nan_if_few(ratio_upper)),
        pl.Series("funnel_x", x.astype(float)),
        pl.Series("funnel_value", fvalue),
        pl.Series("funnel_lower95", limits[(level95, True)][0]),
        pl.Series("funnel_upper95", limits[(level95, True)][1]),
        pl.Series("funnel_lower998", limits[(level998, True)][0]),
        pl.Series("funnel_upper998", limits[(level998, True)][1]),
        pl.Series("comparison", adjusted.astype(str)),
        pl.Series("comparison_unadjusted", unadjusted.astype(str)),
        pl.Series("note", np.where(too_few, few_note, "")),
    ).with_columns(
        pl.col(c).fill_nan(None) for c in TABLE_COLUMNS if c.startswith(("value", "ratio", "funnel", "expected"))
    )
    table = dec.percentile_rank(table, by=None, column="funnel_value").with_columns(
        pl.col("funnel_value").rank("min", descending=True).cast(pl.Int64).alias("england_rank")
    )
    return (
        table.select(TABLE_COLUMNS).sort("england_rank", "practice_code", nulls_last=True),
        float(target),
        dispersion,
    )


def funnel_curves(
    measure: Measure, target: float, dispersion: funnel.Dispersion, method: str, x_max: float, points: int = 120
) -> pl.DataFrame:
    """Smooth funnel limits for drawing: funnel_x and lower/upper at 95% and 99.8%."""
    if not (np.isfinite(x_max) and x_max > 0 and np.isfinite(target)):
        return pl.DataFrame(
            schema={
                "funnel_x": pl.Float64,
                "funnel_lower95": pl.Float64,
                "funnel_upper95": pl.Float64,
                "funnel_lower998": pl.Float64,
                "funnel_upper998": pl.Float64,
            }
        )
    x = np.unique(np.concatenate([np.geomspace(0.5, x_max * 1.05, points), [x_max * 1.05]]))
    cols: dict[str, np.ndarray] = {"funnel_x": x}
    for level, tag in zip(funnel.LEVELS, ("95", "998"), strict=True):
        if measure.is_ratio:
            x = np.maximum(np.round(x), 1)
            lo, hi = funnel.proportion_limits(x, target / 100, level, dispersion, method)
            lo, hi = lo * 100, hi * 100
        else:
            lo, hi = funnel.ratio_limits(x, level, dispersion, method)
            lo, hi = lo * target, hi * target
        cols["funnel_x"] = x
        cols[f"funnel_lower{tag}"], cols[f"funnel_upper{tag}"] = lo, hi
    return pl.DataFrame(cols).unique("funnel_x", maintain_order=True)


# --- what the pages and the export call ------------------------------------------------------


def _in_area(area: Area) -> pl.Expr:
    if area.is_england:
        return pl.lit(True)
    return pl.col(area.column) == area.code


def _in_peers(peers: Peers | None) -> pl.Expr:
    expr = pl.lit(True)
    if peers is None:
        return expr
    if peers.list_size_min is not None:
        expr = expr & (pl.col("list_size") >= peers.list_size_min)
    if peers.list_size_max is not None:
        expr = expr & (pl.col("list_size") <= peers.list_size_max)
    if peers.imd_quintiles:
        expr = expr & pl.col("imd_quintile").is_in(list(peers.imd_quintiles))
    return expr


# Shown only with the counts they come from: on a suppressed row every one of them is blank, so
# nothing places the hidden count (a denominator, expected value or funnel position with the
# limits around it would; a rank or verdict would order it among the others).
_WITH_COUNTS = TABLE_COLUMNS[TABLE_COLUMNS.index("denominator") :]  # every column after the numerator


def perturbed_counts(snap: Snapshot, scope: Scope, counts: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """`_counts` as everyone but the central team gets them (queries.disclosure.perturb): one cell
    per measure and practice over the period, whichever page or export asks."""
    return perturb(
        snap,
        counts,
        scope,
        ["numerator", "denominator"],
        keys=["measure_id", "practice_code"],
        context=("gp_measure", start, end),
    )


def _protect(table: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """Suppress and round the counts; blank what comes with them; rank the published rows only."""
    table = protect(
        table,
        scope,
        counts=["numerator", "denominator"],
        derived={"numerator": _WITH_COUNTS, "denominator": _WITH_COUNTS},
    )
    if not scope.needs_disclosure_control:
        return table
    ranked = dec.percentile_rank(table.drop("percentile_rank"), by=None, column="funnel_value")
    ranked = rank_published(ranked, "funnel_value", "england_rank")
    return suppressed_last(
        ranked.select(*TABLE_COLUMNS, SUPPRESSED_COLUMN).sort("england_rank", "practice_code", nulls_last=True)
    )


def _check_peers(peers: Peers | None, scope: Scope) -> None:
    """Outside the central team a peer group's list sizes are band edges: an arbitrary pair of
    limits would pick out a practice by its exact list size."""
    if peers is None or scope.is_central:
        return
    for limit in (peers.list_size_min, peers.list_size_max):
        if limit is not None and limit not in LIST_SIZE_EDGES and limit + 1 not in LIST_SIZE_EDGES:
            raise ValueError(
                f"list size limit {limit:,}: peer groups use the bands " + ", ".join(f"{e:,}" for e in LIST_SIZE_EDGES)
            )


@dataclass(frozen=True)
class MeasureTable:
    """One measure across the practices of an area (and a peer group), over start … end, with the
    funnel's over-dispersion method: what the measure page shows and `did export gp-benchmark` writes."""

    measure_id: str
    start: date
    end: date
    area: Area = ENGLAND_AREA
    method: str = DEFAULT_METHOD
    peers: Peers | None = None  # None: every practice of the area

    def __post_init__(self) -> None:
        if self.measure_id not in load_measures():
            raise UsageError(f"there is no measure {self.measure_id!r}; choose one of {', '.join(load_measures())}")
        if self.start > self.end:
            raise UsageError("the period starts after it ends: choose a first month no later than the last")
        if self.method not in funnel.METHODS:
            raise UsageError(
                f"unknown over-dispersion method {self.method!r}; choose one of {', '.join(funnel.METHODS)}"
            )


def measure_benchmark(snap: Snapshot, scope: Scope, t: MeasureTable) -> Benchmark:
    """`benchmark` for the request `t`: the table, England's value and the funnel the page draws."""
    return benchmark(snap, scope, t.measure_id, t.start, t.end, t.area, t.method, t.peers)


def measure_table(snap: Snapshot, scope: Scope, t: MeasureTable) -> pl.DataFrame:
    """The practices `t` asks for, as the measure page shows and offers them (`did export gp-benchmark`)."""
    return measure_benchmark(snap, scope, t).table


def benchmark(
    snap: Snapshot,
    scope: Scope,
    measure_id: str,
    start: date,
    end: date,
    area: Area = ENGLAND_AREA,
    method: str = DEFAULT_METHOD,
    peers: Peers | None = None,
) -> Benchmark:
    """One measure across the practices of `area` (and `peers`), benchmarked against England.

    The table is exactly what the measure page shows and `did export gp-benchmark` writes.
    Outside the central team (docs/disclosure.md): every figure comes from perturbed counts;
    suppressed rows come last, unranked and blank; practices not named are shown only in an ICB
    or England (in a PCN or sub-ICB they would be few enough to tell apart).
    """
    if method not in funnel.METHODS:
        raise ValueError(f"over-dispersion method {method!r}: one of {', '.join(funnel.METHODS)}")
    area.require(LEVELS)
    _check_peers(peers, scope)
    measure = get_measure(measure_id)
    months = count_months(start, end)
    inputs = _inputs(snap, start, end, [measure.id])
    counts = perturbed_counts(snap, scope, inputs.counts.filter(pl.col("measure_id") == measure.id), start, end)
    table, target, dispersion = compute_table(
        measure,
        inputs.practices,
        counts,
        inputs.age_sex.filter(pl.col("measure_id") == measure.id).drop("measure_id"),
        inputs.structure,
        months,
        method,
        england_shares(snap, inputs) if measure.standardise else None,
    )
    everyone = inputs.practices
    excluded = everyone.filter(_in_area(area) & ~(pl.col("list_size") >= MIN_LIST_SIZE).fill_null(False)).height
    # Selected on the protected table, masked over England (so a practice looks the same in any
    # area). Outside the central team a PCN or sub-ICB lists only the practices the user may see
    # named, and an ICB only practices that still show that ICB after masking: a handful of
    # unnamed practices known to share a small area would be told apart by their values.
    protected = _protect(table, scope).with_row_index("__row")
    wanted = protected.filter(_in_area(area) & _in_peers(peers))["__row"]
    shown = _mask(protected, scope).filter(pl.col("__row").is_in(wanted.to_list()))
    if not scope.is_central and not area.is_england:
        shown = shown.filter(pl.col(area.column) == area.code)
    shown = rank_published(shown.drop("__row"), "funnel_value", "rank").select("rank", pl.exclude("rank"))
    # Drawn as far as the practices shown reach: a suppressed row's x (a ratio measure's
    # denominator) must not set the axis.
    reach = float(shown.select(pl.col("funnel_x").max()).item() or 0)
    curves = funnel_curves(measure, target, dispersion, method, reach)
    return Benchmark(measure, start, end, months, shown, target, dispersion, method, curves, excluded)


def area_values(table: pl.DataFrame, measure: Measure, target: float, practice: dict) -> pl.DataFrame:
    """The practice's PCN, sub-ICB, ICB and England values, and where the practice ranks in each.

    table: the unmasked England table (compute_table), with a `suppressed` column when the
    ranks are to leave out the practices a user cannot see. Columns: level, code, name, value,
    practices, practice_rank ("2 of 7": 1 = highest).
    """
    rows = []
    for level in ("pcn", "sub_icb", "icb", "england"):
        code = practice.get(f"{level}_code") if level != "england" else None
        if level != "england" and code is None:
            continue
        part = table if level == "england" else table.filter(pl.col(f"{level}_code") == code)
        numerator = float(part["numerator"].sum())
        if measure.is_ratio:
            n = float(part["denominator"].sum())
            value = numerator / n * 100 if n else None
        else:
            e = float(part["expected"].sum())
            value = numerator / e * target if e else None
        mine = part.filter(pl.col("practice_code") == practice["practice_code"])
        # Ranked among the practices whose figures are shown (a `suppressed` column marks the others).
        ranked = part.filter(~pl.col(SUPPRESSED_COLUMN)) if SUPPRESSED_COLUMN in part.columns else part
        rank = None
        if mine.height and mine["funnel_value"][0] is not None:
            rank = int((ranked["funnel_value"] > mine["funnel_value"][0]).sum()) + 1
        rows.append(
            {
                "level": LEVEL_LABELS[level],
                "code": code or "England",
                "name": "England" if level == "england" else practice.get(f"{level}_name"),
                "value": value,
                "practices": part.height,
                "practice_rank": f"{rank} of {ranked.height}" if rank else None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "level": pl.String,
            "code": pl.String,
            "name": pl.String,
            "value": pl.Float64,
            "practices": pl.Int64,
            "practice_rank": pl.String,
        },
    )
