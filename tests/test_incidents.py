"""Reading, validating and importing incident logs (CSV and XLSX) into the canonical schema."""

from __future__ import annotations

import csv
import json
import warnings
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from surveykit import (
    INCIDENT_COLUMNS,
    ImportValidationError,
    Store,
    SurveykitError,
    _tabular,
    default_instrument,
    demo_incidents,
    import_incidents,
    read_incidents,
    validate_incidents,
)
from surveykit.incidents.schema import INCIDENT_DTYPES

HEADER = [
    "Ticket",
    "Date",
    "Country",
    "Region",
    "Category",
    "Impersonated",
    "Severity",
    "Opened",
    "Closed",
    "Loss",
]
ROWS = [
    ["INC-1", "2015-03-04", "US", "021", "BEC", "CEO", "High",
     "2015-03-04 09:30", "2015-03-05 10:00", "25,000.50"],
    ["INC-2", "2015-11", "gb", "Northern Europe", "phishing", "", "low", "", "", ""],
    ["INC-3", "2016-02-29", "ZA", "", "Email outage", "", "critical", "2016-02-29 22:00", "", ""],
    ["INC-4", "2016-07-01", "Unknown", "150154", "ransomware", "", "",
     "2016-07-01T08:00:00+02:00", "2016-07-01 12:00", "0"],
]  # fmt: skip


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_csv_reads_into_the_canonical_schema(tmp_path: Path) -> None:
    log = read_incidents(_write_csv(tmp_path / "log.csv", ROWS))
    assert list(log.columns) == INCIDENT_COLUMNS
    assert {c: str(t) for c, t in log.dtypes.items()} == {
        c: ("string" if t == "string" else t) for c, t in INCIDENT_DTYPES.items()
    }
    first, second, third, fourth = (log.iloc[i] for i in range(4))
    assert (first["incident_id"], first["incident_type"], first["impersonated_role"]) == (
        "INC-1",
        "whaling_bec",
        "ceo",
    )
    assert first["occurred_on"] == pd.Timestamp("2015-03-04") and first["loss_amount"] == 25000.5
    assert first["resolved_at"] - first["detected_at"] == pd.Timedelta(hours=24, minutes=30)
    # a year-month date keeps the month; the day and the full date stay unknown, never invented
    assert (second["year"], second["month"]) == (2015, 11)
    assert pd.isna(second["day"]) and pd.isna(second["occurred_on"])
    assert (second["country"], second["region"]) == ("GB", "154")
    assert third["incident_type"] == "email_outage" and pd.isna(third["resolved_at"])
    assert pd.isna(fourth["country"]) and fourth["region"] == "154"
    # +02:00 converted to naive UTC
    assert fourth["detected_at"] == pd.Timestamp("2016-07-01 06:00")
    assert (log["source"] == "log.csv").all()


def test_uk_is_read_as_the_iso_code_gb_like_the_survey(tmp_path: Path) -> None:
    rows = [[r[0], r[1], "uk" if i == 0 else r[2], *r[3:]] for i, r in enumerate(ROWS)]
    log = read_incidents(_write_csv(tmp_path / "log.csv", rows))
    assert log["country"].iloc[0] == "GB"
    assert "GB" in default_instrument()["country"].choice_names


