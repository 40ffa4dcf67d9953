"""Generated CSV, XLSX and JSON files end in a SurveykitError or a valid frame, nothing else.

Hypothesis makes the files (cells of any text, damaged workbooks, arbitrary JSON and bytes) and
feeds them to ``read_incidents`` and the response importer; a bounded number of examples keeps
the run to seconds.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from surveykit import Store, import_responses, read_incidents
from surveykit.collection.responses import ResponseImportReport
from surveykit.exceptions import SurveykitError
from surveykit.incidents.schema import INCIDENT_COLUMNS

# SURVEYKIT_FUZZ_EXAMPLES=1000 for a longer hunt; the suite keeps to seconds.
FUZZ = settings(
    max_examples=int(os.environ.get("SURVEYKIT_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

HEADERS = st.sampled_from(
    ["incident_id", "date", "year", "country", "region", "type", "severity", "loss", "detected", "resolved",
     "source", "wave", "org_size", "sector", "whaling_received", "idempotency_key", "other"]
)  # fmt: skip
CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["2016-03-01", "2016", "US", "GB", "phishing", "high", "1e400", "-5", "\t=1+1", "2016-12"]
    ),
    st.integers(-(10**20), 10**20).map(str),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="surveykit-fuzz-") as name:
        yield Path(name)


@pytest.fixture(scope="module")
def store(folder: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{folder / 'fuzz.db'}") as opened:
        yield opened


def _incidents_or_error(path: Path) -> None:
    try:
        log = read_incidents(path)
    except SurveykitError as error:
        assert str(error).strip()
        return
    assert isinstance(log, pd.DataFrame)
    assert list(log.columns) == INCIDENT_COLUMNS


def _responses_or_error(store: Store, path: Path) -> None:
    try:
        report = import_responses(store, path, wave="2016-12")
    except SurveykitError as error:
        assert str(error).strip()
        return
    assert isinstance(report, ResponseImportReport)


def _csv_bytes(headers: list[str], rows: list[list[str]], delimiter: str) -> bytes:
    lines = [delimiter.join(headers)] + [delimiter.join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass")


@FUZZ
@given(
    headers=st.lists(HEADERS, min_size=1, max_size=6),
    rows=st.lists(st.lists(CELLS, min_size=0, max_size=7), max_size=6),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_generated_csv(folder, store, headers, rows, delimiter):
    path = folder / "fuzz.csv"
    try:
        path.write_bytes(_csv_bytes(headers, rows, delimiter))
    except UnicodeEncodeError:
        return
    _incidents_or_error(path)
    _responses_or_error(store, path)


@FUZZ
@given(
    headers=st.lists(HEADERS, min_size=1, max_size=6),
    rows=st.lists(
        st.lists(st.one_of(CELLS, st.floats(), st.integers(-(10**6), 10**6)), max_size=7), max_size=6
    ),
    damage=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3),
)
def test_generated_and_damaged_xlsx(folder, store, headers, rows, damage):
    book = openpyxl.Workbook()
    for row in [headers, *rows]:
        book.active.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    data = bytearray(buffer.getvalue())
    for position, value in damage:
        data[position % len(data)] = value
    path = folder / "fuzz.xlsx"
    path.write_bytes(bytes(data))
    _incidents_or_error(path)
    _responses_or_error(store, path)


@FUZZ
@given(
    document=st.one_of(
        JSON_VALUES,
        st.lists(
            st.dictionaries(
                st.sampled_from(["incident_id", "timeline", "victim", "action", "impact", "plus"]),
                JSON_VALUES,
                max_size=6,
            ),
            max_size=3,
        ),
    )
)
def test_generated_json(folder, document):
    path = folder / "fuzz.json"
    path.write_text(json.dumps(document))
    _incidents_or_error(path)


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".json"]))
def test_arbitrary_bytes(folder, store, data, suffix):
    path = folder / f"bytes{suffix}"
    path.write_bytes(data)
    _incidents_or_error(path)
    if suffix != ".json":
        _responses_or_error(store, path)
