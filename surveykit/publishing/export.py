"""Result workbooks: result frames written to one XLSX file, laid out for readers.

This module is the one place that knows the workbook layout:

- **Contents**: the title, a generated-by line (dated only when a date is given) and one
  hyperlinked row per sheet with a one-line description;
- **one sheet per table**: the result frame as it is, header in the first row (bold, white on
  the house accent colour, wrapped), panes frozen below the header and right of the label
  columns, shares and growth rates as percentages, counts with thousands separators, p-values
  to three decimals, and "n too small" in the estimate cell of a suppressed row;
- **Charts** (when charts are given): each chart under its caption, as a PNG image;
- **Notes**: per table the question wording, base, n, weighting, interval method, confidence
  level and disclosure rules, then any general notes.

Only aggregate tables are published: a frame with one row per respondent or incident is
refused. Text a spreadsheet would run as a formula is written with a leading apostrophe (see
``surveykit._spreadsheet``), and the same input gives a byte-identical file. :func:`csv_bytes`
gives a frame as CSV bytes neutralised the same way, for the app's download buttons.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from surveykit._disclosure import FLAG_CAUTION, FLAG_SUPPRESSED, check_thresholds
from surveykit._results import CORE_COLUMNS
from surveykit._spreadsheet import FIXED_TIME, csv_bytes, put, save_workbook, writable
from surveykit._version import VERSION
from surveykit.exceptions import SurveykitError
from surveykit.publishing.style import ACCENT, SUPPRESSED_TEXT, format_count

__all__ = ["Chart", "Table", "csv_bytes", "write_workbook"]

Chart = Figure | Axes | str | Path | bytes
"""A chart to embed: a matplotlib Figure or Axes, a PNG file, or PNG bytes."""

_PERCENT = "0.0%"
_DECIMAL = "#,##0.0"
_WHOLE = "#,##0"
_RATIO = "0.00"
_THOUSANDTHS = "0.000"

_ON_ESTIMATE_SCALE = ("estimate", "se", "ci_low", "ci_high", "estimate_from", "estimate_to")
_COUNT_COLUMNS = (
    "n", "n_from", "n_to", "count", "previous_count", "start_count", "end_count", "n_resolved",
    "n_censored", "n_censor", "n_event", "n_risk", "n_months", "df", "dispersion_df", "years",
    "weighted_count", "weighted_count_se", "total", "previous_total",
)  # fmt: skip
_RATIO_COLUMNS = ("ratio", "ratio_ci_low", "ratio_ci_high", "rate_ratio", "deff", "dispersion", "alpha")
_FORMATS = {
    **dict.fromkeys(_COUNT_COLUMNS, _WHOLE),
    **dict.fromkeys(("p_value", "p_adjusted", "dispersion_p_value"), _THOUSANDTHS),
    **dict.fromkeys(_RATIO_COLUMNS, _RATIO),
    **dict.fromkeys(("exposure", "previous_exposure"), _DECIMAL),
}
"""Number formats of the extras (docs/results.md); an extra not listed here is shown as stored."""

_RESERVED = ("Contents", "Charts", "Notes")
_FORBIDDEN = set("[]:*?/\\")
_RESPONDENT_LEVEL = ("respondent_id", "incident_id")
_MISSING = "\u2013"  # en dash, the house mark for "nothing to show"
_WHITE = "FFFFFF"
_LINK_BLUE = "0563C1"
_ROW_PIXELS = 20  # a default worksheet row is 15 points, 20 pixels at 96 dpi
_CHART_DPI = 200


@dataclass(frozen=True)
class Table:
    """One result frame to publish, with what a reader needs to interpret it.

    Attributes
    ----------
    name : str
        The sheet's name: at most 31 characters, none of ``[ ] : * ? / \\``, unique, and not
        "Contents", "Charts" or "Notes".
    frame : DataFrame
        A result frame as an estimator returned it (docs/results.md).
    question : str
        The question wording, or what was measured.
    base : str
        Who the estimates are about, e.g. "All respondents, December 2016 wave".
    description : str
        One line for the Contents sheet; by default the question wording.
    weighting : str
        How the sample was weighted, e.g. "raked to country and size" or "unweighted".
    level : float
        Confidence level of the intervals in ``frame``.
    min_n, caution_n : int
        The disclosure thresholds ``frame`` was computed with.
    units : str, optional
        What ``n`` counts; by default "respondents" for survey tables, "incidents" otherwise.
    number_format : str, optional
        Excel number format of the estimate, its standard error and interval; by default
        ``0.0%`` for shares and growth rates, ``0.00`` for ratios, and for other numbers a
        format with a precision that suits their size.
    """

    name: str
    frame: pd.DataFrame
    question: str = ""
    base: str = ""
    description: str = ""
    weighting: str = ""
    level: float = 0.95
    min_n: int = 5
    caution_n: int = 30
    units: str | None = None
    number_format: str | None = None


def write_workbook(
    tables: Mapping[str, pd.DataFrame] | Sequence[Table],
    path: str | Path,
    *,
    title: str = "Survey results",
    notes: str | Sequence[str] = (),
    charts: Mapping[str, Chart] | None = None,
    date: dt.date | None = None,
) -> Path:
    """Write result frames to an XLSX workbook laid out for readers.

    Parameters
    ----------
    tables : mapping of str to DataFrame, or sequence of Table
        The tables in sheet order: ``{sheet name: result frame}``, or :class:`Table` objects
        that also carry the question wording, base and weighting shown on the Notes sheet.
    path : str or Path
        The ``.xlsx`` file to write, in an existing folder.
    title : str
        The workbook's title, on the Contents sheet.
    notes : str or sequence of str
        General notes (source, fieldwork dates...), listed on the Notes sheet under the tables.
    charts : mapping of str to Figure, Axes, PNG path or PNG bytes, optional
        Charts for the Charts sheet, each under its caption (the key).
    date : datetime.date, optional
        The date the workbook is published, shown on the Contents sheet and stored as its
        creation time. Without it the Contents sheet shows no date and the creation time is
        fixed (2000-01-01). Either way the same input gives a byte-identical file.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    SurveykitError
        If a frame is not an aggregate result frame (it has a ``respondent_id`` column, or
        lacks the result columns), a sheet name is not valid, the path does not end in
        ``.xlsx``, or the file cannot be written. Nothing is written then.
    """
    from openpyxl import Workbook

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise SurveykitError(f"write_workbook writes .xlsx files; got path {str(path)!r}")
    writable(path, "the workbook")
    listed = _tables(tables)
    if charts is not None and not isinstance(charts, Mapping):
        raise SurveykitError(f"charts must be a mapping {{caption: chart}}; got {type(charts).__name__}")
    images = {caption: _png(caption, chart) for caption, chart in (charts or {}).items()}
    book = Workbook()
    book.properties.title = title
    _contents(book.active, listed, title, date, has_charts=bool(images))
    for table in listed:
        _table_sheet(book.create_sheet(table.name), table)
    if images:
        _charts_sheet(book.create_sheet("Charts"), images)
    _notes_sheet(book.create_sheet("Notes"), listed, [notes] if isinstance(notes, str) else list(notes))
    when = FIXED_TIME if date is None else dt.datetime.combine(date, dt.time())
    save_workbook(book, path, "the workbook", when=when)
    return path


def _tables(tables: Mapping[str, pd.DataFrame] | Sequence[Table]) -> list[Table]:
    if isinstance(tables, Mapping):
        listed = [Table(name, frame) for name, frame in tables.items()]
    elif isinstance(tables, Sequence) and all(isinstance(t, Table) for t in tables):
        listed = list(tables)
    else:
        raise SurveykitError(
            "tables must be a mapping {sheet name: result frame} or a list of Table; "
            f"got {type(tables).__name__}"
        )
    if not listed:
        raise SurveykitError("tables is empty; give at least one result frame to publish")
    seen: set[str] = set()
    for table in listed:
        _check_name(table.name, seen)
        _check_frame(table.name, table.frame)
        if not 0 < table.level < 1:
            raise SurveykitError(
                f"Table {table.name!r}: level must be between 0 and 1, e.g. 0.95; got {table.level!r}"
            )
        check_thresholds(table.min_n, table.caution_n)
    return listed


def _check_name(name: object, seen: set[str]) -> None:
    rules = "at most 31 characters, none of [ ] : * ? / \\, not starting or ending with an apostrophe"
    if not isinstance(name, str) or not name.strip():
        raise SurveykitError(f"A sheet name must be non-empty text ({rules}); got {name!r}")
    if len(name) > 31 or _FORBIDDEN & set(name) or name.startswith("'") or name.endswith("'"):
        raise SurveykitError(f"Sheet name {name!r} is not allowed in Excel: use {rules}.")
    if name.casefold() in {r.casefold() for r in _RESERVED}:
        raise SurveykitError(f"Sheet name {name!r} is taken by the workbook layout; use another name.")
    if name.casefold() in seen:
        raise SurveykitError(f"Sheet name {name!r} is given twice (names ignore case); use unique names.")
    seen.add(name.casefold())


def _check_frame(name: str, frame: object) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise SurveykitError(f"Table {name!r} is a {type(frame).__name__}, not a result frame (DataFrame).")
    identifiers = [c for c in _RESPONDENT_LEVEL if c in frame.columns]
    if identifiers:
        raise SurveykitError(
            f"Table {name!r} has a {identifiers[0]!r} column: it looks like one row per respondent or "
            "incident. Workbooks publish aggregate tables only; pass the frame an estimator "
            "returns, e.g. SurveyDesign(data).proportions(...)."
        )
    missing = [c for c in CORE_COLUMNS if c not in frame.columns]
    if missing:
        raise SurveykitError(
            f"Table {name!r} is not a result frame: it lacks the columns {missing}. Workbooks "
            "publish the frames surveykit's estimators return (docs/results.md)."
        )


def _labels(frame: pd.DataFrame) -> list[str]:
    """The grouping and row columns: everything before ``estimate``."""
    return list(frame.columns[: list(frame.columns).index("estimate")])


def _estimate_format(table: Table) -> str:
    if table.number_format is not None:
        return table.number_format
    columns = set(table.frame.columns)
    if columns & {"category", "weighted_count", "n_risk"}:  # shares: proportions, change, crosstab, survival
        return _PERCENT
    if columns & {"rate_ratio", "ratio", "n_months"}:  # growth: ratio - 1
        return _PERCENT
    if "denominator" in columns:  # ratio of two totals
        return _RATIO
    values = pd.to_numeric(table.frame["estimate"], errors="coerce").abs()
    largest = values.max() if values.notna().any() else 0.0
    return _WHOLE if largest >= 1000 else _DECIMAL if largest >= 1 else _THOUSANDTHS


def _units(table: Table) -> str:
    if table.units is not None:
        return table.units
    survey = {"variable", "weighted_count"} & set(table.frame.columns)
    return "respondents" if survey else "incidents"


# --- sheets -----------------------------------------------------------------------------------


def _contents(sheet: Any, tables: list[Table], title: str, when: dt.date | None, *, has_charts: bool) -> None:
    from openpyxl.styles import Alignment

    sheet.title = "Contents"
    put(sheet, 1, 1, title).font = _font(bold=True, size=14)
    generated = f"Generated by surveykit {VERSION}"
    put(sheet, 2, 1, generated + (f" on {when.isoformat()}." if when is not None else "."))
    _header(sheet, 4, ["Sheet", "Contents"])
    rows = [(t.name, t.description or t.question or _default_description(t.frame)) for t in tables]
    if has_charts:
        rows.append(("Charts", "The charts, each under its caption"))
    rows.append(("Notes", "Question wording, base, weighting, interval method and disclosure rules"))
    widths = [max(12, *(len(name) + 2 for name, _ in rows)), 80]
    for row, (name, description) in enumerate(rows, start=5):
        _link(put(sheet, row, 1, name), name)
        put(sheet, row, 2, description).alignment = Alignment(wrap_text=True, vertical="top")
        _fit_row_height(sheet, row, [name, description], widths)
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = widths
    _fit_to_page_width(sheet, landscape=False)


def _table_sheet(sheet: Any, table: Table) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    frame = table.frame
    columns = list(frame.columns)
    estimate_format = _estimate_format(table)
    formats = [_FORMATS.get(c, estimate_format if c in _ON_ESTIMATE_SCALE else None) for c in columns]
    _header(sheet, 1, [str(c) for c in columns], numeric=[f is not None for f in formats])
    widths = [len(str(c)) for c in columns]
    estimate_at = columns.index("estimate")
    text_after_a_number = Alignment(horizontal="left", indent=1)  # keeps "163" and "wilson" apart
    suppressed = (frame["flag"].astype(object) == FLAG_SUPPRESSED).to_numpy(dtype=bool)
    for offset, values in enumerate(frame.itertuples(index=False, name=None)):
        row = offset + 2
        for position, (value, number_format) in enumerate(zip(values, formats, strict=True)):
            if position == estimate_at and suppressed[offset]:
                cell = put(sheet, row, position + 1, SUPPRESSED_TEXT)
                cell.alignment = Alignment(horizontal="right")
            else:
                cell = put(sheet, row, position + 1, value)
                if number_format is not None and isinstance(cell.value, int | float):
                    cell.number_format = number_format
                elif isinstance(cell.value, str) and position > 0:
                    cell.alignment = text_after_a_number
            widths[position] = max(widths[position], len(_shown(cell.value, cell.number_format)))
    for position, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = min(max(width + 3, 8), 50)
    sheet.freeze_panes = sheet.cell(row=2, column=len(_labels(frame)) + 1).coordinate
    if len(frame):
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"
    sheet.print_title_rows = "1:1"
    _fit_to_page_width(sheet, landscape=True)


def _charts_sheet(sheet: Any, images: dict[str, bytes]) -> None:
    from openpyxl.drawing.image import Image

    put(sheet, 1, 1, "Charts").font = _font(bold=True, size=14)
    row = 3
    for caption, data in images.items():
        put(sheet, row, 1, caption).font = _font(bold=True)
        image = Image(io.BytesIO(data))
        dpi = _dpi(data)
        image.width, image.height = round(image.width * 96 / dpi), round(image.height * 96 / dpi)
        sheet.add_image(image, f"A{row + 1}")
        row += 1 + math.ceil(image.height / _ROW_PIXELS) + 2


def _notes_sheet(sheet: Any, tables: list[Table], notes: Sequence[str]) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    put(sheet, 1, 1, "Notes").font = _font(bold=True, size=14)
    headers = ["Sheet", "Question", "Base", "n", "Weighting", "Interval method", "Level", "Disclosure",
               "Rows flagged"]  # fmt: skip
    widths = [24, 50, 30, 14, 24, 24, 8, 44, 24]
    _header(sheet, 3, headers)
    for row, table in enumerate(tables, start=4):
        values = [
            table.name,
            table.question or _MISSING,
            table.base or _MISSING,
            _n_range(table.frame["n"]),
            table.weighting or _MISSING,
            ", ".join(str(m) for m in pd.unique(table.frame["method"].dropna())) or _MISSING,
            f"{100 * table.level:g}%",
            f"cells with fewer than {table.min_n} {_units(table)} suppressed, fewer than "
            f"{table.caution_n} flagged caution",
            _flagged(table.frame["flag"]),
        ]
        for column, value in enumerate(values, start=1):
            put(sheet, row, column, value).alignment = Alignment(wrap_text=True, vertical="top")
        _fit_row_height(sheet, row, values, widths)
    row = 4 + len(tables) + 1
    for note in notes:
        put(sheet, row, 1, note)
        row += 1
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "B4"
    sheet.print_title_rows = "3:3"
    _fit_to_page_width(sheet, landscape=True)


# --- cells ------------------------------------------------------------------------------------


def _font(**style: Any) -> Any:
    """The workbook's body font (openpyxl's default, Calibri 11) with ``style`` changes: a Font
    without a name would fall back to the spreadsheet program's default, often a serif."""
    from openpyxl.styles import Font

    return Font(**{"name": "Calibri", "size": 11, "family": 2, **style})


