"""Collection integrity (issue #16 items 4, 5, 7): headers read by name, bounded cost, files and faults."""

from __future__ import annotations

import csv
import errno
import os
import tomllib
from pathlib import Path

import duckdb
import pytest

import didfiles
from did_model import spec
from ingest import reader, submit


def _read(path):
    con = duckdb.connect()
    result = reader.read_file(con, path)
    rows = con.execute(f"SELECT line, {', '.join(spec.COLUMNS)} FROM staging ORDER BY line").fetchall()
    return result, [dict(zip(("line", *spec.COLUMNS), r, strict=True)) for r in rows]


def _write(path, header, records, order=spec.COLUMNS):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if header is not None:
            w.writerow(header)
        for r in records:
            w.writerow([r.get(c, "") for c in order])
    return path


def _rejected(path, code="DIDS075"):
    with pytest.raises(reader.FileError) as caught:
        reader.read_file(duckdb.connect(), path)
    assert caught.value.code == code
    assert "\n" not in caught.value.message
    return caught.value.message


# --- headers ---------------------------------------------------------------------------------


def test_swapped_columns_under_a_header_load_each_value_into_its_item(tmp_path):
    order = list(spec.COLUMNS)
    i, j = order.index("site_code"), order.index("accession_number")
    order[i], order[j] = order[j], order[i]
    header = [spec.BY_FIELD[c].name for c in order]
    records = didfiles.rows(2)
    result, rows = _read(_write(tmp_path / "f.csv", header, records, order))
    assert result.has_header and result.rows == 2
    assert [(r["line"], r["site_code"], r["accession_number"]) for r in rows] == [
        (2, "RR801", "ACC00001"),
        (3, "RR801", "ACC00002"),
    ]
    assert rows[0]["nhs_number"] == "9434765919"


def test_header_names_forgive_case_spaces_and_underscores(tmp_path):
    order = list(reversed(spec.COLUMNS))
    header = []
    for n, c in enumerate(order):
        item = spec.BY_FIELD[c]
        header.append([item.name.lower(), c.upper(), item.xml_element, f"  {item.name.replace(' ', '_')} "][n % 4])
    _, rows = _read(_write(tmp_path / "f.csv", header, didfiles.rows(1), order))
    assert {c: rows[0][c] or "" for c in spec.COLUMNS} == didfiles.rows(1)[0]


def test_a_header_may_leave_out_optional_items(tmp_path):
    order = ["accession_number", "site_code", "test_date", "patient_source", "nicip_code", "nhs_number"]
    _, rows = _read(_write(tmp_path / "f.csv", order, didfiles.rows(1), order))
    assert rows[0]["accession_number"] == "ACC00001" and rows[0]["nhs_number"] == "9434765919"
    assert rows[0]["birth_date"] is None and rows[0]["report_date"] is None


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda h: h[:-1] + ["SHOE SIZE"], ["'SHOE SIZE'", "not DID items"]),
        (lambda h: h + ["nhs_number"], ["NHS NUMBER", "more than once"]),
        (lambda h: [n for n in h if n != "SITE CODE (OF IMAGING)"], ["SITE CODE (OF IMAGING)", "mandatory"]),
    ],
)
def test_a_header_with_an_unknown_repeated_or_missing_mandatory_column_rejects_the_file(tmp_path, change, words):
    header = change(list(spec.HEADER))
    fields = [reader._ALIASES.get(reader._normalise(h)) for h in header]
    records = [[r.get(f or "", "x") for f in fields] for r in didfiles.rows(2)]
    path = tmp_path / "f.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *records])
    message = _rejected(path)
    for w in words:
        assert w in message


def test_without_a_header_the_18_columns_are_taken_by_position(tmp_path):
    result, rows = _read(didfiles.write(tmp_path / "f.csv", didfiles.rows(2), header=False))
    assert not result.has_header
    assert rows[1]["line"] == 2 and rows[1]["accession_number"] == "ACC00002"


# --- files and faults ------------------------------------------------------------------------


