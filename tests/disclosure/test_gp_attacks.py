"""An attacker with every GP-benchmarking table a commissioner or GP can get (docs/disclosure.md).

Each attack is a function over what a user sees. It is run twice:
- on what the code before disclosure control v2 published (`as_published_before`: figures from
  exact counts, counts 1–7 blanked and the rest rounded, everything else left on the row, ranks
  over every practice, unnamed practices with their PCN and exact list size) — the attack
  must recover the hidden counts there, or the test could not fail;
- on what `gp_benchmark.benchmark` publishes now — it must recover no more than chance.
The true counts come from the central team's (exact) table.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from did_model.scope import CENTRAL, Scope
from did_months import count_months
from queries import gp_benchmark as gb
from queries.areas import Area
from queries.connection import get_snapshot
from queries.disclosure import DisclosureRule

RULE = DisclosureRule()
CHANCE = 0.35  # what guessing does: the commonest hidden count is right about a quarter of the time


@pytest.fixture(scope="module")
def snap(synthetic_store):
    return get_snapshot(synthetic_store[0])


@pytest.fixture(scope="module")
def period(snap):
    return gb.default_period(snap)


def as_published_before(exact: pl.DataFrame) -> pl.DataFrame:
    """The old protection of the exact table: counts 1–7 blanked with their value, interval and
    verdict; everything else (denominator, expected, funnel position, ranks) left as it was."""
    small = lambda c: pl.col(c).is_between(1, RULE.suppress_up_to).fill_null(False)  # noqa: E731
    hidden = small("numerator") | small("denominator")
    return exact.with_columns(
        *[
            pl.when(small(c)).then(None).otherwise((pl.col(c) + 2.5) // 5 * 5).alias(c)
            for c in ("numerator", "denominator")
        ],
        *[
            pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("value", "value_lower", "value_upper", "ratio", "funnel_value", "comparison")
        ],
    )


def _truth(exact: pl.DataFrame, column: str) -> dict[str, int]:
    return dict(zip(exact["practice_code"].to_list(), exact[column].to_list(), strict=True))


def _recovered(guesses: dict[str, float | None], truth: dict[str, int]) -> tuple[int, int]:
    """(hidden counts guessed exactly, hidden counts attacked)."""
    hits = sum(1 for code, g in guesses.items() if g is not None and np.isfinite(g) and round(g) == truth[code])
    return hits, len(guesses)


# --- the attacks ---------------------------------------------------------------------------------


def derived_values_attack(table: pl.DataFrame) -> dict[str, float | None]:
    """A ratio measure's hidden denominator from what is left on its row: the funnel's x is the
    denominator, and expected = England's share x the denominator."""
    hidden = table.filter(pl.col("denominator").is_null() & pl.col("practice_code").is_not_null())
    return dict(zip(hidden["practice_code"].to_list(), hidden["funnel_x"].to_list(), strict=True))


def order_attack(table: pl.DataFrame, multiplier: float, months: int) -> dict[str, float | None]:
    """A hidden count from the row's place in the ranked list: its rank sits between two shown
    practices, so its standardised value lies between theirs; O = value / target x E."""
    ranked = table.filter(pl.col("practice_code").is_not_null()).sort("england_rank", nulls_last=True)
    guesses = {}
    shown = ranked.filter(pl.col("funnel_value").is_not_null())
    for row in ranked.filter(pl.col("numerator").is_null()).iter_rows(named=True):
        if row["england_rank"] is None or row["expected"] is None:
            guesses[row["practice_code"]] = None
            continue
        above = shown.filter(pl.col("england_rank") < row["england_rank"])["funnel_value"].min()
        below = shown.filter(pl.col("england_rank") > row["england_rank"])["funnel_value"].max()
        if above is None or below is None:
            guesses[row["practice_code"]] = None
            continue
        target = (shown["funnel_value"] / shown["ratio"]).drop_nans().median()
        guesses[row["practice_code"]] = (above + below) / 2 / target * row["expected"]
    return guesses


