"""Value parsers: raw cells of an incident log to canonical values, with a problem per bad cell.

Each parser takes one raw column and returns the canonical array; a value it cannot read is
left missing and reported (through ``_Checker``) with the row, column as headed in the
file, value and reason. :func:`normalise` runs them all and builds the canonical frame;
the columns whose problems concern their own cells alone are parsed on worker threads while
the dates are read. Rows are numbered from 1 at the first row under the header; VERIS problems
name the file.

CSV cells arrive as Arrow strings: canonical dates and times are read off their bytes
(:mod:`surveykit.incidents._cells`), empty cells and distinct ids are checked by Arrow over
whole columns, and only the other cells go through the parsers, on their rows alone, so every
rule and message is the parsers' own.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from surveykit._limits import current_limits
from surveykit.exceptions import Problem, Repair
from surveykit.incidents._cells import (
    DATE_FORM,
    STAMP_FORM,
    TextColumn,
    read_stamps,
    text_column,
    whole_number,
)
from surveykit.incidents.schema import (
    COUNTRY_CODES,
    IMPERSONATED_ROLES,
    INCIDENT_COLUMNS,
    INCIDENT_DTYPES,
    INCIDENT_TYPES,
    M49_REGIONS,
    SEVERITIES,
)

__all__ = ["MAX_YEAR", "MIN_YEAR", "RawLog", "content_key", "header_key", "normalise", "region_code"]

_TYPE_SYNONYMS = {
    **{t: t for t in INCIDENT_TYPES},
    "whaling": "whaling_bec", "bec": "whaling_bec", "whaling_bec": "whaling_bec",
    "business_email_compromise": "whaling_bec", "ceo_fraud": "whaling_bec",
    "whaling_or_bec": "whaling_bec", "executive_impersonation": "whaling_bec",
    "phish": "phishing", "spear_phishing": "phishing", "spearphishing": "phishing",
    "ransomware": "malware", "virus": "malware",
    "account_takeover": "account_compromise", "ato": "account_compromise",
    "compromised_account": "account_compromise",
    "data_leak": "data_loss", "data_breach": "data_loss", "data_leakage": "data_loss",
    "outage": "email_outage", "email_outage": "email_outage", "mail_outage": "email_outage",
    "service_outage": "email_outage",
}  # fmt: skip
_ROLE_SYNONYMS = {
    **{r: r for r in IMPERSONATED_ROLES},
    "chief_executive": "ceo", "chief_executive_officer": "ceo",
    "chief_financial_officer": "cfo", "finance_director": "cfo",
    "executive": "other_exec", "other_executive": "other_exec", "coo": "other_exec",
    "cto": "other_exec", "cio": "other_exec", "ciso": "other_exec", "president": "other_exec",
    "human_resources": "hr", "information_technology": "it", "it_support": "it",
    "helpdesk": "it", "general_counsel": "legal", "lawyer": "legal",
}  # fmt: skip
_SEVERITY_SYNONYMS = {
    **{s: s for s in SEVERITIES},
    "med": "medium", "moderate": "medium", "crit": "critical", "severe": "high",
}  # fmt: skip

_MISSING = {"", "unknown", "n_a", "na", "null", "none", "not_known", "nan", "nat", "other_unknown"}
_COUNTRY_MISSING = {"", "UNKNOWN", "OTHER", "N/A", "NULL", "NONE", "-"}
MIN_YEAR = 1970
MAX_YEAR = date.today().year + 1
_VALUE_WIDTH = 60


@dataclass
class RawLog:
    """A log as read: canonical column names, raw cell values, and where each row came from."""

    frame: pd.DataFrame
    labels: Sequence[int | str]  # a list, range or integer array
    headers: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    duplicates: int = 0
    epoch: datetime | None = None
    has_id: bool = False
    typed: bool = True  # cells may be numbers or datetimes (XLSX, VERIS); CSV cells are all str
    nul_free: bool = False  # the file has no NUL byte, so no cell needs the NUL check


def header_key(header: object) -> str:
    """A header or name as a comparison key: lower case, runs of non-alphanumerics as ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", str(header).strip().lower()).strip("_")


class _Checker:
    """Collects problems per row while columns are parsed."""

    def __init__(self, raw: RawLog, labels: Sequence[int | str] | None = None) -> None:
        self.raw = raw
        self.labels = raw.labels if labels is None else labels  # of the rows checked, in order
        self.problems: list[Problem] = []
        self.bad = np.zeros(len(self.labels), dtype=bool)

    def flag(self, mask: np.ndarray | pd.Series, column: str, values: pd.Series, reason: str) -> None:
        mask = _mask(mask)
        if not mask.any():
            return
        self.bad |= mask
        header = self.raw.headers.get(column, column)
        for position in np.flatnonzero(mask):
            value = values.iloc[position]
            label = self.labels[position]
            row = label if isinstance(label, str) else int(label)
            self.problems.append(Problem(row, header, _display(value), reason))

    def rows(self, positions: np.ndarray) -> _Checker:
        """A checker for the cells of the rows at ``positions``; :meth:`merge` takes its findings back."""
        return _Checker(self.raw, [self.labels[p] for p in positions])

    def merge(self, part: _Checker, positions: np.ndarray | slice) -> None:
        """Take back the problems and bad rows of a checker made by :meth:`rows` (or for all rows)."""
        self.bad[positions] |= part.bad
        self.problems.extend(part.problems)


