"""A choice made in a drop-down stays made.

Streamlit names a widget without a `key` by its parameters, its default among them. A page that
starts a drop-down at the value in the URL, and then writes the choice to the URL, gives the
drop-down a new default on the next run: Streamlit takes it for a new widget and drops what the
user picked. Every second choice was lost that way (choose Bradford, then Harrogate: Bradford
stays) on eleven pages until each such widget got a key.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest

from did_model.scope import CENTRAL

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "dashboard" / "views"
WIDGETS = {
    "selectbox",
    "radio",
    "select_slider",
    "segmented_control",
    "pills",
    "multiselect",
    "slider",
    "text_input",
    "text_area",
    "number_input",
    "date_input",
    "time_input",
    "toggle",
    "checkbox",
    "color_picker",
    "data_editor",
}


def _computed_defaults_without_key(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WIDGETS:
            given = {k.arg: k.value for k in node.keywords}
            computed = [
                a for a in ("index", "value", "default") if a in given and not isinstance(given[a], ast.Constant)
            ]
            if computed and "key" not in given:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.func.attr}({', '.join(computed)}=…)")
    return found


def test_every_widget_with_a_computed_default_has_a_key():
    offenders = [f for path in sorted((ROOT / "dashboard").rglob("*.py")) for f in _computed_defaults_without_key(path)]
    assert offenders == [], "give these widgets a key, or the user's choice is dropped when the default moves"


def test_the_check_finds_the_old_pattern(tmp_path):
    old = tmp_path / "page.py"
    old.write_text(
        'choice = st.selectbox("Provider", codes, index=codes.index(wanted))\n'
        'kept = st.selectbox("Provider", codes, index=codes.index(wanted), key="provider")\n'
        'fixed = st.selectbox("Months", [3, 6, 12], index=2)\n',
        encoding="utf-8",
    )
    assert _computed_defaults_without_key(old, tmp_path) == ["page.py:1 selectbox(index=…)"]


def _pages() -> list[str]:
    return sorted(p.name for p in VIEWS.glob("*.py") if p.name not in {"sign_in.py", "submit.py"})


def _selectboxes(at: AppTest) -> list:
    """The main area's drop-downs a choice reruns the page from (not one in a form)."""
    return [s for s in at.main.selectbox if len(s.options) >= 3 and not s.disabled and not s.form_id]


def _shown(box) -> str | None:
    """The option the drop-down shows (an empty one shows none, or its label for None, e.g. '–')."""
    if box.value is not None:
        return box.options[box.index]
    try:
        label = str(box.format_func(None))
    except Exception:  # noqa: BLE001 - a format_func that has no label for None: nothing shown
        return None
    return label if label in box.options else None


def _choose(box, label: str) -> None:
    """Send the choice as the browser does: the option's label. (AppTest's `select_index` passes
    the label through the page's format_func again, which names another option or none.)"""

    class Chosen(type(box)):
        @property
        def _widget_state(self) -> WidgetState:
            return WidgetState(id=self.id, string_value=label)

    box.__class__ = Chosen


@pytest.mark.parametrize("page", _pages())
def test_two_choices_in_a_row_both_take(page, synthetic_store, monkeypatch):
    """Choose one option, then another, in each drop-down of the page: the second sticks (the
    drop-down shows it and the URL says it), as the first did."""
    monkeypatch.setenv("DID_STORE_DIR", str(synthetic_store[0]))
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
    at.session_state["scope"] = CENTRAL
    at.run()
    at.switch_page(f"views/{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [s.label for s in _selectboxes(at)][:3]  # the page's first three: the filters a user moves
    for label in labels:
        for step in (1, 2):
            boxes = [s for s in _selectboxes(at) if s.label == label]
            if not boxes:
                break  # the page now stops above it (e.g. a choice with no data)
            box = boxes[0]
            options = [o for o in box.options if o != _shown(box)]
            wanted = options[step - 1] if len(options) >= step else options[0]
            _choose(box, wanted)
            at.run()
            assert not at.exception, [e.value for e in at.exception]
            after = [s for s in at.main.selectbox if s.label == label]
            assert after and _shown(after[0]) == wanted, (page, label, step, wanted)