@pytest.mark.parametrize(("sep", "encoding"), [(";", "utf-8-sig"), ("\t", "latin-1"), ("|", "utf-8")])
def test_delimiter_and_encoding_are_sniffed(tmp_path: Path, sep: str, encoding: str) -> None:
    rows = [r[:] for r in ROWS]
    rows[0][9] = "25000.50"  # a comma would be the delimiter's business only with sep=","
    path = tmp_path / "log.csv"
    lines = [sep.join([*HEADER, "Source"])] + [sep.join([*r, "Sécurité"]) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    log = read_incidents(path)
    assert len(log) == 4 and log["loss_amount"].iloc[0] == 25000.5
    assert (log["source"] == "Sécurité").all()


def _write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    """The same incidents, with dates as Excel date cells, serial numbers and text."""
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    book.active["A1"] = "exported from the helpdesk"
    sheet = book.create_sheet("Incidents")
    sheet.append(HEADER)
    for i, row in enumerate(rows):
        cells: list[object] = list(row)
        if row[1].count("-") == 2 and i % 2 == 0:
            cells[1] = datetime.fromisoformat(row[1])  # a real date cell
        elif row[1].count("-") == 2:
            serial = (pd.Timestamp(row[1]) - pd.Timestamp("1899-12-30")).days
            cells[1] = serial  # an Excel serial number in a plain number cell
        if row[7] and "+" not in row[7]:
            cells[7] = datetime.fromisoformat(row[7])
        cells[9] = float(row[9].replace(",", "")) if row[9] else None
        cells = [None if c == "" else c for c in cells]
        sheet.append(cells)
    book.save(path)
    return path


def test_csv_and_xlsx_with_the_same_incidents_give_identical_frames(tmp_path: Path) -> None:
    from_csv = read_incidents(_write_csv(tmp_path / "log.csv", ROWS), source="helpdesk")
    from_xlsx = read_incidents(_write_xlsx(tmp_path / "log.xlsx", ROWS), sheet="Incidents", source="helpdesk")
    pd.testing.assert_frame_equal(from_csv, from_xlsx)
    with pytest.raises(SurveykitError, match=r"no sheet 'Log'; its sheets are 'Notes', 'Incidents'\."):
        read_incidents(tmp_path / "log.xlsx", sheet="Log")


def test_demo_log_round_trips_through_csv(tmp_path: Path) -> None:
    demo = demo_incidents(seed=11)
    path = tmp_path / "demo.csv"
    demo.to_csv(path, index=False)
    pd.testing.assert_frame_equal(read_incidents(path), demo)


def test_every_bad_row_is_reported(tmp_path: Path) -> None:
    rows = [
        *ROWS,
        ["INC-5", "31/12/2016", "USA", "999", "spam", "boss", "urgent", "2016-01-02", "2016-01-01", "-5"],
        ["INC-6", "", "US", "", "", "", "", "", "", "1.234,50"],
        ["INC-1", "2015-03-05", "US", "", "", "", "", "", "", ""],
    ]
    path = _write_csv(tmp_path / "log.csv", rows)
    with pytest.raises(ImportValidationError) as caught:
        read_incidents(path)
    problems = {(p.row, p.column, p.value) for p in caught.value.problems}
    assert problems == {
        (5, "Date", "31/12/2016"), (5, "Country", "USA"), (5, "Region", "999"),
        (5, "Category", "spam"), (5, "Impersonated", "boss"), (5, "Severity", "urgent"),
        (5, "Closed", "2016-01-01"), (5, "Loss", "-5"),
        (6, "Date", ""), (6, "Loss", "1.234,50"),
        (7, "Ticket", "INC-1"),
    }  # fmt: skip
    assert "date_format=" in str(caught.value) and "row 5, column 'Country'" in str(caught.value)
    checked = validate_incidents(path)
    assert list(checked.incidents["incident_id"]) == ["INC-1", "INC-2", "INC-3", "INC-4"]
    fixed = read_incidents(
        _write_csv(tmp_path / "dmy.csv", [rows[4][:1] + ["31/12/2016"] + [""] * 8]), date_format="%d/%m/%Y"
    )
    assert fixed["occurred_on"].iloc[0] == pd.Timestamp("2016-12-31")


def test_mapping_names_headers_the_aliases_miss(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("Ref No,Raised,Where\nA-1,2016-05-01,AU\n")
    with pytest.raises(SurveykitError, match="no date column"):
        read_incidents(path)
    log = read_incidents(path, mapping={"Ref No": "incident_id", "Raised": "occurred_on", "Where": "country"})
    assert (log["incident_id"].iloc[0], log["country"].iloc[0]) == ("A-1", "AU")
    with pytest.raises(SurveykitError, match="not a canonical column"):
        read_incidents(path, mapping={"Raised": "when"})
    with pytest.raises(SurveykitError, match="not in the file"):
        read_incidents(path, mapping={"Opened": "occurred_on"})


def test_logs_without_ids_get_stable_content_ids(tmp_path: Path) -> None:
    path = tmp_path / "noid.csv"
    path.write_text(
        "date,type,country\n2016-01-05,phishing,US\n2016-01-05,phishing,US\n2016-01-06,malware,US\n"
    )
    first, again = read_incidents(path), read_incidents(path)
    assert first["incident_id"].is_unique and len(first) == 3  # identical rows stay two incidents
    pd.testing.assert_series_equal(first["incident_id"], again["incident_id"])
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes(path.read_bytes())
    assert list(read_incidents(renamed)["incident_id"]) == list(first["incident_id"])


def test_unreadable_inputs_raise_surveykit_errors(tmp_path: Path) -> None:
    with pytest.raises(SurveykitError, match="No incident log"):
        read_incidents(tmp_path / "missing.csv")
    (tmp_path / "log.pdf").write_text("x")
    with pytest.raises(SurveykitError, match="format="):
        read_incidents(tmp_path / "log.pdf")
    with pytest.raises(
        SurveykitError, match=r"format must be one of \['csv', 'xlsx', 'parquet', 'veris'\]; got 'xls'"
    ):
        read_incidents(tmp_path / "log.pdf", format="xls")
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    with pytest.raises(SurveykitError, match="not a readable XLSX"):
        read_incidents(tmp_path / "fake.xlsx")


def test_import_is_all_or_nothing_and_idempotent(tmp_path: Path, sqlite_url: str) -> None:
    store = Store(sqlite_url)
    bad = _write_csv(tmp_path / "bad.csv", [*ROWS, ["INC-9", "2016-13-01", "US", "", "", "", "", "", "", ""]])
    with pytest.raises(ImportValidationError, match="nothing imported"):
        import_incidents(store, bad)
    assert store.count_incidents() == 0

    rejects = tmp_path / "rejects.csv"
    report = import_incidents(store, bad, skip_invalid=True, rejects_path=rejects)
    assert (report.added, report.skipped_duplicates, len(report.rejected)) == (4, 0, 1)
    written = pd.read_csv(rejects)
    assert list(written.columns) == ["row", "column", "value", "reason"]
    assert written.iloc[0][["row", "column", "value"]].tolist() == [5, "Date", "2016-13-01"]
    assert "rejected" in report.summary() and str(rejects) in report.summary()

    good = _write_csv(tmp_path / "good.csv", ROWS)
    again = import_incidents(store, good)
    assert (again.added, again.skipped_duplicates) == (0, 4)
    stored = store.incidents()
    expected = read_incidents(good, source="bad.csv")  # stored first, from bad.csv
    pd.testing.assert_frame_equal(
        stored.reset_index(drop=True), expected.sort_values("incident_id").reset_index(drop=True)
    )


def test_timestamps_need_a_full_date(tmp_path: Path) -> None:
    # ISO 8601 parsers read "2016-03" as 1 March; a day never given must not be invented.
    path = tmp_path / "log.csv"
    path.write_text(
        "id,date,detected,resolved\n1,2016-03,2016-03,\n2,2016-03-02,2016-03-02 10:00,2016-03-02 11:30\n"
    )
    problems = {(p.row, p.column, p.value) for p in validate_incidents(path).problems}
    assert problems == {(1, "detected", "2016-03")}


def test_values_that_look_valid_but_are_not_get_a_precise_reason(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "id,date,opened,region,loss\n"
        "1,2015-02-29,,,\n"  # ISO form, but 2015 has no 29 February
        "2,2016-03-01,2016-03-01 25:00,,\n"
        "3,2016-03-01,,922154,\n"  # a NAICS code must not pass for Northern Europe (154)
        "4,2016-03-01,,019201,\n"  # 201 is no M.49 sub-region; strict CSV reports it
        "5,2016-03-01,,,inf\n"
        "6,2016-03-01,,,1e400\n"
        "7,2016-03-01,,150154,250\n"
    )
    store = Store(sqlite_url)
    with pytest.raises(ImportValidationError) as caught:
        import_incidents(store, path)
    assert store.count_incidents() == 0
    reasons = {(p.row, p.column, p.value): p.reason for p in caught.value.problems}
    assert set(reasons) == {
        (1, "date", "2015-02-29"), (2, "opened", "2016-03-01 25:00"), (3, "region", "922154"),
        (4, "region", "019201"), (5, "loss", "inf"), (6, "loss", "1e400"),
    }  # fmt: skip
    assert "no such date or time" in reasons[(1, "date", "2015-02-29")]
    assert "no such date or time" in reasons[(2, "opened", "2016-03-01 25:00")]
    assert "finite" in reasons[(5, "loss", "inf")]


def test_day_without_month_names_the_day(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("id,year,month,day\n1,2015,,17\n")
    [problem] = validate_incidents(path).problems
    assert (problem.row, problem.column, problem.value) == (1, "day", "17")
    assert "without a month" in problem.reason


def test_xlsx_number_that_is_no_date_is_named(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["id", "date"])
    book.active.append(["A", 20000000])  # far past any Excel date
    book.save(tmp_path / "log.xlsx")
    [problem] = validate_incidents(tmp_path / "log.xlsx").problems
    assert (problem.row, problem.column, problem.value) == (1, "date", "20000000")
    assert "not an Excel date" in problem.reason


def test_rejects_file_neutralises_formula_text(tmp_path: Path, sqlite_url: str) -> None:
    bad = _write_csv(tmp_path / "bad.csv", [*ROWS, ["INC-9", "=1+1", "US", "", "", "", "", "", "", ""]])
    rejects = tmp_path / "rejects.csv"
    import_incidents(Store(sqlite_url), bad, skip_invalid=True, rejects_path=rejects)
    with rejects.open(newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["row"], row["column"], row["value"]) == ("5", "Date", "'=1+1")


def test_xlsx_dates_outside_the_storable_range_are_problems_not_crashes(tmp_path: Path) -> None:
    # Found by tests/test_fuzz_inputs.py: serial -81183 is 1677-09-21, before pandas' first nanosecond.
    import datetime as dt

    book = openpyxl.Workbook()
    book.active.append(["incident_id", "date", "detected"])
    book.active.append(["A", -81183, dt.datetime(1600, 1, 1)])
    book.save(tmp_path / "old.xlsx")
    with pytest.raises(ImportValidationError) as raised:
        read_incidents(tmp_path / "old.xlsx")
    reasons = {p.column: p.reason for p in raised.value.problems}
    assert reasons["date"].startswith("occurred_on is a number but not an Excel date")
    assert reasons["detected"].startswith("detected_at is a date before 1678")


def test_a_stored_id_with_changed_details_is_reported_as_a_conflict(tmp_path: Path) -> None:
    from surveykit import Store, import_incidents

    first = tmp_path / "first.csv"
    first.write_text("incident_id,date,country,loss\nA-1,2016-03-01,US,100\nA-2,2016-03-02,GB,\n")
    second = tmp_path / "renamed.csv"
    second.write_text("incident_id,date,country,loss\nA-2,2016-03-02,GB,\nA-1,2016-03-01,US,250\n")
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        import_incidents(store, first)
        report = import_incidents(store, second)
        assert (report.added, report.already_stored, report.conflicts) == (0, ["A-1", "A-2"], ["A-1"])
        assert "conflict: 1 stored incident ids have different details" in report.summary()
        assert "'A-1'" in report.summary()
        assert store.incidents().set_index("incident_id").loc["A-1", "loss_amount"] == 100


def test_a_csv_that_is_not_utf8_is_read_by_the_fallback_decoders(tmp_path):
    # pyarrow reads plain UTF-8 files; a Windows-1252 header or cell goes to the pandas reader.
    path = tmp_path / "cp1252.csv"
    path.write_bytes(b"id,date,r\xe9gion,country\nT-1,2015-03-01,x,GB\nT-2,2016-01-02,y,US\n")
    log = read_incidents(path)
    assert list(log["incident_id"]) == ["T-1", "T-2"]
    (tmp_path / "junk.csv").write_bytes(b"\x80\n")
    with pytest.raises(SurveykitError, match="no date column"):
        read_incidents(tmp_path / "junk.csv")


@pytest.mark.parametrize("name", ["dirty_incidents_cp1252", "dirty_incidents_utf8", "tidy_incidents_utf8"])
def test_a_dirty_log_reads_exactly_as_before_the_arrow_checks(tmp_path: Path, name: str) -> None:
    # Expected output stored from the reader that checked every column in pandas (main at 4344abc):
    # see tests/results/dirty_incidents.py. Bad and partial dates, mixed date forms, unknown countries,
    # blanks, repeated and clashing ids, NUL and Windows-1252 bytes.
    from tests.results import dirty_incidents

    results = Path(__file__).parent / "results"
    encoding, with_ids, odd_share = dirty_incidents.LOGS[name]
    path = dirty_incidents.write(tmp_path / f"{name}.csv", encoding, with_ids, odd_share)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checked = validate_incidents(path)
    expected = pd.read_parquet(results / f"{name}_expected.parquet")
    pd.testing.assert_frame_equal(checked.incidents, expected)
    problems = checked.problems_frame().astype({"row": str})
    stored = pd.read_csv(results / f"{name}_problems.csv.gz", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(problems.astype(str), stored, check_dtype=False)
    counts = json.loads((results / f"{name}_counts.json").read_text())
    assert (checked.duplicates, checked.rows) == (counts["duplicates"], counts["rows"])


def test_dates_pandas_reads_at_a_coarser_unit_are_problems_not_crashes(tmp_path: Path) -> None:
    # pandas 3 reads 0001-01-01 and 1600-01-01 (outside datetime64[ns]) at second resolution; the
    # reader used to crash putting them beside nanosecond stamps.
    path = tmp_path / "old.csv"
    path.write_text(
        "id,date,opened\nA,0001-01-01,\nB,2015-01-01,1600-01-01 00:00:00\nC,2015-01-02,2015-01-01 10:00\n"
        "D,9999-12-31,\nE,2015-01-03,0001-01-01\n"
    )
    checked = validate_incidents(path)
    assert list(checked.incidents["incident_id"]) == ["C"]
    far = "detected_at is a date before 1678 or after 2261, outside the range that can be stored"
    assert [(p.row, p.column, p.value, p.reason) for p in checked.problems] == [
        (1, "date", "0001-01-01", f"the year must be between 1970 and {date.today().year + 1}"),
        (2, "opened", "1600-01-01 00:00:00", far),
        (4, "date", "9999-12-31", f"the year must be between 1970 and {date.today().year + 1}"),
        (5, "opened", "0001-01-01", far),
    ]


def test_a_long_log_with_a_few_bad_cells_names_each_of_them(tmp_path: Path) -> None:
    # 120,000 rows (pyarrow reads them in several blocks), mostly canonical, with one impossible
    # date in a column of canonical ones (the parsers then read that cell).
    n = 120_000
    days = pd.Timestamp("2015-01-01") + pd.to_timedelta(pd.RangeIndex(n) % 700, unit="D")
    frame = pd.DataFrame(
        {
            "id": [f"T-{i}" for i in range(n)],
            "date": days.strftime("%Y-%m-%d"),
            "country": ["US", "GB"] * (n // 2),
            "opened": (days + pd.Timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S"),
            "closed": "",
        }
    )
    frame.loc[7, "date"] = "2015-02-29"
    frame.loc[99_999, "opened"] = "2015-04-31 10:00:00"
    frame.loc[50_000, "closed"] = "2014-01-01 00:00:00"
    frame.loc[60_000, "id"] = "T-1"
    frame.loc[70_000, "country"] = "XX"
    frame.to_csv(tmp_path / "long.csv", index=False)
    checked = validate_incidents(tmp_path / "long.csv")
    assert [(p.row, p.column) for p in checked.problems] == [
        (8, "date"), (50_001, "closed"), (60_001, "id"), (70_001, "country"), (100_000, "opened"),
    ]  # fmt: skip
    assert len(checked.incidents) == n - 5
    kept = checked.incidents.set_index("incident_id")
    assert kept.loc["T-8", "occurred_on"] == pd.Timestamp(days[8])
    assert kept.loc["T-8", "detected_at"] == pd.Timestamp(days[8]) + pd.Timedelta(hours=9)
    assert (kept["year"] == kept["occurred_on"].dt.year).all()


@pytest.mark.parametrize("descending", [False, True], ids=["up", "down"])
def test_ids_in_ticket_order_are_still_checked_for_repeats(tmp_path: Path, descending: bool) -> None:
    # INC-9 then INC-10: numbered tickets run by length, then text. A log in that order (or its
    # reverse) has distinct ids without sorting; one repeat anywhere must still be found.
    ids = [f"INC-{i}" for i in range(1, 25)]
    ids = ids[::-1] if descending else ids

    def check(rows: list[tuple[str, str]]) -> tuple[list[tuple[int, str]], int, int]:
        frame = pd.DataFrame(rows, columns=["id", "date"]).assign(country="US")
        frame.to_csv(tmp_path / "log.csv", index=False)
        checked = validate_incidents(tmp_path / "log.csv")
        return [(p.row, p.reason) for p in checked.problems], checked.duplicates, len(checked.incidents)

    assert check([(i, "2016-01-01") for i in ids]) == ([], 0, 24)
    # The same incident twice, side by side: one is dropped as a repeat.
    twice = (
        [(i, "2016-01-01") for i in ids[:12]]
        + [(ids[11], "2016-01-01")]
        + [(i, "2016-01-01") for i in ids[12:]]
    )
    assert check(twice) == ([], 1, 24)
    # An id used again at the end for another incident: that row is refused.
    clash = [(i, "2016-01-01") for i in ids] + [(ids[3], "2016-05-05")]
    problems, duplicates, kept = check(clash)
    assert problems == [(25, "this incident id is used by an earlier row with different details")]
    assert (duplicates, kept) == (0, 24)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"], ids=["pyarrow", "pandas"])
def test_a_progress_bar_reads_the_same_log_on_the_fast_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    # The CLI shows a bar in a terminal; it must not cost the fast reader (UTF-8) or change the
    # result, and the fallback reader (another encoding) counts its rows on the same bar.
    rows = [*ROWS, ["INC-5", "2016-08-01", "ZA", "", "phishing", "", "low", "", "", "R 1 200"]]
    path = tmp_path / "log.csv"
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle)
        writer.writerow([*HEADER[:-1], "Loss \N{EURO SIGN}" if encoding == "cp1252" else "Loss"])
        writer.writerows(rows)
    mapping = {"Loss \N{EURO SIGN}": "loss_amount"} if encoding == "cp1252" else None
    quiet = validate_incidents(path, mapping=mapping)
    capsys.readouterr()
    if encoding == "utf-8":  # pyarrow reads it whole, bar or no bar; pandas is never asked

        def refuse(*args: object) -> None:
            raise AssertionError("the pandas reader was used")

        monkeypatch.setattr(_tabular, "_read_with_pandas", refuse)
    shown = validate_incidents(path, mapping=mapping, progress=True)
    bar = capsys.readouterr().err
    pd.testing.assert_frame_equal(shown.incidents, quiet.incidents)
    assert shown.problems == quiet.problems
    assert "Reading log.csv" in bar and "5 rows" in bar
