"""Reading incident logs (CSV, XLSX, Parquet, VERIS JSON) into the canonical schema, with validation.

Every reader produces the canonical incident frame (:data:`~surveykit.incidents.schema.INCIDENT_COLUMNS`,
dtypes in :data:`~surveykit.incidents.schema.INCIDENT_DTYPES`). Values that are unknown in the source
stay missing; nothing is invented. Problems are collected for every row before anything is
returned, so a person gets one complete list of what to fix.

Conventions
-----------
- ``country``: ISO 3166-1 alpha-2 in upper case. ``UK`` (exceptionally reserved for the United
  Kingdom, and common in logs) is read as ``GB``.
- ``region``: a UN M.49 code, name (``"Northern Europe"``) or the six-digit VERIS form
  (``"150154"``: region then sub-region), stored as the most specific known three-digit code.
- ``detected_at``/``resolved_at``: naive input is taken to be UTC already.
- Rows are numbered from 1 at the first row under the header (so spreadsheet row = number + 1
  for a header on line 1); VERIS problems name the file.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from surveykit._limits import listing
from surveykit._options import check_option, option_values
from surveykit._tabular import blank_cell, blank_rows, file_contains, read_csv_cells, read_xlsx_sheet
from surveykit.exceptions import DataRepairWarning, ImportValidationError, Problem, Repair, SurveykitError
from surveykit.incidents._parsing import RawLog, header_key, normalise
from surveykit.incidents.schema import INCIDENT_COLUMNS

__all__ = ["Format", "IncidentValidation", "read_incidents", "validate_incidents"]

Format = Literal["csv", "xlsx", "parquet", "veris"]
"""The log formats :func:`read_incidents` reads."""

# Header aliases, compared after header_key(): lower case, runs of non-alphanumerics -> "_".
_ALIASES: dict[str, tuple[str, ...]] = {
    "incident_id": (
        "incident_id", "id", "incident", "incident_no", "incident_number", "incident_ref",
        "ticket", "ticket_id", "ticket_no", "ticket_number", "case", "case_id", "case_no",
        "case_number", "reference", "ref", "key", "issue_key",
    ),
    "occurred_on": (
        "occurred_on", "date", "incident_date", "occurred", "occurred_at", "event_date",
        "date_occurred", "occurrence_date",
    ),
    "year": ("year", "incident_year"),
    "month": ("month", "incident_month"),
    "day": ("day", "incident_day"),
    "country": ("country", "country_code", "victim_country", "iso_country", "location_country"),
    "region": ("region", "un_region", "m49", "m49_region", "victim_region"),
    "incident_type": (
        "incident_type", "type", "category", "incident_category", "kind", "classification",
    ),
    "impersonated_role": (
        "impersonated_role", "impersonated", "role_impersonated", "spoofed_role",
        "impersonated_executive",
    ),
    "severity": ("severity", "sev", "criticality", "impact_level"),
    "detected_at": (
        "detected_at", "detected", "discovered", "discovered_at", "detection_time", "opened",
        "opened_at", "created", "created_at", "outage_start", "start", "started_at",
    ),
    "resolved_at": (
        "resolved_at", "resolved", "closed", "closed_at", "contained_at", "resolution_time",
        "outage_end", "end", "ended_at", "restored_at",
    ),
    "loss_amount": (
        "loss_amount", "loss", "losses", "amount_lost", "financial_loss", "loss_usd", "amount",
    ),
    "source": ("source", "log_source"),
}  # fmt: skip


@dataclass(frozen=True)
class IncidentValidation:
    """What :func:`validate_incidents` found in a log.

    Attributes
    ----------
    incidents : DataFrame
        The valid incidents in the canonical schema, de-duplicated by ``incident_id``.
    problems : list of Problem
        Every invalid value, file or row; rows with a problem are not in ``incidents``.
    duplicates : int
        Rows dropped because they repeat an incident already in the log (same id, or the same
        VERIS ``plus.master_id``).
    rows : int
        Data rows (or VERIS records) read.
    source : str
        The path read.
    repairs : list of Repair
        Impossible values in VERIS records that were kept at the precision that is valid (a date
        at its year or month) or dropped to missing; their incidents are in ``incidents``.
    """

    incidents: pd.DataFrame
    problems: list[Problem]
    duplicates: int
    rows: int
    source: str
    repairs: list[Repair] = field(default_factory=list)

    def problems_frame(self) -> pd.DataFrame:
        """The problems as a frame with columns ``row, column, value, reason``."""
        return _problems_frame(self.problems)


def read_incidents(
    path: str | Path,
    format: Format | None = None,
    mapping: Mapping[str, str] | None = None,
    *,
    sheet: str | int | None = None,
    date_format: str | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Read an incident log into the canonical schema, rejecting it if any row is invalid.

    Parameters
    ----------
    path : str or Path
        A CSV file, an XLSX workbook, a Parquet file (typed cells, read like a workbook's), a
        VERIS JSON file (one incident or an array of them), or a directory of VERIS JSON files
        (VCDB layout: ``*.json`` and ``*.JSON``).
    format : {"csv", "xlsx", "parquet", "veris"}, optional
        Inferred from the extension when omitted (a directory is VERIS).
    mapping : mapping of str to str, optional
        ``{header in the file: canonical column}`` for headers the built-in aliases do not
        recognise, e.g. ``{"Ticket Ref": "incident_id", "Raised": "occurred_on"}``.
    sheet : str or int, optional
        Worksheet name or 0-based index of an XLSX file; the first sheet by default.
    date_format : str, optional
        ``strptime`` format of text dates that are not ISO 8601 (``YYYY-MM-DD``, optionally
        with a time and offset) or ``YYYY/MM/DD``, e.g. ``"%d/%m/%Y"``. Day-first and
        month-first dates cannot be told apart reliably, so they are never guessed.
    source : str, optional
        Value of the ``source`` column when the file has none; the file name by default.

    Returns
    -------
    DataFrame
        Columns :data:`INCIDENT_COLUMNS` with dtypes :data:`INCIDENT_DTYPES`.

    Raises
    ------
    ImportValidationError
        Listing every invalid row (row number or file, column, value, reason). Use
        :func:`validate_incidents` to keep the valid rows and inspect the problems.
    SurveykitError
        If the file cannot be read at all.

    Warns
    -----
    DataRepairWarning
        Once, listing every VERIS value kept at the precision that is valid (a day without a
        month, 29 February in a non-leap year, a month 13, a region that is not an M.49 code);
        see :mod:`surveykit.incidents.veris`. CSV and XLSX values are never repaired.

    Examples
    --------
    >>> log = read_incidents("helpdesk.csv", mapping={"Raised": "occurred_on"})  # doctest: +SKIP
    """
    checked = validate_incidents(path, format, mapping, sheet=sheet, date_format=date_format, source=source)
    if checked.problems:
        raise ImportValidationError(
            f"{checked.source}: {len(checked.problems)} problems; fix them, map the columns with "
            "mapping=..., or use validate_incidents() to keep the valid rows.",
            checked.problems,
        )
    return checked.incidents


