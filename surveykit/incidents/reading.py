"""Incident logs: the canonical schema, reading CSV/XLSX/VERIS logs, validation and import.

Every reader produces the canonical incident frame (:data:`INCIDENT_COLUMNS`, dtypes in
:data:`INCIDENT_DTYPES`). Values that are unknown in the source stay missing; nothing is
invented. Problems are collected for every row before anything is returned, so a person gets
one complete list of what to fix.

Conventions
-----------
- ``country`` is an ISO 3166-1 alpha-2 code in upper case, as the survey instrument uses.
  ``UK`` (exceptionally reserved for the United Kingdom, and common in logs) is read as ``GB``.
- ``region`` is a UN M.49 area code as a three-digit string (``"021"`` Northern America,
  ``"154"`` Northern Europe). Region names (``"Northern Europe"``) and the six-digit VERIS
  form (``"150154"``: region then sub-region) are converted to the code; the most specific
  known code wins. :data:`M49_REGIONS` maps codes to names for display.
- ``occurred_on`` is the date of the incident when year, month and day are all known, else
  ``NaT``; ``year``/``month``/``day`` keep whatever part is known.
- ``detected_at``/``resolved_at`` are tz-naive UTC; naive input is taken to be UTC already.
  A missing ``resolved_at`` means the incident is unresolved (censored in
  :func:`surveykit.time_to_resolve`).
- Rows are numbered from 1 at the first row under the header (so spreadsheet row = number + 1
  for a header on line 1); VERIS problems name the file.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from surveykit._tabular import blank_cell, read_csv_cells, read_xlsx_sheet
from surveykit.exceptions import ImportValidationError, Problem, SurveykitError

__all__ = [
    "IMPERSONATED_ROLES",
    "INCIDENT_COLUMNS",
    "INCIDENT_DTYPES",
    "INCIDENT_TYPES",
    "M49_REGIONS",
    "SEVERITIES",
    "ImportReport",
    "IncidentValidation",
    "import_incidents",
    "read_incidents",
    "validate_incidents",
]

INCIDENT_COLUMNS: list[str] = [
    "incident_id",
    "year",
    "month",
    "day",
    "occurred_on",
    "country",
    "region",
    "incident_type",
    "impersonated_role",
    "severity",
    "detected_at",
    "resolved_at",
    "loss_amount",
    "source",
]
"""The canonical incident columns, in order. The store imports this list."""

INCIDENT_DTYPES: dict[str, str] = {
    "incident_id": "string",
    "year": "Int64",
    "month": "Int64",
    "day": "Int64",
    "occurred_on": "datetime64[ns]",
    "country": "string",
    "region": "string",
    "incident_type": "string",
    "impersonated_role": "string",
    "severity": "string",
    "detected_at": "datetime64[ns]",
    "resolved_at": "datetime64[ns]",
    "loss_amount": "Float64",
    "source": "string",
}
"""pandas dtype of each canonical column."""

INCIDENT_TYPES = (
    "whaling_bec",
    "phishing",
    "malware",
    "account_compromise",
    "data_loss",
    "email_outage",
    "other",
)
IMPERSONATED_ROLES = ("ceo", "cfo", "other_exec", "hr", "it", "legal")
SEVERITIES = ("low", "medium", "high", "critical")

M49_REGIONS: dict[str, str] = {
    "001": "World",
    "002": "Africa",
    "015": "Northern Africa",
    "202": "Sub-Saharan Africa",
    "014": "Eastern Africa",
    "017": "Middle Africa",
    "018": "Southern Africa",
    "011": "Western Africa",
    "019": "Americas",
    "419": "Latin America and the Caribbean",
    "029": "Caribbean",
    "013": "Central America",
    "005": "South America",
    "003": "North America",
    "021": "Northern America",
    "142": "Asia",
    "143": "Central Asia",
    "030": "Eastern Asia",
    "035": "South-eastern Asia",
    "034": "Southern Asia",
    "145": "Western Asia",
    "150": "Europe",
    "151": "Eastern Europe",
    "154": "Northern Europe",
    "039": "Southern Europe",
    "155": "Western Europe",
    "009": "Oceania",
    "053": "Australia and New Zealand",
    "054": "Melanesia",
    "057": "Micronesia",
    "061": "Polynesia",
}
"""UN M.49 region and sub-region codes (as three-digit strings) and their names."""

Format = Literal["csv", "xlsx", "veris"]
_FORMATS = ("csv", "xlsx", "veris")

_ISO_ALPHA2 = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA
    ZM ZW""".split()
)

