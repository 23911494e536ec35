"""GP benchmarking queries: a hand-worked table, a naive second implementation over the shared
synthetic store, scope and disclosure, and the export agreeing with the page's call."""

from __future__ import annotations

import argparse
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy import stats

from did_model.measures import load_measures
from did_model.scope import CENTRAL, Scope, ScopeError
from did_months import add_months, count_months
from queries import deciles as dec
from queries import funnel, gp_practice
from queries import gp_benchmark as gb
from queries.areas import Area
from queries.connection import get_snapshot
from queries.disclosure import DisclosureRule
from queries.exports import registry

# --- hand-worked compute_table ------------------------------------------------------------------

PRACTICES = pl.DataFrame(
    {
        "practice_code": ["A", "B", "C", "D"],
        "practice_name": ["A", "B", "C", "D"],
        "pcn_code": ["P1", "P1", "P2", "P2"],
        "pcn_name": ["P1", "P1", "P2", "P2"],
        "sub_icb_code": ["S", "S", "S", "S"],
        "sub_icb_name": ["S"] * 4,
        "icb_code": ["I"] * 4,
        "icb_name": ["I"] * 4,
        "list_size": [1000, 2000, 3000, 500],
        "imd_score": [10.0] * 4,
        "imd_quintile": [1, 2, 3, 4],
    }
)
# P1: half aged 20-24, half 80-84 (women); P2: everyone 20-24.
STRUCTURES = pl.DataFrame(
    {
        "org_type": ["PCN"] * 3,
        "org_code": ["P1", "P1", "P2"],
        "age_band": [4, 16, 4],  # did_model.demography's bands: 4 = 20-24, 16 = 80-84
        "sex": ["F", "F", "F"],
        "patients": [50.0, 50.0, 80.0],
    }
).with_columns(pl.col("age_band").cast(pl.Int32))
AGE_SEX = pl.DataFrame({"age_band": [4, 16], "sex": ["F", "F"], "events": [30.0, 30.0]}).with_columns(
    pl.col("age_band").cast(pl.Int32)
)


def test_rate_measure_worked_by_hand():
    m = load_measures()["gpda_chest_xray"]
    counts = pl.DataFrame(
        {"practice_code": ["A", "B", "C", "D"], "numerator": [10, 20, 30, 5], "denominator": [None] * 4},
        schema_overrides={"denominator": pl.Int64},
    )
    structure = gb.practice_structure(PRACTICES, STRUCTURES)
    table, target, dispersion = gb.compute_table(m, PRACTICES, counts, AGE_SEX, structure, 12, "none")
    table = table.sort("practice_code")
    # D (500 patients) is not benchmarked. Person-years: 20-24 F 500 + 1000 + 3000 = 4500,
    # 80-84 F 500 + 1000 = 1500; England rates 30/4500 and 30/1500. Expected: A 1000 x
    # (0.5 x 1/150 + 0.5 x 1/50) = 13.333, B 26.667, C 3000/150 = 20 (sum 60 = observed, so no
    # rescaling). England crude rate 60 / 6000 x 1000 = 10 per 1,000.
    assert table["practice_code"].to_list() == ["A", "B", "C"]
    assert target == pytest.approx(10.0)
    assert table["expected"].to_list() == pytest.approx([40 / 3, 80 / 3, 20.0])
    assert table["value"].to_list() == pytest.approx([10.0, 10.0, 10.0])
    assert table["ratio"].to_list() == pytest.approx([0.75, 0.75, 1.5])
    assert table["funnel_value"].to_list() == pytest.approx([7.5, 7.5, 15.0])
    a = table.row(0, named=True)
    assert a["ratio_lower"] == pytest.approx(stats.chi2.ppf(0.025, 20) / 2 / (40 / 3))
    assert a["value_upper"] == pytest.approx(stats.chi2.ppf(0.975, 22) / 2)
    dist = stats.poisson(40 / 3)
    r_p = dist.ppf(0.999)
    upper = (r_p - (dist.cdf(r_p) - 0.999) / (dist.cdf(r_p) - dist.cdf(r_p - 1))) / (40 / 3) * 10
    assert a["funnel_upper998"] == pytest.approx(upper)
    assert table["england_rank"].to_list() == [2, 2, 1]
    # Dispersion over the three practices on the square-root scale, by hand.
    o, e = np.array([10, 20, 30.0]), np.array([40 / 3, 80 / 3, 20])
    z = (np.sqrt(o / e) - 1) / (1 / (2 * np.sqrt(e)))
    z = np.clip(z, *np.quantile(z, [0.1, 0.9]))
    assert dispersion.phi == pytest.approx((z**2).mean())


