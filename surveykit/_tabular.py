"""Reading spreadsheets and delimited text as raw cells, for every importer.

CSV files are decoded as UTF-8 (with or without a byte-order mark), then Windows-1252, then
Latin-1, and their delimiter is sniffed. Workbooks are read through openpyxl. Cells come back as
written, so each importer can report a bad value exactly as the user typed it.
"""

from __future__ import annotations

import csv
import mmap
import os
import re
import sys
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from surveykit._limits import Limits, current_limits, listing, shorten
from surveykit.exceptions import SurveykitError

__all__ = [
    "Sheet",
    "blank_cell",
    "blank_rows",
    "check_xlsx_archive",
    "file_contains",
    "read_csv_cells",
    "read_xlsx_sheet",
]

_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def blank_cell(value: object) -> bool:
    """Whether a cell is empty (None or only white space)."""
    return value is None or (isinstance(value, str) and not value.strip())


def blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Which rows have only empty cells (as :func:`read_csv_cells` reads a blank line).

    Columns are compared one at a time, stopping at the first that leaves no row blank.
    """
    blank = np.ones(len(frame), dtype=bool)
    for name in frame.columns:
        cells = frame[name]
        if isinstance(cells.array, pd.arrays.ArrowStringArray):
            blank &= pc.fill_null(pc.equal(pa.array(cells.array), ""), False).to_numpy(zero_copy_only=False)
        else:
            blank &= (cells == "").to_numpy(dtype=bool)
        if not blank.any():
            break
    return blank


def file_contains(path: Path, needle: bytes) -> bool:
    """Whether the file's bytes contain ``needle`` (a memory-mapped search, at memchr speed)."""
    if path.stat().st_size == 0:
        return False
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.find(needle) >= 0


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv_cells(path: Path, *, progress: bool = False) -> pd.DataFrame:
    """Read a delimited text file as strings, one frame row per file line after the header.

    ``progress``: count the rows read on a progress bar on stderr. The plain UTF-8 case is read
    whole by pyarrow's parallel parser either way, the bar then filling at once.

    Blank lines are kept (as rows of empty strings) so that frame position ``i`` is data row
    ``i + 1`` of the file.

    Values keep their leading white space: stripping a tab or carriage return in front of
    ``=1+1`` would turn text into a formula.

    Raises
    ------
    SurveykitError
        If the file is empty, a row does not fit the header, or the file breaks a limit of
        :func:`surveykit._limits.current_limits` (size, line length, rows, columns, cell length).
    """
    limits = current_limits()
    _check_file_size(path, limits)
    with path.open("rb") as handle:
        head = handle.read(65536)
    if not head.strip():
        raise SurveykitError(f"{path.name}: the file is empty.")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    # Drop a possibly cut last line before sniffing.
    sample = text.rsplit("\n", 1)[0] if "\n" in text else text
    delimiter = _sniff_delimiter(sample)
    with path.open("rb") as handle:
        first = handle.readline(limits.max_line_bytes + 1).decode("utf-8", errors="replace").lstrip("\ufeff")
    try:
        columns = len(next(csv.reader([first.rstrip("\r\n")], delimiter=delimiter), []))
    except csv.Error:  # a stray carriage return: count the delimiters instead
        columns = first.count(delimiter) + 1
    if columns > limits.max_columns:
        at_least = "" if first.endswith("\n") else "at least "
        raise SurveykitError(
            f"{path.name}: the header has {at_least}{columns:,} "
            f"columns, more than the {limits.max_columns:,} allowed (Excel's limit)."
        )
    _check_lines(path, limits)
    options: dict[str, Any] = {
        "sep": delimiter,
        "dtype": str,
        "keep_default_na": False,
        "skip_blank_lines": False,
        "skipinitialspace": False,
        # A row with more fields than the header must fail, not silently become an index.
        "index_col": False,
    }
    with _reading_bar(path, progress) as bar:
        frame = _read_with_pyarrow(path, delimiter, first.rstrip("\r\n"))
        if frame is None:
            frame = _read_with_pandas(path, options, bar if progress else None)
        else:
            bar.update(len(frame))
    _check_headers(path.name, [str(c) for c in frame.columns], limits)
    _check_csv_cells(path.name, frame, limits)
    return frame


