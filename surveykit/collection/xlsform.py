"""Import an instrument from an XLSForm workbook (the ``survey``, ``choices`` and ``settings`` sheets)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from surveykit._limits import listing, shorten
from surveykit._options import option_values
from surveykit._tabular import check_xlsx_archive
from surveykit.collection.instrument import OTHER_CHOICE, Instrument, QuestionType
from surveykit.exceptions import InstrumentError, SurveykitError

__all__ = ["read_xlsform"]

_XLSFORM_IGNORED = {
    "note", "start", "end", "today", "deviceid", "username",
    "calculate", "audit", "phonenumber", "simserial", "subscriberid",
}  # fmt: skip
_OR_OTHER_WORDING = "Other, please specify"


def read_xlsform(path: str | Path, form_id: str | None = None) -> Instrument:
    """Import an instrument from an XLSForm workbook.

    Reads the ``survey``, ``choices`` and optional ``settings`` sheets. Supported rows are
    ``select_one LIST``, ``select_multiple LIST``, ``integer``, ``decimal`` and ``text``;
    ``note``, ``start``, ``end`` and metadata rows are ignored. Columns used: ``type``,
    ``name``, ``label`` (or ``label::English``), ``required``, ``relevant``, ``hint`` and,
    for numbers, a ``constraint`` of the form ``. >= 0 and . <= 100``.

    A ``begin_group`` row with a label starts a section of that title, closed by its
    ``end_group`` (questions outside any labelled group have no section title). A select row
    ending in ``or_other`` gets the choice ``other`` ("Other") if its list lacks one, and a
    "please specify" text question ``<name>_other`` asked when it is chosen.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` workbook.
    form_id : str, optional
        Instrument id when the settings sheet has no ``form_id``.

    Raises
    ------
    InstrumentError
        If a sheet or column is missing, a row type is unsupported, or the form is invalid.
    """
    import openpyxl

    path = Path(path)
    try:
        # Sizes, compression ratios and row counts are checked before openpyxl parses anything.
        check_xlsx_archive(path)
    except SurveykitError as exc:
        raise InstrumentError(str(exc)) from None
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a non-workbook
        raise InstrumentError(f"{path.name} is not a readable Excel workbook: {shorten(exc, 160)}") from None
    sheets = {name.lower(): workbook[name] for name in workbook.sheetnames}
    if "survey" not in sheets:
        raise InstrumentError(
            f"{path.name}: an XLSForm needs a 'survey' sheet; found {listing(workbook.sheetnames)}"
        )
    survey = _sheet_records(sheets["survey"])
    choices_rows = _sheet_records(sheets["choices"]) if "choices" in sheets else []
    settings_rows = _sheet_records(sheets["settings"]) if "settings" in sheets else []
    settings = settings_rows[0] if settings_rows else {}
    lists: dict[str, list[dict[str, str]]] = {}
    for row in choices_rows:
        list_name = row.get("list_name") or row.get("list name")
        if list_name and row.get("name") is not None:
            lists.setdefault(str(list_name), []).append(
                {"name": str(row["name"]), "label": str(_label(row) or row["name"])}
            )
    problems: list[str] = []
    questions: list[dict[str, Any]] = []
    groups: list[str] = []  # titles of the open groups, innermost last ("" for unlabelled ones)
    for number, row in enumerate(survey, start=2):
        row_type = " ".join(str(row.get("type") or "").split())
        if not row_type:
            continue
        if row_type in {"begin group", "begin_group"}:
            groups.append((_label(row) or "").strip() or (groups[-1] if groups else ""))
            continue
        if row_type in {"end group", "end_group"}:
            if groups:
                groups.pop()
            continue
        kind, _, list_name = row_type.partition(" ")
        if kind in _XLSFORM_IGNORED:
            continue
        name = row.get("name")
        where = f"survey row {number} ({name or row_type})"
        if kind not in option_values(QuestionType):
            # Not check_option: these are valid XLSForm types surveykit does not model, so say so.
            problems.append(
                f"{where}: type {row_type!r} is not supported; use one of {list(option_values(QuestionType))}"
            )
            continue
        item: dict[str, Any] = {
            "id": name,
            "type": kind,
            "text": _label(row) or "",
            "required": str(row.get("required") or "").strip().lower() in {"yes", "true", "1"},
            "section": groups[-1] if groups else "",
        }
        if row.get("relevant"):
            item["relevant"] = str(row["relevant"])
        if row.get("hint"):
            item["hint"] = str(row["hint"])
        if kind.startswith("select"):
            list_name, or_other = _list_name(list_name)
            if list_name not in lists:
                problems.append(f"{where}: choice list {list_name!r} is not on the choices sheet")
                continue
            item["choices"] = lists[list_name]
            if or_other:
                if OTHER_CHOICE not in {c["name"] for c in item["choices"]}:
                    item["choices"] = [*item["choices"], {"name": OTHER_CHOICE, "label": "Other"}]
                item["other"] = _OR_OTHER_WORDING
        constraint = row.get("constraint")
        if constraint and kind in {"integer", "decimal"}:
            for op, bound in re.findall(r"\.\s*(>=|<=)\s*(-?\d+(?:\.\d+)?)", str(constraint)):
                item["minimum" if op == ">=" else "maximum"] = float(bound)
        questions.append(item)
    version = _version(settings.get("version"), problems)
    if problems:
        raise InstrumentError(f"{path.name} is not a supported XLSForm:", problems)
    spec = {
        "id": settings.get("form_id") or form_id or path.stem,
        "version": version,
        "title": settings.get("form_title") or path.stem,
        "questions": questions,
    }
    return Instrument.from_dict(spec, source=path.name)


def _list_name(rest: str) -> tuple[str, bool]:
    """The choice list of a select row's type, and whether it ends in ``or_other``."""
    words = rest.split()
    if words and words[-1] == "or_other":
        return " ".join(words[:-1]), True
    return " ".join(words), False


def _version(value: object, problems: list[str]) -> int:
    """The settings ``version`` as a whole number (1 when blank); stored responses carry it."""
    text = str(value if value is not None else "").strip()
    if not text:
        return 1
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not (number.is_integer() and number >= 1):
        problems.append(
            f"settings sheet: version {text[:40]!r} is not a whole number; use one such as 2024010101 "
            "(many XLSForm tools write the date and a counter)"
        )
        return 1
    return int(number)


def _sheet_records(sheet: Any) -> list[dict[str, Any]]:
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        return []
    header = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    return [
        {h: v for h, v in zip(header, row, strict=False) if h and v is not None}
        for row in rows[1:]
        if any(v is not None for v in row)
    ]


def _label(row: Mapping[str, Any]) -> str | None:
    if row.get("label"):
        return str(row["label"])
    for key, value in row.items():
        if key.startswith("label::") and value:
            return str(value)
    return None
