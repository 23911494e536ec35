"""Rates, directly standardised rates and their confidence intervals, as Fingertips computes them.

Methods (the same as Public Health England / OHID's Fingertips, "Technical Guide: Confidence
intervals", PHE 2018, and the PHEindicatormethods R package):

- **Crude rate** per `multiplier` people: count / population, with an exact Poisson interval for
  the count (Garwood 1936, from the chi-square / gamma distribution) when the count is below
  389, and Byar's approximation above that (Breslow & Day 1987, *Statistical Methods in Cancer
  Research* vol. II, p. 69) — the switch-over point Fingertips uses; the two agree closely there.
- **Directly standardised rate (DSR)**: sum over age-sex strata of w_i * O_i / n_i, with the
  weights w_i of the **European Standard Population 2013** (Eurostat, *Revision of the European
  Standard Population: report of Eurostat's task force*, 2013 edition, table 2.1), 5-year bands
  to 90+. For an age-*sex* standardised persons rate each sex gets the full ESP2013, so the
  standard population is 2 x 100,000 and the persons rate is the mean of the two sex-specific
  age-standardised rates (as Fingertips does for persons DSRs).
- **DSR interval**: Dobson AJ, Kuulasmaa K, Eberle E, Scherer J. *Confidence intervals for
  weighted sums of Poisson parameters.* Stat Med 1991;10:457-462 — the interval for the total
  count O is mapped onto the DSR: DSR + sqrt(var(DSR) / O) * (O_limit - O), with
  var(DSR) = sum w_i^2 O_i / n_i^2 (weights normalised to sum to 1).
  Fingertips does not publish a DSR from fewer than 10 events (the method is unreliable there);
  neither do we: `MIN_DSR_COUNT`.
- **Standardised rate ratio** of two DSRs: log ratio +/- z * sqrt(var1/DSR1^2 + var2/DSR2^2)
  (delta method; Rothman, Greenland & Lash, *Modern Epidemiology*, 3rd ed., 2008, ch. 15).
- **Proportions**: Wilson score interval (Wilson 1927; Newcombe 1998), as Fingertips.

The Poisson and Wilson intervals themselves are `queries.rates` (one definition, shared with
GP benchmarking); this module adds standardisation and the area comparisons.
"""

from __future__ import annotations

import functools
import math

import polars as pl

from did_model.demography import KNOWN_SEXES, TOP_AGE_BAND
from queries.rates import _z, poisson_interval, wilson_interval

# European Standard Population 2013, 5-year age bands 0-4, 5-9, ..., 85-89, 90+ (sum 100,000).
# Source: Eurostat (2013), Revision of the European Standard Population, table 2.1; the 0-4
# band is the sum of the published <1 (1,000) and 1-4 (4,000) bands.
ESP2013: tuple[int, ...] = (
    5000,
    5500,
    5500,
    5500,
    6000,
    6000,
    6500,
    7000,
    7000,
    7000,
    7000,
    6500,
    6000,
    5500,
    5000,
    4000,
    2500,
    1500,
    1000,
)
# One weight per did_model.demography age band (0 = 0-4 ... 18 = 90+), for each known sex.
if len(ESP2013) != TOP_AGE_BAND + 1:
    raise ImportError("ESP2013 needs one weight per age band of did_model.demography")
SEXES = KNOWN_SEXES
MIN_DSR_COUNT = 10
BYAR_FROM = 389
LEVEL = 0.95


@functools.lru_cache(maxsize=4096)
def poisson_limits(count: int, level: float = LEVEL) -> tuple[float, float]:
    """Interval for a Poisson count: exact (Garwood) below BYAR_FROM, Byar's approximation above.

    One definition for the project: `queries.rates.poisson_interval`, here for a scalar count.
    """
    count = int(count)
    if count < 0:
        raise ValueError(f"a count cannot be negative ({count})")
    lower, upper = poisson_interval(count, level, byar_above=BYAR_FROM - 1)
    return float(lower), float(upper)


def crude_rate(
    frame: pl.DataFrame,
    count: str = "records",
    population: str = "population",
    multiplier: float = 1000.0,
    level: float = LEVEL,
    prefix: str = "rate",
) -> pl.DataFrame:
    """Add `<prefix>`, `<prefix>_lower`, `<prefix>_upper`: count / population * multiplier with a
    Poisson interval. Null where the population is missing or zero."""
    limits = [poisson_limits(int(c), level) if c is not None else (None, None) for c in frame[count]]
    lo = pl.Series([x[0] for x in limits], dtype=pl.Float64)
    hi = pl.Series([x[1] for x in limits], dtype=pl.Float64)
    per = pl.when(pl.col(population) > 0).then(multiplier / pl.col(population))
    return frame.with_columns(
        (pl.col(count) * per).alias(prefix),
        (pl.lit(lo) * per).alias(f"{prefix}_lower"),
        (pl.lit(hi) * per).alias(f"{prefix}_upper"),
    )


