"""Disclosure control: small counts hidden, the rest rounded, derived figures follow, no recovery by subtraction."""

from __future__ import annotations

from typing import ClassVar

import polars as pl
import pytest

from did_model.scope import CENTRAL, Scope, ScopeError
from queries.disclosure import DisclosureRule, perturb, protect, rank_published, suppressed_last
from queries.exports import to_csv_bytes

GP = Scope("gp", practice="A81001")


def test_central_sees_exact_figures():
    df = pl.DataFrame({"n": [3, 12]})
    assert protect(df, CENTRAL, ["n"]).equals(df)


def test_small_counts_suppressed_and_others_rounded_half_up():
    df = pl.DataFrame({"n": [0, 1, 7, 8, 12, 13, 2_531_127], "rate": [0.0, 0.1, 0.7, 0.8, 1.2, 1.3, 9.9]})
    out = protect(df, GP, ["n"], derived={"n": ["rate"]})
    assert out["n"].to_list() == [0, None, None, 10, 10, 15, 2_531_125]
    assert out["rate"].to_list() == [0.0, None, None, 0.8, 1.2, 1.3, 9.9]
    assert out["suppressed"].to_list() == [False, True, True, False, False, False, False]


def test_rule_is_configurable():
    out = protect(pl.DataFrame({"n": [2, 3]}), GP, ["n"], rule=DisclosureRule(suppress_up_to=2, round_to=1))
    assert out["n"].to_list() == [None, 3]


class _Snap:
    version = "test"
    meta: ClassVar[dict[str, str]] = {"cell_key_secret": "SECRETSECRETSECRET"}


def test_perturbation_is_bounded_fixed_per_cell_and_independent_between_cells():
    frame = pl.DataFrame({"code": [f"A{i}" for i in range(2_000)], "n": [50] * 2_000})
    once = perturb(_Snap(), frame, GP, ["n"], keys=["code"], context=("t", "2026-01"))
    again = perturb(_Snap(), frame.reverse(), GP, ["n"], keys=["code"], context=("t", "2026-01"))
    assert once.equals(again.reverse())  # the same cell, the same noise, whatever else is asked
    e = (once["n"] - 50).to_list()
    assert set(e) == {-2, -1, 0, 1, 2}
    assert all(300 < e.count(v) < 500 for v in set(e))  # about uniform: 400 each
    other = perturb(_Snap(), frame, GP, ["n"], keys=["code"], context=("t", "2026-02"))
    assert (other["n"] != once["n"]).mean() > 0.7  # another cell (period) draws again
    changed = perturb(
        _Snap(), frame.with_columns(pl.lit(51).alias("n")), GP, ["n"], keys=["code"], context=("t", "2026-01")
    )
    assert ((changed["n"] - 51) != (once["n"] - 50)).mean() > 0.7  # a count that changes draws again
    assert perturb(_Snap(), frame, CENTRAL, ["n"], keys=["code"], context=("t",)).equals(frame)


def test_a_small_count_is_reflected_at_one_and_zero_stays_zero():
    frame = pl.DataFrame({"code": [f"A{i}" for i in range(3_000)], "n": [1] * 1_500 + [0] * 1_500})
    p = perturb(_Snap(), frame, GP, ["n"], keys=["code"], context=("t",))["n"].to_list()
    ones = p[:1_500]
    assert set(ones) == {1, 2, 3} and all(v == 0 for v in p[1_500:])
    assert ones.count(1) / len(ones) < 0.3  # a true 1 shows as 1 one time in five, not three


def test_ranks_leave_suppressed_rows_out_and_no_gap():
    df = pl.DataFrame({"n": [100, 5, 50, 20], "rate": [9.0, 8.0, 3.0, 1.0]})
    out = suppressed_last(rank_published(protect(df, GP, ["n"], derived={"n": ["rate"]}), "rate", "rank"))
    assert out["rank"].to_list() == [1, 2, 3, None] and out["suppressed"].to_list()[-1]


def test_csv_writes_a_star_for_a_hidden_figure_and_leaves_not_computed_empty():
    df = pl.DataFrame({"code": ["A", "B"], "n": [5, 40], "rate": [0.5, None]})
    text = to_csv_bytes(protect(df, GP, ["n"], derived={"n": ["rate"]})).decode()
    assert text.splitlines() == ["code,n,rate,suppressed", "A,*,*,true", "B,40,,false"]


def test_scope_rules():
    with pytest.raises(ValueError, match="provider code"):
        Scope("provider")
    p = Scope("provider", providers=frozenset({"RR8"}))
    assert p.may_see_provider("rr8") and not p.may_see_provider("RTH")
    with pytest.raises(ScopeError, match="RTH"):
        p.check_provider("RTH")
    assert CENTRAL.visible_providers() is None and p.visible_providers() == ["RR8"]
