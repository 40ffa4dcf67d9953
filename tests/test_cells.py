"""Canonical dates and times read off the bytes of Arrow text (surveykit.incidents._cells).

The reference is Python's own calendar: a cell is read when it matches the form exactly (ASCII
digits and separators) and ``datetime.strptime`` accepts it in the years asked for; the value
read must then be that datetime's seconds since 1970.
"""

from __future__ import annotations

import random
import re
from datetime import datetime

import numpy as np
import pyarrow as pa
import pytest

from surveykit.incidents._cells import DATE_FORM, STAMP_FORM, TextColumn, read_stamps

_SHAPES = {
    False: (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "%Y-%m-%d"),
    True: (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"), "%Y-%m-%d %H:%M:%S"),
}


def _expected(cell: str | None, form, years) -> int | None:
    """Seconds since 1970 of a cell the fast path must read, else None."""
    shape, layout = _SHAPES[form.time]
    if cell is None or not shape.fullmatch(cell):
        return None
    try:
        stamp = datetime.strptime(cell, layout)
    except ValueError:
        return None
    if not years[0] <= stamp.year <= years[1]:
        return None
    return int((stamp - datetime(1970, 1, 1)).total_seconds())


def _tricky(form, rng: random.Random, count: int) -> list[str | None]:
    """Cells near every edge: leap days, month ends, hour 24, second 60, wrong separators, digits."""
    cells: list[str | None] = [None, "", "2016", "2016-03", "0000-01-01", "1900-02-29", "2000-02-29"]
    cells += ["2015-02-29", "2016-02-29", "2016-04-31", "2016-13-01", "2016-00-10", "2016-01-00", "2016-1-01"]
    cells += ["2016/01/01", "2016-01-01T00", "٢٠١٦-01-01", "2016-01-3a", " 2016-01-1"]
    cells += ["1678-01-01", "2261-12-31"]
    cells += ["1677-12-31", "2262-01-01", "1969-12-31", "1970-01-01", "9999-12-31"]
    if form.time:
        cells = [c if c is None or len(c) != 10 else c + " 23:59:59" for c in cells]
        cells += ["2016-01-01 24:00:00", "2016-01-01 23:60:00", "2016-01-01 23:59:60", "2016-01-01T23:59:59"]
        cells += ["2016-01-01 00:00:00", "2016-01-01 7:00:000", "2016-01-01 12:30:4x", "2016-01-01 12-30-40"]
    alphabet = "0123456789-: /T"
    for _ in range(count):
        year = rng.randrange(1600, 2300)
        text = f"{year:04d}-{rng.randrange(0, 14):02d}-{rng.randrange(0, 33):02d}"
        if form.time:
            text += f" {rng.randrange(0, 26):02d}:{rng.randrange(0, 62):02d}:{rng.randrange(0, 62):02d}"
        if rng.random() < 0.1:  # a byte changed anywhere
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(alphabet) + text[at + 1 :]
        cells.append(text)
    return cells


@pytest.mark.parametrize("form", [DATE_FORM, STAMP_FORM], ids=["date", "stamp"])
@pytest.mark.parametrize("chunked", [False, True], ids=["one chunk", "chunks"])
def test_read_stamps_agrees_with_pythons_calendar(form, chunked):
    rng = random.Random(20161129)
    years = (1678, 2261)
    cells = _tricky(form, rng, 20_000)
    if chunked:  # chunks of uneven sizes, as pyarrow's blocks come
        cuts = sorted(rng.sample(range(1, len(cells)), 7))
        parts = [cells[a:b] for a, b in zip([0, *cuts], [*cuts, len(cells)], strict=True)]
        column = TextColumn(pa.chunked_array([pa.array(p, type=pa.large_string()) for p in parts]))
    else:
        column = TextColumn(pa.array(cells, type=pa.string()))
    read = read_stamps(column, form, years, parts=True)
    expected = [_expected(c, form, years) for c in cells]
    want_ok = np.array([e is not None for e in expected])
    assert want_ok.sum() > 5_000 and (~want_ok).sum() > 1_000  # both kinds well represented
    np.testing.assert_array_equal(read.ok, want_ok)
    seconds = read.stamps[want_ok].astype("datetime64[s]").astype(np.int64)
    np.testing.assert_array_equal(seconds, [e for e in expected if e is not None])
    assert np.isnat(read.stamps[~want_ok]).all()
    dates = [datetime.strptime(c[:10], "%Y-%m-%d") for c, ok in zip(cells, want_ok, strict=True) if ok]
    np.testing.assert_array_equal(read.year[want_ok], [d.year for d in dates])
    np.testing.assert_array_equal(read.month[want_ok], [d.month for d in dates])
    np.testing.assert_array_equal(read.day[want_ok], [d.day for d in dates])
    assert not read.year[~want_ok].any()
    # Every other non-empty cell is handed on to the parsers, in row order.
    handed = [i for i, (c, ok) in enumerate(zip(cells, want_ok, strict=True)) if c and not ok]
    assert read.other.tolist() == handed


def test_years_asked_for_bound_what_is_read():
    column = TextColumn(pa.array(["1969-12-31", "1970-01-01", "2027-12-31", "2028-01-01"]))
    read = read_stamps(column, DATE_FORM, (1970, 2027))
    assert read.ok.tolist() == [False, True, True, False]
    assert read.other.tolist() == [0, 3]