def test_a_nul_byte_after_the_first_64_kb_rejects_the_file_naming_its_line(tmp_path):
    records = didfiles.rows(600)  # ~ 80 KB
    records[-1]["referrer_code"] = "G12\x0045"
    path = didfiles.write(tmp_path / "f.csv", records)
    assert path.stat().st_size > 64 * 1024
    message = _rejected(path, "FILE")
    assert "NUL" in message and "line 601" in message


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("extra", [",", ",,", ",x"])
def test_extra_columns_even_empty_ones_reject_the_file(tmp_path, extra, line_end):
    lines = didfiles.write(tmp_path / "ok.csv", didfiles.rows(3), header=False).read_text().splitlines()
    lines[1] += extra
    path = tmp_path / "f.csv"
    path.write_bytes(line_end.join(lines).encode() + line_end.encode())
    message = _rejected(path)
    assert "line 2" in message or "at line 2" in message


def test_an_empty_last_item_is_not_an_extra_column(tmp_path):
    records = didfiles.rows(2)
    records[1]["accession_number"] = ""
    result, rows = _read(didfiles.write(tmp_path / "f.csv", records))
    assert result.rows == 2 and rows[1]["accession_number"] is None


def test_a_file_name_with_glob_characters_is_read_as_itself_or_refused(tmp_path):
    for n in range(3):
        didfiles.write(tmp_path / f"DID_RR8_20260{n + 1}.csv", didfiles.rows(2))
    path = didfiles.write(tmp_path / "DID_RR8_*.csv", didfiles.rows(1))
    message = _rejected(path, "FILE")
    assert "rename the file" in message


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 1000)
    message = _rejected(didfiles.write(tmp_path / "f.csv", didfiles.rows(20)), "FILE")
    assert "limit" in message


# --- bounded cost: XML -----------------------------------------------------------------------

_ACTIVITY = (
    "<ImagingActivity><DiagnosticTestDate>2026-01-05</DiagnosticTestDate>"
    "<ImagingSiteCode>RR801</ImagingSiteCode><RadiologicalAccessionNumber>A{n}"
    "</RadiologicalAccessionNumber></ImagingActivity>"
)


def _record(inner: str = "", activities: int = 1) -> str:
    return (
        "<DIDSRecord><PersonalAndDemographics><PersonGenderCode>1</PersonGenderCode>"
        + inner
        + "</PersonalAndDemographics><Referrals><PatientSourceSetting>03</PatientSourceSetting></Referrals>"
        + "".join(_ACTIVITY.format(n=n) for n in range(activities))
        + "</DIDSRecord>"
    )


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        # deeply nested elements (the 35 MB file that took 1.5 GB): refused at the first level too deep
        ("<DIDS>" + _record("<Address>" + "<Postcode>" * 50_000) + "</DIDS>", "deeper than the DIDS structure"),
        ("<DIDS>" + "<DIDSRecord>" * 1000 + "</DIDS>", "unexpected element <DIDSRecord>"),
        # huge element counts: activities in one record, and anything but records under the root
        ("<DIDS>" + _record(activities=1001) + "</DIDS>", "more than 1,000 <ImagingActivity>"),
        ("<DIDS>" + "<Junk/>" * 100_000 + "</DIDS>", "unexpected element <Junk>"),
        # a value far longer than any item
        ("<DIDS>" + _record("<Address>" + "A" * 10_000 + "</Address>") + "</DIDS>", "more than 4,096 characters"),
        # entity expansion (billion laughs) and external entities: no document type declaration at all
        (
            '<?xml version="1.0"?><!DOCTYPE DIDS [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            "<DIDS>" + _record("<Address>&b;</Address>") + "</DIDS>",
            "document type declaration",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE DIDS [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<DIDS>" + _record("<Address>&x;</Address>") + "</DIDS>",
            "document type declaration",
        ),
    ],
)
def test_xml_outside_the_dids_structure_is_refused_as_it_is_read(tmp_path, xml, words):
    path = tmp_path / "f.xml"
    path.write_text(xml)
    message = _rejected(path, "DIDS076")
    assert words in message


def test_xml_within_the_limits_reads_every_activity_and_the_postcode_child(tmp_path):
    path = tmp_path / "f.xml"
    path.write_text(
        "<DIDS>" + _record("<Address><Postcode>TS18 1HU</Postcode></Address>", activities=1000) + _record() + "</DIDS>"
    )
    result, rows = _read(path)
    assert result.rows == 1001
    assert rows[0]["postcode"] == "TS18 1HU" and rows[-1]["postcode"] is None
    assert {r["line"] for r in rows} == {1, 2}