def _header(sheet: Any, row: int, names: list[str], numeric: Sequence[bool] = ()) -> None:
    """The header row: bold white on the accent colour, wrapped, aligned with its column."""
    from openpyxl.styles import Alignment, PatternFill

    fill = PatternFill(fill_type="solid", fgColor=ACCENT.lstrip("#").upper())
    right = [*numeric, *[False] * (len(names) - len(numeric))]
    for column, name in enumerate(names, start=1):
        cell = put(sheet, row, column, name)
        cell.font = _font(bold=True, color=_WHITE)
        cell.fill = fill
        horizontal = "right" if right[column - 1] else "left"
        indent = 1 if horizontal == "left" and column > 1 else 0
        cell.alignment = Alignment(horizontal=horizontal, vertical="center", wrap_text=True, indent=indent)


def _fit_row_height(sheet: Any, row: int, texts: Sequence[str], widths: Sequence[float]) -> None:
    """Make a row of wrapped text tall enough for its longest cell: spreadsheet programs do not
    all size rows to wrapped text on opening."""
    lines = max(math.ceil(len(text) / max(width - 2, 1)) for text, width in zip(texts, widths, strict=True))
    if lines > 1:
        sheet.row_dimensions[row].height = 15 * lines


def _fit_to_page_width(sheet: Any, *, landscape: bool) -> None:
    """Print one page wide, as many pages long as it takes."""
    from openpyxl.worksheet.properties import PageSetupProperties

    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.page_setup.orientation = "landscape" if landscape else "portrait"


