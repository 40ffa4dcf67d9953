"""Hostile and huge input files end in one short SurveykitError, within 10 s and 500 MB.

The corpus is made on the fly in a temporary folder (nothing big is committed): junk bytes, NUL
bytes, a 200,000-column header, a 2 MB line, a 40,000-character cell, JSON nested 100,000 deep,
an XML entity bomb, a zip bomb, a 2,000,000-row sheet, over-long values, a symbolic link out of a
VERIS folder, and formula-looking text. Each goes through the API (``read_incidents``,
``import_responses``), the command line (``surveykit.cli.main``) and the app's upload path
(``validate_upload``); the store is left as it was.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from surveykit import (
    ImportValidationError,
    Store,
    default_instrument,
    import_incidents,
    import_responses,
    read_incidents,
)
from surveykit.cli import main
from surveykit.exceptions import StoreError, SurveykitError
from surveykit.incidents.uploads import validate_upload

from .test_instrument import VALID_ANSWERS

RESPONSE_HEADER = (
    "wave,country,org_size,sector,role,whaling_trend,whaling_received,impersonated_roles,ciso_present,"
    "ciso_in_csuite,email_continuity,outages_12m"
)
RESPONSE_ROW = "2016-12,US,lt250,finance,security,increased,yes,ceo cfo,yes,no,no,0"
SECONDS = 10.0


# --- the corpus ------------------------------------------------------------------------------


def _xlsx_parts(sheet_xml: bytes, shared: bytes | None = None, level: int = 6) -> dict[str, bytes]:
    """The parts of a minimal workbook with one sheet (written by hand, to make it huge quickly)."""
    rels = b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'  # noqa: E501
    types = b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'  # noqa: E501
    if shared is not None:
        rels += b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'  # noqa: E501
        types += b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'  # noqa: E501
    parts = {
        "[Content_Types].xml": b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'  # noqa: E501
        + types
        + b"</Types>",
        "_rels/.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',  # noqa: E501
        "xl/workbook.xml": b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Log" sheetId="1" r:id="rId1"/></sheets></workbook>',  # noqa: E501
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + rels
        + b"</Relationships>",
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    if shared is not None:
        parts["xl/sharedStrings.xml"] = shared
    return parts


def _write_zip(path: Path, parts: dict[str, bytes], level: int = 6) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


_SHEET_OPEN = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
_SHEET_CLOSE = b"</sheetData></worksheet>"
_HEADER_ROW = (
    b'<row><c t="inlineStr"><is><t>incident_id</t></is></c><c t="inlineStr"><is><t>date</t></is></c></row>'
)


def junk(path: Path) -> Path:
    path.write_bytes(random.Random(10).randbytes(20_000))
    return path


def nul_csv(path: Path) -> Path:
    path.write_bytes(b"incident_id,date\nA-1\x00,2016-03-01\n")
    return path


def wide_header_csv(path: Path) -> Path:
    path.write_text(",".join(f"c{i}" for i in range(200_000)) + "\n" + ",".join("1" * 200_000) + "\n")
    return path


def long_line_csv(path: Path) -> Path:
    path.write_text("incident_id,date\nA-1,2016-03-01\n" + "x" * 2_000_000 + "\n")
    return path


def huge_cell_xlsx(path: Path) -> Path:
    # Written by hand: openpyxl itself cuts a cell it writes to Excel's 32,767 characters.
    cell = b'<row><c t="inlineStr"><is><t>A-1</t></is></c><c t="inlineStr"><is><t>' + b"y" * 40_000
    sheet = _SHEET_OPEN + _HEADER_ROW + cell + b"</t></is></c></row>" + _SHEET_CLOSE
    return _write_zip(path, _xlsx_parts(sheet))


def deep_json(path: Path) -> Path:
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def entity_bomb_xlsx(path: Path) -> Path:
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">' for i in range(1, 10))
    shared = (
        f'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY e0 "lol">{entities}]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        "<si><t>&e9;</t></si></sst>"
    ).encode()
    sheet = _SHEET_OPEN + b'<row><c t="s"><v>0</v></c></row>' + _SHEET_CLOSE
    return _write_zip(path, _xlsx_parts(sheet, shared))


def zip_bomb_xlsx(path: Path) -> Path:
    # 150 MB of one repeated row compresses about a thousand to one.
    sheet = _SHEET_OPEN + _HEADER_ROW + b"<row><c><v>1</v></c></row>" * 5_700_000 + _SHEET_CLOSE
    return _write_zip(path, _xlsx_parts(sheet), level=1)


def rows_2m_xlsx(path: Path) -> Path:
    rows = "".join(
        f'<row r="{n}"><c r="A{n}"><v>{n * 7919 % 100003}</v></c></row>' for n in range(2, 2_000_002)
    )
    sheet = _SHEET_OPEN + _HEADER_ROW.replace(b"<row>", b'<row r="1">') + rows.encode() + _SHEET_CLOSE
    return _write_zip(path, _xlsx_parts(sheet), level=1)


def long_id_csv(path: Path) -> Path:
    path.write_text(f"incident_id,date\n{'I' * 129},2016-03-01\n")
    return path


CORPUS: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    # name: (file name, builder, what the incident readers say)
    "junk csv": ("junk.csv", junk, r"not a readable|no date column|NUL byte"),
    "junk xlsx": ("junk.xlsx", junk, r"not a readable XLSX workbook"),
    "NUL byte": ("nul.csv", nul_csv, r"NUL byte"),
    "200,000 columns": ("wide.csv", wide_header_csv, r"[\d,]+ columns, more than the 16,384 allowed"),
    "2 MB line": ("line.csv", long_line_csv, r"longer than the 1,048,576 bytes allowed"),
    "40,000-character cell": ("cell.xlsx", huge_cell_xlsx, r"40,000 characters, more than the 32,767"),
    "JSON 100,000 deep": ("deep.json", deep_json, r"nested more than 64 deep"),
    "entity bomb": ("bomb.xlsx", entity_bomb_xlsx, r"declares entities"),
    "zip bomb": ("zipbomb.xlsx", zip_bomb_xlsx, r"compressed [\d,]+ to 1, more than the 100 to 1"),
    "2,000,000 rows": ("rows.xlsx", rows_2m_xlsx, r"more than 1,048,576 rows"),
    "129-character id": ("long_id.csv", long_id_csv, r"incident_id may have at most 128 characters"),
}

# What the response importer and the CLI's import-responses say, where it differs.
RESPONSES = {
    "junk csv": r"not a readable|do not match the instrument|NUL byte",
    "NUL byte": r"do not match the instrument",
    "JSON 100,000 deep": r"unsupported file type '.json'",
    "entity bomb": r"declares entities|do not match",
    "129-character id": r"do not match the instrument",
}
# What the upload says, where it differs.
UPLOADS = {"junk csv": r"NUL byte", "junk xlsx": r"not an XLSX workbook", "NUL byte": r"NUL byte"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    return {case: build(folder / name) for case, (name, build, _) in CORPUS.items()}


def _short(message: str) -> None:
    """One line, or a headline with at most 20 problems and a count; never a wall of text."""
    lines = message.splitlines()
    assert len(lines) <= 22, len(lines)
    assert all(len(line) <= 400 for line in lines), max(map(len, lines))
    assert "Traceback" not in message and "SELECT" not in message and "INSERT" not in message


def _timed(run: Callable[[], object]) -> tuple[BaseException | None, float]:
    start = time.perf_counter()
    try:
        run()
    except SurveykitError as error:
        return error, time.perf_counter() - start
    return None, time.perf_counter() - start


# --- through the API, the CLI and the upload --------------------------------------------------


@pytest.mark.parametrize("case", list(CORPUS))
def test_read_incidents_refuses_with_a_short_clear_message(corpus, case):
    error, seconds = _timed(lambda: read_incidents(corpus[case]))
    assert error is not None, f"{case}: read without an error"
    assert seconds < SECONDS
    _short(str(error))
    assert re.search(CORPUS[case][2], str(error)), str(error)[:300]


@pytest.mark.parametrize("case", list(CORPUS))
def test_import_responses_refuses_and_stores_nothing(corpus, case, tmp_path):
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        error, seconds = _timed(lambda: import_responses(store, corpus[case], wave="2016-12"))
        assert error is not None
        assert seconds < SECONDS
        _short(str(error))
        assert re.search(RESPONSES.get(case, CORPUS[case][2]), str(error)), str(error)[:300]
        assert store.responses().empty


@pytest.mark.parametrize("case", list(CORPUS))
def test_upload_refuses_with_a_short_clear_message(corpus, case):
    path = corpus[case]

    def upload():
        checked = validate_upload(path.name, path.read_bytes())
        if checked.validation.problems:  # the app lists them; the first names the fault
            raise SurveykitError(str(checked.validation.problems[0]))

    error, seconds = _timed(upload)
    assert error is not None
    assert seconds < SECONDS
    _short(str(error))
    assert re.search(UPLOADS.get(case, CORPUS[case][2]), str(error)), str(error)[:300]


@pytest.mark.parametrize("case", ["200,000 columns", "zip bomb", "entity bomb", "JSON 100,000 deep"])
@pytest.mark.parametrize("command", ["import-incidents", "import-responses"])
def test_command_line_exits_2_with_one_short_error(corpus, case, command, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    extra = ["--wave", "2016-12"] if command == "import-responses" else []
    start = time.perf_counter()
    assert main(["--db", url, command, str(corpus[case]), *extra]) == 2
    assert time.perf_counter() - start < SECONDS
    err = capsys.readouterr().err
    assert err.startswith("surveykit: error: ")
    assert "internal error" not in err
    _short(err)
    with Store(url) as store:
        assert store.responses().empty
        assert store.incidents().empty


def test_each_heavy_file_stays_within_500_mb(corpus, tmp_path):
    """Measured in a fresh process: its peak resident memory (VmHWM, importing surveykit included),
    reset before each file, while every reader refuses it."""
    heavy = ["zip bomb", "2,000,000 rows", "200,000 columns", "2 MB line", "40,000-character cell"]
    code = (
        "import re, sys\n"
        "from surveykit import Store, read_incidents, import_responses\n"
        "from surveykit.exceptions import SurveykitError\n"
        "from surveykit.incidents.uploads import validate_upload\n"
        f"store = Store('sqlite:///{tmp_path / 'm.db'}')\n"
        "for p in sys.argv[1:]:\n"
        "    open('/proc/self/clear_refs', 'w').write('5')  # resets VmHWM to the current size\n"
        "    for run in (lambda: read_incidents(p), lambda: import_responses(store, p, wave='2016-12'),\n"
        "                lambda: validate_upload(p, open(p, 'rb').read())):\n"
        "        try:\n"
        "            run()\n"
        "        except SurveykitError:\n"
        "            pass\n"
        "        else:\n"
        "            raise SystemExit(f'{p} was read')\n"
        "    print(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *(str(corpus[c]) for c in heavy)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    peaks_mb = dict(zip(heavy, (int(k) / 1024 for k in done.stdout.split()), strict=True))
    assert max(peaks_mb.values()) < 500, peaks_mb


# --- the values themselves -------------------------------------------------------------------


def test_a_symlink_out_of_a_veris_folder_is_reported_not_read(tmp_path):
    outside = tmp_path / "secret.json"
    outside.write_text(json.dumps({"incident_id": "SECRET", "timeline": {"incident": {"year": 2016}}}))
    folder = tmp_path / "vcdb"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps({"incident_id": "A", "timeline": {"incident": {"year": 2016}}}))
    (folder / "link.json").symlink_to(outside)
    with pytest.raises(ImportValidationError, match=r"link\.json: a symbolic link; only regular files"):
        read_incidents(folder)
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        report = import_incidents(store, folder, skip_invalid=True)
        assert list(store.incidents()["incident_id"]) == ["A"]
        assert report.added == 1
        assert [p.row for p in report.rejected] == ["link.json"]


def test_a_symlinked_zip_entry_is_refused_by_the_upload(tmp_path):
    buffer = tmp_path / "links.zip"
    with zipfile.ZipFile(buffer, "w") as archive:
        entry = zipfile.ZipInfo("link.json")
        entry.external_attr = (0o120777 << 16) | 0
        archive.writestr(entry, "/etc/passwd")
    with pytest.raises(SurveykitError, match=r"is a symbolic link; nothing was unpacked"):
        validate_upload("links.zip", buffer.read_bytes())


def test_leading_tabs_are_kept_so_text_never_becomes_a_formula(tmp_path):
    path = tmp_path / "formula.csv"
    path.write_text('incident_id,date,source\n"\t=1+1",2016-03-01,"\r@SUM(1+1)"\n')
    log = read_incidents(path)
    assert log.loc[0, "incident_id"] == "\t=1+1"
    assert log.loc[0, "source"] == "\r@SUM(1+1)"
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        import_incidents(store, path)
        assert list(store.incidents()["incident_id"]) == ["\t=1+1"]


def test_nul_and_over_long_values_name_row_column_and_value(tmp_path):
    path = tmp_path / "values.csv"
    path.write_text(f"incident_id,date\nA-1,2016-03-01\n{'J' * 129},2016-03-02\nA-\x003,2016-03-03\n")
    with pytest.raises(ImportValidationError) as raised:
        read_incidents(path)
    problems = {(p.row, p.column): p for p in raised.value.problems}
    assert set(problems) == {(2, "incident_id"), (3, "incident_id")}
    shown = problems[(2, "incident_id")].value
    assert shown.startswith("J" * 50) and len(shown) <= 60
    assert "NUL byte" in problems[(3, "incident_id")].reason


def test_a_long_wave_or_nul_answer_is_refused_before_the_store(tmp_path):
    path = tmp_path / "waves.csv"
    rows = [RESPONSE_ROW.replace("2016-12", "W" * 40, 1), RESPONSE_ROW.replace("US", "U\x00S", 1)]
    path.write_text(RESPONSE_HEADER + "\n" + "\n".join(rows) + "\n")
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        with pytest.raises(ImportValidationError) as raised:
            import_responses(store, path)
        assert store.responses().empty
    found = {(p.row, p.column): p.reason for p in raised.value.problems}
    assert found[(1, "wave")] == "a wave has at most 32 characters"
    assert found[(2, "country")] == "the value contains a NUL byte"


def test_a_wave_starting_with_white_space_is_refused_not_stripped_into_a_formula(tmp_path):
    path = tmp_path / "waves.csv"
    path.write_text(RESPONSE_HEADER + "\n" + RESPONSE_ROW.replace("2016-12", '"\t=1+1"', 1) + "\n")
    with Store(f"sqlite:///{tmp_path / 's.db'}") as store:
        with pytest.raises(ImportValidationError) as raised:
            import_responses(store, path)
        found = {(p.row, p.column): p.reason for p in raised.value.problems}
        assert found == {(1, "wave"): "a wave cannot start with white space"}
        answers = default_instrument().clean_answers(VALID_ANSWERS)
        with pytest.raises(StoreError, match=r"The wave name '\\t=1\+1' starts with white space"):
            store.add_responses(default_instrument(), [{"answers": answers, "wave": "\t=1+1"}])
        with pytest.raises(StoreError, match="starts with white space"):
            store.open_wave(" =HYPERLINK(1)")
        store.add_responses(default_instrument(), [{"answers": answers, "wave": "2017-06 "}])
        assert store.waves() == ["2017-06"]  # trailing white space is dropped: it exposes nothing
        assert store.responses().empty is False


def test_limits_are_configurable_through_the_environment(tmp_path, monkeypatch):
    book = openpyxl.Workbook()
    book.active.append(["incident_id", "date"])
    for i in range(30):
        book.active.append([f"A-{i}", "2016-03-01"])
    book.save(tmp_path / "log.xlsx")
    assert len(read_incidents(tmp_path / "log.xlsx")) == 30
    monkeypatch.setenv("SURVEYKIT_LIMIT_MAX_ROWS", "20")
    with pytest.raises(SurveykitError, match=r"more than 20 rows"):
        read_incidents(tmp_path / "log.xlsx")
    monkeypatch.setenv("SURVEYKIT_LIMIT_MAX_ROWS", "-1")
    with pytest.raises(ValueError, match=r"SURVEYKIT_LIMIT_MAX_ROWS must be a positive number"):
        read_incidents(tmp_path / "log.xlsx")


def test_a_header_listing_is_capped(tmp_path):
    path = tmp_path / "nodate.csv"
    path.write_text(",".join(f"h{i}" for i in range(5000)) + "\n" + ",".join("1" * 5000) + "\n")
    with pytest.raises(SurveykitError) as raised:
        read_incidents(path)
    assert "and 4,990 more" in str(raised.value)
    assert len(str(raised.value)) < 400


def test_a_frame_of_the_corpus_sizes_is_what_it_claims(corpus):
    """The corpus is what it says: checked independently of surveykit's readers."""
    with zipfile.ZipFile(corpus["zip bomb"]) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
        assert sheet.file_size > 140_000_000 and sheet.file_size / sheet.compress_size > 100
    with zipfile.ZipFile(corpus["2,000,000 rows"]) as archive:
        with archive.open("xl/worksheets/sheet1.xml") as stream:
            assert stream.read().count(b"<row ") == 2_000_001
    with corpus["200,000 columns"].open("rb") as handle:
        assert handle.readline().count(b",") == 199_999


def test_an_xlsform_zip_bomb_is_refused_before_parsing(corpus):
    from surveykit.collection.xlsform import read_xlsform
    from surveykit.exceptions import InstrumentError

    start = time.perf_counter()
    with pytest.raises(InstrumentError, match=r"compressed [\d,]+ to 1"):
        read_xlsform(corpus["zip bomb"])
    assert time.perf_counter() - start < SECONDS
