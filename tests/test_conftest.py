"""The suite's own fixtures (tests/conftest.py): shared stores are built with the throwaway key and
audit log, copies are independent, and synthetic-data tests are marked slow."""

from __future__ import annotations

from pathlib import Path

import pytest

import shared_builds


@pytest.fixture(scope="session")
def environment_of_a_session_fixture() -> tuple[str | None, str | None]:
    """What a session-scoped store builder sees: it runs before any function-scoped fixture."""
    import did_settings

    settings = did_settings.current()
    return settings.key_file and str(settings.key_file), settings.audit_log and str(settings.audit_log)


def test_a_session_fixture_uses_the_throwaway_key_and_audit_log(environment_of_a_session_fixture, tmp_path_factory):
    key, audit = environment_of_a_session_fixture
    base = tmp_path_factory.getbasetemp()
    assert key is not None and Path(key) == shared_builds.key_file(shared_builds.shared_root(base))
    assert audit is not None and Path(audit).is_relative_to(base)


def test_a_copy_of_the_tiny_store_is_the_tests_own(tiny_store, tiny_store_template):
    (tiny_store / "CURRENT").write_text("changed")
    assert (tiny_store_template / "CURRENT").read_text() != "changed"


class _Item:
    """Just enough of a collected test for the marking hook."""

    def __init__(self, *fixturenames: str) -> None:
        self.fixturenames = list(fixturenames)
        self.marks: list[str] = []

    def add_marker(self, mark) -> None:
        self.marks.append(mark.name)


def test_a_test_using_a_synthetic_run_is_marked_slow(request):
    hook = request.config.pluginmanager.get_plugin(str(Path(__file__).with_name("conftest.py")))
    uses, other = _Item("tmp_path", "synthetic_store"), _Item("tmp_path", "tiny_store")
    hook.pytest_collection_modifyitems([uses, other])
    assert (uses.marks, other.marks) == (["slow"], [])


def test_files_that_wait_for_a_shared_build_run_after_the_others(request):
    hook = request.config.pluginmanager.get_plugin(str(Path(__file__).with_name("conftest.py")))
    items = [_Item("synthetic_store"), _Item("tmp_path"), _Item("tmp_path"), _Item("synth_out")]
    for item, nodeid in zip(items, ["a.py::t1", "a.py::t2", "b.py::t", "c.py::t"], strict=True):
        item.nodeid = nodeid
    hook.pytest_collection_modifyitems(items)
    assert [i.nodeid for i in items] == ["b.py::t", "a.py::t1", "a.py::t2", "c.py::t"]


def test_files_are_handed_out_longest_first_within_each_group(request, tmp_path, monkeypatch):
    """By tests/durations.json; a file it does not list counts half a second a test."""
    hook = request.config.pluginmanager.get_plugin(str(Path(__file__).with_name("conftest.py")))
    durations = tmp_path / "durations.json"
    durations.write_text('{"short.py": 2.0, "long.py": 90.0, "built.py": 1.0, "slow_built.py": 40.0}')
    monkeypatch.setattr(hook, "DURATIONS", durations)
    names = ["short.py", "built.py", "unlisted.py", "slow_built.py", "long.py", "unlisted.py"]
    items = [_Item("synthetic_store" if "built" in n else "tmp_path") for n in names]
    for i, (item, name) in enumerate(zip(items, names, strict=True)):
        item.nodeid = f"{name}::t{i}"
    hook.pytest_collection_modifyitems(items)
    order = [i.nodeid.split("::")[0] for i in items]
    assert order == ["long.py", "short.py", "unlisted.py", "unlisted.py", "slow_built.py", "built.py"]


def test_a_shared_build_is_made_once_and_its_failure_is_reported(tmp_path, monkeypatch):
    made: list[Path] = []

    def build(target: Path) -> int:
        made.append(target)
        return 42

    def broken(target: Path) -> int:
        raise ValueError("no such month")

    monkeypatch.setattr(shared_builds, "BUILDS", {"answer": build, "broken": broken})
    assert shared_builds.wait(tmp_path, "answer") == 42
    assert shared_builds.wait(tmp_path, "answer") == 42
    assert made == [tmp_path / "answer"]
    with pytest.raises(ValueError, match="no such month"):
        shared_builds.wait(tmp_path, "broken")
    with pytest.raises(RuntimeError, match="building the shared broken failed"):
        shared_builds.wait(tmp_path, "broken")
