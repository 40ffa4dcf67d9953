"""Formula injection (OWASP "CSV injection"): payloads written through every CSV and XLSX writer
of surveykit and the app, then read back with the csv module and openpyxl.

A cell is safe when it is not a formula (openpyxl ``data_type`` "f") and its text does not start
with a character a spreadsheet reads as the start of a formula, unless an apostrophe comes first.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from surveykit import Instrument, Store, demo_margins, export_responses, import_responses, write_workbook
from surveykit._spreadsheet import FORMULA_TRIGGERS, csv_bytes, write_csv, write_xlsx
from surveykit.incidents.importing import import_incidents
from surveykit.incidents.uploads import problems_csv, validate_upload
from tests._apptest import start

PAYLOADS = [
    '=HYPERLINK("http://x","y")',
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "\uff1dSUM(1+1)",  # full-width equals sign
    "\uff20SUM(1+1)",
]
"""Text a spreadsheet would run: the probe's three, a signed formula, the whitespace and
full-width variants."""

PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def unsafe_text(value: object) -> bool:
    """Whether a cell's text would run as a formula in a spreadsheet program."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(value)


def csv_cells(data: bytes | Path) -> list[str]:
    raw = data.read_bytes() if isinstance(data, Path) else data
    return [cell for row in csv.reader(io.StringIO(raw.decode("utf-8"), newline="")) for cell in row]


def xlsx_cells(data: bytes | Path) -> list[openpyxl.cell.Cell]:
    book = openpyxl.load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data)
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def assert_csv_safe(data: bytes | Path, expected: list[str]) -> None:
    cells = csv_cells(data)
    assert [cell for cell in cells if unsafe_text(cell)] == []
    for payload in expected:  # every payload is still there, readable as typed
        assert "'" + payload in cells, payload


def assert_xlsx_safe(data: bytes | Path, expected: list[str]) -> None:
    cells = xlsx_cells(data)
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    assert [cell.value for cell in cells if unsafe_text(cell.value)] == []
    values = {cell.value for cell in cells}
    for payload in expected:  # XML reads a carriage return as a line feed
        assert "'" + payload.replace("\r", "\n") in values, payload


def test_the_checks_see_a_live_formula(tmp_path):
    """The checks above fail on a file written the plain way."""
    frame = pd.DataFrame({"comment": PAYLOADS})
    frame.to_csv(tmp_path / "raw.csv", index=False)
    with pytest.raises(AssertionError):
        assert_csv_safe(tmp_path / "raw.csv", PAYLOADS)
    book = openpyxl.Workbook()
    book.active["A1"] = PAYLOADS[0]
    book.save(tmp_path / "raw.xlsx")
    assert xlsx_cells(tmp_path / "raw.xlsx")[0].data_type == "f"
    with pytest.raises(AssertionError):
        assert_xlsx_safe(tmp_path / "raw.xlsx", [])