def _read_with_pandas(path: Path, options: dict[str, Any], bar: Any | None) -> pd.DataFrame:
    """The cells read by pandas in each encoding in turn; in chunks counted on ``bar`` when one is given."""
    last_error: Exception | None = None
    for encoding in _ENCODINGS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return _read_chunks(path, dict(options, encoding=encoding), bar)
        except UnicodeDecodeError as exc:
            last_error = exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError, pd.errors.ParserWarning) as exc:
            detail = shorten(str(exc).replace("Error tokenizing data. C error: ", ""), 160)
            raise SurveykitError(
                f"{path.name}: not a readable {options['sep']!r}-separated file ({detail}); a value "
                "containing the delimiter must be in double quotes."
            ) from None
    raise SurveykitError(f"{path.name}: cannot decode the file ({last_error}).")  # pragma: no cover


def _read_with_pyarrow(path: Path, delimiter: str, header_line: str) -> pd.DataFrame | None:
    """The cells as the pandas reader below returns them, read by pyarrow's multithreaded parser.

    Only for the plain case: UTF-8, a header of distinct non-empty names, every row as wide as
    the header. Anything else (another encoding, a ragged or blank row, a quoted line break)
    returns None, and the pandas reader reads the file and words any error.
    """
    try:
        headers = next(csv.reader([header_line], delimiter=delimiter), [])
    except csv.Error:
        return None
    if not headers or len(set(headers)) != len(headers) or any(not h for h in headers):
        return None
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(encoding="utf8", block_size=_block_size(path)),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                # large_string is what pandas keeps its Arrow text in: to_pandas() then copies nothing.
                column_types={h: pa.large_string() for h in headers},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if table.column_names != headers:  # undecodable header bytes raise here
            return None
        return table.to_pandas()
    except (pa.ArrowException, OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return None


def _block_size(path: Path) -> int:
    """Bytes per block of pyarrow's parser: a few blocks per core, so columns come in a few large chunks.

    pyarrow parses blocks in parallel and keeps each as a chunk; the column checks then work a
    chunk at a time, so fewer, larger chunks cost less than its 1 MB default.
    """
    blocks = 4 * (os.cpu_count() or 1)
    return min(max(path.stat().st_size // blocks, 1 << 20), 64 << 20)


def _check_file_size(path: Path, limits: Limits) -> None:
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise SurveykitError(
            f"{path.name}: the file has {size:,} bytes, more than the {limits.max_file_bytes:,} allowed; "
            "split it into smaller files."
        )


def _check_lines(path: Path, limits: Limits) -> None:
    """Refuse a file with too many lines or a line too long, before any parsing (C-speed scans)."""
    lines = 0
    run = 0  # bytes since the last newline
    # Chunks no longer than the longest line allowed hold no line too long inside them: only lines
    # running across chunks need measuring, which ``run`` does.
    size = min(1 << 22, max(limits.max_line_bytes, 1 << 16))
    buffer = bytearray(size)  # read into again and again: no chunk is allocated
    with path.open("rb") as handle:
        while read := handle.readinto(buffer):
            data = np.frombuffer(buffer, dtype=np.uint8, count=read)
            newline = buffer.find(b"\n", 0, read)
            if newline < 0:
                run += read
            else:
                inside = _longest_line(data) if read > limits.max_line_bytes else 0
                longest = max(run + newline, inside)
                run = max(read - buffer.rfind(b"\n", 0, read) - 1, longest)
                lines += int(np.count_nonzero(data == ord("\n")))
            if run > limits.max_line_bytes:
                raise SurveykitError(
                    f"{path.name}: a line (near line {lines + 1:,}) is longer than the "
                    f"{limits.max_line_bytes:,} bytes allowed; is this a CSV file?"
                )
            run = read - buffer.rfind(b"\n", 0, read) - 1 if newline >= 0 else run
            if lines > limits.max_rows:
                raise SurveykitError(
                    f"{path.name}: more than {limits.max_rows:,} lines, the most allowed (Excel's limit); "
                    "split the file."
                )


def _longest_line(data: np.ndarray) -> int:
    """The longest run between two newlines of a chunk's bytes (its ends excluded)."""
    newlines = np.flatnonzero(data == ord("\n"))
    return int(np.diff(newlines).max()) - 1 if len(newlines) > 1 else 0


def _check_headers(name: str, headers: list[str], limits: Limits) -> None:
    if len(headers) > limits.max_columns:
        raise SurveykitError(
            f"{name}: {len(headers):,} columns, more than the {limits.max_columns:,} allowed (Excel's limit)."
        )
    long = [h for h in headers if len(h) > limits.max_cell_chars]
    if long:
        raise SurveykitError(
            f"{name}: a header is longer than {limits.max_cell_chars:,} characters ({shorten(long[0])!r})."
        )


def _check_csv_cells(name: str, frame: pd.DataFrame, limits: Limits) -> None:
    for column in frame.columns:
        values = frame[column].array
        if isinstance(values, pd.arrays.ArrowStringArray):
            # A cell has at most as many characters as bytes; Arrow reads the byte lengths off its offsets.
            longest = pc.max(pc.binary_length(pa.array(values))).as_py()
            if longest is None or longest <= limits.max_cell_chars:
                continue  # the common case
        lengths = frame[column].str.len()
        over = lengths > limits.max_cell_chars
        if over.any():
            position = int(over.to_numpy().argmax())
            value = frame[column].iloc[position]
            raise SurveykitError(
                f"{name}: row {position + 1:,}, column {shorten(column, 40)!r}: the value has "
                f"{len(value):,} characters, more than the {limits.max_cell_chars:,} allowed "
                f"({shorten(value, 40)!r})."
            )


def _read_chunks(path: Path, options: dict[str, Any], bar: Any | None) -> pd.DataFrame:
    if bar is None:
        return pd.read_csv(path, **options)
    parts = []
    bar.reset()  # a count from an encoding tried before starts again
    with pd.read_csv(path, chunksize=100_000, **options) as reader:
        for chunk in reader:
            parts.append(chunk)
            bar.update(len(chunk))
    return pd.concat(parts, ignore_index=True)


@contextmanager
def _reading_bar(path: Path, shown: bool) -> Iterator[Any]:
    """A progress bar of rows read on stderr (tqdm), or one that shows nothing."""
    if not shown:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    with tqdm(desc=f"Reading {path.name}", unit=" rows", file=sys.stderr) as bar:
        yield bar


class _NoBar:
    def update(self, n: int) -> None:
        """Nothing to show."""


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

    The archive is checked before anything is parsed (:func:`check_xlsx_archive`); openpyxl
    then parses it with defusedxml, which refuses entity declarations (XML bombs).

    Raises
    ------
    SurveykitError
        If the workbook cannot be read, the sheet does not exist, it is empty, or it breaks a
        limit (size, compression ratio, rows, columns, cell length).
    """
    import openpyxl

    limits = current_limits()
    _check_file_size(path, limits)
    check_xlsx_archive(path, limits)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except _WORKBOOK_ERRORS as exc:
        raise _unreadable(path.name, exc) from None
    try:
        names = book.sheetnames
        if sheet is None:
            sheet_name = names[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise SurveykitError(
                    f"{path.name} has {len(names)} sheets ({listing(names)}); sheet index {sheet} is "
                    "out of range."
                )
            sheet_name = names[sheet]
        elif sheet in names:
            sheet_name = sheet
        else:
            raise SurveykitError(f"{path.name} has no sheet {sheet!r}; its sheets are {listing(names)}.")
        rows = _sheet_rows(path.name, book[sheet_name], limits)
        epoch = book.epoch
    except _WORKBOOK_ERRORS as exc:
        raise _unreadable(path.name, exc) from None
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
    _check_headers(path.name, headers, limits)
    data = [
        (number, tuple(row[:width]) + (None,) * (width - len(row)))
        for number, row in enumerate(rows[1:], start=1)
        if not all(blank_cell(v) for v in row[:width])
    ]
    return Sheet(sheet_name, headers, data, epoch)


def _workbook_errors() -> tuple[type[BaseException], ...]:
    from xml.etree.ElementTree import ParseError

    from openpyxl.utils.exceptions import InvalidFileException

    errors: list[type[BaseException]] = [
        InvalidFileException, OSError, KeyError, ValueError, TypeError, AttributeError, IndexError,
        EOFError, ParseError, SyntaxError, zipfile.BadZipFile, zlib.error,
    ]  # fmt: skip
    return tuple(errors)


_WORKBOOK_ERRORS = _workbook_errors()


def _unreadable(name: str, exc: BaseException) -> SurveykitError:
    causes = [exc]
    while (cause := causes[-1].__cause__ or causes[-1].__context__) is not None and len(causes) < 10:
        causes.append(cause)
    if any(type(cause).__module__.startswith("defusedxml") for cause in causes):
        return SurveykitError(
            f"{name}: the workbook's XML declares entities or a DTD, which workbooks saved by a "
            "spreadsheet program never do (an XML bomb?); nothing was read."
        )
    if isinstance(exc, SurveykitError):
        return exc
    detail = shorten(str(exc) or type(exc).__name__, 120)
    return SurveykitError(f"{name}: not a readable XLSX workbook ({detail}).")


def _sheet_rows(name: str, worksheet: Any, limits: Limits) -> list[tuple[Any, ...]]:
    """A worksheet's rows, refusing too many rows or columns and over-long cells as they come."""
    rows: list[tuple[Any, ...]] = []
    for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
        if number > limits.max_rows:
            raise SurveykitError(
                f"{name}: more than {limits.max_rows:,} rows, the most allowed (Excel's limit)."
            )
        if len(row) > limits.max_columns:
            raise SurveykitError(
                f"{name}: row {number:,} has {len(row):,} columns, more than the {limits.max_columns:,} "
                "allowed (Excel's limit)."
            )
        for column, value in enumerate(row, start=1):
            if isinstance(value, str) and len(value) > limits.max_cell_chars:
                raise SurveykitError(
                    f"{name}: row {number:,}, column {column:,}: the value has {len(value):,} "
                    f"characters, more than the {limits.max_cell_chars:,} allowed ({shorten(value, 40)!r})."
                )
        rows.append(row)
    return rows


_ROW_TAG = re.compile(rb"<row\b[^>]*?\sr=\"(\d+)\"")
_WORKSHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)


def check_xlsx_archive(path: Path, limits: Limits | None = None) -> None:
    """Check an XLSX workbook's ZIP directory and row count before it is parsed.

    Every part's uncompressed size and compression ratio is read from the ZIP directory, and
    the total is checked against the limits; then each worksheet is streamed once (without
    parsing it) to count its rows.

    Raises
    ------
    SurveykitError
        If the file is not a ZIP archive, a part is too large or too compressed (a zip bomb), or
        a sheet has more rows than allowed.
    """
    limits = limits or current_limits()
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            total = 0
            for entry in entries:
                total += entry.file_size
                if entry.file_size > limits.max_part_bytes:
                    raise SurveykitError(
                        f"{path.name}: part {shorten(entry.filename, 60)!r} unpacks to {entry.file_size:,} "
                        f"bytes, more than the {limits.max_part_bytes:,} allowed; nothing was read."
                    )
                ratio = entry.file_size / max(entry.compress_size, 1)
                if entry.file_size > 1_000_000 and ratio > limits.max_compression_ratio:
                    raise SurveykitError(
                        f"{path.name}: part {shorten(entry.filename, 60)!r} is compressed {ratio:,.0f} to 1, "
                        f"more than the {limits.max_compression_ratio:,.0f} to 1 allowed (a zip bomb?); "
                        "nothing was read."
                    )
            if total > limits.max_unpacked_bytes:
                raise SurveykitError(
                    f"{path.name}: the workbook unpacks to {total:,} bytes, more than the "
                    f"{limits.max_unpacked_bytes:,} allowed; nothing was read."
                )
            for entry in entries:
                if _WORKSHEET.match(entry.filename):
                    _count_rows(path.name, archive, entry, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError) as exc:
        raise SurveykitError(f"{path.name}: not a readable XLSX workbook ({shorten(exc, 120)}).") from None


def _count_rows(name: str, archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limits: Limits) -> None:
    """Refuse a sheet whose rows (counted, or numbered by their ``r``) pass the limit."""
    count = 0
    tail = b""
    with archive.open(entry) as stream:
        while chunk := stream.read(1 << 22):
            block = tail + chunk
            # A tag cut at the chunk's end is kept for the next block, and counted there.
            cut = block.rfind(b"<")
            body, tail = (block[:cut], block[cut:]) if cut > len(block) - 256 else (block, b"")
            count += body.count(b"<row ") + body.count(b"<row>")
            last = body.rfind(b"<row")
            numbered = _ROW_TAG.match(body, last) if last >= 0 else None
            highest = max(count, int(numbered.group(1)) if numbered else 0)
            if highest > limits.max_rows:
                raise SurveykitError(
                    f"{name}: a sheet has more than {limits.max_rows:,} rows, the most allowed "
                    "(Excel's limit); nothing was read."
                )