def _missing_array(n: int, dtype: str) -> Any:
    """An all-missing extension array of length n ("string", "Int64" or "Float64")."""
    if dtype == "string":
        return pd.arrays.ArrowStringArray(pa.nulls(n, type=pa.large_string()))
    if dtype == "Int64":
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    return pd.arrays.FloatingArray(np.zeros(n, dtype=np.float64), np.ones(n, dtype=bool))


def _constant_text(value: str, n: int) -> pd.arrays.ArrowStringArray:
    """A ``string`` array of ``value`` n times (a file name on every row), its chunks sharing one block."""
    one = pa.array([value], type=pa.large_string())
    block = one.take(pa.array(np.zeros(min(n, 1 << 16), dtype=np.int64)))
    whole, rest = divmod(n, max(len(block), 1))
    chunks = [block] * whole + ([block.slice(0, rest)] if rest else [])
    return pd.arrays.ArrowStringArray(pa.chunked_array(chunks, type=pa.large_string()))


def _mask(values: Any) -> np.ndarray:
    """A plain boolean array, missing counted as False."""
    if isinstance(values, np.ndarray) and values.dtype == bool:
        return values
    return np.asarray(pd.array(values, dtype="boolean").fillna(False), dtype=bool)


def _display(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = str(value)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."


def _cell_text(value: object, *, keep_leading: bool = False) -> str:
    """One typed cell as text ('' for empty): integral floats lose their '.0', dates are ISO.

    Trailing white space is dropped; leading white space too unless ``keep_leading``.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return text.rstrip() if keep_leading else text.strip()


def _text(series: pd.Series, typed: bool) -> pd.Series:
    """Raw cells as ``str`` objects ('' for empty).

    CSV cells are already strings and are left as read (parsers strip where it matters);
    typed cells are converted by :func:`_cell_text` and stripped.
    """
    if not typed:
        return series.reset_index(drop=True)
    return series.map(_cell_text).astype(object).reset_index(drop=True)


def _free_text(series: pd.Series, typed: bool) -> pd.Series:
    """Cells kept as text (ids, sources): trailing white space dropped, leading kept.

    Stripping a leading tab or carriage return would turn ``\t=1+1`` into a formula.
    """
    if not typed:  # CSV cells: already text, only the trailing white space to drop
        return series.reset_index(drop=True).astype("string").fillna("").str.rstrip()
    values = series.reset_index(drop=True).astype(object)
    # factorize leaves None and NaN out: they come back as None, blank here.
    return _per_unique(values, partial(_cell_text, keep_leading=True)).fillna("").astype(object)


def _check_length(text: pd.Series, values: pd.Series, name: str, most: int, check: _Checker) -> None:
    lengths = text.str.len()
    check.flag(
        (lengths > most).to_numpy(dtype=bool),
        name,
        values,
        f"{name} may have at most {most} characters; this one is longer",
    )


def _is_missing(value: str) -> bool:
    return re.sub(r"[^0-9a-z]+", "_", value.lower()).strip("_") in _MISSING


@dataclass(frozen=True)
class _Distinct:
    """A column's distinct values and each cell's code (-1 for missing), in order of appearance."""

    codes: np.ndarray
    uniques: list[Any]
    cells: pa.ChunkedArray | None = None  # the column itself, when Arrow holds it (CSV)

    def spread(self, per_value: list[str | None]) -> pd.arrays.ArrowStringArray:
        """The ``string`` array of ``per_value[code]`` (missing where the code is -1 or the value None).

        When every value is its own canonical form, that is the column itself, not a copy.
        """
        if self.cells is not None and per_value == self.uniques:
            return pd.arrays.ArrowStringArray(self.cells)
        dictionary = pa.array(per_value, type=pa.large_string())
        indices = pa.array(self.codes, mask=self.codes < 0, type=pa.int64())
        return pd.arrays.ArrowStringArray(pc.take(dictionary, indices))


def _distinct(text: pd.Series) -> _Distinct:
    """The distinct values of text cells: encoded by Arrow for text read by pyarrow (CSV), else by pandas."""
    if isinstance(text.array, pd.arrays.ArrowStringArray):
        cells = pa.array(text.array)
        if not isinstance(cells, pa.ChunkedArray):
            cells = pa.chunked_array([cells])
        # One dictionary for all chunks; combining them then joins only the indices.
        encoded = pc.dictionary_encode(cells).combine_chunks()
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        return _Distinct(codes.astype(np.intp, copy=False), encoded.dictionary.to_pylist(), cells)
    codes, uniques = pd.factorize(text)
    return _Distinct(codes, list(uniques))


def _per_unique(text: pd.Series, function: Any) -> pd.Series:
    """Apply ``function`` once per distinct value (logs repeat a few values many times)."""
    found = _distinct(text)
    results = np.array([function(u) for u in found.uniques] + [None], dtype=object)
    return pd.Series(results[found.codes], index=text.index)


def _missing_mask(text: pd.Series) -> pd.Series:
    return _per_unique(text, _is_missing).astype(bool)


# --- Arrow fast paths ------------------------------------------------------------------------
# CSV cells arrive as Arrow strings. The common cells (canonical dates, read off their bytes by
# _cells; empty cells and distinct ids, by Arrow compute) are checked over whole columns; every
# other non-empty cell goes through the parsers above on just its rows (_Checker.rows), so rules
# and messages stay those of the parsers.


def _on_rows(
    values: pd.Series, rows: np.ndarray, check: _Checker, parse: Callable[[pd.Series, _Checker], Any]
) -> Any:
    """``parse(cells, checker)`` on the cells at ``rows`` only, its problems taken back by ``check``."""
    part = check.rows(rows)
    result = parse(values.iloc[rows].reset_index(drop=True), part)
    check.merge(part, rows)
    return result


def _check_nul(raw: RawLog, check: _Checker) -> None:
    """Flag cells with a NUL character: PostgreSQL refuses NUL in text and SQLite would store it."""
    if raw.nul_free:
        return
    for name in raw.frame.columns:
        text = _text(raw.frame[name], raw.typed)
        if (
            isinstance(text.array, pd.arrays.ArrowStringArray)
            and not pc.any(pc.match_substring(pa.array(text.array), "\x00")).as_py()
        ):
            continue  # the common case, checked by Arrow without building a mask
        check.flag(
            text.str.contains("\x00", regex=False).to_numpy(dtype=bool),
            name,
            raw.frame[name],
            "the value contains a NUL byte (binary data, or a file saved as UTF-16)",
        )


def normalise(
    raw: RawLog, date_format: str | None, default_source: str
) -> tuple[pd.DataFrame, list[Problem], int]:
    """Parse every column of ``raw`` into the canonical frame.

    Returns the valid rows (de-duplicated by ``incident_id``), the problems of the other rows in
    row order, and the number of repeated rows dropped.
    """
    n = len(raw.frame)
    check = _Checker(raw)
    out: dict[str, Any] = {}
    column = partial(_column, raw)
    _check_nul(raw, check)
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        # Columns whose parsers flag only their own cells are read on worker threads while the
        # dates are read here; their findings join the checker after the dates', as they always did.
        own = {
            name: pool.submit(_checked, raw, parse)
            for name, parse in _own_columns(raw, n, date_format, default_source).items()
        }
        year, month, day, occurred_on = _dates(raw, check, date_format)
        out["year"], out["month"], out["day"], out["occurred_on"] = year, month, day, occurred_on
        for name, pending in own.items():
            out[name], part = pending.result()
            check.merge(part, slice(None))
    backwards = (out["resolved_at"] < out["detected_at"]).to_numpy()
    check.flag(
        backwards,
        "resolved_at",
        column("resolved_at") if column("resolved_at") is not None else out["resolved_at"],
        "resolved before it was detected",
    )
    check.flag(
        out["resolved_at"].notna().to_numpy() & out["detected_at"].isna().to_numpy(),
        "detected_at",
        out["detected_at"],
        "a resolution time needs a detection time to measure the duration from",
    )

    # copy=False: the columns are this function's own, and copying them into blocks costs more than parsing.
    result = pd.DataFrame({c: out[c] for c in INCIDENT_COLUMNS if c != "incident_id"}, copy=False)
    ids, ids_repeat = _incident_ids(raw, result, check)
    result.insert(0, "incident_id", ids)
    if check.bad.any():
        result = result.loc[~check.bad]
    before = len(result)
    if ids_repeat and result["incident_id"].duplicated().any():
        result = result.drop_duplicates("incident_id")
    result = result.reset_index(drop=True)
    result = result.astype(INCIDENT_DTYPES)
    problems = sorted(check.problems, key=_problem_order)
    return result, problems, before - len(result)


_WORKERS = min(4, os.cpu_count() or 1)


def _column(raw: RawLog, name: str) -> pd.Series | None:
    """The raw cells of a canonical column, or None when the log has no such column."""
    return raw.frame[name] if name in raw.frame.columns else None


def _checked(raw: RawLog, parse: Callable[[_Checker], Any]) -> tuple[Any, _Checker]:
    """``parse`` with a checker of its own, for a worker thread; returns the column and the checker."""
    check = _Checker(raw)
    return parse(check), check


def _own_columns(
    raw: RawLog, n: int, date_format: str | None, default_source: str
) -> dict[str, Callable[[_Checker], Any]]:
    """The parser of each column whose problems concern its own cells alone, in the order of reporting."""
    column = partial(_column, raw)

    def times(name: str) -> Callable[[_Checker], Any]:
        values = column(name)
        if values is None:
            return lambda check: pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
        return lambda check: _parse_datetime(values, name, raw, check, date_format)

    losses, source = column("loss_amount"), column("source")
    return {
        "country": partial(_parse_country, column("country"), n),
        "region": partial(_parse_region, column("region"), n),
        "incident_type": partial(
            _parse_vocabulary, column("incident_type"), n, "incident_type", _TYPE_SYNONYMS, INCIDENT_TYPES
        ),
        "impersonated_role": partial(
            _parse_vocabulary,
            column("impersonated_role"),
            n,
            "impersonated_role",
            _ROLE_SYNONYMS,
            IMPERSONATED_ROLES,
        ),
        "severity": partial(
            _parse_vocabulary, column("severity"), n, "severity", _SEVERITY_SYNONYMS, SEVERITIES
        ),
        "detected_at": times("detected_at"),
        "resolved_at": times("resolved_at"),
        "loss_amount": (
            (lambda check: _missing_array(n, "Float64"))
            if losses is None
            else partial(_parse_nonblank, losses, dtype="Float64", parse=_parse_loss_cells)
        ),
        "source": partial(_parse_source, source, n, raw.typed, default_source),
    }


def _parse_source(
    values: pd.Series | None, n: int, typed: bool, default_source: str, check: _Checker
) -> pd.arrays.ArrowStringArray:
    if values is None:
        return _constant_text(default_source, n)
    text = _free_text(values, typed)
    _check_length(text, values, "source", current_limits().max_source_chars, check)
    return text.mask(text.str.strip() == "", default_source).astype("string").array


def _dates(
    raw: RawLog, check: _Checker, date_format: str | None
) -> tuple[pd.array, pd.array, pd.array, pd.Series]:
    """Year, month, day and date of every incident, from the incident date and year, month, day columns."""
    n = len(raw.frame)
    column = partial(_column, raw)
    occurred = column("occurred_on")
    year = _missing_array(n, "Int64")
    month = _missing_array(n, "Int64")
    day = _missing_array(n, "Int64")
    known = np.zeros(n, dtype=bool)  # rows whose whole date the fast path read
    dates = np.full(n, np.datetime64("NaT", "ns"))
    if occurred is not None:
        year, month, day, known, dates = _parse_occurred(occurred, raw, check, date_format)
    for part, low, high in (("year", MIN_YEAR, MAX_YEAR), ("month", 1, 12), ("day", 1, 31)):
        values = column(part)
        if values is None:
            continue
        read = partial(_parse_int_cells, name=part, low=low, high=high)
        parsed = _parse_nonblank(values, check, "Int64", read)
        current = {"year": year, "month": month, "day": day}[part]
        clash = _mask(current != parsed)
        check.flag(clash, part, values, f"{part} disagrees with the incident date")
        filled = current.copy()
        take = _mask(filled.isna())
        filled[take] = parsed[take]
        if part == "year":
            year = filled
        elif part == "month":
            month = filled
        else:
            day = filled
    year_source = column("year") if column("year") is not None else occurred
    # A date already reported as unreadable needs no second "year is missing".
    check.flag(
        _mask(year.isna()) & ~check.bad,
        "year" if column("year") is not None else "occurred_on",
        year_source,
        "the incident year is missing; every incident needs at least a year",
    )
    check.flag(
        month.isna() & ~day.isna(),
        "day",
        column("day") if column("day") is not None else occurred,
        "a day is given without a month; add the month or clear the day",
    )
    complete = ~(year.isna() | month.isna() | day.isna()) & ~known
    occurred_on = pd.Series(dates, index=range(n), dtype="datetime64[ns]")
    if complete.any():
        idx = np.flatnonzero(complete)
        parts = pd.DataFrame(
            {
                "year": np.asarray(year[idx], dtype=int),
                "month": np.asarray(month[idx], dtype=int),
                "day": np.asarray(day[idx], dtype=int),
            }
        )
        dates = pd.to_datetime(parts, errors="coerce")
        invalid = np.zeros(n, dtype=bool)
        invalid[idx] = dates.isna().to_numpy()
        check.flag(
            invalid, "day", column("day") if column("day") is not None else occurred, "no such calendar date"
        )
        occurred_on.iloc[idx] = dates.to_numpy()
    return year, month, day, occurred_on


def _problem_order(problem: Problem) -> tuple[int, str, str]:
    row = problem.row
    return (row, "", problem.column) if isinstance(row, int) else (0, str(row), problem.column)


def _parse_int(values: pd.Series, name: str, low: int, high: int, check: _Checker) -> pd.array:
    text = _text(values, check.raw.typed)
    number = pd.to_numeric(text, errors="coerce")
    missing = number.isna() & _missing_mask(text.where(number.isna(), "0"))
    integral = number.notna() & (number == np.floor(number))
    bad = ~missing & ~integral
    check.flag(bad, name, values, f"{name} must be a whole number")
    out_of_range = integral & ((number < low) | (number > high))
    check.flag(out_of_range, name, values, f"{name} must be between {low} and {high}")
    ok = integral & ~out_of_range
    return pd.array(number.where(ok), dtype="Int64")


_PARTIAL_DATE = re.compile(r"^(\d{4})(?:[-/](\d{1,2}))?$")
_SLASH_ISO = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(.*)$")


def _parse_nonblank(
    values: pd.Series, check: _Checker, dtype: str, parse: Callable[[pd.Series, _Checker], Any]
) -> Any:
    """``parse`` on the non-empty cells of Arrow-held text; an empty cell is missing, never a problem."""
    column = text_column(values, check.raw.typed)
    if column is None:
        return parse(values.reset_index(drop=True), check)
    result = _missing_array(len(values), dtype)
    rows = np.flatnonzero(column.lengths)
    if rows.size:
        result[rows] = _on_rows(values, rows, check, parse)
    return result


def _parse_int_cells(values: pd.Series, check: _Checker, *, name: str, low: int, high: int) -> pd.array:
    return _parse_int(values, name, low, high, check)


def _parse_loss_cells(values: pd.Series, check: _Checker) -> pd.array:
    return _parse_loss(values, len(values), check)


def _parse_occurred(
    values: pd.Series, raw: RawLog, check: _Checker, date_format: str | None
) -> tuple[pd.array, pd.array, pd.array, np.ndarray, np.ndarray]:
    """Incident dates as year, month and day, plus which rows had a whole ``YYYY-MM-DD`` and its date.

    Canonical dates in the allowed years are read off their bytes; the other non-empty cells by
    :func:`_parse_occurred_cells`.
    """
    n = len(values)
    column = text_column(values, raw.typed) if date_format is None else None
    if column is None:
        year, month, day = _parse_occurred_cells(values, raw, check, date_format)
        return year, month, day, np.zeros(n, dtype=bool), np.full(n, np.datetime64("NaT", "ns"))
    read = read_stamps(column, DATE_FORM, (MIN_YEAR, MAX_YEAR), parts=True)
    known, dates = read.ok, read.stamps
    year = pd.arrays.IntegerArray(read.year, ~known)
    month = pd.arrays.IntegerArray(read.month, ~known)
    day = pd.arrays.IntegerArray(read.day, ~known)
    # A year alone ('2015') is a partial date: its year is known, its month and day are not.
    rows = read.other
    if rows.size:
        four, matrix = TextColumn(column.cells.take(pa.array(rows))).of_length(4)
        written = whole_number(matrix, 0, 4)
        in_range = (written >= MIN_YEAR) & (written <= MAX_YEAR)
        year[rows[four[in_range]]] = written[in_range]
        rows = np.delete(rows, four[in_range])
    if rows.size:
        parts = _on_rows(
            values, rows, check, lambda cells, part: _parse_occurred_cells(cells, part.raw, part, date_format)
        )
        for whole, part in zip((year, month, day), parts, strict=True):
            whole[rows] = part
    return year, month, day, known, dates


def _parse_occurred_cells(
    values: pd.Series, raw: RawLog, check: _Checker, date_format: str | None
) -> tuple[pd.array, pd.array, pd.array]:
    """Incident dates; a year or year-month alone ('2015', '2015-03') gives a partial date."""
    n = len(values)
    text = _text(values, raw.typed)
    year = _missing_array(n, "Int64")
    month = _missing_array(n, "Int64")
    day = _missing_array(n, "Int64")
    plain = (
        pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        if date_format is None
        else pd.Series(pd.NaT, index=text.index)
    )
    handled = plain.notna().to_numpy()
    unsure = ~handled & (text != "").to_numpy()
    partial = text[unsure].str.strip().str.extract(_PARTIAL_DATE)
    is_partial = np.zeros(n, dtype=bool)
    is_partial[np.flatnonzero(unsure)[partial[0].notna().to_numpy()]] = True
    if is_partial.any():
        found = partial[partial[0].notna()]
        year[is_partial] = pd.to_numeric(found[0]).to_numpy()
        months = pd.to_numeric(found[1])
        month[is_partial] = pd.array(months, dtype="Int64")
        bad_month = np.zeros(n, dtype=bool)
        bad_month[is_partial] = ((months < 1) | (months > 12)).fillna(False).to_numpy()
        check.flag(bad_month, "occurred_on", values, "month must be between 1 and 12")
        month[bad_month] = pd.NA
    if (unsure & ~is_partial).any():  # dates with a time, other forms: the full parser
        rest = values.reset_index(drop=True).copy()
        rest[handled | is_partial] = None if raw.typed else ""
        stamps = _parse_datetime(rest, "occurred_on", raw, check, date_format)
    else:
        stamps = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    # Parts read from each parser's own stamps: pandas reads 0001-01-01 at a coarser unit than
    # nanoseconds, so it cannot join the others (its year is refused below).
    found = stamps.notna().to_numpy() & ~handled
    for stamp, rows in ((plain.reset_index(drop=True), handled), (stamps, found)):
        if rows.any():
            year[rows] = stamp.dt.year[rows].to_numpy()
            month[rows] = stamp.dt.month[rows].to_numpy()
            day[rows] = stamp.dt.day[rows].to_numpy()
    too_late = _mask((year > MAX_YEAR) | (year < MIN_YEAR))
    check.flag(too_late, "occurred_on", values, f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    year[too_late] = pd.NA
    return year, month, day


_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_ISO_SHAPED = re.compile(
    r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


def _parse_datetime(
    values: pd.Series, name: str, raw: RawLog, check: _Checker, date_format: str | None
) -> pd.Series:
    """Timestamps as tz-naive UTC; canonical ``YYYY-MM-DD hh:mm:ss`` text is read off its bytes.

    The other non-empty cells are read by :func:`_parse_datetime_cells`.
    """
    column = text_column(values, raw.typed) if date_format is None else None
    if column is None:
        return _parse_datetime_cells(values, name, raw, check, date_format)
    # The fast path takes the whole years that datetime64[ns] holds; the parser words the rest.
    read = read_stamps(column, STAMP_FORM, (pd.Timestamp.min.year + 1, pd.Timestamp.max.year - 1))
    stamps, rows = read.stamps, read.other
    if rows.size:
        parsed = _on_rows(
            values,
            rows,
            check,
            lambda cells, part: _parse_datetime_cells(cells, name, part.raw, part, date_format),
        )
        stamps[rows] = parsed.to_numpy()
    return pd.Series(stamps, index=range(len(values)), dtype="datetime64[ns]")


def _parse_datetime_cells(
    values: pd.Series, name: str, raw: RawLog, check: _Checker, date_format: str | None
) -> pd.Series:
    """Timestamps as tz-naive UTC from text, datetime cells or Excel serial numbers."""
    n = len(values)
    values = values.reset_index(drop=True)
    result = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    other = np.ones(n, dtype=bool)
    if raw.typed and values.dtype == object:
        typed = values.map(lambda v: isinstance(v, datetime | date)).to_numpy(dtype=bool)
        if typed.any():
            stamps = pd.to_datetime(values[typed].map(_as_utc_naive))
            result[typed] = stamps.to_numpy()
            check.flag(
                typed & result.isna().to_numpy(),
                name,
                values,
                _out_of_range(name),
            )
        other &= ~typed
        if raw.epoch is not None:
            numeric = values.map(
                lambda v: isinstance(v, int | float) and not isinstance(v, bool) and not np.isnan(v)
            ).to_numpy(dtype=bool)
            if numeric.any():
                result[numeric] = pd.to_datetime(values[numeric].map(lambda v: _excel_serial(v, raw.epoch)))
                check.flag(
                    numeric & result.isna().to_numpy(),
                    name,
                    values,
                    f"{name} is a number but not an Excel date; format the cell as a date or write "
                    "it as text such as 2016-03-31",
                )
            other &= ~numeric
    text = _text(values, raw.typed)
    todo = other & (text != "").to_numpy()
    if todo.any():
        chunk = text[todo]
        if date_format is not None:
            parsed = pd.to_datetime(chunk.str.strip(), format=date_format, errors="coerce", utc=True)
        else:
            parsed = pd.to_datetime(chunk, format="%Y-%m-%d %H:%M:%S", errors="coerce", utc=True)
            failed = parsed.isna()
            if failed.any():  # other ISO 8601 forms; 2016/3/31 and 2016-3-1 padded first
                fixed = chunk[failed].str.strip().str.replace(_SLASH_ISO, r"\1-\2-\3\4", regex=True)
                fixed = fixed.str.replace(r"^(\d{4})-(\d)(?=\D|$)", r"\1-0\2", regex=True)
                fixed = fixed.str.replace(r"^(\d{4}-\d{2})-(\d)(?=\D|$)", r"\1-0\2", regex=True)
                again = pd.to_datetime(fixed, format="ISO8601", errors="coerce", utc=True)
                # ISO 8601 reads '2016-03' as 1 March: a day that was never given.
                parsed[failed] = again.where(fixed.str.match(_FULL_DATE))
        parsed = parsed.dt.tz_convert(None)
        # A real date outside what datetime64[ns] holds (1600-01-01) is refused, like a workbook's.
        storable = (parsed.isna() | ((parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max))).to_numpy()
        far = np.zeros(n, dtype=bool)
        far[np.flatnonzero(todo)[~storable]] = True
        check.flag(far, name, values, _out_of_range(name))
        parsed = parsed.where(storable).astype("datetime64[ns]")
        result[todo] = parsed.to_numpy()
        bad = np.zeros(n, dtype=bool)
        bad[np.flatnonzero(todo)[parsed.isna().to_numpy()]] = True
        bad &= ~far
        if not bad.any():
            return result
        bad &= ~_missing_mask(text.where(bad, "")).to_numpy()
        hint = (
            f"does not match date_format {date_format!r}"
            if date_format
            else "is not a date in ISO 8601 form (2016-03-31 or 2016-03-31 14:05); "
            "for other forms pass date_format=, e.g. '%d/%m/%Y'"
        )
        # Well-formed but impossible (2015-02-29, 25:00): the form hint would mislead.
        impossible = np.zeros(n, dtype=bool)
        if date_format is None:
            impossible = bad & text.str.strip().str.match(_ISO_SHAPED).to_numpy(dtype=bool)
        check.flag(bad & ~impossible, name, values, f"{name} {hint}")
        check.flag(
            impossible,
            name,
            values,
            f"{name} is in ISO 8601 form but no such date or time exists (29 February of a "
            "non-leap year, 31 April, hour 25...)",
        )
    return result


def _out_of_range(name: str) -> str:
    return f"{name} is a date before 1678 or after 2261, outside the range that can be stored"


def _excel_serial(value: float, epoch: datetime) -> pd.Timestamp:
    from openpyxl.utils.datetime import from_excel

    try:
        # as_unit: a date pandas cannot hold in nanoseconds (before 1678) is not a date here.
        return pd.Timestamp(from_excel(value, epoch)).as_unit("ns")
    except (ValueError, OverflowError, TypeError):
        return pd.NaT


def _as_utc_naive(value: datetime | date) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return stamp.as_unit("ns")
    except (ValueError, OverflowError):
        return pd.NaT


def _parse_country(values: pd.Series | None, n: int, check: _Checker) -> pd.array:
    if values is None:
        return _missing_array(n, "string")
    found = _distinct(_text(values, check.raw.typed))
    upper = [str(u).strip().upper() for u in found.uniques]
    read = [_COUNTRY_ALIASES.get(u, u) for u in upper]
    fine = np.array([r in COUNTRY_CODES or r in _COUNTRY_MISSING for r in read] + [False])
    check.flag(
        ~fine[found.codes],
        "country",
        values,
        "not an ISO 3166-1 alpha-2 country code (for example US, GB, ZA, AU)",
    )
    return found.spread([r if r in COUNTRY_CODES else None for r in read])


_COUNTRY_ALIASES = {"UK": "GB"}
_REGION_BY_NAME = {header_key(name): code for code, name in M49_REGIONS.items()}


def region_code(text: str) -> str | None:
    """The three-digit M.49 code of a code, six-digit VERIS code or name; '' for unknown, None if invalid."""
    if text.isdigit():
        if len(text) == 6:
            top, sub = text[:3], text[3:]
            # Both halves must be M.49 codes: a six-digit NAICS industry code, a common slip
            # into this field, could otherwise pass for a region through one of its halves.
            if not all(code == "000" or code in M49_REGIONS for code in (top, sub)):
                return None
            return sub if sub != "000" else top if top != "000" else ""
        code = text.zfill(3)
        return code if code in M49_REGIONS else None
    return _REGION_BY_NAME.get(header_key(text))


def _parse_region(values: pd.Series | None, n: int, check: _Checker) -> pd.array:
    if values is None:
        return _missing_array(n, "string")
    text = _per_unique(_text(values, check.raw.typed), str.strip)
    missing = _missing_mask(text)
    codes = _per_unique(text, lambda t: "" if _is_missing(t) else region_code(t))
    bad = codes.isna() & ~missing
    check.flag(
        bad, "region", values, "not a UN M.49 region code or name (for example 021, 154, 'Northern Europe')"
    )
    codes = codes.where(codes.notna() & (codes != ""))
    return pd.array(codes, dtype="string")


def _parse_vocabulary(
    values: pd.Series | None,
    n: int,
    name: str,
    synonyms: Mapping[str, str],
    allowed: tuple[str, ...],
    check: _Checker,
) -> pd.array:
    if values is None:
        return _missing_array(n, "string")
    text = _text(values, check.raw.typed)
    # Logs repeat a few values many times: map each distinct value once, then spread by code.
    found = _distinct(text)
    keys = [re.sub(r"[^0-9a-z]+", "_", str(u).lower()).strip("_") for u in found.uniques]
    known = np.array([k in synonyms or k in _MISSING for k in keys] + [False])
    check.flag(~known[found.codes], name, values, f"{name} must be one of {list(allowed)}")
    return found.spread([synonyms.get(k) for k in keys])


_CURRENCY = re.compile(r"^(?:USD|EUR|GBP|ZAR|AUD|US\$|[$€£R])\s*", re.IGNORECASE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")


def _parse_loss(values: pd.Series | None, n: int, check: _Checker) -> pd.array:
    if values is None:
        return _missing_array(n, "Float64")
    text = _text(values, check.raw.typed)
    number = pd.to_numeric(text, errors="coerce")
    failed = number.isna() & (text != "")
    if failed.any():  # currency signs and thousands separators: clean the few that need it
        cleaned = text[failed].str.strip().str.replace(_CURRENCY, "", regex=True)
        cleaned = cleaned.str.replace(_THOUSANDS, "", regex=True).str.replace(" ", "", regex=False)
        number[failed] = pd.to_numeric(cleaned, errors="coerce")
    missing = number.isna() & _missing_mask(text.where(number.isna(), "0"))
    bad = number.isna() & ~missing
    check.flag(
        bad,
        "loss_amount",
        values,
        "loss_amount must be a number such as 25000 or 25,000.50 (a point marks decimals)",
    )
    infinite = number.notna() & ~np.isfinite(number)
    check.flag(infinite, "loss_amount", values, "loss_amount must be a finite number")
    negative = (number < 0) & ~infinite
    check.flag(negative, "loss_amount", values, "loss_amount cannot be negative")
    return pd.array(number.where(~negative & ~infinite), dtype="Float64")


_CONTENT_COLUMNS = [c for c in INCIDENT_COLUMNS if c not in ("incident_id", "source")]


def _incident_ids(raw: RawLog, result: pd.DataFrame, check: _Checker) -> tuple[pd.array, bool]:
    """The file's ids when it has them, else a hash of the normalised row content; and whether any repeats.

    Identical rows in a log without ids are numbered in order of appearance before hashing, so
    two genuinely identical incidents stay two, and re-importing the same log yields the same ids.
    """
    if raw.has_id:
        values = raw.frame["incident_id"]
        column = text_column(values, raw.typed)
        if column is not None:  # Arrow text: trimmed, measured and sorted by Arrow
            arrow_ids, repeated = _arrow_id_checks(column, values, check)
            if repeated is None:
                return arrow_ids, False
            _check_id_clashes(pd.Series(arrow_ids), repeated, values, result, check)
            return arrow_ids, True
        ids = _free_text(values, raw.typed)
        check.flag(
            (ids.str.strip() == "").to_numpy(dtype=bool), "incident_id", values, "the incident id is blank"
        )
        _check_length(ids, values, "incident_id", current_limits().max_id_chars, check)
        repeated = ids.duplicated(keep=False).to_numpy(dtype=bool)
        _check_id_clashes(ids, repeated, values, result, check)
        return pd.array(ids, dtype="string"), bool(repeated.any())
    content = content_key(result)
    ordinal = content.groupby(content).cumcount().astype(str)
    keyed = (content + "#" + ordinal).tolist()
    ids = ["h" + hashlib.blake2b(k.encode(), digest_size=10).hexdigest() for k in keyed]
    return pd.array(ids, dtype="string"), True


def _arrow_id_checks(
    column: TextColumn, values: pd.Series, check: _Checker
) -> tuple[pd.array, np.ndarray | None]:
    """:func:`_incident_ids`' checks of ids held by Arrow: trimmed, measured and sorted by Arrow.

    Returns the ids and, when some id is used twice, which rows have such an id (else None);
    the rows that repeat an id with other details are flagged by :func:`_check_id_clashes`.
    """
    # What pandas' str.rstrip() does to Arrow text; only needed when some id ends in white space,
    # which is ASCII up to the space or a multi-byte character (its last byte at or above 0x80).
    ends = column.last_bytes()
    plain = column.cells.null_count == 0 and bool(np.all((ends == 0) | ((ends > 0x20) & (ends < 0x7F))))
    trimmed = column.cells if plain else pc.utf8_rtrim_whitespace(column.cells)
    lengths = pc.binary_length(trimmed).to_numpy(zero_copy_only=False)  # bytes: at least the characters
    check.flag(lengths == 0, "incident_id", values, "the incident id is blank")
    most = current_limits().max_id_chars
    if (lengths > most).any():
        lengths = pc.utf8_length(trimmed).to_numpy(zero_copy_only=False)
    longer = f"incident_id may have at most {most} characters; this one is longer"
    check.flag(lengths > most, "incident_id", values, longer)
    ids = pd.arrays.ArrowStringArray(trimmed)
    if _in_ticket_order(trimmed, lengths):
        return ids, None
    # Equal ids sit side by side once sorted (cheaper than hashing a million strings).
    order = pc.sort_indices(trimmed).to_numpy()
    ordered = trimmed.take(pa.array(order))
    same = pc.fill_null(pc.equal(ordered[1:], ordered[:-1]), False).to_numpy(zero_copy_only=False)
    if not same.any():
        return ids, None
    in_run = np.zeros(len(order), dtype=bool)
    in_run[1:] |= same
    in_run[:-1] |= same
    repeated = np.empty(len(order), dtype=bool)
    repeated[order] = in_run
    return ids, repeated


def _in_ticket_order(ids: pa.ChunkedArray, lengths: np.ndarray) -> bool:
    """Whether the ids run strictly up, or strictly down, by length and then by text.

    That is the order of numbered tickets (``INC-9`` before ``INC-10``) and of any sorted list,
    the order a log is usually exported in; ids in it are all different, with no sort needed.
    """
    if len(ids) < 2:
        return True
    before, after = ids[:-1], ids[1:]
    same = lengths[:-1] == lengths[1:]
    for shorter, smaller in ((lengths[:-1] < lengths[1:], pc.less), (lengths[:-1] > lengths[1:], pc.greater)):
        ordered = pc.fill_null(smaller(before, after), False).to_numpy(zero_copy_only=False)
        if np.all(shorter | (same & ordered)):
            return True
    return False


def _check_id_clashes(
    ids: pd.Series, repeated: np.ndarray, values: pd.Series, result: pd.DataFrame, check: _Checker
) -> None:
    """Flag a row whose id an earlier valid row has with different details (``repeated``: id used twice)."""
    candidates = ~check.bad & (ids != "").to_numpy(dtype=bool) & repeated
    rows = np.flatnonzero(candidates)
    first = pd.DataFrame(
        {"id": ids.iloc[rows].to_numpy(), "content": content_key(result.iloc[rows]).to_numpy()},
        index=rows,
    )
    clashes = first.groupby("id")["content"].transform("nunique") > 1
    repeated = first.duplicated("id") & clashes
    mask = np.zeros(len(ids), dtype=bool)
    mask[repeated.index[repeated.to_numpy()]] = True
    check.flag(
        mask, "incident_id", values, "this incident id is used by an earlier row with different details"
    )


def content_key(result: pd.DataFrame) -> pd.Series:
    """Each incident's details (every canonical column but ``incident_id`` and ``source``) as one string."""
    parts = []
    for name in _CONTENT_COLUMNS:
        values = result[name]
        if values.dtype.kind == "M":
            stamps = np.datetime_as_string(values.to_numpy(dtype="datetime64[s]"), unit="s")
            text = pd.Series(stamps).replace("NaT", "")
        else:
            text = values.astype(object).where(values.notna(), "").astype(str).reset_index(drop=True)
        parts.append(text)
    key = parts[0]
    return key.str.cat(parts[1:], sep="|")