def test_numbers_stay_numbers(tmp_path):
    frame = pd.DataFrame({"delta": [-2, 3], "text": ["-2", "+1.5e3"], "ratio": [-0.5, 1.0]})
    write_csv(frame, tmp_path / "n.csv", "the test")
    write_xlsx(frame, tmp_path / "n.xlsx", "the test", sheet_name="n")
    with (tmp_path / "n.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["delta"] for r in rows] == ["-2", "3"] and [r["text"] for r in rows] == ["-2", "+1.5e3"]
    sheet = openpyxl.load_workbook(tmp_path / "n.xlsx").active
    assert [(c.value, c.data_type) for c in sheet["A"][1:]] == [(-2, "n"), (3, "n")]
    assert [c.value for c in sheet["B"][1:]] == ["-2", "+1.5e3"]
    assert [c.value for c in sheet["C"][1:]] == [-0.5, 1.0]


def test_the_writers_neutralise_headers_and_cells(tmp_path):
    frame = pd.DataFrame({"=header": PAYLOADS, "n": range(len(PAYLOADS))})
    write_csv(frame, tmp_path / "w.csv", "the test")
    write_xlsx(frame, tmp_path / "w.xlsx", "the test", sheet_name="w")
    assert_csv_safe(tmp_path / "w.csv", [*PAYLOADS, "=header"])
    assert_xlsx_safe(tmp_path / "w.xlsx", [*PAYLOADS, "=header"])
    assert csv_bytes(frame) == (tmp_path / "w.csv").read_bytes()


def payload_instrument() -> Instrument:
    questions = [
        {"id": "country", "type": "select_one", "text": "Country?", "choices": ["US", "GB"]},
        {"id": "comment", "type": "text", "text": "Anything else?", "required": False},
    ]
    return Instrument.from_dict({"id": "payloads", "version": 1, "title": "P", "questions": questions})


def test_responses_export_and_rejects(tmp_path):
    source = tmp_path / "in.csv"
    # The wave and a free-text answer carry payloads; a bad country is rejected with its value.
    rows = [[f"w{i}", "US", payload] for i, payload in enumerate(PAYLOADS)]
    rows += [["=1+2", "US", "fine"], ["2016-12", "=HYPERLINK(1)", "x"]]
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["wave", "country", "comment"], *rows])
    rejects = tmp_path / "rejects.csv"
    with Store(str(tmp_path / "r.db")) as store:
        import_responses(
            store, source, instrument=payload_instrument(), skip_invalid=True, rejects_path=rejects
        )
        export_responses(store, tmp_path / "out.csv")
        export_responses(store, tmp_path / "out.xlsx")
    # Whether the import keeps a leading tab or carriage return is the importer's business; the
    # check for live formulas covers those cells either way.
    expected = ["=1+2", *[p for p in PAYLOADS if not p.startswith(("\t", "\r"))]]
    assert_csv_safe(tmp_path / "out.csv", expected)
    assert_xlsx_safe(tmp_path / "out.xlsx", expected)
    assert_csv_safe(rejects, ["=HYPERLINK(1)"])


def test_incident_rejects_and_upload_problems(tmp_path):
    log = tmp_path / "log.csv"
    rows = [["A-1", "2016-03-01"], ["A-2", PAYLOADS[0]], ["A-3", "@SUM(1+1)"], ["A-4", "\uff0b1"]]
    with log.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["incident_id", "date"], *rows])
    rejects = tmp_path / "rejects.csv"
    with Store(str(tmp_path / "i.db")) as store:
        import_incidents(store, log, skip_invalid=True, rejects_path=rejects)
    expected = [PAYLOADS[0], "@SUM(1+1)", "\uff0b1"]
    assert_csv_safe(rejects, expected)
    assert_csv_safe(problems_csv(validate_upload("log.csv", log.read_bytes()).validation), expected)


def test_result_workbook(tmp_path):
    frame = pd.DataFrame(
        {
            "answer": PAYLOADS[:4],
            "estimate": [0.1, 0.2, 0.3, 0.4],
            "se": 0.01,
            "ci_low": 0.0,
            "ci_high": 0.5,
            "n": 100,
            "method": "wilson",
            "flag": "",
        }
    )
    path = write_workbook(
        {"shares": frame}, tmp_path / "results.xlsx", title="=TITLE()", notes=["@note", "-1+1"]
    )
    assert_xlsx_safe(path, [*PAYLOADS[:4], "=TITLE()", "@note", "-1+1"])


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """What the app handed to Streamlit for download, by file id."""
    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, data, mimetype, kind, filename=None):
        file_id = original(self, data, mimetype, kind, filename)
        files[file_id] = data if isinstance(data, bytes) else data.encode("utf-8")
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return files


def download(at, downloads: dict[str, bytes], key: str) -> bytes:
    (button,) = [b for b in at.get("download_button") if b.key == key]
    return downloads[button.proto.url.rsplit("/", 1)[-1].split(".")[0]]


def test_admin_downloads(db, downloads):
    margins = demo_margins()
    variable = next(iter(margins))
    margins[variable] = {"=HYPERLINK(1)" if i == 0 else level: count for i, (level, count) in
                         enumerate(margins[variable].items())}  # fmt: skip
    with Store(db) as store:
        store.open_wave("@SUM(1)")
        store.set_margins(margins)
    at = start("app_pages/admin.py", user="analyst")
    at.number_input(key="admin_invite_count").set_value(2)
    at.button(key="admin_invite_create").click().run()
    assert not at.exception
    assert_csv_safe(download(at, downloads, "admin_invite_download"), ["@SUM(1)"])
    assert_csv_safe(download(at, downloads, "admin_margins_download"), ["=HYPERLINK(1)"])
