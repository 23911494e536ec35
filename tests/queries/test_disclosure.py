"""Disclosure control: small counts hidden, the rest rounded, derived figures follow, no recovery by subtraction."""

from __future__ import annotations

import polars as pl
import pytest

from queries.disclosure import DisclosureRule, protect
from queries.scope import CENTRAL, Scope, ScopeError

GP = Scope("gp", practice="A81001")


def test_central_sees_exact_figures():
    df = pl.DataFrame({"n": [3, 12]})
    assert protect(df, CENTRAL, ["n"]).equals(df)


def test_small_counts_suppressed_and_others_rounded_half_up():
    df = pl.DataFrame({"n": [0, 1, 7, 8, 12, 13, 2_531_127], "rate": [0.0, 0.1, 0.7, 0.8, 1.2, 1.3, 9.9]})
    out = protect(df, GP, ["n"], derived={"n": ["rate"]})
    assert out["n"].to_list() == [0, None, None, 10, 10, 15, 2_531_125]
    assert out["rate"].to_list() == [0.0, None, None, 0.8, 1.2, 1.3, 9.9]


def test_rule_is_configurable():
    out = protect(pl.DataFrame({"n": [2, 3]}), GP, ["n"], rule=DisclosureRule(suppress_up_to=2, round_to=1))
    assert out["n"].to_list() == [None, 3]


def test_a_lone_suppressed_cell_takes_a_neighbour_with_it():
    df = pl.DataFrame({"area": ["a"] * 3 + ["b"] * 3, "n": [5, 40, 100, 50, 60, 70]})
    out = protect(df, GP, ["n"], group_by=["area"])
    assert out["n"].to_list() == [None, None, 100, 50, 60, 70]


def test_scope_rules():
    with pytest.raises(ValueError, match="provider code"):
        Scope("provider")
    p = Scope("provider", providers=frozenset({"RR8"}))
    assert p.may_see_provider("rr8") and not p.may_see_provider("RTH")
    with pytest.raises(ScopeError, match="RTH"):
        p.check_provider("RTH")
    assert CENTRAL.visible_providers() is None and p.visible_providers() == ["RR8"]
