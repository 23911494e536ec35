"""The Submit and Local codes pages, in-process with AppTest against a real (empty) store."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import didfiles
import working_store
from did_model.scope import CENTRAL, Scope
from ingest import store

PAGES = Path(__file__).resolve().parents[2] / "dashboard" / "views"


@pytest.fixture(scope="module")
def published_template(empty_store_template, tmp_path_factory) -> Path:
    """The empty store published once; tests take a copy."""
    store_dir = tmp_path_factory.mktemp("collection") / "store"
    shutil.copytree(empty_store_template, store_dir)
    with store.writer(store_dir) as con:
        store.publish(con, store_dir)
    return store_dir


@pytest.fixture
def published(published_template, tmp_path, monkeypatch):
    store_dir = tmp_path / "store"
    shutil.copytree(published_template, store_dir)
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    return store_dir


def _page(name: str, **state) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    state.setdefault("scope", CENTRAL)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def _csv_bytes(tmp_path, records) -> bytes:
    return didfiles.write(tmp_path / "f.csv", records).read_bytes()


def _count(store_dir, sql):
    return working_store.rows(store_dir, sql)[0][0]


def test_check_judges_without_loading_then_submit_loads(published, tmp_path):
    records = didfiles.rows(4)
    records[2]["gender"] = "7"
    at = _page("submit.py", upload=("DID_RR8_202602.csv", _csv_bytes(tmp_path, records)))
    at.selectbox(key="provider").set_value("RR8")
    at.text_input(key="period").set_value("2026-02")
    at.date_input(key="submitted_on").set_value(date(2026, 2, 10)).run()
    at.button[0].click().run()  # Check
    assert not at.exception
    assert "would be accepted" in at.success[0].value
    shown = {m.label: m.value for m in at.metric}
    assert shown["Records"] == "4" and shown["Accepted"] == "3" and shown["Rejected"] == "1"
    assert at.dataframe[0].value["code"].to_list() == ["DIDS014"]
    assert _count(published, "SELECT count(*) FROM submission") == 0  # nothing loaded

    at.button[1].click().run()  # Submit
    assert "was accepted" in at.success[0].value
    assert _count(published, "SELECT count(*) FROM record") == 3
    assert at.download_button, "the full issue report is offered"


def test_a_file_rejected_whole_says_why(published, tmp_path):
    at = _page("submit.py", upload=("DID_RR8_202602.csv", b"a,b,c\n"))
    at.selectbox(key="provider").set_value("RR8")
    at.text_input(key="period").set_value("2026-02").run()
    at.button[0].click().run()
    assert "rejected as a whole" in at.error[0].value
    assert "18 comma-separated columns" in at.error[0].value


def test_a_provider_user_sees_only_its_own_providers(published, tmp_path):
    at = _page("submit.py", scope=Scope("provider", providers=frozenset({"RR8"}), user="rr8-user"))
    assert [o.split(" — ")[0] for o in at.selectbox(key="provider").options] == ["RR8"]


def test_only_the_central_team_sees_the_submission_date_control(published, tmp_path):
    """A provider's submission date is the day its file arrives; central re-checks old files."""
    user = Scope("provider", providers=frozenset({"RR8"}), user="rr8-user")
    at = _page("submit.py", scope=user, upload=("DID_RR8_202602.csv", _csv_bytes(tmp_path, didfiles.rows(1))))
    assert [d.key for d in at.date_input] == []
    at.text_input(key="period").set_value("2026-02").run()
    at.button[0].click().run()  # Check, as of today
    assert not at.exception and "would be accepted" in at.success[0].value
    central = _page("submit.py")
    assert central.date_input(key="submitted_on").value == date.today()


def test_local_codes_page_notifies_and_lists(published):
    at = _page("local_codes.py")
    at.selectbox(key="provider").set_value("RR8").run()
    at.text_input(key="local_code").set_value("RR8CXR")
    at.selectbox(key="maps_to").set_value("XCHES")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert _count(published, "SELECT count(*) FROM local_code WHERE local_code = 'RR8CXR'") == 1
    at.run()
    assert "RR8CXR" in at.dataframe[0].value["local_code"].to_list()


def test_submit_shows_each_step_while_it_loads_and_publishes(published, tmp_path):
    at = _page("submit.py", upload=("DID_RR8_202602.csv", _csv_bytes(tmp_path, didfiles.rows(2))))
    at.selectbox(key="provider").set_value("RR8")
    at.text_input(key="period").set_value("2026-02")
    at.date_input(key="submitted_on").set_value(date(2026, 2, 10)).run()
    at.button[1].click().run()  # Submit
    assert not at.exception and "was accepted" in at.success[0].value
    assert len(at.success) == 1 and "Publishing it" not in at.success[0].value  # the interim verdict replaced
    status = at.status[0]
    assert status.label == "Published: the dashboard shows it now"
    steps = [m.value for m in status.markdown]
    assert steps[:2] == ["Checking every record against the DIDS rules", "Loading the accepted records"]
    assert "Finding outsourced examinations submitted twice" in steps
    assert any(s.startswith("Writing 1 provider file") for s in steps)
    assert steps[-1] == "Switching readers to the new snapshot"
