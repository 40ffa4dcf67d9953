"""Uploaded incident logs (name + bytes), importing a checked log, and the incident overview."""

from __future__ import annotations

import io
import json
import sqlite3
import stat
import zipfile

import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from surveykit import ImportValidationError, Store, StoreError, SurveykitError, demo_incidents, yoy_growth
from surveykit.incidents.importing import import_validated
from surveykit.incidents.overview import incident_overview
from surveykit.incidents.uploads import problems_csv, validate_upload

GOOD_CSV = (
    b"incident_id,date,country,type,detected_at,resolved_at\n"
    b"U-1,2016-03-01,GB,phishing,2016-03-01 09:00,2016-03-01 17:00\n"
    b"U-2,2016-04-02,US,whaling,2016-04-02 10:00,\n"
    b"U-3,2015-12-30,ZA,malware,,\n"
)
BAD_CSV = (
    b"incident_id,date,country,type\n"
    b"B-1,2016-03-01,GB,phishing\n"
    b"B-2,2016-13-01,GB,phishing\n"  # no month 13
    b"B-3,2016-03-05,XX,phishing\n"  # no country XX
    b"B-4,2016-03-06,US,malware\n"
)


def veris(number: int, year: int, country: str = "US") -> dict[str, object]:
    return {
        "incident_id": f"V-{number:04d}",
        "timeline": {"incident": {"year": year, "month": 5, "day": 17}},
        "victim": {"country": [country]},
        "action": {"malware": {"variety": ["Ransomware"]}},
    }


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def workbook(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_good_csv_upload_is_read_as_the_same_file_on_disk(tmp_path):
    from surveykit import validate_incidents

    checked = validate_upload("helpdesk.csv", GOOD_CSV)
    (tmp_path / "helpdesk.csv").write_bytes(GOOD_CSV)
    on_disk = validate_incidents(tmp_path / "helpdesk.csv")
    assert (checked.valid, checked.bad_rows, checked.records, checked.format) == (3, 0, 3, "csv")
    assert checked.validation.source == "helpdesk.csv" and checked.notes == []
    assert_frame_equal(checked.validation.incidents, on_disk.incidents)
    assert list(checked.validation.incidents["incident_type"]) == ["phishing", "whaling_bec", "malware"]


def test_bad_rows_are_listed_with_row_column_value_and_reason():
    checked = validate_upload("bad.csv", BAD_CSV)
    assert (checked.valid, checked.bad_rows, checked.records) == (2, 2, 4)
    problems = checked.validation.problems_frame()
    assert list(problems[["row", "column", "value"]].itertuples(index=False, name=None)) == [
        (2, "date", "2016-13-01"),
        (3, "country", "XX"),
    ]
    # The download: the same problems as CSV, read back by pandas.
    again = pd.read_csv(io.BytesIO(problems_csv(checked.validation)), dtype={"value": str})
    assert_frame_equal(again, problems.astype({"row": "int64"}))


def test_an_xlsx_upload_written_by_openpyxl():
    data = workbook(
        [["Incident ID", "Date", "Country"], ["X-1", "2016-01-05", "AU"], ["X-2", "2016-02-07", "GB"]]
    )
    checked = validate_upload("log.xlsx", data)
    assert checked.format == "xlsx" and checked.valid == 2
    assert list(checked.validation.incidents["country"]) == ["AU", "GB"]


def test_a_vcdb_zip_is_unpacked_flat_and_read_as_veris():
    entries = {
        f"vcdb/validated/{r['incident_id']}.json": json.dumps(r).encode()
        for r in map(veris, range(5), [2015] * 5)
    }
    entries["vcdb/README.md"] = b"read me"
    entries["__MACOSX/vcdb/._V-0000.json"] = b"\x00\x05"
    entries["vcdb/validated/broken.json"] = b'{"incident_id": "x", '
    checked = validate_upload("vcdb.zip", zipped(entries))
    assert checked.format == "veris zip"
    assert (checked.valid, checked.bad_rows) == (5, 1)
    assert checked.validation.problems[0].row == "broken.json"
    assert "not valid JSON" in checked.validation.problems[0].reason
    assert checked.notes == ["vcdb.zip: 2 entries that are not VERIS JSON files were left out."]


def test_one_veris_json_record_or_a_list():
    one = validate_upload("one.json", json.dumps(veris(1, 2016)).encode())
    many = validate_upload("many.json", json.dumps([veris(1, 2016), veris(2, 2015, "GB")]).encode())
    assert (one.valid, many.valid) == (1, 2)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("log.csv", b"", "log.csv: the file is empty"),
        ("log.csv", b" \n\n", "log.csv: the file is empty"),
        ("log.csv", "incident_id,date\n".encode("utf-16"), "log.csv: not a text file (it looks like UTF-16"),
        (
            "log.csv",
            b"ticket,when\nA,2016-01-01\n",
            "log.csv: The log has no date column: none of its headers",
        ),
        ("log.xlsx", b"incident_id,date\n", "log.xlsx: not an XLSX workbook"),
        (
            "log.json",
            b'{"incident_id": "A",\n "timeline": }',
            "log.json: not valid JSON: Expecting value at line 2",
        ),
        ("log.pdf", b"%PDF", "log.pdf: cannot import this kind of file"),
        ("log.zip", b"PK\x03\x04 not really", "log.zip: not a readable ZIP archive"),
        (
            "evil.zip",
            zipped({"../../etc/x.json": b"{}"}),
            "evil.zip: entry '../../etc/x.json' points outside",
        ),
        ("evil.zip", zipped({"/abs/x.json": b"{}"}), "evil.zip: entry '/abs/x.json' has an absolute path"),
        ("empty.zip", zipped({"notes.txt": b"hello"}), "empty.zip: no .json files in the archive"),
        (
            "twice.zip",
            zipped({"a/x.json": b"{}", "b/x.json": b"{}"}),
            "twice.zip: two entries are called 'x.json' (a/x.json and b/x.json)",
        ),
    ],
)
def test_unreadable_uploads_say_what_is_wrong_and_where(name, data, message):
    with pytest.raises(SurveykitError) as caught:
        validate_upload(name, data)
    assert str(caught.value).startswith(message)


