"""No patient identifier outside quarantine: the whole store, every export and report, every page.

The synthetic extracts that built the store hold real-format NHS numbers, birth dates and full
postcodes. This test collects them, then looks for them — and for anything shaped like them —
everywhere a user or an analyst could read.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

import working_store
from did_model import spec
from did_model.scope import CENTRAL
from downloads import every_view
from ingest import store
from outputs import every_output
from queries.connection import Snapshot

FULL_POSTCODE = re.compile(r"\b[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}\b")
TEN_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{10}(?![0-9A-Za-z])")
PAGES = Path(__file__).resolve().parents[1] / "dashboard" / "views"


def _mod11_ok(n: str) -> bool:
    total = sum(int(d) * (10 - i) for i, d in enumerate(n[:9]))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(n[9])


@pytest.fixture(scope="module")
def identifiers(synthetic_store):
    _, extracts = synthetic_store
    frames = []
    from ingest.synth.v2items import read_as_v1
    from ingest.synth.writer import version_of

    for path in sorted(extracts.rglob("DID_*.csv"))[:400]:
        if version_of(path) == "2.0":  # DIDS v2.0 (April 2026 activity): its header names the items
            frames.append(read_as_v1(path))
            continue
        text = path.read_text(encoding="utf-8")
        has_header = text.startswith(spec.HEADER[0])
        try:
            frames.append(
                pl.read_csv(
                    path, has_header=has_header, new_columns=list(spec.COLUMNS), infer_schema=False, skip_rows=0
                )
            )
        except pl.exceptions.ComputeError:  # the planted 17-column file
            continue
    raw = pl.concat(frames, how="vertical_relaxed")
    return {
        "nhs": set(raw["nhs_number"].drop_nulls().to_list()),
        "dob": set(raw["birth_date"].drop_nulls().to_list()),
        "postcode": set(raw["postcode"].drop_nulls().to_list()),
    }


def _leaks(values, ids) -> list[str]:
    found = []
    for v in values:
        if v is None:
            continue
        s = str(v)
        known = s in ids["nhs"] or s in ids["postcode"]
        nhs_number = any(_mod11_ok(m) for m in TEN_DIGITS.findall(s))
        postcode = FULL_POSTCODE.search(s)
        if known or nhs_number or (postcode and " " in postcode.group(0)):
            found.append(s)
    return found


def _frame_leaks(frame: pl.DataFrame, ids) -> list[str]:
    out = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            out += _leaks(frame[name].unique().to_list(), ids)
        elif dtype == pl.Date:
            old = frame.filter(pl.col(name) < pl.date(2024, 1, 1))[name].cast(pl.String).to_list()
            out += [d for d in old if d in ids["dob"]]
    return out


def test_the_store_holds_no_identifier_outside_quarantine(synthetic_store, identifiers):
    store_dir, _ = synthetic_store
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        tables = snap.query("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'snap'")[
            "table_name"
        ].to_list()
        assert "record" in tables and len(tables) > 15
        assert "quarantine" not in tables  # raw rejected rows never leave the working store
        for table in tables:
            if table.startswith("ref_"):
                continue  # public reference data (practice postcodes are published addresses)
            frame = snap.query(f"SELECT * FROM {table}")  # noqa: S608 - names from the catalogue
            assert _frame_leaks(frame, identifiers) == [], table
    finally:
        snap.close()
    # and the working store's quarantine does hold them: the scan can find what it looks for
    raw = [r[0] for r in working_store.rows(store_dir, "SELECT raw FROM quarantine")]
    assert _leaks(raw, identifiers)


def test_no_export_or_report_holds_an_identifier(synthetic_store, identifiers, tmp_path):
    store_dir, _ = synthetic_store
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        for name, frame in every_output(snap, "2026-03"):
            assert _frame_leaks(frame, identifiers) == [], name
    finally:
        snap.close()


@pytest.mark.parametrize("page", sorted(p.name for p in PAGES.glob("*.py") if p.name != "sign_in.py"))
def test_no_page_shows_an_identifier(page, synthetic_store, identifiers, monkeypatch):
    store_dir, _ = synthetic_store
    monkeypatch.setenv("DID_STORE_DIR", str(store_dir))
    at = AppTest.from_file(str(PAGES.parent / "app.py"), default_timeout=120)
    at.session_state["scope"] = CENTRAL
    at.run()
    at.switch_page(f"{PAGES.name}/{page}").run()  # through the router, as a user gets there
    assert not at.exception, [e.value for e in at.exception]
    views = 0
    for view in every_view(at):  # every section and tab, with the tables run only once opened
        views += 1
        texts = [
            e.value
            for kind in (
                "markdown",
                "caption",
                "title",
                "header",
                "subheader",
                "text",
                "metric",
                "info",
                "warning",
                "error",
                "success",
            )
            for e in getattr(view, kind)
            if isinstance(getattr(e, "value", None), str)
        ]
        assert _leaks(texts, identifiers) == []
        for df in view.dataframe:
            value = df.value
            frame = value if isinstance(value, pl.DataFrame) else pl.from_pandas(value)
            assert _frame_leaks(frame, identifiers) == [], page
    assert views > (1 if page in ("waiting_times.py", "equipment.py") else 0)  # its sections were opened
