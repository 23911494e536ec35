"""Access to the published snapshot from a page: the one place that turns "no store" into a
clear message instead of a stack trace."""

from __future__ import annotations

import streamlit as st

from dashboard.components import formatting as fmt
from queries.connection import NoStoreError, Snapshot, get_snapshot
from queries.sources import synthetic_world


def snapshot_or_none() -> Snapshot | None:
    """The current snapshot, or None when nothing has been published."""
    try:
        return get_snapshot(memo=True)
    except NoStoreError:
        return None


def snapshot_or_stop() -> Snapshot:
    """The current snapshot; when nothing is published, show what to do and stop the page."""
    try:
        return get_snapshot(memo=True)
    except NoStoreError as err:
        st.error(str(err), icon=":material/database_off:")
        st.stop()
        raise  # st.stop() raises; this line only tells type checkers the function ends here


def sidebar_snapshot_info() -> None:
    """Which snapshot the pages are reading, shown at the foot of the sidebar."""
    snap = snapshot_or_none()
    with st.sidebar:
        if snap is None:
            st.caption("No store published yet.")
        else:
            st.caption(f"Data snapshot `{snap.version}`  \npublished {fmt.timestamp(snap.published_at)}")


def synthetic_banner_text(world: str) -> str:
    return f"**Synthetic data**: {world} — not real patients." if world else "**Synthetic data** — not real patients."


def synthetic_banner() -> None:
    """One line above every page of a synthetic store saying what it is: its rates are a made-up
    world's (a slice of England, or England at a scale), never to be read as real figures. The
    words carry the message; the icon and colour only repeat it."""
    snap = snapshot_or_none()
    world = None if snap is None else synthetic_world(snap)
    if world is not None:
        st.warning(synthetic_banner_text(world), icon=":material/science:")
