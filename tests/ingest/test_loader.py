"""Loading a submission: what is kept, what is refused, and that nothing is lost or counted twice."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

import didfiles
import working_store
from did_model.scope import CENTRAL
from did_model.spec import COLUMNS
from ingest import loader, store


def _load(store_dir, path, provider="RR8", period="2026-02", submitted_on=date(2026, 2, 10)):
    with store.writer(store_dir) as con:
        return loader.load_file(con, path, provider, period, submitted_on)


_q = working_store.rows


def test_accepted_file_is_loaded_pseudonymised(store_dir, tmp_path):
    path = didfiles.write(tmp_path / "DID_RR8_202602.csv", didfiles.rows(3))
    result = _load(store_dir, path)
    assert result.status == "accepted"
    assert result.counts == {"records": 3, "accepted": 3, "rejected": 0, "with_warnings": 0, "replaced": 0}
    assert result.timeliness == "on_time"
    rec = _q(
        store_dir,
        "SELECT patient_pseudo_id, age_at_test, postcode_district, modality, body_area, "
        "test_group, activity_month FROM record",
    )
    assert len(rec) == 3
    pseudo, age, district, modality, body, group, month = rec[0]
    assert len(pseudo) == 64 and "9434765919" not in pseudo
    assert age == 75  # born 1950-03-15, tested 2026-01-05
    assert district == "TS18"
    assert (modality, body, group) == ("Plain radiography", "Chest", "chest_xray")
    assert month == date(2026, 1, 1)
    # No raw identifier anywhere outside quarantine.
    text = str(_q(store_dir, "SELECT * FROM record")) + str(_q(store_dir, "SELECT * FROM issue"))
    assert "9434765919" not in text and "1950-03-15" not in text and "TS18 1HU" not in text


def test_same_patient_gets_the_same_pseudonym_and_different_patients_differ(store_dir, tmp_path):
    records = didfiles.rows(2) + [didfiles.row(accession_number="X9", nhs_number="4010232137")]
    _load(store_dir, didfiles.write(tmp_path / "f.csv", records))
    ids = _q(store_dir, "SELECT count(DISTINCT patient_pseudo_id) FROM record")
    assert ids == [(2,)]


def test_rejected_rows_are_quarantined_with_line_numbers(store_dir, tmp_path):
    records = didfiles.rows(4)
    records[1]["nhs_number"] = "9434765918"  # wrong check digit -> DIDS001, line 3 (header is line 1)
    records[3]["patient_source"] = "09"  # -> DIDS021, line 5
    records[2]["referrer_code"] = "XYZ"  # warning only, loaded as 99
    result = _load(store_dir, didfiles.write(tmp_path / "f.csv", records))
    assert result.status == "accepted"
    assert result.counts["accepted"] == 2 and result.counts["rejected"] == 2
    assert result.counts["with_warnings"] == 1
    found = {(i["line"], i["code"], i["severity"]) for i in result.issues}
    assert found == {(3, "DIDS001", "reject"), (5, "DIDS021", "reject"), (4, "DIDS023", "warning")}
    assert _q(store_dir, "SELECT line FROM quarantine ORDER BY line") == [(3,), (5,)]
    raw = _q(store_dir, "SELECT raw FROM quarantine WHERE line = 3")[0][0]
    assert raw.split(",")[0] == "9434765918"  # the raw value is kept, only there
    assert _q(store_dir, "SELECT referrer_code FROM record WHERE accession_number = 'ACC00003'") == [("99",)]
    assert "9434765918" not in str(_q(store_dir, "SELECT message FROM issue"))


def test_resubmission_supersedes_the_earlier_file(store_dir, tmp_path):
    first = _load(store_dir, didfiles.write(tmp_path / "a.csv", didfiles.rows(5)))
    second = _load(store_dir, didfiles.write(tmp_path / "b.csv", didfiles.rows(3)), submitted_on=date(2026, 2, 12))
    assert _q(store_dir, "SELECT submission_id, status, superseded_by FROM submission ORDER BY 1") == [
        (first.submission_id, "superseded", second.submission_id),
        (second.submission_id, "accepted", None),
    ]
    assert _q(store_dir, "SELECT count(*), min(submission_id) FROM record") == [(3, second.submission_id)]


def test_a_record_sent_again_later_replaces_the_earlier_version(store_dir, tmp_path):
    _load(store_dir, didfiles.write(tmp_path / "jan.csv", didfiles.rows(3, report_date="")))
    corrected = [
        didfiles.row(accession_number="ACC00002", report_date="2026-01-09"),
        didfiles.row(
            accession_number="NEW1",
            test_date="2026-02-02",
            request_date="2026-02-01",
            request_received_date="2026-02-01",
            report_date="2026-02-03",
        ),
    ]
    result = _load(
        store_dir, didfiles.write(tmp_path / "feb.csv", corrected), period="2026-03", submitted_on=date(2026, 3, 5)
    )
    assert result.counts["replaced"] == 1
    assert _q(store_dir, "SELECT count(*) FROM record") == [(4,)]
    assert _q(store_dir, "SELECT report_date FROM record WHERE accession_number = 'ACC00002'") == [(date(2026, 1, 9),)]
    assert _q(store_dir, "SELECT rows_replaced FROM submission WHERE period = DATE '2026-03-01'") == [(1,)]


def test_a_store_from_before_submission_site_is_upgraded_and_still_finds_replacements(store_dir, tmp_path):
    _load(store_dir, didfiles.write(tmp_path / "jan.csv", didfiles.rows(3)))
    con = duckdb.connect(str(store.store_path(store_dir)))  # the schema an earlier version wrote
    con.execute("DROP TABLE submission_site")
    con.execute("ALTER TABLE record ADD COLUMN record_key UBIGINT")
    con.execute("DELETE FROM store_meta WHERE key = 'schema_fingerprint'")  # it predates the fingerprint
    con.close()
    result = _load(
        store_dir,
        didfiles.write(tmp_path / "feb.csv", [didfiles.row(accession_number="ACC00003", report_date="2026-01-07")]),
        period="2026-03",
        submitted_on=date(2026, 3, 5),
    )
    assert result.counts["replaced"] == 1
    assert _q(store_dir, "SELECT count(*) FROM record") == [(3,)]
    assert _q(store_dir, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'record_key'") == [(0,)]
    assert _q(store_dir, "SELECT submission_id, site_code FROM submission_site ORDER BY ALL") == [
        (1, "RR801"),
        (2, "RR801"),
    ]


def test_a_store_that_is_up_to_date_is_not_upgraded_again(store_dir, tmp_path):
    """Opening a current store skips the upgrade steps; one whose schema fingerprint differs runs them."""
    _load(store_dir, didfiles.write(tmp_path / "jan.csv", didfiles.rows(3)))
    con = duckdb.connect(str(store.store_path(store_dir)))
    con.execute("DROP TABLE submission_site")  # a change the upgrade would undo
    con.close()
    with store.writer(store_dir):
        pass
    assert _q(store_dir, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'submission_site'") == [
        (0,)
    ]
    con = duckdb.connect(str(store.store_path(store_dir)))
    con.execute("UPDATE store_meta SET value = 'older' WHERE key = 'schema_fingerprint'")
    con.close()
    with store.writer(store_dir):
        pass
    assert _q(store_dir, "SELECT count(*) FROM submission_site") == [(1,)]
    assert _q(store_dir, "SELECT value FROM store_meta WHERE key = 'schema_fingerprint'") != [("older",)]


def test_a_crash_mid_load_changes_nothing(store_dir, tmp_path, monkeypatch):
    _load(store_dir, didfiles.write(tmp_path / "a.csv", didfiles.rows(5)))
    before = {t: _q(store_dir, f"SELECT count(*) FROM {t}") for t in ("record", "submission", "issue")}
    real = loader._insert_records

    def insert_then_crash(*args, **kwargs):
        real(*args, **kwargs)  # the new records are in, the old ones deleted ...
        raise RuntimeError("power cut")  # ... and then the process dies

    monkeypatch.setattr(loader, "_insert_records", insert_then_crash)
    bad = didfiles.rows(2, nhs_number="123")
    with pytest.raises(RuntimeError):
        _load(store_dir, didfiles.write(tmp_path / "b.csv", bad), submitted_on=date(2026, 2, 11))
    after = {t: _q(store_dir, f"SELECT count(*) FROM {t}") for t in ("record", "submission", "issue")}
    assert after == before
    assert _q(store_dir, "SELECT status FROM submission") == [("accepted",)]


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b"", "FILE", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "FILE", "binary"),
        (b"a,b,c\n1,2,3\n", "DIDS075", "18 comma-separated columns"),
        (("x," * 18 + "x\n").encode(), "DIDS075", "18 comma-separated columns"),  # 19 columns
        ("é".encode("latin-1") + b"," * 17 + b"\n", "FILE", "UTF-8"),
    ],
)
def test_unreadable_files_are_rejected_whole_and_load_nothing(store_dir, tmp_path, content, code, words):
    path = tmp_path / "DID_RR8_202602.csv"
    path.write_bytes(content)
    result = _load(store_dir, path)
    assert result.status == "rejected"
    assert result.file_errors[0]["code"] == code
    assert words in result.file_errors[0]["message"]
    assert _q(store_dir, "SELECT count(*) FROM record") == [(0,)]
    assert _q(store_dir, "SELECT status, rows_read FROM submission") == [("rejected", 0)]


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_header_row_and_line_ends_are_detected(store_dir, tmp_path, header, line_end):
    path = didfiles.write(tmp_path / "f.csv", didfiles.rows(2), header=header, line_end=line_end)
    result = _load(store_dir, path)
    assert result.counts["accepted"] == 2, result.issues
    first_line = 2 if header else 1
    bad = didfiles.rows(2)
    bad[0]["gender"] = "7"
    result = loader.load_file(
        store.checking_connection(tmp_path / "none"),
        didfiles.write(tmp_path / "g.csv", bad, header=header, line_end=line_end),
        "RR8",
        "2026-02",
        date(2026, 2, 10),
        dry_run=True,
    )
    assert [(i["line"], i["code"]) for i in result.issues] == [(first_line, "DIDS014")]


def test_byte_order_mark_is_accepted(store_dir, tmp_path):
    path = didfiles.write(tmp_path / "f.csv", didfiles.rows(2))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert _load(store_dir, path).counts["accepted"] == 2


def test_file_names_give_provider_and_period():
    assert loader.infer_from_name("DID_RR8_202602.csv") == ("RR8", "2026-02")
    assert loader.infer_from_name("extract.csv") == (None, None)
    with pytest.raises(ValueError, match="YYYY-MM"):
        loader.parse_period("2026-13")


def test_spec_has_18_items_in_order():
    assert len(COLUMNS) == 18 and COLUMNS[0] == "nhs_number" and COLUMNS[-1] == "accession_number"


def _batch_jobs(tmp_path):
    """Small files that one screening pass checks together, each with something for its own
    context to decide: duplicates within a file, the same record in two files, two providers
    with different notified local codes, periods and submission dates that make records late,
    an XML file and an unreadable file in the middle."""
    from ingest.xml_reader import write_xml

    f1 = didfiles.write(
        tmp_path / "a.csv",
        didfiles.rows(4)
        + [
            didfiles.row(accession_number="ACC00002"),  # DIDS071 within this file
            didfiles.row(accession_number="ACC00009", nhs_number="9434765910"),  # Modulus 11
            didfiles.row(accession_number="ACC00010", nicip_code="LOC01"),
        ],
    )  # notified by RTH only
    # RTH's files: ACC00001-2 as in a.csv but at RTH's own site (other records, not duplicates),
    # then again in c.xml (replacements of b.csv's: the same provider's records)
    f2 = didfiles.write(
        tmp_path / "b.csv",
        [didfiles.row(accession_number="ACC00011", nicip_code="LOC01", site_code="RTH01")]
        + didfiles.rows(2, site_code="RTH01"),
    )
    f3 = write_xml(tmp_path / "c.xml", didfiles.rows(2, site_code="RTH01"))
    f4 = tmp_path / "d.csv"
    f4.write_text(",".join(["x"] * 17) + "\n")  # 17 columns: the whole file is rejected
    f5 = didfiles.write(
        tmp_path / "e.csv",
        didfiles.rows(
            3,
            test_date="2025-06-05",
            request_date="2025-06-01",
            request_received_date="2025-06-02",
            report_date="2025-06-09",
        ),
    )  # months late
    return [
        (f1, "RR8", "2026-02", date(2026, 2, 10)),
        (f2, "RTH", "2026-03", date(2026, 4, 20)),
        (f3, "RTH", "2026-02", date(2026, 3, 1)),
        (f4, "RR8", "2026-03", date(2026, 3, 5)),
        (f5, "RR8", "2026-01", date(2026, 1, 20)),
    ]


def test_files_checked_together_get_the_verdicts_each_gets_alone(store_dir, tmp_path):
    from dataclasses import asdict

    from ingest import local_codes, pseudonymise

    local_codes.notify(store_dir, "RTH", "LOC01", "XCHES", scope=CENTRAL)
    jobs = _batch_jobs(tmp_path)
    key = pseudonymise.load_key()
    with store.writer(store_dir) as con:
        together = loader.check_batch(con, jobs, key=key)
        alone = [loader.check(con, *job, key=key) for job in jobs]
    assert [c.result.status for c in together] == ["accepted", "accepted", "accepted", "rejected", "accepted"]
    codes = {c.path.name: {i["code"] for i in c.result.issues} for c in together}
    assert "DIDS071" in codes["a.csv"] and "DIDS071" not in codes["b.csv"]
    assert any(i["code"] == "DIDS071" for i in together[0].result.issues)
    local = [i for c in together for i in c.result.issues if i["field"] == "nicip_code"]
    assert [i["line"] for i in local] == [8]  # a.csv's LOC01 (RR8); b.csv's is RTH's own code
    assert together[4].result.issues  # e.csv's records are months behind their period
    for mine, theirs in zip(together, alone, strict=True):
        assert asdict(mine.result) == asdict(theirs.result), mine.path.name
        for part in ("screen", "rejected_lines", "issues", "quarantine"):
            a, b = getattr(mine, part), getattr(theirs, part)
            assert (a is None and b is None) or a.equals(b), (mine.path.name, part)


def test_loading_in_batches_stores_what_loading_one_file_at_a_time_stores(empty_store_template, tmp_path):
    import shutil

    from ingest import local_codes

    stores = {}
    for way in ("batched", "one_by_one"):
        stores[way] = tmp_path / way
        shutil.copytree(empty_store_template, stores[way])
        local_codes.notify(stores[way], "RTH", "LOC01", "XCHES", scope=CENTRAL)
    jobs = _batch_jobs(tmp_path / "files")
    with store.writer(stores["batched"]) as con:
        batched = list(loader.load_many(con, jobs))
    one_by_one = [_load(stores["one_by_one"], *job) for job in jobs]
    assert [r.counts for r in batched] == [r.counts for r in one_by_one]
    assert batched[2].counts["replaced"] == 2  # RTH01/ACC00001-2 arrive again in c.xml
    for sql in (
        "SELECT * FROM record ORDER BY ALL",
        "SELECT * FROM issue ORDER BY ALL",
        "SELECT * EXCLUDE (quarantined_at) FROM quarantine ORDER BY ALL",
        "SELECT * EXCLUDE (received_at) FROM submission ORDER BY ALL",
    ):
        assert _q(stores["batched"], sql) == _q(stores["one_by_one"], sql), sql
