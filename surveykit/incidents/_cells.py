"""Canonical cells read straight off the bytes of Arrow text: the fast path of the CSV parsers.

CSV cells arrive as Arrow strings, in chunks. A date written ``YYYY-MM-DD`` or a time written
``YYYY-MM-DD hh:mm:ss`` is read here from its bytes with numpy, chunk by chunk and a block of rows
at a time, and checked against the calendar; every other cell goes to the parsers of
:mod:`surveykit.incidents._parsing`, which word the problems. A cell read here is one those
parsers would read to the same value (``tests/test_cells.py`` holds this against Python's own
``datetime.strptime``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "DATE_FORM",
    "STAMP_FORM",
    "Form",
    "Stamps",
    "TextColumn",
    "read_stamps",
    "text_column",
    "whole_number",
]


@dataclass(frozen=True)
class _Chunk:
    """Where each cell of one chunk of an Arrow string column sits in the chunk's data buffer."""

    cells: pa.Array
    first_row: int  # the column row of the chunk's first cell
    starts: np.ndarray
    lengths: np.ndarray  # bytes; 0 for a missing cell
    data: np.ndarray

    @classmethod
    def of(cls, cells: pa.Array, first_row: int = 0) -> _Chunk:
        large = pa.types.is_large_string(cells.type)
        offsets = np.frombuffer(cells.buffers()[1], dtype=np.int64 if large else np.int32)
        offsets = offsets[cells.offset : cells.offset + len(cells) + 1].astype(np.int64, copy=False)
        buffer = cells.buffers()[2]
        data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, dtype=np.uint8)
        lengths = np.diff(offsets)
        if cells.null_count:
            lengths[cells.is_null().to_numpy(zero_copy_only=False)] = 0
        return cls(cells, first_row, offsets[:-1], lengths, data)

    def of_length(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        """The chunk's rows whose cell is ``length`` bytes long, and those cells as a byte matrix.

        A view of the buffer when every other cell is empty (such cells lie back to back), else a
        copy gathered by Arrow.
        """
        if not self.cells.null_count and np.all((self.lengths == length) | (self.lengths == 0)):
            total = int(self.lengths.sum())
            first = int(self.starts[0]) if len(self.starts) else 0
            return np.flatnonzero(self.lengths), self.data[first : first + total].reshape(-1, length)
        rows = np.flatnonzero(self.lengths == length)
        return rows, _Chunk.of(self.cells.take(pa.array(rows))).of_length(length)[1]


class TextColumn:
    """A column of Arrow text, read in place chunk by chunk (no chunk is copied to join them).

    Parameters
    ----------
    cells : pyarrow.Array or pyarrow.ChunkedArray
        A ``string`` or ``large_string`` column.
    """

    def __init__(self, cells: pa.Array | pa.ChunkedArray) -> None:
        self.cells = cells if isinstance(cells, pa.ChunkedArray) else pa.chunked_array([cells])
        self.chunks: list[_Chunk] = []
        first = 0
        for chunk in self.cells.chunks:
            self.chunks.append(_Chunk.of(chunk, first))
            first += len(chunk)

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def lengths(self) -> np.ndarray:
        """Each cell's length in bytes (0 for a missing cell)."""
        return np.concatenate([c.lengths for c in self.chunks]) if self.chunks else np.zeros(0, np.int64)

    def last_bytes(self) -> np.ndarray:
        """Each cell's last byte (0 for an empty or missing cell)."""
        out = np.zeros(len(self), dtype=np.uint8)
        for chunk in self.chunks:
            filled = np.flatnonzero(chunk.lengths)
            out[chunk.first_row + filled] = chunk.data[chunk.starts[filled] + chunk.lengths[filled] - 1]
        return out

    def of_length(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows whose cell is ``length`` bytes long, and those cells' bytes as a matrix (a copy)."""
        found = [(chunk.first_row, *chunk.of_length(length)) for chunk in self.chunks]
        if not found:
            return np.zeros(0, dtype=np.intp), np.zeros((0, length), dtype=np.uint8)
        rows = np.concatenate([first + rows for first, rows, _ in found])
        return rows, np.concatenate([matrix for _, _, matrix in found])


def text_column(values: pd.Series, typed: bool) -> TextColumn | None:
    """The cells of a column held as Arrow text (CSV) in place; None for typed or pandas-held cells."""
    if typed or not isinstance(values.array, pd.arrays.ArrowStringArray):
        return None
    return TextColumn(pa.array(values.array))


def whole_number(matrix: np.ndarray, first: int, stop: int) -> np.ndarray:
    """The decimal number in bytes ``first:stop`` of each matrix row; -1 where one is no digit."""
    value = np.zeros(len(matrix), dtype=np.int64)
    digits = np.ones(len(matrix), dtype=bool)
    for position in range(first, stop):
        digit = matrix[:, position] - np.uint8(48)  # wraps below '0', so > 9 for non-digits
        digits &= digit < 10
        value = value * 10 + digit
    return np.where(digits, value, -1)


@dataclass(frozen=True)
class Form:
    """A canonical text stamp: its length, where its separators are, and whether it has a time."""

    length: int
    separators: dict[int, str]
    time: bool


DATE_FORM = Form(10, {4: "-", 7: "-"}, time=False)
STAMP_FORM = Form(19, {4: "-", 7: "-", 10: " ", 13: ":", 16: ":"}, time=True)


@dataclass(frozen=True)
class Stamps:
    """The cells of a column written in a :class:`Form` that are real dates (and times).

    Attributes
    ----------
    ok : ndarray of bool
        The cells read: the form's exact length, separators and digits, a year in the range
        asked for, a month from 1 to 12, a day of that month, an hour to 23, a minute and a
        second to 59 (a leap second is refused).
    stamps : ndarray of datetime64[ns]
        Their dates and times (NaT where not ``ok``).
    other : ndarray of int
        The rows of the other non-empty cells, for the parsers.
    year, month, day : ndarray of int64 or None
        Their parts (0 where not ``ok``), when asked for.
    """

    ok: np.ndarray
    stamps: np.ndarray
    other: np.ndarray
    year: np.ndarray | None = None
    month: np.ndarray | None = None
    day: np.ndarray | None = None


_BLOCK = 1 << 16  # rows read at a time: scratch arrays of a few hundred kilobytes, reused from block to block
_NAT = np.iinfo(np.int64).min


def _pair_values() -> np.ndarray:
    """The number written by two digit bytes, indexed by the bytes read as one little-endian uint16.

    Bytes that are not two digits give 10,000: past every bound a part is checked against.
    """
    first, second = np.divmod(np.arange(1 << 16), 256)[::-1]  # low byte first in memory
    digits = (first >= 48) & (first <= 57) & (second >= 48) & (second <= 57)
    return np.where(digits, (first - 48) * 10 + (second - 48), 10_000).astype(np.int16)


_PAIRS = _pair_values()


@lru_cache(maxsize=8)
def _calendar(years: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Days from 1970-01-01 to the first of each month of ``years`` (first, last), and the month's length."""
    months = np.arange(years[0] * 12, (years[1] + 1) * 12 + 1) - 1970 * 12
    firsts = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return firsts[:-1], np.diff(firsts)


def read_stamps(column: TextColumn, form: Form, years: tuple[int, int], *, parts: bool = False) -> Stamps:
    """Read the cells written exactly in ``form``, in the years ``years`` (first, last), from their bytes.

    Only the digits, separators and calendar are read: no text is parsed cell by cell, nothing
    is copied when every cell of a chunk has the form or is empty, and the scratch work is done
    a block of rows at a time, so a million cells need little more than the results' memory.
    ``parts``: return the year, month and day too.
    """
    n = len(column)
    ok = np.zeros(n, dtype=bool)
    stamps = np.full(n, _NAT, dtype=np.int64)
    found = [np.zeros(n, dtype=np.int64) for _ in range(3)] if parts else []
    other = []
    for chunk in column.chunks:
        rows, matrix = chunk.of_length(form.length)
        whole = len(rows) == len(chunk.lengths)  # rows are the chunk's 0..k-1
        for start in range(0, len(rows), _BLOCK):
            stop = min(start + _BLOCK, len(rows))
            first = chunk.first_row
            at: slice | np.ndarray = slice(first + start, first + stop) if whole else first + rows[start:stop]
            fits, seconds, ymd = _read_block(matrix[start:stop], form, years)
            ok[at] = fits
            seconds *= 1_000_000_000
            np.putmask(seconds, ~fits, _NAT)
            stamps[at] = seconds
            for into, part in zip(found, ymd, strict=False):
                np.putmask(part, ~fits, 0)
                into[at] = part
        read = np.zeros(len(chunk.lengths), dtype=bool)
        read[rows] = ok[chunk.first_row + rows]
        other.append(chunk.first_row + np.flatnonzero(~read & (chunk.lengths > 0)))
    rest = np.concatenate(other) if other else np.zeros(0, dtype=np.intp)
    return Stamps(ok, stamps.view("datetime64[ns]"), rest, *found)


def _read_block(
    matrix: np.ndarray, form: Form, years: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Which rows of a byte matrix are real stamps, their seconds since 1970, and year, month, day."""
    fits = np.ones(len(matrix), dtype=bool)
    for position, char in form.separators.items():
        fits &= matrix[:, position] == ord(char)
    # A pair that is not two digits reads as 10,000, which every check below refuses.
    year = _pair(matrix, 0).astype(np.int32)
    year *= 100
    year += _pair(matrix, 2)
    month = _pair(matrix, 5)
    day = _pair(matrix, 8)
    fits &= (year >= years[0]) & (year <= years[1]) & (month >= 1) & (month <= 12)
    firsts, lengths = _calendar(years)
    index = (year - years[0]) * 12 + month - 1
    np.putmask(index, ~fits, 0)  # a safe index for the cells already refused
    fits &= (day >= 1) & (day <= lengths[index])
    seconds = firsts[index] + (day - 1)
    seconds *= 86_400
    if form.time:
        for first, most, scale in ((11, 23, 3_600), (14, 59, 60), (17, 59, 1)):
            part = _pair(matrix, first)
            fits &= part <= most
            seconds += part.astype(np.int32) * scale
    return fits, seconds, (year, month, day)


def _pair(matrix: np.ndarray, first: int) -> np.ndarray:
    """The two-digit numbers in bytes ``first, first + 1`` of each matrix row (int16)."""
    return _PAIRS.take(matrix[:, first : first + 2].view("<u2")[:, 0])