def _link(cell: Any, sheet_name: str) -> None:
    from openpyxl.worksheet.hyperlink import Hyperlink

    quoted = sheet_name.replace("'", "''")
    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{quoted}'!A1", display=sheet_name)
    cell.font = _font(color=_LINK_BLUE, underline="single")


def _shown(value: Any, number_format: str) -> str:
    """Roughly how a cell's value is displayed, to fit the column width."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return "2000-01-01 00:00:00"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    decimals = {_PERCENT: 1, _DECIMAL: 1, _WHOLE: 0, _RATIO: 2, _THOUSANDTHS: 3}.get(number_format)
    if decimals is None:
        return str(value)
    if number_format == _PERCENT:
        return f"{100 * value:,.1f}%"
    return f"{value:,.{decimals}f}"


def _n_range(n: pd.Series) -> str:
    counts = pd.to_numeric(n, errors="coerce").dropna()
    if counts.empty:
        return _MISSING
    low, high = counts.min(), counts.max()
    return format_count(low) if low == high else f"{format_count(low)} to {format_count(high)}"


def _flagged(flags: pd.Series) -> str:
    flags = flags.astype(object)
    parts = [
        f"{int((flags == flag).sum())} {flag}"
        for flag in (FLAG_SUPPRESSED, FLAG_CAUTION)
        if (flags == flag).any()
    ]
    return ", ".join(parts) or "none"


def _default_description(frame: pd.DataFrame) -> str:
    labels = _labels(frame)
    return "Estimates" + (f" by {', '.join(labels)}" if labels else "")


# --- charts -----------------------------------------------------------------------------------


def _png(caption: str, chart: Chart) -> bytes:
    """A chart as PNG bytes; checked before anything is written."""
    if isinstance(chart, Axes):
        chart = chart.figure
    if isinstance(chart, Figure):
        buffer = io.BytesIO()
        chart.savefig(buffer, format="png", dpi=_CHART_DPI, bbox_inches="tight", facecolor="white")
        return buffer.getvalue()
    if isinstance(chart, str | Path):
        try:
            data = Path(chart).read_bytes()
        except OSError as exc:
            raise SurveykitError(f"Chart {caption!r}: cannot read {str(chart)!r} ({exc.strerror}).") from None
    elif isinstance(chart, bytes):
        data = chart
    else:
        raise SurveykitError(
            f"Chart {caption!r} must be a matplotlib Figure or Axes, a PNG file or PNG bytes; "
            f"got {type(chart).__name__}"
        )
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise SurveykitError(
            f"Chart {caption!r} is not a PNG image; save it with savefig(..., format='png')."
        )
    return data


def _dpi(png: bytes) -> float:
    """The resolution a PNG was saved at (96, a screen's, when it does not say)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        dpi = image.info.get("dpi", (96, 96))[0]
    return float(dpi) if dpi and dpi > 0 else 96.0
