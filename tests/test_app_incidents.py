"""The incidents page through AppTest, with real uploads (AppTest's file_uploader) and a real SQLite store."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile

import openpyxl
import pytest
from pandas.testing import assert_frame_equal

from surveykit import Store, load_demo, yoy_growth
from tests._apptest import start

PAGE = "app_pages/incidents.py"
GOOD = (
    b"incident_id,date,country,type\n"
    b"N-1,2016-03-01,GB,phishing\n"
    b"N-2,2016-03-02,US,malware\n"
    b"N-3,2016-04-01,ZA,whaling\n"
)
BAD = (
    b"incident_id,date,country,type\n"
    b"B-1,2016-03-01,GB,phishing\n"
    b"B-2,2016-13-01,GB,phishing\n"
    b"B-3,2016-03-05,XX,phishing\n"
    b"B-4,2016-03-06,US,malware\n"
)


def upload(at, name: str, data: bytes, mime: str = "application/octet-stream"):
    at.file_uploader[0].set_value((name, data, mime)).run()
    assert not at.exception
    return at


def stored(url: str) -> set[str]:
    with Store(url) as store:
        return set(store.incidents()["incident_id"])


def test_a_good_csv_is_previewed_then_imported_and_the_analysis_updates(db):
    with Store(db) as store:
        load_demo(store)
    at = start(PAGE, user="analyst")
    assert not at.exception
    assert at.caption[-1].value.startswith("3,940 incidents; growth compares 2016")
    upload(at, "new.csv", GOOD + b"DEMO-000001,2014-01-01,US,malware\n", "text/csv")
    assert stored(db) - {f"DEMO-{i:06d}" for i in range(1, 3941)} == set()  # nothing stored yet
    preview = at.dataframe[0].value
    assert list(preview["incident_id"]) == ["N-1", "N-2", "N-3", "DEMO-000001"]
    assert [m.value for m in at.metric] == ["4", "4", "0", "0", "1"]
    assert at.button(key="incidents_import").label == "Import 3 incidents"
    at.button(key="incidents_import").click().run()
    assert not at.exception
    assert at.success[0].value == (
        "Imported 3 incidents from new.csv; 1 incident already stored (same incident id) skipped."
    )
    assert len(stored(db)) == 3943 and {"N-1", "N-2", "N-3"} <= stored(db)
    assert at.caption[-1].value.startswith("3,943 incidents;")
    assert not at.file_uploader[0].value  # a fresh uploader for the next file


def test_a_stored_incident_with_other_details_is_shown_as_a_conflict_and_kept(db):
    # DEMO-000001 is stored as malware on 2014-01-03; the file says phishing on 2015-02-01.
    with Store(db) as store:
        load_demo(store)
    at = start(PAGE, user="analyst")
    upload(at, "changed.csv", GOOD + b"DEMO-000001,2015-02-01,US,phishing\n", "text/csv")
    at.button(key="incidents_import").click().run()
    assert not at.exception
    assert at.warning[0].value.startswith("1 stored incident had different details in changed.csv")
    with Store(db) as store:
        kept = store.incidents().set_index("incident_id").loc["DEMO-000001"]
    assert kept["incident_type"] == "malware"


def test_a_bad_file_shows_every_problem_and_stores_nothing_until_bad_rows_are_skipped(db):
    at = start(PAGE, user="analyst")
    assert at.info[-1].value.startswith("No incidents stored yet")
    upload(at, "bad.csv", BAD, "text/csv")
    problems = at.dataframe[0].value
    assert list(problems[["row", "column", "value"]].itertuples(index=False, name=None)) == [
        (2, "date", "2016-13-01"),
        (3, "country", "XX"),
    ]
    assert at.error[0].value.startswith("2 rows of bad.csv with problems (2 problems in all)")
    assert at.warning[0].value.startswith("bad.csv cannot be imported as it is: 2 rows with problems.")
    assert at.button(key="incidents_import").disabled
    assert stored(db) == set()
    at.checkbox(key="incidents_skip_bad").check().run()
    assert not at.button(key="incidents_import").disabled
    at.button(key="incidents_import").click().run()
    assert not at.exception
    assert stored(db) == {"B-1", "B-4"}
    assert at.success[0].value == "Imported 2 incidents from bad.csv."
    assert at.info[0].value == "2 bad rows left out, as asked."


def test_a_long_problem_list_is_offered_as_a_csv_download(db):
    rows = b"incident_id,date\n" + b"".join(f"L-{i},2016-02-{30 + i % 2}\n".encode() for i in range(25))
    at = upload(start(PAGE, user="analyst"), "long.csv", rows, "text/csv")
    assert len(at.dataframe[0].value) == 25
    button = at.get("download_button")[0]
    assert button.label == "Download all 25 problems (CSV)"
    assert button.proto.url.endswith(".csv")


def test_a_veris_zip_and_an_xlsx_are_imported(db):
    records = [
        {
            "incident_id": f"V-{n}",
            "timeline": {"incident": {"year": 2015, "month": 5, "day": 17}},
            "victim": {"country": ["GB"]},
            "action": {"malware": {"variety": ["Ransomware"]}},
        }
        for n in range(4)
    ]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as folder:
        for record in records:
            folder.writestr(f"vcdb/validated/{record['incident_id']}.json", json.dumps(record))
    at = upload(start(PAGE, user="analyst"), "vcdb.zip", archive.getvalue(), "application/zip")
    assert [m.value for m in at.metric][:3] == ["4", "4", "0"]
    at.button(key="incidents_import").click().run()
    assert stored(db) == {"V-0", "V-1", "V-2", "V-3"}

    book = openpyxl.Workbook()
    for row in [["Ticket", "Date", "Country", "Type"], ["X-1", "2016-01-05", "AU", "phishing"]]:
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    upload(at, "log.xlsx", data.getvalue())
    at.button(key="incidents_import").click().run()
    assert not at.exception and "X-1" in stored(db) and len(stored(db)) == 5


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("wrong.csv", b"ticket,when\nA,2016-01-01\n", "wrong.csv: The log has no date column"),
        ("empty.csv", b"", "empty.csv: the file is empty"),
        ("utf16.csv", "incident_id,date\n".encode("utf-16"), "utf16.csv: not a text file"),
        ("broken.xlsx", b"PK\x03\x04 truncated", "broken.xlsx: the workbook is damaged"),
        (
            "broken.json",
            b'{"incident_id": ',
            "broken.json: not valid JSON: Expecting value at line 1 column 17",
        ),
        ("evil.zip", None, "evil.zip: entry '../outside.json' points outside the archive's folder"),
    ],
)
def test_unreadable_files_show_a_short_message_and_no_traceback(db, name, data, message):
    if data is None:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as folder:
            folder.writestr("../outside.json", "{}")
        data = archive.getvalue()
    at = upload(start(PAGE, user="analyst"), name, data)
    assert at.error[0].value.startswith(message)
    assert not at.button and stored(db) == set()


def test_a_column_mapping_reads_headers_the_importer_does_not_know(db):
    at = start(PAGE, user="analyst")
    at.text_area(key="incidents_mapping").set_value("when = occurred_on\nticket = incident_id").run()
    upload(at, "mapped.csv", b"ticket,when\nA,2016-01-01\n", "text/csv")
    assert list(at.dataframe[0].value["incident_id"]) == ["A"]


def test_a_failed_import_shows_why_and_leaves_the_store_as_it_was(db, tmp_path):
    at = start(PAGE, user="analyst")  # creates the store's tables in the fixture's file
    with sqlite3.connect(tmp_path / "app.db") as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON incidents WHEN (SELECT count(*) FROM incidents) >= 2 "
            "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
        )
    upload(at, "new.csv", GOOD, "text/csv")
    at.button(key="incidents_import").click().run()
    assert not at.exception
    assert at.error[0].value == (
        "new.csv: The store refused the incidents (disk quota exceeded); nothing was imported. "
        "If another import is running, import them again when it has finished."
    )
    assert stored(db) == set()


def test_the_growth_tables_are_yoy_growth_of_the_stored_log_and_follow_the_filters(db):
    with Store(db) as store:
        load_demo(store)
        log = store.incidents()
    at = start(PAGE, user="analyst")
    at.selectbox(key="incidents_end").set_value("2016-06")
    at.selectbox(key="incidents_country").set_value("US").run()
    assert not at.exception
    us = log[log["country"] == "US"]
    expected = yoy_growth(us, by="incident_type", as_of="2016-06-30")
    expected = expected[expected["period"] == "2016"].reset_index(drop=True)
    table = at.dataframe[0].value
    assert list(table["incident_type"]) == [
        "Account compromise",
        "Data loss",
        "Email outage",
        "Malware",
        "Phishing",
        "Whaling/BEC",
    ]
    for column in ("estimate", "se", "ci_low", "ci_high", "rate_ratio", "p_value"):
        assert_frame_equal(
            table[[column]].astype(float), expected[[column]].astype(float), check_exact=False, rtol=1e-12
        )
    assert list(table["count"]) == list(expected["count"]) and list(table["method"]) == list(
        expected["method"]
    )
    assert list(at.dataframe[1].value["country"]) == ["US"]
    assert (
        at.markdown[0].value.startswith("- ")
        and "in January to June 2016 on a year earlier" in at.markdown[0].value
    )
    assert len(at.get("image")) == 3  # counts, trend and time to resolve


def test_the_incidents_page_needs_a_login(db):
    with Store(db) as store:
        load_demo(store)
    at = start(PAGE)
    assert not at.exception
    assert at.warning[0].value == "This page is for analysts. Log in first."
    assert not at.dataframe and not at.file_uploader
    assert at.text_input(key="login_username") is not None