def test_the_upload_limit_is_the_readers_limit_in_every_place_it_is_set():
    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert submit.MAX_UPLOAD_BYTES == reader.MAX_FILE_BYTES == config["server"]["maxUploadSize"] * 1024**2
    assert reader.MAX_FILE_BYTES >= 8 * 8 * 1000**2  # eight times the largest provider-month (8 MB)


# --- files: modes ----------------------------------------------------------------------------


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_store_lock_and_audit_files_are_private_and_the_store_dir_0700(tmp_path, monkeypatch):
    import did_audit as audit
    from did_model.scope import CENTRAL
    from ingest import store

    old = os.umask(0o022)
    try:
        store_dir = tmp_path / "new" / "store"
        with store.writer(store_dir, create=True):
            pass
        monkeypatch.setenv("DID_AUDIT_LOG", str(tmp_path / "logs" / "audit.jsonl"))
        audit.record(CENTRAL, "export test")
    finally:
        os.umask(old)
    assert _mode(store_dir) == 0o700
    assert _mode(store_dir / "did.duckdb") == 0o600
    assert _mode(store_dir / ".lock") == 0o600
    assert _mode(tmp_path / "logs") == 0o700 and _mode(tmp_path / "logs" / "audit.jsonl") == 0o600


def test_a_store_made_world_readable_before_is_tightened_by_the_next_writer(store_dir):
    from ingest import store

    os.chmod(store_dir, 0o755)
    os.chmod(store_dir / "did.duckdb", 0o644)
    with store.writer(store_dir):
        pass
    assert _mode(store_dir) == 0o700 and _mode(store_dir / "did.duckdb") == 0o600


def test_the_key_is_created_private_and_a_looser_key_is_refused_with_the_fix(tmp_path, monkeypatch):
    from ingest import pseudonymise

    key = tmp_path / "conf" / "did" / "pseudonymisation.key"
    monkeypatch.setenv("DID_KEY_FILE", str(key))
    pseudonymise.load_key()
    assert _mode(key) == 0o600 and _mode(key.parent) == 0o700
    os.chmod(key, 0o644)
    with pytest.raises(ValueError, match=f"chmod 600 {key}$"):
        pseudonymise.load_key()


# --- faults: a full disk ---------------------------------------------------------------------


def _store_counts(store_dir):
    con = duckdb.connect(str(store_dir / "did.duckdb"), read_only=True)
    try:
        return [
            con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("record", "submission", "quarantine")
        ]
    finally:
        con.close()


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        duckdb.IOException('Could not write file "did.duckdb.wal": No space left on device'),
    ],
)
def test_a_full_disk_during_a_load_is_one_line_and_leaves_the_store_unchanged(
    store_dir, tmp_path, monkeypatch, capsys, error
):
    import did_cli
    from ingest import loader

    before = _store_counts(store_dir)
    real = loader._insert_records

    def insert_then_fail(con, sid):
        real(con, sid)
        raise error

    monkeypatch.setattr(loader, "_insert_records", insert_then_fail)
    path = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(3))
    code = did_cli.main(["submit", str(path), "--submitted-on", "2026-02-10", "--store", str(store_dir)])
    err = capsys.readouterr().err
    assert code == did_cli.EXIT_USAGE
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "is full; free space there" in err
    assert _store_counts(store_dir) == before
    assert not (store_dir / "CURRENT").exists()


def test_a_full_disk_while_publishing_keeps_the_published_snapshot(store_dir, tmp_path, monkeypatch, capsys):
    import did_cli
    from ingest import store

    did_cli.main(
        [
            "submit",
            str(didfiles.write(tmp_path / "DID_RR8_202601.csv", didfiles.rows(2))),
            "--submitted-on",
            "2026-01-10",
            "--store",
            str(store_dir),
        ]
    )
    current = (store_dir / "CURRENT").read_text()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "_fsync", no_space)
    capsys.readouterr()
    code = did_cli.main(
        [
            "submit",
            str(didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(3))),
            "--submitted-on",
            "2026-02-10",
            "--store",
            str(store_dir),
        ]
    )
    err = capsys.readouterr().err
    assert code == did_cli.EXIT_USAGE and err.count("\n") == 1 and "is full" in err
    assert (store_dir / "CURRENT").read_text() == current
    assert not list((store_dir / "snapshots").glob(".*partial*"))