def test_ratio_measure_worked_by_hand_and_too_few():
    m = load_measures()["gpda_mri_lumbar_spine_share"]
    counts = pl.DataFrame({"practice_code": ["A", "B", "C"], "numerator": [2, 5, 3], "denominator": [10, 20, 5]})
    table, target, _ = gb.compute_table(m, PRACTICES, counts, AGE_SEX, pl.DataFrame(), 12, "none")
    table = table.sort("practice_code")
    assert target == pytest.approx(10 / 35 * 100)
    z = stats.norm.ppf(0.975)
    p, n = 0.2, 10
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    a, b, c = table.iter_rows(named=True)
    assert a["value"] == pytest.approx(20.0)
    assert a["value_lower"] == pytest.approx(100 * (centre - half))
    assert a["ratio"] == pytest.approx(0.2 / (10 / 35))
    assert c["comparison"] == gb.TOO_FEW and c["value_lower"] is None and c["note"].startswith("Fewer than 10")
    # England's share 10/35: none of n is significantly low at 95% only for (25/35)^n < 0.025,
    # n >= 11 ((25/35)^10 = 0.0346). So A's 10 examinations are too few to judge, and B's 5 of 20
    # (P(X <= 5) = 0.47 under Binomial(20, 2/7)) are within.
    assert a["comparison"] == gb.TOO_FEW and a["value_lower"] is not None
    assert b["comparison"] == "within"


# --- over the shared synthetic store --------------------------------------------------------------


@pytest.fixture(scope="module")
def snap(synthetic_store):
    return get_snapshot(synthetic_store[0])


@pytest.fixture(scope="module")
def period(snap):
    return gb.default_period(snap)


def test_rollup_counts_equal_a_naive_count_of_records(snap):
    naive = snap.query("""
        SELECT practice_code, count(*) AS n,
               count(*) FILTER (WHERE body_area = 'Lumbar spine') AS lumbar
        FROM record WHERE patient_source = '04' AND modality = 'MRI' AND practice_code IS NOT NULL
        GROUP BY 1""")
    rollup = snap.query("""
        SELECT practice_code, sum(denominator) AS n, sum(numerator) AS lumbar FROM rollup_gp_measure
        WHERE measure_id = 'gpda_mri_lumbar_spine_share' GROUP BY 1""")
    joined = naive.join(rollup, on="practice_code", how="full", coalesce=True)
    assert joined.height == naive.height > 0
    assert (joined["n"] == joined["n_right"]).all() and (joined["lumbar"] == joined["lumbar_right"]).all()
    by_age = snap.query("SELECT sum(numerator) AS n FROM rollup_gp_measure_age_sex WHERE measure_id = 'gpda_all'")
    direct = snap.query("""SELECT count(*) AS n FROM record WHERE patient_source = '04'
                           AND practice_code IN (SELECT practice_code FROM ref_practice)""")
    assert by_age["n"][0] == direct["n"][0]


def test_crude_rates_equal_a_naive_python_implementation(snap, period):
    start, end = period
    records = snap.query(
        """SELECT practice_code, test_group FROM record
                            WHERE patient_source = '04' AND activity_month BETWEEN $s AND $e""",
        {"s": start, "e": end},
    )
    lists = dict(snap.query("SELECT practice_code, list_size FROM ref_practice").iter_rows())
    months = count_months(start, end)
    counts: dict[str, int] = {}
    for code, group in records.iter_rows():
        if group == "chest_xray":
            counts[code] = counts.get(code, 0) + 1
    table = gb.benchmark(snap, CENTRAL, "gpda_chest_xray", start, end).table
    assert table.height == sum(1 for v in lists.values() if v and v >= 750)
    for row in table.filter(pl.col("numerator") > 0).head(200).iter_rows(named=True):
        code = row["practice_code"]
        assert row["numerator"] == counts[code]
        assert row["value"] == pytest.approx(counts[code] / (lists[code] * months / 12) * 1000)
    assert table["numerator"].sum() == sum(n for c, n in counts.items() if (lists.get(c) or 0) >= 750)
    assert table["expected"].sum() == pytest.approx(table["numerator"].sum())  # England = 1


