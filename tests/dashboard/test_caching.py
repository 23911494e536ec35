"""dashboard.caching: one cache for every page's queries, keyed on the snapshot's version and the
other arguments — a newer snapshot recomputes, and one user's figures never serve another."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard.caching import cached
from did_model.scope import CENTRAL, Scope
from queries.connection import Snapshot

calls: list[tuple] = []


@dataclass(frozen=True)
class Filter:
    month: str


def counted_query(snap: Snapshot, scope: Scope, f: Filter) -> list[str]:
    calls.append((snap.version, scope, f))
    return [snap.version, scope.role, f.month]


def FakeSnapshot(version: str) -> Snapshot:  # noqa: N802 - stands in for the class
    """A Snapshot with no file behind it: only its version matters here (the cache hashes a
    Snapshot by its version alone, so it must be that very class)."""
    snap = Snapshot.__new__(Snapshot)
    snap.version = version
    return snap


def test_a_result_is_kept_per_snapshot_version_scope_and_filter():
    st.cache_data.clear()
    calls.clear()
    old, new = FakeSnapshot("20261201T000000Z"), FakeSnapshot("20261202T000000Z")
    provider = Scope("provider", providers=frozenset({"RAJ"}))
    assert cached(counted_query)(old, CENTRAL, Filter("2026-10")) == [old.version, "central", "2026-10"]
    assert cached(counted_query)(FakeSnapshot(old.version), CENTRAL, Filter("2026-10"))  # same version: kept
    assert len(calls) == 1
    cached(counted_query)(new, CENTRAL, Filter("2026-10"))  # a newer snapshot: computed again
    cached(counted_query)(new, provider, Filter("2026-10"))  # another user's scope: never shared
    cached(counted_query)(new, provider, Filter("2026-09"))  # another filter
    assert [c[0] for c in calls] == [old.version, new.version, new.version, new.version]
    assert calls[2][1] == provider and calls[3][2] == Filter("2026-09")
    assert cached(counted_query) is cached(counted_query)  # one wrapper per function, made once
