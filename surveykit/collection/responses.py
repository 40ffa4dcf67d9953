"""Import survey responses from CSV/XLSX files into a store, and export them.

An import file has one row per respondent and one column per question, named by question id.
A multi-select answer is either one column holding space-separated choice names (the XLSForm
export convention) or one 0/1 (true/false) column per choice named ``question__choice``.
Optional columns ``wave``, ``submitted_at`` and ``idempotency_key`` are used when present.

A response's identity, so that importing the same responses again stores nothing new, is its
``idempotency_key`` or ``respondent_id`` cell when the file has one, and otherwise its content
(wave, submission time and answers): a renamed, reordered or converted (CSV to XLSX) copy of a
file adds nothing. Identical responses within a file are numbered in order, so two respondents
who answered alike stay two.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from surveykit._limits import current_limits, shorten
from surveykit._spreadsheet import writable, write_csv, write_xlsx
from surveykit._tabular import read_csv_cells, read_xlsx_sheet
from surveykit.collection.instrument import MULTI_SEP, Instrument
from surveykit.collection.loading import default_instrument
from surveykit.collection.store import Store
from surveykit.exceptions import ImportValidationError, Problem, SurveykitError

__all__ = ["ResponseImportReport", "export_responses", "import_responses", "read_table"]

_META_COLUMNS = {
    "wave",
    "submitted_at",
    "idempotency_key",
    "respondent_id",
    "instrument_id",
    "instrument_version",
}
_TRUE = {"1", "true", "yes", "y", "x"}
_FALSE = {"0", "false", "no", "n", ""}


@dataclass
class ResponseImportReport:
    """What :func:`import_responses` did.

    Attributes
    ----------
    added : int
        Responses stored.
    already_stored : int
        Rows skipped because the same response (idempotency key) was stored before.
    rejected : list of Problem
        Problems of the rows skipped with ``skip_invalid``.
    source : str
        The file imported.
    """

    added: int
    already_stored: int
    rejected: list[Problem] = field(default_factory=list)
    source: str = ""

    def summary(self) -> str:
        """One line for the command line."""
        text = f"{self.source}: {self.added} responses added, {self.already_stored} already stored"
        if self.rejected:
            rows = len({p.row for p in self.rejected})
            text += f", {rows} invalid rows skipped"
        return text + "."


def read_table(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV or XLSX file as cells, indexed by data row number (1-based), blank rows left out.

    Raises
    ------
    SurveykitError
        If the file does not exist, its type is unsupported, or it cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise SurveykitError(f"File {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        cells = read_xlsx_sheet(path, sheet)
        frame = pd.DataFrame(
            [row for _, row in cells.rows],
            columns=cells.headers,
            index=[number for number, _ in cells.rows],
            dtype=object,
        )
    elif suffix in {".csv", ".txt", ".tsv"}:
        frame = read_csv_cells(path)
        frame.index = range(1, len(frame) + 1)
        if len(frame.columns):
            frame = frame[~frame.apply(lambda column: column.str.strip() == "").all(axis=1)]
    else:
        raise SurveykitError(f"{path.name}: unsupported file type {suffix!r}; use .csv or .xlsx")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def import_responses(
    store: Store,
    path: str | Path,
    *,
    instrument: Instrument | None = None,
    wave: str | None = None,
    sheet: str | None = None,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
) -> ResponseImportReport:
    """Validate a file of responses and store them.

    Parameters
    ----------
    store : Store
        Target store.
    path : str or Path
        CSV or XLSX file, one row per respondent.
    instrument : Instrument, optional
        The instrument answered; by default the stored one, or the bundled one in an empty store.
    wave : str, optional
        Wave for rows that have no ``wave`` column value.
    sheet : str, optional
        Worksheet of an XLSX file.
    skip_invalid : bool
        Store the valid rows and skip the invalid ones instead of importing nothing.
    rejects_path : str or Path, optional
        With ``skip_invalid``, write the rejected rows' problems here as CSV (text that would run
        as a formula gets a leading apostrophe). Its folder must exist; it is checked before
        anything is read or stored.

    Returns
    -------
    ResponseImportReport

    Raises
    ------
    ImportValidationError
        If any row is invalid and ``skip_invalid`` is false; nothing is stored. The error lists
        every problem with its row, column, value and reason.
    SurveykitError
        If the rejects file cannot be written; nothing is stored.
    """
    path = Path(path)
    if rejects_path is not None:
        rejects_path = writable(rejects_path, "the rejects")
    if instrument is None:
        try:
            instrument = store.instrument()
        except SurveykitError:
            instrument = default_instrument()
    frame = read_table(path, sheet)
    _check_columns(frame, instrument, wave, path.name)
    rows, problems = _validate(frame, instrument, wave, path.name)
    if problems and not skip_invalid:
        raise ImportValidationError(
            f"{path.name}: {len({p.row for p in problems})} invalid rows; nothing was imported "
            "(use --skip-invalid to import the valid rows):",
            problems,
        )
    if rejects_path is not None and problems:
        # Written before storing, so a rejects file that cannot be written leaves the store as it was.
        write_csv(pd.DataFrame([vars(p) for p in problems]), rejects_path, "the rejects")
    results = store.add_responses(instrument, rows)
    added = sum(r.created for r in results)
    return ResponseImportReport(added, len(results) - added, problems, path.name)


def export_responses(store: Store, path: str | Path, *, wave: list[str] | None = None) -> int:
    """Write stored responses to a CSV or XLSX file (by extension); returns the row count.

    The folder must exist: a mistyped path is reported rather than created. Text a spreadsheet
    would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
    is written with a leading apostrophe, so an answer like ``=HYPERLINK(...)`` stays text.

    Raises
    ------
    SurveykitError
        If the extension is neither ``.csv`` nor ``.xlsx``, or the file cannot be written
        (its folder missing, say).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".xlsx"}:
        raise SurveykitError(f"export-responses writes .csv or .xlsx, not {suffix or 'no extension'!r}")
    path = writable(path, "the export")
    frame = store.responses(wave=wave)
    if suffix == ".xlsx":
        write_xlsx(frame, path, "the export", sheet_name="responses")
    else:
        write_csv(frame, path, "the export")
    return len(frame)