def test_area_and_peers_narrow_the_rows_not_the_verdicts(snap, period):
    england = gb.benchmark(snap, CENTRAL, "gpda_all", *period).table
    icb = england["icb_code"].drop_nulls()[0]
    narrowed = gb.benchmark(
        snap, CENTRAL, "gpda_all", *period, area=Area("icb", icb), peers=gb.Peers(2000, 20000, (1, 2))
    ).table
    assert narrowed.height and (narrowed["icb_code"] == icb).all()
    assert narrowed["list_size"].is_between(2000, 20000).all() and narrowed["imd_quintile"].is_in([1, 2]).all()
    assert narrowed["rank"].min() == 1
    same = england.join(narrowed.select("practice_code", "comparison", "funnel_upper998"), on="practice_code")
    assert (same["comparison"] == same["comparison_right"]).all()


def _first_in_a_pcn(snap, period) -> dict:
    """The top practice that has a PCN (which practice ranks first depends on the synthetic data,
    and a few practices are in no PCN)."""
    return (
        gb.benchmark(snap, CENTRAL, "gpda_all", *period)
        .table.filter(pl.col("pcn_code").is_not_null())
        .row(0, named=True)
    )


def test_gp_scope_names_only_its_own_practice_and_protects_counts(snap, period):
    own = _first_in_a_pcn(snap, period)
    scope = Scope("gp", practice=own["practice_code"])
    table = gb.benchmark(snap, scope, "gpda_all", *period, area=Area("pcn", own["pcn_code"])).table
    assert table["practice_code"].drop_nulls().to_list() == [own["practice_code"]]
    assert set(table.filter(pl.col("practice_code").is_null())["practice_name"]) <= {gb.ANONYMOUS}
    shown = table["numerator"].drop_nulls()
    assert (shown % 5 == 0).all()
    suppressed = table.filter(pl.col("numerator").is_null())
    assert suppressed["value"].null_count() == suppressed.height
    neighbours = gb.benchmark(snap, CENTRAL, "gpda_all", *period, area=Area("pcn", own["pcn_code"])).table
    other = neighbours.filter(pl.col("practice_code") != own["practice_code"])["practice_code"][0]
    with pytest.raises(ScopeError):
        gb.check_practice(snap, scope, other)
    with pytest.raises(ScopeError):
        gp_practice.practice_profile(snap, scope, other, *period)
    assert gb.practice_directory(snap, scope)["practice_code"].to_list() == [own["practice_code"]]


def test_commissioner_names_its_icbs_practices(snap, period):
    icb = gb.benchmark(snap, CENTRAL, "gpda_all", *period).table["icb_code"][0]
    table = gb.benchmark(snap, Scope("commissioner", icbs=frozenset({icb})), "gpda_all", *period).table
    named = table.filter(pl.col("practice_code").is_not_null())
    assert named.height and (named["icb_code"] == icb).all()
    assert (table.filter(pl.col("icb_code") != icb)["practice_name"] == gb.ANONYMOUS).all()


def test_export_is_the_measure_pages_table(snap, period):
    export = registry()["gp-benchmark"]
    parser = argparse.ArgumentParser()
    export.add_arguments(parser)
    row = gb.benchmark(snap, CENTRAL, "gpda_us_abdo_pelvis", *period).table.row(0, named=True)
    args = parser.parse_args(
        [
            "--measure",
            "gpda_us_abdo_pelvis",
            "--sub-icb",
            row["sub_icb_code"].lower(),
            "--from",
            f"{period[0]:%Y-%m}",
            "--to",
            f"{period[1]:%Y-%m}",
            "--overdispersion",
            "multiplicative",
            "--imd-quintile",
            "1",
            "--imd-quintile",
            "3",
        ]
    )
    built = export.build(snap, CENTRAL, args)
    assert export.request(snap, args) == gb.MeasureTable(
        "gpda_us_abdo_pelvis",
        *period,
        Area("sub_icb", row["sub_icb_code"]),
        "multiplicative",
        gb.Peers(None, None, (1, 3)),
    )
    page = gb.benchmark(
        snap,
        CENTRAL,
        "gpda_us_abdo_pelvis",
        *period,
        Area("sub_icb", row["sub_icb_code"]),
        "multiplicative",
        gb.Peers(None, None, (1, 3)),
    ).table
    assert built.equals(page)