def test_a_corrupted_workbook_is_refused_with_its_name():
    data = workbook([["incident_id", "date"], ["A", "2016-01-01"]])
    with pytest.raises(SurveykitError, match=r"^cut\.xlsx: the workbook is damaged"):
        validate_upload("cut.xlsx", data[: len(data) // 2])


def test_a_non_utf8_csv_is_read_as_windows_1252_with_a_note_naming_the_byte():
    data = "incident_id,date,source\nA,2016-01-01,ok\nB,2016-01-02,Régie\n".encode("cp1252")
    checked = validate_upload("legacy.csv", data)
    assert checked.valid == 2 and list(checked.validation.incidents["source"]) == ["ok", "Régie"]
    assert checked.notes[0].startswith(
        "legacy.csv is not UTF-8 (byte 0xE9 on line 3, column 15 is not UTF-8)"
    )


def test_zip_symlinks_and_oversized_archives_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("folder/link.json")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(SurveykitError, match=r"entry 'folder/link\.json' is a symbolic link"):
        validate_upload("links.zip", buffer.getvalue())
    many = zipped({f"{i}.json": b"{}" for i in range(11)})
    with pytest.raises(SurveykitError, match="holds 11 files, more than the 10 allowed"):
        validate_upload("many.zip", many, max_files=10)
    bomb = zipped({"big.json": b" " * 100_000})  # 100 kB that deflates to a few hundred bytes
    assert len(bomb) < 1_000
    with pytest.raises(SurveykitError, match="unpacks to 100,000 bytes, more than the 50,000 allowed"):
        validate_upload("bomb.zip", bomb, max_bytes=50_000)


def test_progress_is_reported_from_zero_to_one():
    seen: list[float] = []
    entries = {f"{r['incident_id']}.json": json.dumps(r).encode() for r in map(veris, range(30), [2015] * 30)}
    validate_upload("vcdb.zip", zipped(entries), progress=lambda done, text: seen.append(done))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


# --- importing a checked log ------------------------------------------------------------------


def test_a_log_with_bad_rows_stores_nothing_unless_they_are_skipped(sqlite_url):
    checked = validate_upload("bad.csv", BAD_CSV).validation
    with Store(sqlite_url) as store:
        with pytest.raises(ImportValidationError, match="2 rows have problems"):
            import_validated(store, checked)
        assert store.count_incidents() == 0
        report = import_validated(store, checked, skip_invalid=True)
        assert report.added == 2 and sorted(store.incidents()["incident_id"]) == ["B-1", "B-4"]
        again = import_validated(
            store, validate_upload("good.csv", GOOD_CSV + b"B-4,2016-03-06,US,malware,,\n").validation
        )
        assert (again.added, again.already_stored, again.skipped_duplicates) == (3, ["B-4"], 1)
        assert store.count_incidents() == 5


def test_an_import_the_store_refuses_leaves_it_as_it_was(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Store(url) as store:
        import_validated(store, validate_upload("good.csv", GOOD_CSV).validation)
    # A real failure half-way through the transaction: the database refuses the 5th new row.
    with sqlite3.connect(tmp_path / "store.db") as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON incidents WHEN (SELECT count(*) FROM incidents) >= 7 "
            "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
        )
    rows = b"incident_id,date\n" + b"".join(f"N-{i},2016-01-0{i}\n".encode() for i in range(1, 8))
    with Store(url) as store:
        with pytest.raises(
            StoreError, match=r"refused the incidents \(disk quota exceeded\); nothing was imported"
        ):
            import_validated(store, validate_upload("more.csv", rows).validation)
        assert sorted(store.incidents()["incident_id"]) == ["U-1", "U-2", "U-3"]


# --- the overview -----------------------------------------------------------------------------


def test_the_overview_growth_is_yoy_growth_of_the_latest_year():
    log = demo_incidents()
    result = incident_overview(log)
    assert result.window == "2016" and result.as_of == pd.Timestamp("2016-12-31") and result.notes == []
    expected = yoy_growth(log, by="incident_type")
    expected = expected[expected["period"] == "2016"].reset_index(drop=True)
    assert_frame_equal(result.growth_by_type, expected)
    assert len(result.findings) == 6 + 4
    assert result.findings[0].startswith("Account compromise incidents rose 27% in 2016 on a year earlier")


@pytest.mark.filterwarnings("ignore::surveykit.SmallSampleWarning")
def test_the_overview_to_a_period_end_and_for_one_country():
    log = demo_incidents()
    result = incident_overview(log, as_of="2016-06-30", country="GB")
    gb = log[log["country"] == "GB"]
    expected = yoy_growth(gb, by="incident_type", as_of="2016-06-30")
    expected = expected[expected["period"] == "2016"].reset_index(drop=True)
    assert_frame_equal(result.growth_by_type, expected)
    assert list(result.growth_by_country["country"]) == ["GB"]
    assert result.window == "January to June 2016" and result.trend["period"].iloc[-1] == "2016-06"
    # The counts of January to June by hand.
    first_half = gb[(gb["month"] <= 6).fillna(False)]
    assert list(result.counts["count"]) == list(first_half.groupby("year").size())
    with pytest.raises(SurveykitError, match="No stored incidents of other and GB"):
        incident_overview(log, incident_type="other", country="GB")


def test_a_one_year_log_gets_its_trend_and_a_note_instead_of_growth():
    log = demo_incidents()
    result = incident_overview(log[log["year"] == 2016])
    assert result.growth_by_type is None and result.trend is not None
    assert result.notes[0].startswith("No growth by incident type: No year in the log has the same year")