def rate_times_denominator_attack(table: pl.DataFrame, multiplier: float, months: int) -> dict[str, float | None]:
    """A rounded count taken back to the exact one: crude rate x person-years (a zero is shown as
    it is, so only the rounded, non-zero counts are worth attacking)."""
    shown = table.filter(
        pl.col("value").is_not_null()
        & pl.col("practice_code").is_not_null()
        & pl.col("list_size").is_not_null()
        & (pl.col("numerator") > 0)
    )
    return dict(
        zip(
            shown["practice_code"].to_list(),
            (shown["value"] * shown["list_size"] * months / 12 / multiplier).to_list(),
            strict=True,
        )
    )


def singled_out(table: pl.DataFrame) -> int:
    """Unnamed rows whose shown attributes no other 4 unnamed rows share."""
    anonymous = table.filter(pl.col("practice_name") == gb.ANONYMOUS)
    attributes = [
        c
        for c in ("pcn_code", "sub_icb_code", "icb_code", "list_size", "list_size_band", "imd_quintile")
        if c in anonymous.columns
    ]
    sizes = anonymous.group_by(attributes).len()
    return int(sizes.filter(pl.col("len") < gb.K_ANONYMITY)["len"].sum())


# --- the tests -----------------------------------------------------------------------------------


def _icb_commissioner(snap, period):
    exact = gb.benchmark(snap, CENTRAL, "gpda_all", *period).table
    icb = exact.group_by("icb_code").len().sort("len", descending=True)["icb_code"][0]
    return Scope("commissioner", icbs=frozenset({icb})), icb


def test_derived_values_left_on_a_suppressed_row_give_the_denominator_back(snap, period):
    scope, icb = _icb_commissioner(snap, period)
    measure = "gpda_xray_lumbar_spine_share"  # a ratio measure: its denominator is a count
    exact = gb.benchmark(snap, CENTRAL, measure, *period, Area("icb", icb)).table
    truth = _truth(exact, "denominator")
    before = _recovered(derived_values_attack(as_published_before(exact)), truth)
    assert before[1] > 0 and before[0] == before[1]  # every hidden denominator, exactly
    now = gb.benchmark(snap, scope, measure, *period, Area("icb", icb)).table
    attacked = derived_values_attack(now)
    assert attacked and all(v is None for v in attacked.values())
    hidden = now.filter(pl.col("suppressed"))
    assert hidden.height and hidden.select(gb._WITH_COUNTS).null_count().row(0) == (hidden.height,) * len(
        gb._WITH_COUNTS
    )


def test_order_and_rank_do_not_place_a_suppressed_practice(snap, period):
    scope, icb = _icb_commissioner(snap, period)
    m = gb.get_measure("gpda_all")
    exact = gb.benchmark(snap, CENTRAL, m.id, *period).table
    months = count_months(*period)
    truth = _truth(exact, "numerator")
    before = as_published_before(exact).filter(pl.col("icb_code") == icb)
    hits, tried = _recovered(order_attack(before, m.multiplier, months), truth)
    assert tried and hits / tried > 0.5  # the neighbours pin most hidden counts
    now = gb.benchmark(snap, scope, m.id, *period).table
    mine = now.filter(pl.col("icb_code") == icb)
    assert all(v is None for v in order_attack(mine, m.multiplier, months).values())
    # Suppressed rows come last, unranked; the ranks of the rest have no gap.
    flags = now["suppressed"].to_list()
    assert flags == sorted(flags)
    shown = now.filter(~pl.col("suppressed"))
    assert now.filter(pl.col("suppressed"))["rank"].null_count() == now["suppressed"].sum()
    assert shown["rank"].to_list() == shown["funnel_value"].rank("min", descending=True).cast(pl.Int64).to_list()
    assert shown["england_rank"].max() <= shown.height