def test_practice_profile_agrees_with_the_measure_tables(snap, period):
    england = gb.benchmark(snap, CENTRAL, "gpda_xray", *period).table
    row = england.row(0, named=True)
    profile = gp_practice.practice_profile(snap, CENTRAL, row["practice_code"], *period)
    assert profile["measure_id"].to_list() == list(load_measures())
    mine = profile.filter(pl.col("measure_id") == "gpda_xray").row(0, named=True)
    for col in ("numerator", "value", "ratio", "funnel_value", "comparison"):
        assert mine[col] == row[col]
    assert mine["england_rank"] == f"{row['england_rank']} of {england.height}"
    assert mine["spine_min"] <= mine["funnel_value"] <= mine["spine_max"]


def test_trend_series_and_deciles(snap, period):
    row = _first_in_a_pcn(snap, period)
    series, deciles = gp_practice.practice_trend(snap, CENTRAL, "gpda_all", row["practice_code"], *period, "pcn")
    months = count_months(*period)
    assert series.height == months and (series["org_code"] == row["pcn_code"]).all()
    assert deciles.height == months * 9
    assert series["percentile_rank"].is_between(0, 100).all()
    whole = series["numerator"].sum()
    assert (
        whole
        == gb.benchmark(snap, CENTRAL, "gpda_all", *period, area=Area("pcn", row["pcn_code"])).table["numerator"].sum()
    )
    # A practice in no PCN is told so, in words, rather than given an empty series.
    no_pcn = gb.benchmark(snap, CENTRAL, "gpda_all", *period).table.filter(pl.col("pcn_code").is_null())
    if no_pcn.height:
        with pytest.raises(ValueError, match="is in no PCN"):
            gp_practice.practice_trend(snap, CENTRAL, "gpda_all", no_pcn["practice_code"][0], *period, "pcn")


def test_period_and_months(snap):
    months = gb.months_available(snap)
    assert months[0] == date(2025, 11, 1) and len(months) >= 5
    assert count_months(date(2025, 11, 1), date(2026, 10, 1)) == 12
    with pytest.raises(ValueError):
        Area("icb")
    with pytest.raises(KeyError, match="no measure"):
        gb.get_measure("nope")
    assert funnel.METHODS == ("none", "additive", "multiplicative")


# --- the practice profile against the measure tables (a naive second implementation) -----------

PROFILE_KEYS = (
    "measure_id",
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
)


