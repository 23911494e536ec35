"""A hostile submission leaves no patient identifier anywhere a user can read.

The files planted here put NHS numbers, dates of birth and full postcodes where other items
belong: columns swapped under a correct header, a file without a header whose columns are
shifted by one position either way, the same records as XML, and a file rejected as a whole.
They are submitted through `did submit` and published; then every table of the published
snapshot (every text column, issue messages included), every `did export` and `did report`
output and what `did submit` printed are scanned for anything shaped like a full postcode or
an NHS number, and for the planted dates of birth. Only the working store's quarantine may
hold them (and does: the scan can find what it looks for).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

import did_cli
import did_settings
import didfiles
import working_store
from did_model import spec
from ingest import spec_pack, store, validation
from ingest.xml_reader import write_xml
from outputs import every_output
from queries import exports, reports
from queries.connection import Snapshot

FULL_POSTCODE = re.compile(r"(?<![0-9A-Za-z])[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}(?![0-9A-Za-z])")
TEN_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{10}(?![0-9A-Za-z])")
# Planted: NHS numbers that pass Modulus 11, dates of birth the date rules reject wherever they
# land (before 1970), real-format postcodes.
NHS = ("9434765919", "4010232137", "3726705791", "6226919132", "3509342356", "5381093810")
DOB = ("1950-03-15", "1962-11-02", "1938-07-21", "1944-01-30", "1969-12-24", "1957-05-09")
POSTCODES = ("LS1 4AP", "M1 1AE", "SW1A 1AA", "B33 8TH", "CR2 6XH", "DN55 1PT")
PERIOD_OF = {"swapped": "2026-02", "shifted": "2026-03", "xml": "2026-04", "ragged": "2026-05", "bad-xml": "2026-06"}


def _person(i: int) -> dict:
    return {"nhs_number": NHS[i % len(NHS)], "birth_date": DOB[i % len(DOB)], "postcode": POSTCODES[i % len(POSTCODES)]}


def _swapped_records() -> list[dict]:
    """Valid records but for identifiers that landed in another item's column (header intact)."""
    moves = [  # (item that receives the postcode / NHS number / birth date, which identifier)
        ("practice_code", "postcode"),
        ("referring_org_code", "postcode"),
        ("nicip_code", "postcode"),
        ("site_code", "postcode"),
        ("gender", "postcode"),
        ("ethnic_category", "postcode"),
        ("patient_source", "postcode"),
        ("nhs_number_status", "postcode"),
        ("snomed_code", "postcode"),
        ("referrer_code", "postcode"),
        ("snomed_code", "nhs_number"),
        ("nhs_number_status", "nhs_number"),
        ("practice_code", "nhs_number"),
        ("referrer_code", "nhs_number"),
        ("referring_org_code", "nhs_number"),
        ("site_code", "nhs_number"),
        ("nicip_code", "nhs_number"),
        ("gender", "nhs_number"),
        ("ethnic_category", "nhs_number"),
        ("request_date", "birth_date"),
        ("request_received_date", "birth_date"),
        ("test_date", "birth_date"),
        ("report_date", "birth_date"),
        ("nhs_number_status", "birth_date"),
        ("practice_code", "birth_date"),
        ("referrer_code", "birth_date"),
        ("snomed_code", "birth_date"),
        ("request_date", "postcode"),
        ("request_received_date", "nhs_number"),
        ("test_date", "postcode"),
        ("report_date", "nhs_number"),
    ]
    out = []
    for i, (item, ident) in enumerate(moves):
        person = _person(i)
        # the identifier's own column gets what the receiving item held (a swap)
        out.append(
            didfiles.row(**(person | {ident: didfiles.VALID[item], item: person[ident]}), accession_number=f"SW{i:03d}")
        )
    # the NHS number in the accession number's place, twice (a duplicate pair), on rejected rows
    for _ in range(2):
        out.append(didfiles.row(**(_person(0) | {"practice_code": POSTCODES[0], "accession_number": NHS[0]})))
    # an NHS number sent as the referrer code, no NHS number: a warning only, so the record loads
    out.append(didfiles.row(nhs_number="", referrer_code=NHS[1], accession_number="SW900"))
    return out