# Header aliases, compared after _header_key(): lower case, runs of non-alphanumerics -> "_".
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
_MAX_YEAR = date.today().year + 1
_VALUE_WIDTH = 60


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
    """

    incidents: pd.DataFrame
    problems: list[Problem]
    duplicates: int
    rows: int
    source: str

    def problems_frame(self) -> pd.DataFrame:
        """The problems as a frame with columns ``row, column, value, reason``."""
        return _problems_frame(self.problems)


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_incidents` did.

    Attributes
    ----------
    added : int
        Incidents stored.
    skipped_duplicates : int
        Valid incidents not stored because their id was already stored or repeated in the log.
    rejected : list of Problem
        Problems of the rows left out (only with ``skip_invalid=True``; otherwise the import
        raises instead).
    source : str
        The path imported.
    rejects_path : Path or None
        Where the rejected rows were written, if anywhere.
    """

    added: int
    skipped_duplicates: int
    rejected: list[Problem] = field(default_factory=list)
    source: str = ""
    rejects_path: Path | None = None

    def summary(self) -> str:
        """One line for the command line."""
        text = (
            f"{self.source}: {self.added} incidents added, "
            f"{self.skipped_duplicates} already stored or repeated"
        )
        if self.rejected:
            rows = len({p.row for p in self.rejected})
            text += f", {rows} rows rejected ({len(self.rejected)} problems)"
            if self.rejects_path is not None:
                text += f"; reasons written to {self.rejects_path}"
        return text + "."


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
        A CSV file, an XLSX workbook, a VERIS JSON file (one incident or an array of them), or a
        directory of VERIS JSON files (VCDB layout: ``*.json`` and ``*.JSON``).
    format : {"csv", "xlsx", "veris"}, optional
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
    progress: bool = False,
) -> IncidentValidation:
    """Read and check an incident log, keeping the valid rows and listing every problem.

    Parameters are those of :func:`read_incidents`; ``progress`` shows a progress bar on
    stderr while reading.

    Returns
    -------
    IncidentValidation
        Valid incidents, problems, the number of repeated incidents dropped and rows read.

    Raises
    ------
    SurveykitError
        If the file cannot be read at all (missing, wrong format, no usable columns).
    """
    path = Path(path)
    if not path.exists():
        raise SurveykitError(f"No incident log at {str(path)!r}.")
    fmt = _detect_format(path, format)
    if mapping is not None:
        _check_mapping(mapping)
    if fmt == "veris":
        raw = _read_veris(path, progress=progress)
    elif fmt == "csv":
        raw = _read_csv(path, mapping, progress=progress)
    else:
        raw = _read_xlsx(path, mapping, sheet)
    frame, problems, duplicates = _normalise(raw, date_format, source or path.name)
    return IncidentValidation(
        incidents=frame,
        problems=raw.problems + problems,
        duplicates=duplicates + raw.duplicates,
        rows=len(raw.frame) + raw.duplicates,
        source=str(path),
    )