def _check_columns(frame: pd.DataFrame, instrument: Instrument, wave: str | None, name: str) -> None:
    known = set(_META_COLUMNS) | set(instrument.question_ids) | set(instrument.columns)
    unknown = [c for c in frame.columns if c not in known]
    problems = [
        f"column {shorten(c, 40)!r} is not a question of instrument {instrument.id!r} nor one of "
        f"{sorted(_META_COLUMNS)}"
        for c in unknown[:20]
    ]
    if len(unknown) > 20:
        problems.append(f"and {len(unknown) - 20:,} more columns that are not questions")
    for question in instrument.questions:
        present = question.id in frame.columns or any(c in frame.columns for c in question.columns)
        if question.required and question.relevant is None and not present:
            problems.append(f"required question {question.id!r} has no column")
    if wave is None and "wave" not in frame.columns:
        problems.append("no 'wave' column; give the wave with --wave (e.g. 2016-12)")
    if problems:
        raise ImportValidationError(
            f"{name}: the columns do not match the instrument; nothing was imported:",
            [Problem("header", "", "", p) for p in problems],
        )


def _validate(
    frame: pd.DataFrame, instrument: Instrument, wave: str | None, name: str
) -> tuple[list[dict[str, Any]], list[Problem]]:
    limits = current_limits()
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, record in zip(frame.index, frame.to_dict("records"), strict=True):
        row_problems = _nul_problems(record, number)
        if row_problems:
            problems.extend(row_problems)
            continue
        answers = _answers(record, instrument, number, row_problems)
        cleaned, answer_problems = instrument.check_answers(answers)
        row_problems += [Problem(number, q, _show(v), reason) for q, v, reason in answer_problems]
        row_wave = _kept_text(record.get("wave")) or wave or ""
        if not row_wave.strip():
            row_problems.append(Problem(number, "wave", "", "no wave given for this row"))
        elif row_wave != row_wave.lstrip():
            reason = "a wave cannot start with white space"
            row_problems.append(Problem(number, "wave", _show(row_wave), reason))
        elif len(row_wave) > limits.max_wave_chars:
            reason = f"a wave has at most {limits.max_wave_chars} characters"
            row_problems.append(Problem(number, "wave", _show(row_wave), reason))
        submitted = _text(record.get("submitted_at"))
        submitted_at = None
        if submitted:
            submitted_at = pd.to_datetime(submitted, errors="coerce")
            if pd.isna(submitted_at):
                row_problems.append(Problem(number, "submitted_at", _show(submitted), "not a date and time"))
                submitted_at = None
        own = _own_key(record)
        if own is not None and len(own) > limits.max_id_chars:
            row_problems.append(
                Problem(number, _own_column(record), _show(own), f"at most {limits.max_id_chars} characters")
            )
        if row_problems:
            problems.extend(row_problems)
            continue
        moment = submitted_at.to_pydatetime() if submitted_at is not None else None
        key = own or _content_key(row_wave, cleaned, moment, seen)
        rows.append(
            {
                "answers": cleaned,
                "wave": row_wave,
                "idempotency_key": key,
                "submitted_at": moment,
                "source": "import",
            }
        )
    return rows, problems