def _columns_read(message_sql: str) -> set[str]:
    """The columns a message's SQL reads: its identifiers outside string literals, less function names."""
    code = re.sub(r"'(?:[^']|'')*'", "''", message_sql)
    return {m.group(1) for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\()", code)}


def test_no_rule_message_reads_a_value_from_the_file():
    for sql in validation.PLACEHOLDERS.values():
        assert _columns_read(sql) <= validation.MESSAGE_COLUMNS | {"VARCHAR"}, sql
    for version in spec_pack.VERSIONS:  # and a pack's message can only name those placeholders
        for rule in spec_pack.default_pack(version).rules:
            assert set(re.findall(r"\{([a-z_]+)\}", rule.message)) <= set(validation.PLACEHOLDERS), rule.code


def _values(record: dict) -> list[str]:
    return [record[c] for c in spec.COLUMNS]


def _shifted_rows() -> list[list[str]]:
    """Whole records shifted one column left or right (no header, read by position)."""
    rows = []
    for i in range(len(NHS)):
        values = _values(didfiles.row(**_person(i), accession_number=f"SH{i:03d}"))
        rows.append(values[1:] + values[:1] if i % 2 else values[-1:] + values[:-1])
    return rows


@pytest.fixture(scope="module")
def hostile_store(empty_store_template, tmp_path_factory):
    """A store that has taken the planted files through `did submit`; returns (store_dir, stdout)."""
    base = tmp_path_factory.mktemp("hostile")
    store_dir = base / "store"
    shutil.copytree(empty_store_template, store_dir)
    con = duckdb.connect(str(store.store_path(store_dir)))
    con.execute("INSERT INTO ref_site (site_code, provider_code, site_name) VALUES ('RR801', 'RR8', 'Site')")
    con.close()
    files = {
        "swapped": didfiles.write(base / "swapped.csv", _swapped_records()),
        "shifted": _write_rows(base / "shifted.csv", _shifted_rows()),
        "xml": write_xml(base / "swapped.xml", _swapped_records()),
        # a row of 19 columns: the whole file is rejected, and its message must not quote the line
        "ragged": _write_rows(base / "ragged.csv", [[*_values(didfiles.row(**_person(2))), POSTCODES[3]]]),
        # a record without its ImagingActivity: rejected as a whole, the message names elements only
        "bad-xml": _without_activity(write_xml(base / "bad.xml", [didfiles.row(**_person(3))])),
    }
    printed = []
    with pytest.MonkeyPatch.context() as mp:  # module scope: before the suite's per-test key fixture
        mp.setenv("DID_KEY_FILE", str(base / "pseudonymisation.key"))
        mp.setattr(did_settings, "_active", None)  # what `did` activates is undone with the rest
        for name, path in files.items():
            # `did validate` prints the issues as text; `did submit --json` as JSON, and loads and publishes
            for command in (["validate"], ["submit", "--json"]):
                printed.append(_did(command, path, PERIOD_OF[name], store_dir))
    return store_dir, "\n".join(printed)


def _write_rows(path: Path, rows: list[list[str]]) -> Path:
    """A CSV of these rows as they are, without a header."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def _without_activity(path: Path) -> Path:
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"<ImagingActivity>.*?</ImagingActivity>", "", text), encoding="utf-8")
    return path


def _did(command: list[str], path: Path, period: str, store_dir: Path) -> str:
    """What `did COMMAND FILE` printed, on stdout and stderr."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        did_cli.main(
            [
                command[0],
                str(path),
                "--provider",
                "RR8",
                "--period",
                period,
                "--submitted-on",
                f"{period}-10",
                "--store",
                str(store_dir),
                *command[1:],
            ]
        )
    return out.getvalue()


def _leaks(values, shapes: bool = True) -> list[str]:
    """The values that hold a planted identifier or (with `shapes`) anything shaped like a full
    postcode or an NHS number."""
    found = []
    for v in values:
        s = "" if v is None else str(v)
        if any(p in s for p in (*NHS, *DOB, *POSTCODES)) or (
            shapes and (FULL_POSTCODE.search(s) or TEN_DIGITS.search(s))
        ):
            found.append(s)
    return found


