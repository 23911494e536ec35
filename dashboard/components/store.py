"""Access to the published snapshot from a page: the one place that turns "no store" into a
clear message instead of a stack trace."""

from __future__ import annotations

import streamlit as st

from dashboard.components import formatting as fmt
from queries.connection import NoStoreError, Snapshot, get_snapshot


def snapshot_or_none() -> Snapshot | None:
    """The current snapshot, or None when nothing has been published."""
    try:
        return get_snapshot()
    except NoStoreError:
        return None


def snapshot_or_stop() -> Snapshot:
    """The current snapshot; when nothing is published, show what to do and stop the page."""
    try:
        return get_snapshot()
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
            st.caption(
                f"Data snapshot `{snap.version}`  \n"
                f"published {fmt.timestamp(snap.published_at)}"
            )
