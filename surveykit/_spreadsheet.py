"""Writing spreadsheets: every CSV and XLSX file surveykit writes goes through here.

Formula injection (OWASP "CSV injection"): a spreadsheet program runs a text cell as a formula
when it starts with ``=``, ``+``, ``-`` or ``@``, and some do so after a leading tab or carriage
return too. A survey answer, a wave name or a rejected value such as ``=HYPERLINK(...)`` would
then run when an analyst opens an export. :func:`neutralise` puts an apostrophe in front of such
text: the value stays readable as typed, and the cell is plain text in every spreadsheet program
(the apostrophe is Excel's own "this is text" prefix), where the alternatives either change what
the reader sees (dropping the character) or lose the value (blanking it). The full-width forms of
the four characters (``＝ ＋ － ＠``), which some spreadsheet programs accept as their ASCII
twins, count too. Numbers stay numbers: a negative number is not text and is left alone, and so is
text that is nothing but a number (``-2``, ``+1.5e3``), which a spreadsheet reads as that number
and which runs nothing.

:func:`csv_bytes` gives the same neutralised CSV as bytes, for a download button.

Workbooks are also written byte for byte the same for the same input: their creation time and
the times of the entries of the zip archive are fixed (2000-01-01 unless a time is given).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surveykit.exceptions import SurveykitError

__all__ = [
    "FIXED_TIME",
    "FORMULA_TRIGGERS",
    "cell_value",
    "csv_bytes",
    "neutralise",
    "put",
    "save_workbook",
    "writable",
    "write_csv",
    "write_xlsx",
]

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""First characters that make a spreadsheet read text as a formula: OWASP's six, and the
full-width equals, plus, minus and at sign."""

_CSV_LINE_END = "\r\n"
"""RFC 4180's line end. With it the csv writer quotes a cell holding a lone carriage return; with
``\n`` it does not, and ``'\r=1+1`` would end its row after the apostrophe and start the next
with a live ``=1+1``."""

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)

FIXED_TIME = datetime(2000, 1, 1)
"""The time stamped on a workbook when none is given, so the same input gives the same bytes."""


def neutralise(value: Any) -> Any:
    """``value`` with a leading apostrophe if it is text a spreadsheet would run as a formula.

    Anything that is not a ``str`` (numbers, dates, missing values) is returned unchanged, and so
    is text that is only a number, such as ``"-2"``.

    Examples
    --------
    >>> print(neutralise('=HYPERLINK("http://x","y")'))
    '=HYPERLINK("http://x","y")
    >>> neutralise("-2"), neutralise("-2+3"), neutralise(-2)
    ('-2', "'-2+3", -2)
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def cell_value(value: Any) -> Any:
    """``value`` as openpyxl should write it: missing and non-finite numbers as ``None``, numpy
    and pandas scalars as Python ones, time-zone aware times in UTC (Excel has no time zones),
    anything else as text, neutralised."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # Excel has no NaN or infinity
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, bool | int | float | datetime | date | time):
        return value
    return neutralise(str(value))


def put(sheet: Any, row: int, column: int, value: Any) -> Any:
    """Write ``value`` to a cell of an openpyxl worksheet and return the cell.

    Text is neutralised and typed as a string: openpyxl otherwise stores any ``str`` starting with
    ``=`` as a formula (``cell.data_type == "f"``).
    """
    cell = sheet.cell(row=row, column=column, value=cell_value(value))
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def _neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with its header and every text cell neutralised."""
    out = frame.rename(columns=lambda name: neutralise(str(name)))
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            out.isetitem(position, column.map(neutralise, na_action="ignore"))
    return out


def writable(path: str | Path, role: str) -> Path:
    """``path`` if its folder exists, so a mistyped output path fails before any work is done.

    Raises
    ------
    SurveykitError
        Naming ``role`` and the folder, if the folder is missing or is not a folder.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist; create it first"
        raise SurveykitError(f"Cannot write {role} to {str(path)!r}: the folder {str(folder)!r} {state}.")
    return path


def write_csv(frame: pd.DataFrame, path: str | Path, role: str) -> None:
    """Write ``frame`` as CSV (UTF-8, rows ending in CRLF), text neutralised; an I/O failure names
    ``role`` and the path.

    Raises
    ------
    SurveykitError
        If the file cannot be written.
    """
    try:
        _neutralised(frame).to_csv(path, index=False, lineterminator=_CSV_LINE_END)
    except OSError as exc:
        raise SurveykitError(f"Cannot write {role} to {str(path)!r}: {exc.strerror or exc}") from None


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as neutralised CSV (header, no index), UTF-8 bytes: what :func:`write_csv` writes."""
    buffer = io.StringIO()
    _neutralised(frame).to_csv(buffer, index=False, lineterminator=_CSV_LINE_END)
    return buffer.getvalue().encode("utf-8")


def write_xlsx(frame: pd.DataFrame, path: str | Path, role: str, *, sheet_name: str) -> None:
    """Write ``frame`` as a one-sheet workbook, header in the first row, text neutralised.

    Raises
    ------
    SurveykitError
        If the file cannot be written.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name)

    def cells(values: Iterable[Any]) -> list[Any]:
        row = []
        for value in values:
            cell = WriteOnlyCell(sheet, cell_value(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"
            row.append(cell)
        return row

    sheet.append(cells(frame.columns))
    for values in frame.itertuples(index=False, name=None):
        sheet.append(cells(values))
    save_workbook(book, path, role)


def save_workbook(book: Any, path: str | Path, role: str, *, when: datetime = FIXED_TIME) -> None:
    """Save an openpyxl workbook so that the same workbook gives the same bytes.

    openpyxl stamps the document properties with the time of saving and the zip entries with
    the local time; here both carry ``when``, by default :data:`FIXED_TIME`.

    Raises
    ------
    SurveykitError
        If the file cannot be written.
    """
    from openpyxl.writer.excel import ExcelWriter

    book.properties.created = when
    book.properties.modified = when
    book.properties.creator = "surveykit"
    book.properties.lastModifiedBy = None
    if book.write_only and not book.worksheets:
        book.create_sheet()
    raw = io.BytesIO()
    # ExcelWriter, not Workbook.save: save_workbook() sets the modified time to now.
    ExcelWriter(book, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    stamp = max(when.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # zip times start in 1980
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            target.writestr(info, source.read(entry))
    try:
        Path(path).write_bytes(fixed.getvalue())
    except OSError as exc:
        raise SurveykitError(f"Cannot write {role} to {str(path)!r}: {exc.strerror or exc}") from None