def import_incidents(
    store: Any,
    path: str | Path,
    *,
    format: Format | None = None,
    mapping: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    skip_invalid: bool = False,
    rejects_path: str | Path | None = None,
    date_format: str | None = None,
    progress: bool = False,
) -> ImportReport:
    """Validate an incident log and store it, all-or-nothing unless ``skip_invalid``.

    Parameters
    ----------
    store : surveykit.Store
        The store to add to; incident ids already stored are skipped, so importing the same log
        twice adds nothing.
    path, format, mapping, sheet, date_format
        As for :func:`read_incidents`.
    skip_invalid : bool
        Store the valid rows and report the invalid ones instead of storing nothing.
    rejects_path : str or Path, optional
        With ``skip_invalid``, write the problems as CSV (``row, column, value, reason``).
    progress : bool
        Show progress bars on stderr (the command line does for a terminal).

    Returns
    -------
    ImportReport

    Raises
    ------
    ImportValidationError
        If any row is invalid and ``skip_invalid`` is False; the store is untouched.
    """
    checked = validate_incidents(
        path, format, mapping, sheet=sheet, date_format=date_format, progress=progress
    )
    if checked.problems and not skip_invalid:
        raise ImportValidationError(
            f"{checked.source}: {len(checked.problems)} problems, nothing imported. Fix them, or "
            "import the valid rows with --skip-invalid (skip_invalid=True) and write the "
            "rejects with --rejects FILE.",
            checked.problems,
        )
    written: Path | None = None
    if rejects_path is not None and checked.problems:
        written = Path(rejects_path)
        try:
            _problems_frame(checked.problems).to_csv(written, index=False)
        except OSError as exc:
            raise SurveykitError(f"Cannot write the rejects to {str(written)!r}: {exc}") from None
    incidents = checked.incidents
    if progress:
        print(f"Storing {len(incidents)} incidents ...", file=sys.stderr)
    added = store.add_incidents(incidents) if len(incidents) else 0
    return ImportReport(
        added=added,
        skipped_duplicates=checked.duplicates + len(incidents) - added,
        rejected=checked.problems,
        source=checked.source,
        rejects_path=written,
    )


# --- reading ------------------------------------------------------------------------------


@dataclass
class _Raw:
    """A log as read: canonical column names, raw cell values, and where each row came from."""

    frame: pd.DataFrame
    labels: list[int | str]
    headers: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0
    epoch: datetime | None = None
    has_id: bool = False
    typed: bool = True  # cells may be numbers or datetimes (XLSX, VERIS); CSV cells are all str


def _detect_format(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in _FORMATS:
            raise SurveykitError(f"format must be one of {list(_FORMATS)}, got {format!r}")
        return format
    if path.is_dir():
        return "veris"
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt", ".tsv"}:
        return "csv"
    if suffix in {".xlsx", ".xlsm"}:
        return "xlsx"
    if suffix == ".json":
        return "veris"
    raise SurveykitError(
        f"Cannot tell the format of {path.name!r} from its extension; pass format= one of {list(_FORMATS)}."
    )


def _check_mapping(mapping: Mapping[str, str]) -> None:
    for header, column in mapping.items():
        if column not in INCIDENT_COLUMNS:
            raise SurveykitError(
                f"mapping sends {header!r} to {column!r}, which is not a canonical column; "
                f"use one of {INCIDENT_COLUMNS}"
            )


def _header_key(header: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(header).strip().lower()).strip("_")


def _map_headers(headers: list[str], mapping: Mapping[str, str] | None) -> dict[str, str]:
    """Map file headers to canonical columns: explicit mapping first, then aliases."""
    chosen: dict[str, str] = {}
    if mapping:
        missing = [h for h in mapping if h not in headers]
        if missing:
            raise SurveykitError(
                f"mapping names headers {missing} that are not in the file; its headers are {headers}"
            )
        for header, column in mapping.items():
            if column in chosen.values():
                raise SurveykitError(f"mapping sends two headers to {column!r}.")
            chosen[header] = column
    alias_of = {alias: column for column, aliases in _ALIASES.items() for alias in aliases}
    for header in headers:
        if header in chosen:
            continue
        column = alias_of.get(_header_key(header))
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
            f"{headers} is recognised as the incident date or year. Map one, e.g. "
            "mapping={'Date raised': 'occurred_on'} (CLI: --map 'Date raised=occurred_on')."
        )
    return by_column


