"""The dashboard's one cache over queries/ (architecture §8): `cached(query)(snap, …)`.

`cached` wraps a query function (first argument the Snapshot) in `st.cache_data`, keyed on the
snapshot's version and every other argument: when a newer snapshot is published the key
changes and the pages recompute, and old entries age out through `max_entries` and `ttl`. The
scope and the filters (frozen dataclasses) are arguments, so one user's figures are never
served to another. Only results are cached (pickled per call, so keep them aggregates), and
every cache is bounded.

The wrapper made for a function is made once and kept (`functools.cache`): building an
`st.cache_data` object reads the function's source, too slow to do on every call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import ParamSpec, TypeVar

import polars as pl
import streamlit as st

from did_model.scope import Scope
from queries import gp_practice, reports
from queries.connection import Snapshot

P = ParamSpec("P")
R = TypeVar("R")

MAX_ENTRIES = 64  # per function: a page's filter combinations for a few users
TTL = "1h"


def _snapshot_key(snap: Snapshot) -> str:
    return snap.version


@functools.cache
def _wrapped(query: Callable, max_entries: int) -> Callable:
    return st.cache_data(max_entries=max_entries, ttl=TTL, show_spinner=False, hash_funcs={Snapshot: _snapshot_key})(
        query
    )


def cached(query: Callable[P, R], *, max_entries: int = MAX_ENTRIES) -> Callable[P, R]:
    """`query` cached per snapshot version and arguments (see the module's docstring)."""
    return _wrapped(query, max_entries)


@st.cache_data(max_entries=16, ttl=TTL, show_spinner=False)
def workbook(_output: reports.ReportOutput, key: tuple, stem: str) -> bytes:
    """The .xlsx workbook `did report` writes for `_output` (Notes sheet first). The output is
    not hashed (a few hundred KB of tables): `key` names it — the snapshot version and the
    scope it was built for (the stem names the rest)."""
    return reports.workbook_bytes(_output, stem)


def practice_profile(snap: Snapshot, scope: Scope, practice: str, start: date, end: date, method: str) -> pl.DataFrame:
    """A practice's profile of every measure, cached; what it is compared with — England's
    tables over the period (~4 MB) — is cached apart, 8 periods at most, shared by every
    practice and by every user on the same side of disclosure control (exact for the central
    team, perturbed for everyone else), so only the first practice page opened pays for it."""
    return cached(_practice_profile)(
        snap, scope, practice, start, end, method, _england=england(snap, scope, start, end)
    )


def england(snap: Snapshot, scope: Scope, start: date, end: date) -> gp_practice.England:
    """England's tables over the period that a practice's profile is compared with, cached (see
    practice_profile); the Practice benchmark page works them out ahead, while its user picks."""
    return cached(gp_practice.england_for, max_entries=8)(snap, start, end, protected=scope.needs_disclosure_control)


def _practice_profile(
    snap: Snapshot, scope: Scope, practice: str, start: date, end: date, method: str, _england: gp_practice.England
) -> pl.DataFrame:
    # `_england` is not hashed: it follows from the snapshot, the period and the scope's side.
    return gp_practice.practice_profile(snap, scope, practice, start, end, method, england=_england)