def naive_profile(tables: dict, practice: dict) -> pl.DataFrame:
    """A profile the long way: for each measure, the practice's row of the full England table
    (what the measure page shows), `gb.area_values` over that table, and the spine over it."""
    rows = []
    for m, table, target in tables.values():
        if "suppressed" in table.columns:  # protected: percentile ranks over the rows shown
            shown = dec.percentile_rank(
                table.filter(~pl.col("suppressed")).drop("percentile_rank"), by=None, column="funnel_value"
            ).select("practice_code", "percentile_rank")
            table = table.drop("percentile_rank").join(shown, on="practice_code", how="left", maintain_order="left")
        mine = table.filter(pl.col("practice_code") == practice["practice_code"]).row(0, named=True)
        areas = {r["level"]: r for r in gb.area_values(table, m, target, practice).iter_rows(named=True)}
        spread = (table.filter(~pl.col("suppressed")) if "suppressed" in table.columns else table)[
            "funnel_value"
        ].drop_nulls()
        rows.append(
            {
                **{k: mine[k] for k in PROFILE_KEYS},
                "title": m.title,
                "short_title": m.short_title,
                "units": m.units,
                "polarity": m.polarity,
                "is_ratio": m.is_ratio,
                **{
                    key: areas.get(label, {}).get("value")
                    for key, label in (
                        ("england", "England"),
                        ("pcn", "PCN"),
                        ("sub_icb", "Sub-ICB location"),
                        ("icb", "ICB"),
                    )
                },
                **{
                    f"{key}_rank": areas.get(label, {}).get("practice_rank")
                    for key, label in (
                        ("england", "England"),
                        ("pcn", "PCN"),
                        ("sub_icb", "Sub-ICB location"),
                        ("icb", "ICB"),
                    )
                },
                "spine_min": spread.min(),
                "spine_p25": spread.quantile(0.25, "linear"),
                "spine_p75": spread.quantile(0.75, "linear"),
                "spine_max": spread.max(),
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None).select(gp_practice.PROFILE_COLUMNS)


def measure_tables(snap, start, end, method, scope=CENTRAL) -> dict:
    """measure_id -> (measure, its full England table (compute_table, limits for every practice), England's value).

    For a scope outside the central team: from the perturbed counts, each measure on its own
    (perturbation must not depend on which measures are asked for together), with a `suppressed`
    column saying which rows that user cannot see."""
    inputs = gb._inputs(snap, start, end, list(load_measures()))
    out = {}
    for m in load_measures().values():
        counts = gb.perturbed_counts(snap, scope, inputs.counts.filter(pl.col("measure_id") == m.id), start, end)
        table, target, _ = gb.compute_table(
            m,
            inputs.practices,
            counts,
            inputs.age_sex.filter(pl.col("measure_id") == m.id).drop("measure_id"),
            inputs.structure,
            count_months(start, end),
            method,
        )
        if scope.needs_disclosure_control:
            rule = DisclosureRule.from_settings()
            table = table.with_columns(
                suppressed=pl.col("numerator").is_between(1, rule.suppress_up_to)
                | pl.col("denominator").is_between(1, rule.suppress_up_to).fill_null(False)
            )
        out[m.id] = (m, table, target)
    return out


@pytest.mark.parametrize(
    "months,method,every", [(6, "additive", 40), (6, "multiplicative", 400), (6, "none", 400), (3, "additive", 200)]
)
def test_practice_profile_equals_the_measure_tables_row_by_row(snap, period, months, method, every):
    from polars.testing import assert_frame_equal

    end = period[1]
    start = max(period[0], add_months(end, -(months - 1)))
    tables = measure_tables(snap, start, end, method)
    everyone = gb._practices(snap)
    benchmarked = everyone.filter(pl.col("list_size") >= gb.MIN_LIST_SIZE)
    # A spread of practices, every one outside a PCN (standardised by its sub-ICB's structure),
    # and the busiest; over the synthetic store that takes in practices with too few events,
    # no denominator (a null funnel value) and verdicts outside the limits.
    busiest = tables["gpda_all"][1]["practice_code"][0]
    # Verdicts from exact tail probabilities flag few practices, so one practice of each flag
    # any measure gives is added.
    flagged = {
        t.filter(pl.col("comparison") == v)["practice_code"][0]
        for _, t, _ in tables.values()
        for v in set(t["comparison"].drop_nulls()) - {"", gb.TOO_FEW, "within"}
    }
    codes = sorted(
        {
            *benchmarked["practice_code"].gather_every(every).to_list(),
            busiest,
            *flagged,
            *benchmarked.filter(pl.col("pcn_code").is_null())["practice_code"].to_list(),
        }
    )
    eng = gp_practice.england_for(snap, start, end)
    verdicts, null_values = set(), 0
    for code in codes:
        practice = gb.check_practice(snap, CENTRAL, code)
        profile = gp_practice.profile_from(eng, CENTRAL, practice, method)
        assert_frame_equal(profile, naive_profile(tables, practice), check_exact=True)
        verdicts |= set(profile["comparison"])
        null_values += profile["funnel_value"].null_count()
    if every <= 40:  # the broad sample covers every kind of row
        assert null_values and {gb.TOO_FEW, "within"} <= verdicts
        assert verdicts & {"above 99.8%", "above 95%"} and verdicts & {"below 99.8%", "below 95%"}
    # The page's entry point is the same computation.
    assert_frame_equal(
        gp_practice.practice_profile(snap, CENTRAL, busiest, start, end, method),
        naive_profile(tables, gb.check_practice(snap, CENTRAL, busiest)),
        check_exact=True,
    )


def test_practice_profile_for_a_gp_is_the_protected_naive_profile(snap, period):
    from polars.testing import assert_frame_equal

    code = measure_tables(snap, *period, gb.DEFAULT_METHOD)["gpda_ct"][1]["practice_code"][3]
    scope = Scope("gp", practice=code)
    tables = measure_tables(snap, *period, gb.DEFAULT_METHOD, scope)
    expected = gp_practice.protect(
        naive_profile(tables, gb.check_practice(snap, scope, code)),
        scope,
        counts=["numerator", "denominator"],
        derived={"numerator": gp_practice._DERIVED, "denominator": gp_practice._DERIVED},
    )
    assert_frame_equal(gp_practice.practice_profile(snap, scope, code, *period), expected, check_exact=True)
    with pytest.raises(ValueError, match="over-dispersion method"):
        gp_practice.practice_profile(snap, scope, code, *period, "bogus")


def test_share_matrix_by_organisation_equals_the_one_by_practice(snap):
    practices = gb._practices(snap).filter(pl.col("list_size") >= gb.MIN_LIST_SIZE)
    structures = gb._structures(snap)
    for ps, st in (
        (practices, structures),
        (PRACTICES.filter(pl.col("list_size") >= 750), STRUCTURES),
        # Without P2's structure its practices take their sub-ICB's (S), as does F (no PCN);
        # E's sub-ICB (Q) has none either: a row of zeros.
        (
            pl.concat(
                [
                    PRACTICES,
                    PRACTICES.head(2).with_columns(
                        practice_code=pl.Series(["E", "F"]),
                        pcn_code=pl.Series(["P2", None]),
                        sub_icb_code=pl.Series(["Q", "S"]),
                    ),
                ]
            ),
            pl.concat(
                [
                    STRUCTURES.filter(pl.col("org_code") != "P2"),
                    STRUCTURES.with_columns(
                        org_type=pl.lit("SUB_ICB"), org_code=pl.lit("S"), patients=pl.col("patients") + 1
                    ),
                ]
            ),
        ),
    ):
        cells, shares = gb.share_matrix(ps, st)
        want_cells, want = gb._share_matrix(gb.practice_structure(ps, st), ps["practice_code"])
        assert cells.equals(want_cells) and np.array_equal(shares, want)
        assert shares.flags["C_CONTIGUOUS"]


def test_the_share_matrix_is_worked_out_once_per_snapshot_and_changes_no_figure(synthetic_store, period, monkeypatch):
    """england_shares: the dashboard's snapshot works out the practices' age-sex share matrix
    once, for every standardised measure, user and period after it; each table equals the one a
    snapshot without the memo works out afresh."""
    from polars.testing import assert_frame_equal

    calls = []
    real = gb._share_matrix
    monkeypatch.setattr(gb, "_share_matrix", lambda *args: calls.append(1) or real(*args))
    memo = get_snapshot(synthetic_store[0], memo=True)
    plain = get_snapshot(synthetic_store[0])
    icb = gb.benchmark(plain, CENTRAL, "gpda_all", *period).table["icb_code"].drop_nulls()[0]
    calls.clear()
    standardised = [m for m in load_measures() if gb.get_measure(m).standardise]
    assert len(standardised) > 2
    for scope in (CENTRAL, Scope("commissioner", icbs=frozenset({icb}), user="c")):
        for measure in standardised:
            for start in (period[0], add_months(period[1], -2)):
                ahead = gb.benchmark(memo, scope, measure, start, period[1])
                afresh = gb.benchmark(plain, scope, measure, start, period[1])
                assert_frame_equal(ahead.table, afresh.table)
                assert ahead.target == afresh.target and ahead.dispersion == afresh.dispersion
    afresh_calls = 2 * len(standardised) * 2
    assert len(calls) == afresh_calls + 1  # the memo's snapshot worked it out once