def _read_csv(path: Path, mapping: Mapping[str, str] | None, *, progress: bool) -> _Raw:
    frame = read_csv_cells(path, progress=progress)
    headers = [str(h) for h in frame.columns]
    by_column = _map_headers(headers, mapping)
    labels = list(range(1, len(frame) + 1))
    raw = pd.DataFrame({c: frame[h] for c, h in by_column.items()})
    blank = (raw == "").all(axis=1) if len(raw.columns) else None
    if blank is not None and blank.any():
        raw = raw.loc[~blank]
        labels = [label for label, b in zip(labels, blank, strict=True) if not b]
    return _Raw(raw.reset_index(drop=True), labels, by_column, has_id="incident_id" in by_column, typed=False)


def _read_xlsx(path: Path, mapping: Mapping[str, str] | None, sheet: str | int | None) -> _Raw:
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
    return _Raw(frame, labels, by_column, epoch=cells.epoch, has_id="incident_id" in by_column)


def _read_veris(path: Path, *, progress: bool) -> _Raw:
    from surveykit.incidents.veris import read_veris

    records = read_veris(path, progress=progress)
    frame = pd.DataFrame(records.rows, columns=[*_VERIS_FIELDS, "source"], dtype=object)
    return _Raw(
        frame,
        list(records.labels),
        dict(_VERIS_FIELDS),
        problems=records.problems,
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


# --- normalising and validating -----------------------------------------------------------


class _Checker:
    """Collects problems per row while columns are parsed."""

    def __init__(self, raw: _Raw) -> None:
        self.raw = raw
        self.problems: list[Problem] = []
        self.bad = np.zeros(len(raw.frame), dtype=bool)

    def flag(self, mask: np.ndarray | pd.Series, column: str, values: pd.Series, reason: str) -> None:
        mask = _mask(mask)
        if not mask.any():
            return
        self.bad |= mask
        header = self.raw.headers.get(column, column)
        for position in np.flatnonzero(mask):
            value = values.iloc[position]
            self.problems.append(Problem(self.raw.labels[position], header, _display(value), reason))


def _missing_array(n: int, dtype: str) -> Any:
    """An all-missing extension array of length n."""
    return pd.Series(pd.NA, index=range(n), dtype=dtype).array


def _mask(values: Any) -> np.ndarray:
    """A plain boolean array, missing counted as False."""
    return np.asarray(pd.array(values, dtype="boolean").fillna(False), dtype=bool)


def _display(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = str(value)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."


def _text(series: pd.Series, typed: bool) -> pd.Series:
    """Raw cells as ``str`` objects ('' for empty).

    CSV cells are already strings and are left as read (parsers strip where it matters);
    typed cells are converted, integral floats losing their '.0', and stripped.
    """
    if not typed:
        return series.reset_index(drop=True)

    def one(value: object) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value).strip()

    return series.map(one).astype(object).reset_index(drop=True)


def _is_missing(value: str) -> bool:
    return re.sub(r"[^0-9a-z]+", "_", value.lower()).strip("_") in _MISSING


def _per_unique(text: pd.Series, function: Any) -> pd.Series:
    """Apply ``function`` once per distinct value (logs repeat a few values many times)."""
    codes, uniques = pd.factorize(text)
    results = np.array([function(u) for u in uniques] + [None], dtype=object)
    return pd.Series(results[codes], index=text.index)


def _missing_mask(text: pd.Series) -> pd.Series:
    return _per_unique(text, _is_missing).astype(bool)


def _normalise(
    raw: _Raw, date_format: str | None, default_source: str
) -> tuple[pd.DataFrame, list[Problem], int]:
    frame = raw.frame
    n = len(frame)
    check = _Checker(raw)
    out: dict[str, Any] = {}

    def column(name: str) -> pd.Series | None:
        return frame[name] if name in frame.columns else None

    # Dates first: the incident date may carry year, month and day.
    year = _missing_array(n, "Int64")
    month = _missing_array(n, "Int64")
    day = _missing_array(n, "Int64")
    occurred = column("occurred_on")
    if occurred is not None:
        year, month, day = _parse_occurred(occurred, raw, check, date_format)
    for part, low, high in (("year", 1970, _MAX_YEAR), ("month", 1, 12), ("day", 1, 31)):
        values = column(part)
        if values is None:
            continue
        parsed = _parse_int(values, part, low, high, check)
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
        "month",
        column("month") if column("month") is not None else occurred,
        "a day is given without a month",
    )
    complete = ~(year.isna() | month.isna() | day.isna())
    occurred_on = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
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
    out["year"], out["month"], out["day"] = year, month, day
    out["occurred_on"] = occurred_on

    out["country"] = _parse_country(column("country"), n, check)
    out["region"] = _parse_region(column("region"), n, check)
    out["incident_type"] = _parse_vocabulary(
        column("incident_type"), n, "incident_type", _TYPE_SYNONYMS, INCIDENT_TYPES, check
    )
    out["impersonated_role"] = _parse_vocabulary(
        column("impersonated_role"), n, "impersonated_role", _ROLE_SYNONYMS, IMPERSONATED_ROLES, check
    )
    out["severity"] = _parse_vocabulary(
        column("severity"), n, "severity", _SEVERITY_SYNONYMS, SEVERITIES, check
    )
    for name in ("detected_at", "resolved_at"):
        values = column(name)
        out[name] = (
            pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
            if values is None
            else _parse_datetime(values, name, raw, check, date_format)
        )
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
    out["loss_amount"] = _parse_loss(column("loss_amount"), n, check)
    source = column("source")
    if source is None:
        out["source"] = pd.array([default_source] * n, dtype="string")
    else:
        text = _per_unique(_text(source, raw.typed), str.strip)
        out["source"] = text.mask(text == "", default_source).astype("string").array

    result = pd.DataFrame({c: out[c] for c in INCIDENT_COLUMNS if c != "incident_id"})
    ids = _incident_ids(raw, result, check)
    result.insert(0, "incident_id", ids)
    keep = ~check.bad
    result = result.loc[keep]
    before = len(result)
    result = result.drop_duplicates("incident_id").reset_index(drop=True)
    result = result.astype(INCIDENT_DTYPES)
    problems = sorted(check.problems, key=_problem_order)
    return result, problems, before - len(result)


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