def validate_incidents(
    path: str | Path,
    format: Format | None = None,
    mapping: Mapping[str, str] | None = None,
    *,
    sheet: str | int | None = None,
    date_format: str | None = None,
    source: str | None = None,
    progress: bool | Callable[[float, str], None] = False,
) -> IncidentValidation:
    """Read and check an incident log, keeping the valid rows and listing every problem.

    Parameters are those of :func:`read_incidents`; ``progress=True`` shows a progress bar on
    stderr while reading, and a callable is called as ``progress(share_done, message)`` as the
    reading and checking go on (an app's progress bar), last with ``1.0``.

    Returns
    -------
    IncidentValidation
        Valid incidents, problems, repairs, the number of repeated incidents dropped and rows read.

    Raises
    ------
    SurveykitError
        If the file cannot be read at all (missing, wrong format, no usable columns).

    Warns
    -----
    DataRepairWarning
        As for :func:`read_incidents`.
    """
    path = Path(path)
    if not path.exists():
        raise SurveykitError(f"No incident log at {str(path)!r}.")
    fmt = _detect_format(path, format)
    if mapping is not None:
        _check_mapping(mapping)
    report = progress if callable(progress) else None
    bar = progress is True
    if report is not None:
        report(0.0, f"Reading {path.name}")
    if fmt == "veris":
        raw = _read_veris(path, progress=(lambda done, text: report(0.8 * done, text)) if report else bar)
    elif fmt == "csv":
        raw = _read_csv(path, mapping, progress=bar)
    elif fmt == "parquet":
        raw = _read_parquet(path, mapping)
    else:
        raw = _read_xlsx(path, mapping, sheet)
    if report is not None:
        report(0.8 if fmt == "veris" else 0.4, f"Checking {len(raw.frame):,} rows")
    frame, problems, duplicates = normalise(raw, date_format, source or path.name)
    if report is not None:
        report(1.0, f"Checked {len(raw.frame):,} rows")
    if raw.repairs:
        warnings.warn(
            DataRepairWarning(
                f"{path}: {len(raw.repairs)} invalid values repaired, keeping their incidents at the "
                "precision that is valid:",
                raw.repairs,
            ),
            stacklevel=_caller_stacklevel(),
        )
    return IncidentValidation(
        incidents=frame,
        problems=raw.problems + problems,
        duplicates=duplicates + raw.duplicates,
        rows=len(raw.frame) + raw.duplicates,
        source=str(path),
        repairs=raw.repairs,
    )


