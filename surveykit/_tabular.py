"""Reading spreadsheets and delimited text as raw cells, for every importer.

CSV files are decoded as UTF-8 (with or without a byte-order mark), then Windows-1252, then
Latin-1, and their delimiter is sniffed. Workbooks are read through openpyxl. Cells come back as
written, so each importer can report a bad value exactly as the user typed it.
"""

from __future__ import annotations

import csv
import sys
import warnings
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from surveykit.exceptions import SurveykitError

__all__ = ["Sheet", "blank_cell", "read_csv_cells", "read_xlsx_sheet"]

_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def blank_cell(value: object) -> bool:
    """Whether a cell is empty (None or only white space)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv_cells(path: Path, *, progress: bool = False) -> pd.DataFrame:
    """Read a delimited text file as strings, one frame row per file line after the header.

    Blank lines are kept (as rows of empty strings) so that frame position ``i`` is data row
    ``i + 1`` of the file.

    Raises
    ------
    SurveykitError
        If the file is empty or a row does not fit the header.
    """
    with path.open("rb") as handle:
        head = handle.read(65536)
    if not head.strip():
        raise SurveykitError(f"{path.name}: the file is empty.")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    # Drop a possibly cut last line before sniffing.
    sample = text.rsplit("\n", 1)[0] if "\n" in text else text
    delimiter = _sniff_delimiter(sample)
    options: dict[str, Any] = {
        "sep": delimiter,
        "dtype": str,
        "keep_default_na": False,
        "skip_blank_lines": False,
        "skipinitialspace": True,
        # A row with more fields than the header must fail, not silently become an index.
        "index_col": False,
    }
    last_error: Exception | None = None
    for encoding in _ENCODINGS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return _read_chunks(path, dict(options, encoding=encoding), progress)
        except UnicodeDecodeError as exc:
            last_error = exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError, pd.errors.ParserWarning) as exc:
            detail = str(exc).replace("Error tokenizing data. C error: ", "")
            raise SurveykitError(
                f"{path.name}: not a readable {delimiter!r}-separated file ({detail}); a value "
                "containing the delimiter must be in double quotes."
            ) from None
    raise SurveykitError(f"{path.name}: cannot decode the file ({last_error}).")  # pragma: no cover


def _read_chunks(path: Path, options: dict[str, Any], progress: bool) -> pd.DataFrame:
    if not progress:
        return pd.read_csv(path, **options)
    from tqdm.auto import tqdm

    parts = []
    with (
        tqdm(desc=f"Reading {path.name}", unit=" rows", file=sys.stderr) as bar,
        pd.read_csv(path, chunksize=100_000, **options) as reader,
    ):
        for chunk in reader:
            parts.append(chunk)
            bar.update(len(chunk))
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class Sheet:
    """One worksheet's cells.

    Attributes
    ----------
    name : str
        The worksheet's name.
    headers : list of str
        Header cells, stripped; unnamed columns are called ``column N``.
    rows : list of (int, tuple)
        Data row number (1-based, after the header) and its cells, blank rows left out.
    epoch : datetime
        The workbook's date epoch, for Excel serial dates.
    """

    name: str
    headers: list[str]
    rows: list[tuple[int, tuple[Any, ...]]]
    epoch: datetime


def read_xlsx_sheet(path: Path, sheet: str | int | None = None) -> Sheet:
    """Read one worksheet of an XLSX workbook (the first by default).

    Raises
    ------
    SurveykitError
        If the workbook cannot be read, the sheet does not exist, or it is empty.
    """
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise SurveykitError(f"{path.name}: not a readable XLSX workbook ({exc}).") from None
    try:
        names = book.sheetnames
        if sheet is None:
            sheet_name = names[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise SurveykitError(
                    f"{path.name} has {len(names)} sheets {names}; sheet index {sheet} is out of range."
                )
            sheet_name = names[sheet]
        elif sheet in names:
            sheet_name = sheet
        else:
            raise SurveykitError(f"{path.name} has no sheet {sheet!r}; its sheets are {names}.")
        rows = list(book[sheet_name].iter_rows(values_only=True))
        epoch = book.epoch
    finally:
        book.close()
    while rows and all(blank_cell(v) for v in rows[0]):
        rows.pop(0)
    if not rows:
        raise SurveykitError(f"{path.name}: sheet {sheet_name!r} is empty.")
    header_cells = rows[0]
    width = max(i + 1 for i, v in enumerate(header_cells) if not blank_cell(v))
    headers = [
        str(v).strip() if v is not None else f"column {i + 1}" for i, v in enumerate(header_cells[:width])
    ]
    data = [
        (number, tuple(row[:width]) + (None,) * (width - len(row)))
        for number, row in enumerate(rows[1:], start=1)
        if not all(blank_cell(v) for v in row[:width])
    ]
    return Sheet(sheet_name, headers, data, epoch)