# --- export filters --------------------------------------------------------------------------


@pytest.fixture
def published_store(store_dir, tmp_path):
    import did_cli

    path = didfiles.write(tmp_path / "DID_RR8_202601.csv", didfiles.rows(3))
    assert did_cli.main(["submit", str(path), "--submitted-on", "2026-02-10", "--store", str(store_dir)]) == 0
    return store_dir


@pytest.mark.parametrize("export", [["waiting-times"], ["equipment"], ["variation-geographic"]])
def test_an_unknown_modality_is_refused_with_the_choices(published_store, tmp_path, capsys, export):
    import did_cli

    with pytest.raises(SystemExit) as exited:  # a usage error, from the argument parser
        did_cli.main(
            [
                "export",
                *export,
                "--modality",
                "Xray",
                "--store",
                str(published_store),
                "--out",
                str(tmp_path / "out.csv"),
            ]
        )
    err = capsys.readouterr().err
    assert exited.value.code == did_cli.EXIT_USAGE
    assert "'Xray' is not a modality; choose one of: Plain radiography, Ultrasound, CT, MRI" in err
    assert not (tmp_path / "out.csv").exists()


def test_a_modality_in_another_case_is_the_modality(published_store, tmp_path, capsys):
    import did_cli

    out = tmp_path / "out.csv"
    assert (
        did_cli.main(
            [
                "export",
                "waiting-times",
                "--modality",
                "plain RADIOGRAPHY",
                "--store",
                str(published_store),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.exists()


def test_an_unknown_site_is_refused_with_the_providers_sites(published_store, tmp_path, capsys):
    import did_cli

    code = did_cli.main(
        [
            "export",
            "equipment",
            "--modality",
            "Plain radiography",
            "--by",
            "weekday",
            "--provider",
            "RR8",
            "--site",
            "RR899",
            "--store",
            str(published_store),
            "--out",
            str(tmp_path / "out.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == did_cli.EXIT_USAGE
    assert err.strip() == "did: error: there is no site of RR8 'RR899'; choose one of: RR801"


# --- a snapshot held by a reader -------------------------------------------------------------


def test_a_reader_holding_a_snapshot_reads_it_after_two_more_publishes(published_store, tmp_path, monkeypatch):
    import did_cli
    from ingest import store
    from queries.connection import Snapshot

    held = Snapshot(store.current_snapshot(published_store))
    try:
        # held, not yet read: DuckDB caches what it has read, so the first read comes after
        for n, month in ((4, "02"), (5, "03")):
            dates = {
                item: f"2026-{month}-0{day}"
                for item, day in (
                    ("request_date", 2),
                    ("request_received_date", 3),
                    ("test_date", 5),
                    ("report_date", 6),
                )
            }
            path = didfiles.write(tmp_path / f"DID_RR8_2026{month}.csv", didfiles.rows(n, **dates))
            assert (
                did_cli.main(
                    ["submit", str(path), "--submitted-on", f"2026-{month}-10", "--store", str(published_store)]
                )
                == 0
            )
        got = held.query("SELECT accession_number FROM record ORDER BY ALL")["accession_number"].to_list()
        assert got == ["ACC00001", "ACC00002", "ACC00003"]
        assert len(list((published_store / "snapshots").glob("*.duckdb"))) == 3
        # Once the grace period has passed, the next publish removes it (and only then).
        monkeypatch.setattr(store, "SNAPSHOT_GRACE_SECONDS", 0)
        with store.writer(published_store) as con:
            store.publish(con, published_store)
        assert len(list((published_store / "snapshots").glob("*.duckdb"))) == 2
    finally:
        held.close()


@pytest.mark.parametrize("where", ["middle", "last"])
def test_a_line_over_the_line_limit_is_refused_before_duckdb_reads_it(tmp_path, where):
    lines = didfiles.write(tmp_path / "ok.csv", didfiles.rows(3), header=False).read_text().splitlines()
    lines.insert(1 if where == "middle" else 3, "x," * (reader.MAX_LINE_BYTES // 2 + 10))
    path = tmp_path / "f.csv"
    path.write_text("\n".join(lines) + ("\n" if where == "middle" else ""))
    message = _rejected(path)
    assert f"line {2 if where == 'middle' else 4} is longer than" in message