def _caller_stacklevel() -> int:
    """The ``stacklevel`` naming the first caller outside surveykit.

    read_incidents and import_incidents warn through validate_incidents; counting the frames
    inside the package makes the warning point at the user's line whichever was called.
    """
    package = str(Path(__file__).resolve().parents[1])
    frame = inspect.currentframe()
    level = 0
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(package):
        frame = frame.f_back
        level += 1
    return level


# --- reading files ---------------------------------------------------------------------------


def _detect_format(path: Path, format: str | None) -> str:
    if format is not None:
        return check_option("format", format, Format)
    if path.is_dir():
        return "veris"
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        return "csv"
    if suffix in {".xlsx", ".xlsm"}:
        return "xlsx"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    if suffix == ".json":
        return "veris"
    raise SurveykitError(
        f"Cannot tell the format of {path.name!r} from its extension; "
        f"pass format= one of {list(option_values(Format))}."
    )


def _check_mapping(mapping: Mapping[str, str]) -> None:
    for header, column in mapping.items():
        if column not in INCIDENT_COLUMNS:
            raise SurveykitError(
                f"mapping sends {listing([header])} to {listing([column])}, which is not a canonical "
                f"column; use one of {INCIDENT_COLUMNS}"
            )


def _map_headers(headers: list[str], mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Map file headers to canonical columns: explicit mapping first, then aliases."""
    chosen: dict[str, str] = {}
    if mapping:
        missing = [h for h in mapping if h not in headers]
        if missing:
            raise SurveykitError(
                f"mapping names headers {listing(missing)} that are not in the file; its headers are "
                f"{listing(headers)}"
            )
        for header, column in mapping.items():
            if column in chosen.values():
                raise SurveykitError(f"mapping sends two headers to {column!r}.")
            chosen[header] = column
    alias_of = {alias: column for column, aliases in _ALIASES.items() for alias in aliases}
    for header in headers:
        if header in chosen:
            continue
        column = alias_of.get(header_key(header))
        if column is None or column in chosen.values():
            continue
        # A better alias (the canonical name itself) may appear later; prefer it.
        chosen[header] = column
    by_column: dict[str, str] = {}
    for header, column in chosen.items():
        by_column.setdefault(column, header)
    if "year" not in by_column and "occurred_on" not in by_column:
        raise SurveykitError(
            "The log has no date column: none of its headers "
            f"({listing(headers)}) is recognised as the incident date or year. Map one, e.g. "
            "mapping={'Date raised': 'occurred_on'} (CLI: --map 'Date raised=occurred_on')."
        )
    return by_column


def _read_csv(path: Path, mapping: Mapping[str, str] | None, *, progress: bool) -> RawLog:
    frame = read_csv_cells(path, progress=progress)
    headers = [str(h) for h in frame.columns]
    by_column = _map_headers(headers, mapping)
    labels: Sequence[int] = range(1, len(frame) + 1)
    raw = pd.DataFrame({c: frame[h] for c, h in by_column.items()})
    blank = blank_rows(raw) if len(raw.columns) else None
    if blank is not None and blank.any():
        raw = raw.loc[~blank]
        labels = np.flatnonzero(~blank) + 1
    return RawLog(
        raw.reset_index(drop=True),
        labels,
        by_column,
        has_id="incident_id" in by_column,
        typed=False,
        # No NUL byte in the file, no NUL in a cell: in UTF-8, Windows-1252 and Latin-1 alike.
        nul_free=not file_contains(path, b"\x00"),
    )


def _read_xlsx(path: Path, mapping: Mapping[str, str] | None, sheet: str | int | None) -> RawLog:
    cells = read_xlsx_sheet(path, sheet)
    by_column = _map_headers(cells.headers, mapping)
    keep = {c: cells.headers.index(h) for c, h in by_column.items()}
    records, labels = [], []
    for number, row in cells.rows:
        values = {c: row[i] for c, i in keep.items()}
        if all(blank_cell(v) for v in values.values()):
            continue
        records.append(values)
        labels.append(number)
    frame = pd.DataFrame(records, columns=list(keep), dtype=object)
    return RawLog(frame, labels, by_column, epoch=cells.epoch, has_id="incident_id" in by_column)


def _read_parquet(path: Path, mapping: Mapping[str, str] | None) -> RawLog:
    from surveykit.incidents.parquet import read_parquet_cells

    frame = read_parquet_cells(path)
    by_column = _map_headers(list(frame.columns), mapping)
    raw = pd.DataFrame({c: frame[h] for c, h in by_column.items()}, dtype=object)
    labels = list(range(1, len(raw) + 1))
    blank = raw.isna().all(axis=1).to_numpy() if len(raw.columns) else None
    if blank is not None and blank.any():
        raw = raw.loc[~blank].reset_index(drop=True)
        labels = [label for label, b in zip(labels, blank, strict=True) if not b]
    return RawLog(raw, labels, by_column, has_id="incident_id" in by_column)


def _read_veris(path: Path, *, progress: bool | Callable[[float, str], None]) -> RawLog:
    from surveykit.incidents.veris import read_veris

    records = read_veris(path, progress=progress)
    frame = pd.DataFrame(records.rows, columns=[*_VERIS_FIELDS, "source"], dtype=object)
    return RawLog(
        frame,
        list(records.labels),
        dict(_VERIS_FIELDS),
        problems=records.problems,
        repairs=records.repairs,
        duplicates=records.duplicates,
        has_id=True,
    )


# Where each canonical column comes from in VERIS, to name it in problems.
_VERIS_FIELDS = {
    "incident_id": "incident_id",
    "year": "timeline.incident.year",
    "month": "timeline.incident.month",
    "day": "timeline.incident.day",
    "country": "victim.country",
    "region": "victim.region",
    "incident_type": "action",
    "impersonated_role": "impersonated_role",
    "severity": "impact.overall_rating",
    "detected_at": "timeline.discovery",
    "resolved_at": "timeline.containment",
    "loss_amount": "impact.overall_amount",
}


def _problems_frame(problems: list[Problem]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": [p.row for p in problems],
            "column": [p.column for p in problems],
            "value": [p.value for p in problems],
            "reason": [p.reason for p in problems],
        },
        columns=["row", "column", "value", "reason"],
    )
