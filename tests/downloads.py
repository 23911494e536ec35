"""What a page offers for download, read back in an AppTest. A download button's file id is a hash
of its bytes, its type and its file name, so the same id means the same CSV."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from queries.exports import to_csv_bytes


def offered(at: AppTest, file_name: str, frame: pl.DataFrame) -> bool:
    """Whether the page offers `frame` as the CSV `file_name` (the bytes `did export` writes)."""
    wanted = _calculate_file_id(to_csv_bytes(frame), "text/csv", file_name)
    return any(Path(button.proto.url).stem == wanted for button in at.get("download_button"))


def open_lazy_tables(at: AppTest) -> AppTest:
    """Open every expander whose content runs only while open (chart_table.lazy_expander), as a
    user's clicks would, and run the page again: a scan of a page's outputs must see them too."""
    from dashboard.components.chart_table import LAZY_PREFIX

    keys = [key for key in at.session_state if str(key).startswith(LAZY_PREFIX)]
    for key in keys:
        at.session_state[key] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
