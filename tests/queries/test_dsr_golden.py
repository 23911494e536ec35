"""Golden tests for queries/dsr.py: numbers worked by hand or taken from published tables.

Sources of the expected numbers:
- ESP2013 weights: Eurostat (2013), Revision of the European Standard Population, table 2.1
  (typed in again here, independently of the module).
- Exact Poisson 95% limits: the chi-square relation (Garwood 1936) as tabulated in PHE's
  "Technical Guide: Confidence intervals" (2018) and in Breslow & Day vol. II, appendix:
  O=10 -> 4.7954, 18.3904; O=30 -> 20.2409, 42.8269; O=0 -> 0, 3.6889.
- Byar's approximation: the formula written out below with z = 1.959964.
- Dobson et al. (1991): the interval worked by hand below.
- Wilson (1927): 10 of 50 at 95% -> 0.1124, 0.3304 (Newcombe 1998, table I style example,
  worked out below).
"""

from __future__ import annotations

import math

import polars as pl
import pytest

from did_model.demography import AGE_BAND_LABELS
from queries import dsr

ESP2013_EUROSTAT = {  # 0-4 is <1 (1,000) + 1-4 (4,000)
    "0-4": 5000,
    "5-9": 5500,
    "10-14": 5500,
    "15-19": 5500,
    "20-24": 6000,
    "25-29": 6000,
    "30-34": 6500,
    "35-39": 7000,
    "40-44": 7000,
    "45-49": 7000,
    "50-54": 7000,
    "55-59": 6500,
    "60-64": 6000,
    "65-69": 5500,
    "70-74": 5000,
    "75-79": 4000,
    "80-84": 2500,
    "85-89": 1500,
    "90+": 1000,
}


def test_esp2013_weights_are_eurostats():
    assert list(AGE_BAND_LABELS) == list(ESP2013_EUROSTAT)
    assert list(dsr.ESP2013) == list(ESP2013_EUROSTAT.values())
    assert sum(dsr.ESP2013) == 100_000


@pytest.mark.parametrize(
    ("count", "lower", "upper"),
    [
        (0, 0.0, 3.6889),
        (10, 4.7954, 18.3904),
        (30, 20.2409, 42.8269),
        (100, 81.3640, 121.6268),
    ],
)
def test_exact_poisson_limits_match_the_tables(count, lower, upper):
    lo, hi = dsr.poisson_limits(count)
    assert lo == pytest.approx(lower, abs=1e-4)
    assert hi == pytest.approx(upper, abs=1e-4)


def test_byars_approximation_above_388():
    z = 1.959964
    o = 1000
    lower = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1))) ** 3
    assert dsr.poisson_limits(o) == pytest.approx((lower, upper), rel=1e-6)


def _strata(counts: dict[tuple[str, int], int], population: float = 1000.0) -> pl.DataFrame:
    rows = [(s, b, counts.get((s, b), 0), population) for s in ("M", "F") for b in range(19)]
    return pl.DataFrame(
        rows,
        schema={"sex": pl.String, "age_band": pl.Int32, "records": pl.Int64, "population": pl.Float64},
        orient="row",
    ).with_columns(pl.lit("X").alias("code"))


def test_dsr_and_dobson_interval_worked_by_hand():
    # 1,000 people in each of the 38 age-sex strata; 10 events in men 0-4, 20 in women 90+.
    # Standard: ESP2013 for each sex, 200,000 in all, so the weights are
    #   men 0-4:   5000 / 200000 = 0.025      women 90+: 1000 / 200000 = 0.005
    # DSR per 1,000 = 1000 * (0.025 * 10/1000 + 0.005 * 20/1000)       = 0.35
    # var(DSR)      = 1000^2 * (0.025^2 * 10/1000^2 + 0.005^2 * 20/1000^2)
    #               = 0.00625 + 0.0005                                 = 0.00675
    # O = 30, exact limits 20.2409 and 42.8269; sqrt(var / O) = sqrt(0.000225) = 0.015
    # Dobson: 0.35 + 0.015 * (20.2409 - 30) = 0.203614;  0.35 + 0.015 * (42.8269 - 30) = 0.542404
    out = dsr.directly_standardised(_strata({("M", 0): 10, ("F", 18): 20}), ["code"]).row(0, named=True)
    assert out["records"] == 30
    assert out["dsr"] == pytest.approx(0.35)
    assert out["dsr_var"] == pytest.approx(0.00675)
    assert out["dsr_lower"] == pytest.approx(0.203614, abs=2e-6)
    assert out["dsr_upper"] == pytest.approx(0.542404, abs=2e-6)
    assert out["strata_missing"] == 0


