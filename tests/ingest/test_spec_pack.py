"""Spec packs: the shipped ones match the code, a replacement re-binds rules without a code
change, and a bad one is refused in one line with nothing installed."""

from __future__ import annotations

import csv
import shutil
from datetime import date

import pytest

import did_cli
import didfiles
import working_store
from did_model import spec
from ingest import loader, spec_pack, store


def test_the_shipped_v1_pack_is_the_v1_specification():
    pack = spec_pack.default_pack("1.0")
    assert [(i.name, i.field, i.xml_element, i.obligation) for i in pack.items] == [
        (i.name, i.field, i.xml_element, i.obligation) for i in spec.ITEMS
    ]
    assert set(pack.code_lists["ethnic_category"]) == set(spec.ETHNIC_CATEGORY)


@pytest.mark.parametrize("version", spec_pack.VERSIONS)
def test_every_pack_row_says_how_sure_it_is(version):
    folder = spec_pack.DEFAULT_DIRS[version]
    for name in ("items.csv", "codes.csv", "rules.csv"):
        with open(folder / name, newline="") as f:
            assert all(r["status"] in spec_pack.STATUSES and r["source"] for r in csv.DictReader(f)), name
    assert (folder / "SOURCES.md").is_file()


def _copy(tmp_path, version="2.0"):
    d = tmp_path / f"pack-{version}"
    shutil.copytree(spec_pack.DEFAULT_DIRS[version], d)
    return d


def _edit(folder, name, change):
    path = folder / name
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    fields = list(rows[0])
    rows = change(rows)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _retitle(rows):
    for r in rows:
        if r["condition"] == "priority_invalid":
            r.update(code="DIDS00990001", severity="warning", message="priority is not 1, 2 or 3 (licensed wording)")
    return rows


def test_a_loaded_pack_rebinds_code_severity_message_and_code_list(store_dir, tmp_path, capsys):
    folder = _copy(tmp_path)
    _edit(folder, "rules.csv", _retitle)
    _edit(
        folder,
        "codes.csv",
        lambda rows: (
            rows + [dict(rows[-1], code_list="service_request_priority", code="4", meaning="a fourth priority")]
        ),
    )
    assert did_cli.main(["reference", "load-spec", str(folder), "--store", str(store_dir)]) == 0
    assert "spec reference replaced" in capsys.readouterr().err
    records = [
        didfiles.row_v2(priority="5", accession_number="P5"),
        didfiles.row_v2(priority="4", accession_number="P4"),
    ]
    path = didfiles.write_v2(tmp_path / "DID_RR8_202605.csv", records)
    with store.writer(store_dir) as con:
        result = loader.load_file(con, path, "RR8", "2026-05", date(2026, 5, 10), dry_run=True)
    issues = [(i["line"], i["code"], i["severity"], i["message"]) for i in result.issues]
    assert issues == [(2, "DIDS00990001", "warning", "priority is not 1, 2 or 3 (licensed wording)")]


@pytest.mark.parametrize(
    ("file", "change", "words"),
    [
        (
            "rules.csv",
            lambda rows: rows + [dict(rows[0], code="DIDS09999999", condition="drop_table_record")],
            ["line", "drop_table_record", "not one this software implements"],
        ),
        (
            "rules.csv",
            lambda rows: [dict(r, severity="fatal") if i == 3 else r for i, r in enumerate(rows)],
            ["line 5", "severity 'fatal'"],
        ),
        (
            "rules.csv",
            lambda rows: [dict(r, message="see {nhs_number}") if i == 0 else r for i, r in enumerate(rows)],
            ["line 2", "{nhs_number}"],
        ),
        ("codes.csv", lambda rows: [r for r in rows if r["code_list"] != "timestamp_offset"], ["timestamp_offset"]),
        ("items.csv", lambda rows: [r for r in rows if r["field"] != "procedure_start_ts"], ["procedure_start_ts"]),
    ],
)
def test_a_bad_pack_is_refused_in_one_line_and_nothing_is_installed(store_dir, tmp_path, capsys, file, change, words):
    folder = _copy(tmp_path)
    _edit(folder, file, change)
    assert did_cli.main(["reference", "load-spec", str(folder), "--store", str(store_dir)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(w in err for w in words), err
    assert working_store.rows(store_dir, "SELECT count(*) FROM ref_spec_pack") == [(0,)]


def test_a_folder_that_is_not_a_pack_is_refused(tmp_path):
    with pytest.raises(spec_pack.PackError, match=r"has no pack\.csv"):
        spec_pack.read_pack(tmp_path)