def _nul_problems(record: dict[str, Any], number: int) -> list[Problem]:
    """NUL bytes are refused here, for SQLite and PostgreSQL alike, before the store sees them."""
    return [
        Problem(number, str(column), _show(value), "the value contains a NUL byte")
        for column, value in record.items()
        if isinstance(value, str) and "\x00" in value
    ]


def _own_key(record: dict[str, Any]) -> str | None:
    column = _own_column(record)
    return _kept_text(record.get(column)) or None if column else None


def _own_column(record: dict[str, Any]) -> str:
    """The column naming a response's identity in an import file, or '' when it has none."""
    for column in ("idempotency_key", "respondent_id"):
        if _kept_text(record.get(column)).strip():
            return column
    return ""


def _content_key(wave: str, answers: dict[str, Any], moment: Any, seen: dict[str, int]) -> str:
    """A key from the response's content; the n-th identical response of a file gets its own."""
    content = json.dumps(
        [wave.strip(), moment.isoformat() if moment is not None else None, answers],
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(content.encode()).hexdigest()[:40]
    seen[digest] = seen.get(digest, 0) + 1
    return f"import-{digest}-{seen[digest]}"


def _answers(
    record: dict[str, Any], instrument: Instrument, number: int, problems: list[Problem]
) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in instrument.questions:
        if question.type == "select_multiple" and question.id not in record:
            ticked: list[str] = []
            seen_any = False
            for choice in question.choices:
                column = f"{question.id}{MULTI_SEP}{choice.name}"
                if column not in record:
                    continue
                cell = _text(record[column]).lower()
                if cell in _TRUE:
                    ticked.append(choice.name)
                    seen_any = True
                elif cell in _FALSE:
                    seen_any = seen_any or cell != ""
                else:
                    problems.append(Problem(number, column, cell, "expected 1/0, true/false or yes/no"))
            if seen_any:
                answers[question.id] = ticked
            continue
        text = _text(record.get(question.id))
        if text:
            if question.type == "select_multiple":
                answers[question.id] = text.split()
            elif question.type == "text":
                answers[question.id] = _kept_text(record.get(question.id))
            else:
                answers[question.id] = text
    return answers


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _kept_text(value: Any) -> str:
    """A free-text cell with its leading white space kept: stripping a tab would expose ``=1+1``."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).rstrip()


def _show(value: Any) -> str:
    if value is None:
        return ""
    return shorten(" ".join(value) if isinstance(value, list) else value)