def test_dsr_with_real_shaped_populations_against_a_loop():
    # An independent loop over the Eurostat weights typed in above.
    pops = {("M", b): 2000.0 + 150 * b for b in range(19)} | {("F", b): 2100.0 + 140 * b for b in range(19)}
    counts = {(s, b): (b * 7 + (3 if s == "F" else 0)) % 23 for s in ("M", "F") for b in range(19)}
    weights = list(ESP2013_EUROSTAT.values())
    expected = sum(weights[b] * counts[(s, b)] / pops[(s, b)] for s in ("M", "F") for b in range(19))
    expected = expected / (2 * 100_000) * 1000
    frame = pl.DataFrame(
        [(s, b, counts[(s, b)], pops[(s, b)]) for s in ("M", "F") for b in range(19)],
        schema={"sex": pl.String, "age_band": pl.Int32, "records": pl.Int64, "population": pl.Float64},
        orient="row",
    ).with_columns(pl.lit("X").alias("code"))
    assert dsr.directly_standardised(frame, ["code"])["dsr"][0] == pytest.approx(expected)


def test_dsr_is_withheld_below_ten_events():
    out = dsr.directly_standardised(_strata({("M", 3): 9}), ["code"]).row(0, named=True)
    assert out["records"] == 9 and out["dsr"] is None and out["dsr_lower"] is None


def test_crude_rate_interval():
    frame = dsr.crude_rate(pl.DataFrame({"records": [30], "population": [10_000.0]}), multiplier=1000)
    row = frame.row(0, named=True)
    assert row["rate"] == pytest.approx(3.0)
    assert row["rate_lower"] == pytest.approx(2.02409, abs=1e-5)
    assert row["rate_upper"] == pytest.approx(4.28269, abs=1e-5)


def test_wilson_interval():
    # p = 0.2, n = 50, z = 1.959964: centre = (0.2 + z^2/100) / (1 + z^2/50) = 0.23683 ...
    z = 1.959964
    p, n = 0.2, 50
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    row = dsr.wilson(pl.DataFrame({"k": [10], "n": [50]}), "k", "n").row(0, named=True)
    assert row["share"] == pytest.approx(0.2)
    assert (row["share_lower"], row["share_upper"]) == pytest.approx((centre - half, centre + half), abs=1e-6)
    assert (row["share_lower"], row["share_upper"]) == pytest.approx((0.1124, 0.3304), abs=1e-4)


def test_rate_ratio_delta_method():
    # ln(2) +/- 1.959964 * sqrt(0.01/1 + 0.04/4) = 0.693147 +/- 0.277181
    ratio, lo, hi = dsr.rate_ratio(2.0, 0.04, 1.0, 0.01)
    assert ratio == pytest.approx(2.0)
    assert lo == pytest.approx(math.exp(0.693147 - 0.277181), rel=1e-5)
    assert hi == pytest.approx(math.exp(0.693147 + 0.277181), rel=1e-5)
    assert dsr.rate_ratio(0.0, 0.0, 1.0, 0.01) is None


def test_fold_variation_sets_the_extremes_aside():
    assert dsr.fold_variation([1.0, 2.0, 3.0, 4.0, 100.0]) == pytest.approx(4.0 / 2.0)
    assert dsr.fold_variation([0.5, 2.0, 5.0, 9.0, None]) == pytest.approx(5.0 / 2.0)
    assert dsr.fold_variation([1.0, 2.0, 3.0]) is None