def _parse_occurred(
    values: pd.Series, raw: _Raw, check: _Checker, date_format: str | None
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
    rest = values.reset_index(drop=True).copy()
    rest[handled | is_partial] = None if raw.typed else ""
    stamps = _parse_datetime(rest, "occurred_on", raw, check, date_format)
    stamps[handled] = plain[handled].to_numpy()
    has = stamps.notna().to_numpy()
    year[has] = stamps.dt.year[has].to_numpy()
    month[has] = stamps.dt.month[has].to_numpy()
    day[has] = stamps.dt.day[has].to_numpy()
    too_late = _mask((year > _MAX_YEAR) | (year < 1970))
    check.flag(too_late, "occurred_on", values, f"the year must be between 1970 and {_MAX_YEAR}")
    year[too_late] = pd.NA
    return year, month, day


_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _parse_datetime(
    values: pd.Series, name: str, raw: _Raw, check: _Checker, date_format: str | None
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
        other &= ~typed
        if raw.epoch is not None:
            numeric = values.map(
                lambda v: isinstance(v, int | float) and not isinstance(v, bool) and not np.isnan(v)
            ).to_numpy(dtype=bool)
            if numeric.any():
                result[numeric] = pd.to_datetime(values[numeric].map(lambda v: _excel_serial(v, raw.epoch)))
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
        parsed = parsed.dt.tz_convert(None).astype("datetime64[ns]")
        result[todo] = parsed.to_numpy()
        bad = np.zeros(n, dtype=bool)
        bad[np.flatnonzero(todo)[parsed.isna().to_numpy()]] = True
        bad &= ~_missing_mask(text.where(bad, "")).to_numpy()
        hint = (
            f"does not match date_format {date_format!r}"
            if date_format
            else "is not a date in ISO 8601 form (2016-03-31 or 2016-03-31 14:05); "
            "for other forms pass date_format=, e.g. '%d/%m/%Y'"
        )
        check.flag(bad, name, values, f"{name} {hint}")
    return result


def _excel_serial(value: float, epoch: datetime) -> pd.Timestamp:
    from openpyxl.utils.datetime import from_excel

    try:
        return pd.Timestamp(from_excel(value, epoch))
    except (ValueError, OverflowError, TypeError):
        return pd.NaT


def _as_utc_naive(value: datetime | date) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp


def _parse_country(values: pd.Series | None, n: int, check: _Checker) -> pd.array:
    if values is None:
        return _missing_array(n, "string")
    text = _per_unique(
        _text(values, check.raw.typed), lambda t: _COUNTRY_ALIASES.get(t.strip().upper(), t.strip().upper())
    )
    missing = text.isin(_COUNTRY_MISSING)
    known = text.isin(_ISO_ALPHA2)
    bad = ~missing & ~known
    check.flag(bad, "country", values, "not an ISO 3166-1 alpha-2 country code (for example US, GB, ZA, AU)")
    return pd.array(text.where(known), dtype="string")


_COUNTRY_ALIASES = {"UK": "GB"}
_REGION_BY_NAME = {_header_key(name): code for code, name in M49_REGIONS.items()}


def _region_code(text: str) -> str | None:
    if text.isdigit():
        if len(text) == 6:
            sub, top = text[3:], text[:3]
            for code in (sub, top):
                if code != "000" and code in M49_REGIONS:
                    return code
            return "" if sub == "000" and top == "000" else None
        code = text.zfill(3)
        return code if code in M49_REGIONS else None
    return _REGION_BY_NAME.get(_header_key(text))


def _parse_region(values: pd.Series | None, n: int, check: _Checker) -> pd.array:
    if values is None:
        return _missing_array(n, "string")
    text = _per_unique(_text(values, check.raw.typed), str.strip)
    missing = _missing_mask(text)
    codes = _per_unique(text, lambda t: "" if _is_missing(t) else _region_code(t))
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
    key = _per_unique(text, lambda t: re.sub(r"[^0-9a-z]+", "_", t.lower()).strip("_"))
    missing = key.isin(_MISSING)
    mapped = key.map(synonyms)
    bad = mapped.isna() & ~missing
    check.flag(bad, name, values, f"{name} must be one of {list(allowed)}")
    return pd.array(mapped, dtype="string")


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
    negative = number < 0
    check.flag(negative, "loss_amount", values, "loss_amount cannot be negative")
    return pd.array(number.where(~negative), dtype="Float64")


_CONTENT_COLUMNS = [c for c in INCIDENT_COLUMNS if c not in ("incident_id", "source")]


def _incident_ids(raw: _Raw, result: pd.DataFrame, check: _Checker) -> pd.array:
    """The file's ids when it has them, else a hash of the normalised row content.

    Identical rows in a log without ids are numbered in order of appearance before hashing, so
    two genuinely identical incidents stay two, and re-importing the same log yields the same ids.
    """
    if raw.has_id:
        values = raw.frame["incident_id"]
        ids = _text(values, raw.typed).str.strip()
        check.flag((ids == "").to_numpy(), "incident_id", values, "the incident id is blank")
        candidates = ~check.bad & (ids != "").to_numpy() & ids.duplicated(keep=False).to_numpy()
        rows = np.flatnonzero(candidates)
        first = pd.DataFrame(
            {"id": ids.iloc[rows].to_numpy(), "content": _content_key(result.iloc[rows]).to_numpy()},
            index=rows,
        )
        clashes = first.groupby("id")["content"].transform("nunique") > 1
        repeated = first.duplicated("id") & clashes
        mask = np.zeros(len(ids), dtype=bool)
        mask[repeated.index[repeated.to_numpy()]] = True
        check.flag(
            mask, "incident_id", values, "this incident id is used by an earlier row with different details"
        )
        return pd.array(ids, dtype="string")
    content = _content_key(result)
    ordinal = content.groupby(content).cumcount().astype(str)
    keyed = (content + "#" + ordinal).tolist()
    ids = ["h" + hashlib.blake2b(k.encode(), digest_size=10).hexdigest() for k in keyed]
    return pd.array(ids, dtype="string")


def _content_key(result: pd.DataFrame) -> pd.Series:
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
