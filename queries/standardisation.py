"""Indirect age-sex standardisation of practice rates.

Method (Breslow & Day 1987, vol. II ch. 2; PHE Technical Guide "Indirectly standardised ratios",
and APHO Technical Briefing 3, 2008, section 4):

- expected E = sum over age band a and sex s of population(a, s) x reference rate(a, s);
- standardised ratio = O / E, its interval the Poisson interval of O (exact, Byar's for large
  counts; `queries.rates.poisson_interval`) divided by E — E is treated as fixed;
- indirectly standardised rate = ratio x the reference (England) crude rate.

Two approximations, stated wherever the figures are shown:

- A practice's age-sex structure is *its PCN's single-year age x sex distribution scaled to the
  practice's list size* (registered patients, April 2026): practice-level age-sex counts are
  not in the shipped reference data (architecture §5). A practice whose patients differ from its
  PCN's (a university or care-home practice) is standardised less well. A practice outside any
  PCN's table takes its sub-ICB's structure.
- Reference rates are England's GP-direct-access events by age band and sex over the period,
  with events of unknown age or sex shared out in proportion to the known ones, and rescaled so
  that expected equals observed over all benchmarked practices (England = 1 exactly). The
  rescaling absorbs the small mismatch between April list sizes and the August age-sex file.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from did_model.demography import KNOWN_SEXES


def reference_rates(events: pl.DataFrame, population: pl.DataFrame) -> pl.DataFrame:
    """Rate per person-year by age band and sex.

    events: age_band (null = unknown), sex (M / F; U or null = unknown), events. population: age_band,
    sex, person_years. Unknown-age/sex events are shared out pro rata (every known rate scaled
    by total / known). Returns age_band, sex, rate.
    """
    total = float(events["events"].sum() or 0)
    known = events.filter(pl.col("age_band").is_not_null() & pl.col("sex").is_in(KNOWN_SEXES))
    known_total = float(known["events"].sum() or 0)
    factor = total / known_total if known_total > 0 else 0.0
    return (
        population.join(
            known.group_by("age_band", "sex").agg(pl.col("events").sum()), on=["age_band", "sex"], how="left"
        )
        .with_columns(
            pl.when(pl.col("person_years") > 0)
            .then(pl.col("events").fill_null(0) * factor / pl.col("person_years"))
            .otherwise(0.0)
            .alias("rate")
        )
        .select("age_band", "sex", "rate")
    )


def expected_rate_by_structure(structure: pl.DataFrame, rates: pl.DataFrame, key: str) -> pl.DataFrame:
    """Expected events per person-year for each population structure.

    structure: key, age_band, sex, patients (e.g. one PCN's registered patients). Returns key,
    expected_per_person_year = sum(share(a, s) x rate(a, s)), share = patients / total of the key.
    Multiply by a practice's person-years to get its expected count.
    """
    return (
        structure.with_columns((pl.col("patients") / pl.col("patients").sum().over(key)).alias("share"))
        .join(rates, on=["age_band", "sex"], how="left")
        .group_by(key)
        .agg((pl.col("share") * pl.col("rate").fill_null(0)).sum().alias("expected_per_person_year"))
    )


def standardised_ratio(observed, expected, level: float = 0.95):
    """(ratio, lower, upper) = O/E with the Poisson interval of O over E; NaN where E is 0."""
    from queries.rates import poisson_interval

    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    lower, upper = poisson_interval(o, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(e > 0, 1 / e, np.nan)
    return o * inv, lower * inv, upper * inv