def test_rate_times_list_size_does_not_undo_rounding(snap, period):
    scope, icb = _icb_commissioner(snap, period)
    m = gb.get_measure("gpda_all")
    months = count_months(*period)
    exact = gb.benchmark(snap, CENTRAL, m.id, *period, Area("icb", icb)).table
    truth = _truth(exact, "numerator")
    before = as_published_before(exact)
    hits, tried = _recovered(rate_times_denominator_attack(before, m.multiplier, months), truth)
    assert tried and hits == tried  # every rounded count comes back exactly
    now = gb.benchmark(snap, scope, m.id, *period, Area("icb", icb)).table
    hits, tried = _recovered(rate_times_denominator_attack(now, m.multiplier, months), truth)
    assert tried and hits / tried <= CHANCE
    # The published count and its rate agree with each other, not with the exact count.
    assert now.filter(pl.col("numerator") % RULE.round_to != 0).height == 0


def test_unnamed_practices_cannot_be_singled_out(snap, period):
    # The attacker's own practice: the first in the table with an ICB and a PCN (a few practices
    # have neither in the reference, and which one ranks first depends on the synthetic data).
    exact = gb.benchmark(snap, CENTRAL, "gpda_all", *period).table
    exact = pl.concat(
        [
            exact.filter(pl.col("icb_code").is_not_null() & pl.col("pcn_code").is_not_null()),
            exact.filter(pl.col("icb_code").is_null() | pl.col("pcn_code").is_null()),
        ]
    )
    own = exact["practice_code"][0]
    old_style = exact.with_columns(
        pl.when(pl.col("practice_code") == own)
        .then(pl.col("practice_name"))
        .otherwise(pl.lit(gb.ANONYMOUS))
        .alias("practice_name")
    ).select("practice_name", "pcn_code", "list_size", "imd_quintile")
    assert singled_out(old_style) > 0.9 * old_style.height  # (PCN, list size) is nearly always unique
    gp = Scope("gp", practice=own)
    for area in (Area(), Area("icb", exact["icb_code"][0])):
        now = gb.benchmark(snap, gp, "gpda_all", *period, area).table
        assert singled_out(now) == 0
        anonymous = now.filter(pl.col("practice_name") == gb.ANONYMOUS)
        assert (
            anonymous.height
            and anonymous.select("practice_code", "pcn_code", "sub_icb_code", "list_size").null_count().row(0)
            == (anonymous.height,) * 4
        )
    # A PCN or sub-ICB shows only practices the user may see named.
    pcn = gb.benchmark(snap, gp, "gpda_all", *period, Area("pcn", exact["pcn_code"][0])).table
    assert set(pcn["practice_name"]) <= {exact["practice_name"][0]}


def test_peer_groups_take_band_edges_only_outside_the_central_team(snap, period):
    own = gb.benchmark(snap, CENTRAL, "gpda_all", *period).table["practice_code"][0]
    gp = Scope("gp", practice=own)
    with pytest.raises(ValueError, match="bands"):
        gb.benchmark(snap, gp, "gpda_all", *period, peers=gb.Peers(9_561, 9_562))
    gb.benchmark(snap, gp, "gpda_all", *period, peers=gb.Peers(7_500, 9_999))
    gb.benchmark(snap, CENTRAL, "gpda_all", *period, peers=gb.Peers(9_561, 9_562))


def test_the_same_cell_has_the_same_noise_wherever_it_is_asked_for(snap, period):
    """Asking again — another area, a peer group, the practice page — teaches nothing new."""
    from queries import gp_practice

    scope, icb = _icb_commissioner(snap, period)
    england = gb.benchmark(snap, scope, "gpda_all", *period).table
    narrowed = gb.benchmark(snap, scope, "gpda_all", *period, Area("icb", icb)).table
    both = narrowed.join(england, on="practice_code", suffix="_england")
    assert both.height and both["numerator"].equals(both["numerator_england"], check_names=False)
    code = narrowed.filter(~pl.col("suppressed"))["practice_code"][0]
    profile = gp_practice.practice_profile(snap, scope, code, *period)
    assert (
        profile.filter(pl.col("measure_id") == "gpda_all")["numerator"][0]
        == narrowed.filter(pl.col("practice_code") == code)["numerator"][0]
    )
