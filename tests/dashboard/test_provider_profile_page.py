"""The Provider profile page (AppTest) for each role: the pack the command writes, for the user's
own provider only; a commissioner its own providers', as their staff see them."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from did_model.scope import CENTRAL, Scope
from queries import profile
from queries.connection import get_snapshot
from queries.reports.provider_profile import page_pack

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")


def open_page(store: Path, scope: Scope, monkeypatch, provider: str | None = None) -> AppTest:
    monkeypatch.setenv("DID_STORE_DIR", str(store))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["scope"] = scope
    at.run()
    if provider:
        at.query_params["provider"] = provider
    at.switch_page("views/provider_profile.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _html(at: AppTest) -> str:
    """The pack's block (the app adds HTML of its own elsewhere)."""
    return "".join(b for e in at.get("html") if "profile-pack" in (b := str(e.proto.body)))


@pytest.mark.parametrize("role", ["central", "provider"])
def test_the_page_shows_the_pack(synthetic_store, role, monkeypatch):
    store = synthetic_store[0]
    snap = get_snapshot(store)
    codes = snap.query("SELECT DISTINCT provider_code FROM rollup_activity ORDER BY 1")["provider_code"].to_list()
    mine = codes[1]
    scope = CENTRAL if role == "central" else Scope("provider", providers=frozenset({mine}), user="test")
    at = open_page(store, scope, monkeypatch, provider=mine)
    options = at.selectbox[0].options
    assert (
        (len(options) == len(codes))
        if role == "central"
        else (options == [f"{mine} — {o.split(' — ')[1]}" for o in options] and len(options) == 1)
    )
    last, months = at.selectbox[1].value, at.selectbox[2].value
    _, block = page_pack(snap, scope, mine, last, months, pdf=False)
    shown = _html(at)
    assert shown and block.split("<style>")[1].split("</style>")[1][:2000] in shown
    assert "What stands out" in shown or "Nothing stands out" in shown
    # charts as images of their SVG (the page drops inline SVG), each with its text alternative
    assert "<svg" not in block and block.count('<img src="data:image/svg+xml;base64,') >= 3
    assert 'alt="Examinations by month' in block


def test_a_provider_user_deep_linking_another_provider_sees_only_its_own(synthetic_store, monkeypatch):
    store = synthetic_store[0]
    codes = get_snapshot(store).query("SELECT DISTINCT provider_code FROM rollup_activity ORDER BY 1")["provider_code"]
    mine, other = codes[0], codes[1]
    at = open_page(store, Scope("provider", providers=frozenset({mine}), user="t"), monkeypatch, provider=other)
    assert at.selectbox[0].value == mine
    assert f"({other})" not in _html(at).split("The peer group")[0]


def test_a_commissioner_sees_its_providers_packs_as_their_staff_do(synthetic_store, monkeypatch):
    store = synthetic_store[0]
    snap = get_snapshot(store)
    icb = snap.query("SELECT icb_code FROM rollup_variation_flows WHERE icb_code IS NOT NULL LIMIT 1").item()
    scope = Scope("commissioner", icbs=frozenset({icb}), user="icb")
    at = open_page(store, scope, monkeypatch)
    mine = [o.split(" — ")[0] for o in at.selectbox[0].options]
    held = profile.activity_months(snap)
    assert mine == profile.commissioned_providers(snap, scope, held[-12] if len(held) >= 12 else held[0], held[-1])
    assert mine, "the synthetic store's ICB has providers of its own"
    last, months = at.selectbox[1].value, at.selectbox[2].value
    staff = Scope("provider", providers=frozenset({mine[0]}), user="staff")
    _, block = page_pack(snap, staff, mine[0], last, months, pdf=False)
    assert block.split("<style>")[1].split("</style>")[1][:2000] in _html(at)
