"""Importing responses from CSV/XLSX files (all-or-nothing, or skipping bad rows) and exporting them."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import pytest

from surveykit import ImportValidationError, Instrument, Store, export_responses, import_responses
from surveykit.exceptions import SurveykitError

HEADER = "wave,country,org_size,sector,role,whaling_trend,whaling_received,impersonated_roles,ciso_present,ciso_in_csuite,email_continuity,outages_12m\n"  # noqa: E501
GOOD = [
    "2016-12,US,lt250,finance,security,increased,yes,ceo cfo,yes,no,no,0",
    "2016-12,GB,5000_plus,retail,it_staff,same,no,,no,,yes,3",
    "2015-12,ZA,250_999,public,it_leader,decreased,yes,none_dont_know,dont_know,,no,1",
]


@pytest.fixture
def store(sqlite_url):
    with Store(sqlite_url) as opened:
        yield opened


def write(tmp_path, rows, header=HEADER, name="responses.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n", encoding=encoding)
    return path


def test_valid_csv_imports_every_row(store, tmp_path):
    report = import_responses(store, write(tmp_path, GOOD))
    assert (report.added, report.already_stored) == (3, 0)
    frame = store.responses()
    assert frame["country"].tolist() == ["US", "GB", "ZA"]
    assert frame["impersonated_roles__cfo"].tolist() == [True, pd.NA, False]
    assert frame["ciso_in_csuite"].tolist() == ["no", pd.NA, pd.NA]


def test_reimporting_the_same_file_adds_nothing(store, tmp_path):
    path = write(tmp_path, GOOD)
    import_responses(store, path)
    again = import_responses(store, path)
    assert (again.added, again.already_stored) == (0, 3)
    assert store.count_responses() == 3


def test_a_renamed_reordered_or_xlsx_copy_adds_nothing(store, tmp_path):
    # The probe: 3 responses became 15 when the key hashed the file name and row number.
    import_responses(store, write(tmp_path, GOOD))
    renamed = import_responses(store, write(tmp_path, GOOD, name="renamed.csv"))
    reordered = import_responses(store, write(tmp_path, GOOD[::-1], name="reordered.csv"))
    xlsx_path = tmp_path / "copy.xlsx"
    pd.read_csv(write(tmp_path, GOOD), dtype=str, keep_default_na=False).to_excel(xlsx_path, index=False)
    as_xlsx = import_responses(store, xlsx_path)
    assert [r.added for r in (renamed, reordered, as_xlsx)] == [0, 0, 0]
    assert store.count_responses() == 3


def test_identical_responses_in_one_file_stay_distinct_and_an_id_column_is_the_identity(store, tmp_path):
    twice = import_responses(store, write(tmp_path, [GOOD[0], GOOD[0]]))
    assert twice.added == 2
    assert import_responses(store, write(tmp_path, [GOOD[0], GOOD[0]], name="again.csv")).added == 0
    header = "respondent_id," + HEADER
    rows = [f"R-1,{GOOD[1]}", f"R-2,{GOOD[1].replace('GB', 'AU')}"]
    assert import_responses(store, write(tmp_path, rows, header=header, name="ids.csv")).added == 2
    # The same ids with other content: the id column, not the content, is the identity.
    changed = [f"R-1,{GOOD[2]}", f"R-2,{GOOD[2]}"]
    with pytest.raises(SurveykitError, match=r"already used for a different response"):
        import_responses(store, write(tmp_path, changed, header=header, name="ids2.csv"))
    assert store.count_responses() == 4


def test_bad_rows_abort_the_whole_import_and_name_row_column_value(store, tmp_path):
    rows = [*GOOD, "2016-12,FR,lt250,finance,security,increased,no,,no,,no,-1"]
    with pytest.raises(ImportValidationError) as info:
        import_responses(store, write(tmp_path, rows))
    problems = {(p.row, p.column, p.value) for p in info.value.problems}
    assert (4, "country", "FR") in problems
    assert (4, "outages_12m", "-1") in problems
    assert "row 4, column 'country' (value 'FR')" in str(info.value)
    assert store.count_responses() == 0


def test_skip_invalid_keeps_good_rows_and_writes_rejects(store, tmp_path):
    rows = [*GOOD, "2016-12,US,huge,finance,security,increased,no,,no,,no,0"]
    rejects = tmp_path / "rejects.csv"
    report = import_responses(store, write(tmp_path, rows), skip_invalid=True, rejects_path=rejects)
    assert report.added == 3
    assert store.count_responses() == 3
    written = pd.read_csv(rejects)
    assert written.to_dict("records") == [
        {"row": 4, "column": "org_size", "value": "huge",
         "reason": "'huge' is not one of ['lt250', '250_999', '1000_4999', '5000_plus']"}
    ]  # fmt: skip


def test_missing_required_column_is_one_clear_error(store, tmp_path):
    header = HEADER.replace(",sector", "")
    rows = [r.replace(",finance", "").replace(",retail", "").replace(",public", "") for r in GOOD]
    with pytest.raises(ImportValidationError, match="required question 'sector' has no column"):
        import_responses(store, write(tmp_path, rows, header=header))
    assert store.count_responses() == 0


def test_unknown_column_and_missing_wave_are_reported(store, tmp_path):
    header = HEADER.replace("wave,", "").replace("role,", "job,")
    rows = [r.split(",", 1)[1] for r in GOOD]
    with pytest.raises(ImportValidationError) as info:
        import_responses(store, write(tmp_path, rows, header=header))
    assert "column 'job' is not a question" in str(info.value)
    assert "no 'wave' column" in str(info.value)


def test_wave_option_fills_rows_without_one(store, tmp_path):
    header = HEADER.replace("wave,", "")
    rows = [r.split(",", 1)[1] for r in GOOD]
    import_responses(store, write(tmp_path, rows, header=header), wave="2017-06")
    assert store.waves() == ["2017-06"]


def test_semicolon_latin1_and_boolean_columns(store, tmp_path):
    header = (
        "wave;country;org_size;sector;role;whaling_trend;whaling_received;impersonated_roles__ceo;"
        "impersonated_roles__cfo;ciso_present;email_continuity;outages_12m;longest_outage_hours\n"
    )
    rows = ["2016-12;AU;lt250;other;other;increased;yes;1;0;no;no;1;2.5"]
    path = write(tmp_path, rows, header=header, encoding="latin-1")
    import_responses(store, path)
    frame = store.responses()
    assert frame.loc[0, "impersonated_roles__ceo"] and not frame.loc[0, "impersonated_roles__cfo"]
    assert frame.loc[0, "longest_outage_hours"] == 2.5


def test_xlsx_import_matches_csv(tmp_path, sqlite_url):
    csv_path = write(tmp_path, GOOD)
    xlsx_path = tmp_path / "responses.xlsx"
    pd.read_csv(csv_path, dtype=str).to_excel(xlsx_path, index=False)
    with Store(sqlite_url) as first, Store(str(tmp_path / "other.db")) as second:
        import_responses(first, csv_path)
        import_responses(second, xlsx_path)
        drop = ["respondent_id", "submitted_at"]
        pd.testing.assert_frame_equal(
            first.responses().drop(columns=drop), second.responses().drop(columns=drop)
        )


def test_export_round_trip(store, tmp_path):
    import_responses(store, write(tmp_path, GOOD))
    out = tmp_path / "out.xlsx"
    assert export_responses(store, out) == 3
    back = pd.read_excel(out)
    assert back["country"].tolist() == ["US", "GB", "ZA"]
    assert export_responses(store, tmp_path / "out.csv", wave=["2015-12"]) == 1
    with pytest.raises(SurveykitError, match=r"writes \.csv or \.xlsx"):
        export_responses(store, tmp_path / "out.parquet")


@pytest.mark.parametrize("name", ["out.csv", "out.xlsx"])
def test_export_into_a_missing_folder_names_the_folder(store, tmp_path, name):
    import_responses(store, write(tmp_path, GOOD))
    target = tmp_path / "absent" / name
    with pytest.raises(SurveykitError, match=r"the folder '.*absent' does not exist; create it first"):
        export_responses(store, target)
    assert not target.parent.exists()


def test_export_under_a_file_says_it_is_not_a_folder(store, tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("")
    with pytest.raises(SurveykitError, match=r"the folder '.*taken' is not a folder"):
        export_responses(store, blocker / "out.csv")


def test_rejects_into_a_missing_folder_fails_before_storing(store, tmp_path):
    rows = [*GOOD, "2016-12,US,huge,finance,security,increased,no,,no,,no,0"]
    rejects = tmp_path / "absent" / "rejects.csv"
    with pytest.raises(SurveykitError, match=r"Cannot write the rejects to .*the folder '.*absent' does not"):
        import_responses(store, write(tmp_path, rows), skip_invalid=True, rejects_path=rejects)
    assert store.count_responses() == 0


# Formula injection (OWASP "CSV injection"): text a spreadsheet would run as a formula.
PAYLOADS = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]


def payload_instrument() -> Instrument:
    questions = [
        {"id": "country", "type": "select_one", "text": "Country?", "choices": ["US", "GB"]},
        {"id": "comment", "type": "text", "text": "Anything else?", "required": False},
        {"id": "outages", "type": "integer", "text": "Outages?", "required": False, "minimum": -5},
    ]
    return Instrument.from_dict({"id": "payloads", "version": 1, "title": "P", "questions": questions})


def write_payloads(tmp_path):
    path = tmp_path / "payloads.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["wave", "country", "comment", "outages"])
        writer.writerows([payload, "US", payload, -2] for payload in PAYLOADS)
    return path


def test_export_neutralises_formula_text_in_csv(store, tmp_path):
    import_responses(store, write_payloads(tmp_path), instrument=payload_instrument())
    out = tmp_path / "out.csv"
    export_responses(store, out)
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["wave"] for r in rows) == sorted("'" + p for p in PAYLOADS)
    assert sorted(r["comment"] for r in rows) == sorted("'" + p for p in PAYLOADS)
    assert {r["outages"] for r in rows} == {"-2"}  # a number, not text: left alone
    assert {r["country"] for r in rows} == {"US"}


def test_export_neutralises_formula_text_in_xlsx(store, tmp_path):
    import_responses(store, write_payloads(tmp_path), instrument=payload_instrument())
    out = tmp_path / "out.xlsx"
    export_responses(store, out)
    sheet = openpyxl.load_workbook(out).active
    header = [cell.value for cell in sheet[1]]
    cells = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert len(cells) == len(PAYLOADS)
    for row in cells:
        for name in ("wave", "comment"):
            assert row[name].data_type == "s", (name, row[name].value)
            assert row[name].value.startswith("'")
        assert row["outages"].value == -2 and row["outages"].data_type == "n"
    assert sorted(row["wave"].value for row in cells) == sorted("'" + p for p in PAYLOADS)
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)


def test_rejects_file_neutralises_the_rejected_values(store, tmp_path):
    rows = [*GOOD, "2016-12,=1+1,lt250,finance,security,increased,no,,no,,no,0"]
    rejects = tmp_path / "rejects.csv"
    import_responses(store, write(tmp_path, rows), skip_invalid=True, rejects_path=rejects)
    with rejects.open(newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["row"], row["column"], row["value"]) == ("4", "country", "'=1+1")