def standard_strata() -> pl.DataFrame:
    """Every ESP2013 age band for each sex with its normalised weight (all weights sum to 1)."""
    total = sum(ESP2013) * len(SEXES)
    return pl.DataFrame(
        {
            "sex": [s for s in SEXES for _ in ESP2013],
            "age_band": [b for _ in SEXES for b in range(len(ESP2013))],
            "weight": [w / total for _ in SEXES for w in ESP2013],
        },
        schema={"sex": pl.String, "age_band": pl.Int32, "weight": pl.Float64},
    )


def directly_standardised(
    strata: pl.DataFrame,
    by: list[str],
    count: str = "records",
    population: str = "population",
    multiplier: float = 1000.0,
    level: float = LEVEL,
) -> pl.DataFrame:
    """DSR per group of `by` from counts and populations by (age_band, sex).

    `strata` holds one row per group, age_band (0..18) and sex ('M'/'F') with `count` and
    `population`; missing strata count as zero events (their population must be present to
    contribute, so a group lacking a stratum's population is standardised over fewer strata
    and says so in `strata_missing`). Returns per group: records (O), population, dsr,
    dsr_lower, dsr_upper, dsr_var (variance of the DSR on the multiplier scale) and
    strata_missing. The DSR is null when O < MIN_DSR_COUNT.
    """
    std = standard_strata()
    rows = (
        strata.with_columns(pl.col("age_band").cast(pl.Int32))
        .join(std, on=["sex", "age_band"], how="inner")
        .filter(pl.col(population) > 0)
        .with_columns(
            (pl.col("weight") * pl.col(count) / pl.col(population)).alias("_term"),
            (pl.col("weight") ** 2 * pl.col(count) / pl.col(population) ** 2).alias("_var"),
        )
    )
    n_strata = std.height
    agg = rows.group_by(by, maintain_order=True).agg(
        pl.col(count).sum().cast(pl.Int64).alias("records"),
        pl.col(population).sum().alias("population"),
        (pl.col("_term").sum() * multiplier).alias("dsr"),
        (pl.col("_var").sum() * multiplier**2).alias("dsr_var"),
        (n_strata - pl.len()).alias("strata_missing"),
    )
    limits = [poisson_limits(int(o), level) for o in agg["records"]]
    o_lo = pl.Series([x[0] for x in limits], dtype=pl.Float64)
    o_hi = pl.Series([x[1] for x in limits], dtype=pl.Float64)
    scale = (pl.col("dsr_var") / pl.col("records")).sqrt()
    reliable = pl.col("records") >= MIN_DSR_COUNT
    return agg.with_columns(
        pl.when(reliable).then(pl.col("dsr") + scale * (pl.lit(o_lo) - pl.col("records"))).alias("dsr_lower"),
        pl.when(reliable).then(pl.col("dsr") + scale * (pl.lit(o_hi) - pl.col("records"))).alias("dsr_upper"),
        pl.when(reliable).then(pl.col("dsr")).alias("dsr"),
    ).select(*by, "records", "population", "dsr", "dsr_lower", "dsr_upper", "dsr_var", "strata_missing")


def rate_ratio(
    dsr1: float, var1: float, dsr2: float, var2: float, level: float = LEVEL
) -> tuple[float, float, float] | None:
    """Ratio of two DSRs with its interval (delta method on the log scale); None if undefined."""
    if not dsr1 or not dsr2 or dsr1 <= 0 or dsr2 <= 0:
        return None
    ratio = dsr1 / dsr2
    se = math.sqrt(var1 / dsr1**2 + var2 / dsr2**2)
    z = _z(level)
    return ratio, ratio * math.exp(-z * se), ratio * math.exp(z * se)


def wilson(frame: pl.DataFrame, count: str, total: str, level: float = LEVEL, prefix: str = "share") -> pl.DataFrame:
    """Add `<prefix>`, `<prefix>_lower`, `<prefix>_upper`: count / total with a Wilson interval
    (`queries.rates.wilson_interval`); null where the total is zero."""
    counts = frame[count].cast(pl.Float64).to_numpy()
    totals = frame[total].cast(pl.Float64).to_numpy()
    lower, upper = wilson_interval(counts, totals, level)
    ok = pl.col(total) > 0
    return frame.with_columns(
        pl.when(ok).then(pl.col(count) / pl.col(total)).alias(prefix),
        pl.when(ok).then(pl.Series(lower)).alias(f"{prefix}_lower"),
        pl.when(ok).then(pl.Series(upper)).alias(f"{prefix}_upper"),
    )


def fold_variation(values: list[float]) -> float | None:
    """The NHS Atlas of Variation's "n-fold variation" with the extremes set aside: the 2nd
    highest value over the 2nd lowest (the single highest and lowest areas excluded, so one
    outlier cannot make the figure). None with fewer than 4 values or a zero 2nd lowest."""
    vals = sorted(v for v in values if v is not None and not math.isnan(v))
    if len(vals) < 4 or vals[1] <= 0:
        return None
    return vals[-2] / vals[1]
