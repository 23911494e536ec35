"""What a page offers for download, read back in an AppTest (a download button's file id is a hash
of its bytes, its type and its file name, so the same id means the same CSV), and the clicks that
open what a page runs only on request: lazy tables, tabs, sections."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
from streamlit.runtime.memory_media_file_storage import _calculate_file_id
from streamlit.testing.v1 import AppTest

from dashboard.components.sections import SECTION_KEY
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


def lazy_tab_groups(at: AppTest) -> dict[str, list[str]]:
    """The keyed tab groups on the page as it is now (key -> tab labels): the keyed `st.tabs` whose
    hidden tabs run nothing (a page's sections, its tables' breakdowns)."""
    from streamlit.testing.v1.element_tree import Block

    groups: dict[str, list[str]] = {}

    def walk(node) -> None:
        if isinstance(node, Block):
            if node.type == "tab_container":
                tab_id = node.proto.tab_container.id
                if tab_id:  # "$$ID-<hash>-<key>" when keyed
                    groups[tab_id.split("-", 2)[2]] = [child.label for child in node.children.values()]
            for child in node.children.values():
                walk(child)

    walk(at.main)
    return groups


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Choose a tab of a keyed `st.tabs` whose hidden tabs run nothing, as a click would."""
    assert label in lazy_tab_groups(at).get(key, []), (key, label, lazy_tab_groups(at))
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_section(at: AppTest, label: str) -> AppTest:
    """Open one of the page's sections (its top-level tabs, keyed "section"), as a click would."""
    return open_tab(at, SECTION_KEY, label)


def every_view(at: AppTest) -> Iterator[AppTest]:
    """The page as each view a user can open shows it: every section, in it every tab of each of its
    tab groups, each time with every lazy table opened. A scan of a page's outputs must see them
    all; the same AppTest is yielded after each click."""
    yield open_lazy_tables(at)
    sections = lazy_tab_groups(at).get(SECTION_KEY, [None])
    for section in sections:
        if section is not None:
            yield open_lazy_tables(open_section(at, section))
        for key, labels in lazy_tab_groups(at).items():
            if key == SECTION_KEY:
                continue
            for label in labels:
                yield open_lazy_tables(open_tab(at, key, label))