def _frame_leaks(frame: pl.DataFrame, shapes: bool = True) -> list[str]:
    """Every text column scanned (for shapes too, unless `shapes` is False), every date column
    compared with the planted birth dates."""
    out = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            out += _leaks(frame[name].unique().to_list(), shapes)
        elif dtype in (pl.Date, pl.Datetime):
            out += [d for d in frame[name].cast(pl.Date).cast(pl.String).unique().to_list() if d in DOB]
    return out


def test_the_scan_finds_the_planted_identifiers_in_quarantine(hostile_store):
    store_dir, _ = hostile_store
    raw = [r[0] for r in working_store.rows(store_dir, "SELECT raw FROM quarantine")]
    found = " ".join(_leaks(raw))
    assert all(p in found for p in (*NHS, *DOB, *POSTCODES))
    # and every planted file was taken in: three loaded, two rejected as a whole
    statuses = working_store.rows(store_dir, "SELECT strftime(period, '%Y-%m'), status FROM submission ORDER BY 1")
    assert statuses == [
        ("2026-02", "accepted"),
        ("2026-03", "accepted"),
        ("2026-04", "accepted"),
        ("2026-05", "rejected"),
        ("2026-06", "rejected"),
    ]


def test_no_snapshot_table_holds_an_identifier(hostile_store):
    store_dir, _ = hostile_store
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        tables = snap.query("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'snap'")[
            "table_name"
        ].to_list()
        assert {"issue", "submission", "record"} <= set(tables) and "quarantine" not in tables
        issues = snap.query("SELECT count(*) AS n FROM issue")["n"][0]
        assert issues > 60  # the planted rows broke many rules: the messages are there to scan
        for table in tables:
            frame = snap.query(f"SELECT * FROM {table}")  # noqa: S608 - names from the catalogue
            # public reference data holds published addresses: scanned for the planted values only
            assert _frame_leaks(frame, shapes=not table.startswith("ref_")) == [], table
    finally:
        snap.close()


def test_nothing_did_submit_printed_holds_an_identifier(hostile_store):
    _, printed = hostile_store
    assert "DIDS018" in printed and "DIDS075" in printed and "DIDS076" in printed
    assert _leaks(printed.splitlines()) == []


def test_no_export_or_report_holds_an_identifier(hostile_store):
    store_dir, _ = hostile_store
    snap = Snapshot(store.current_snapshot(store_dir))
    try:
        names = []
        for name, frame in every_output(snap, PERIOD_OF["swapped"]):
            names.append(name)
            assert _frame_leaks(frame) == [], name
            csv_text = exports.to_csv_bytes(frame).decode("utf-8")
            assert _leaks(csv_text.splitlines()) == [], name
        assert len(names) >= len(exports.registry()) + len(reports.registry())
    finally:
        snap.close()


def test_no_log_line_holds_an_identifier(hostile_store, tmp_path, monkeypatch, capsys):
    """The log file keeps an internal error's trace, and an exception's message may quote a
    record's values (a DuckDB conversion error does): the log blanks their shapes. The audit log
    of the hostile submissions names files and users only."""
    from ingest import submit

    store_dir = tmp_path / "store"
    shutil.copytree(hostile_store[0], store_dir)

    def quoting(*args, **kwargs):
        raise RuntimeError(
            f"Conversion Error: could not convert {NHS[0]!r} ({NHS[1][:3]} {NHS[1][3:6]} "
            f"{NHS[1][6:]}), born {DOB[0]}, of {POSTCODES[0]} to INTEGER"
        )

    monkeypatch.setattr(submit, "load_and_publish", quoting)
    printed = _did(
        ["submit"], didfiles.write(tmp_path / "DID_RR8_202607.csv", [didfiles.row(**_person(0))]), "2026-07", store_dir
    )
    assert "internal error in `did submit` (RuntimeError)" in printed and _leaks(printed.splitlines()) == []
    logged = (store_dir / "did.log").read_text(encoding="utf-8")
    assert "Traceback" in logged and "Conversion Error: could not convert" in logged
    assert _leaks(logged.splitlines()) == []
    audit = Path(os.environ["DID_AUDIT_LOG"]).read_text(encoding="utf-8")
    assert "RR8" in audit and _leaks(audit.splitlines()) == []
