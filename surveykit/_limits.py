"""Limits on input files, in one place, so a hostile or broken file ends in a short clear error.

Every importer (incident logs, survey responses, XLSForm instruments, uploads) checks these
before it parses or stores anything. The defaults follow Excel's own limits where there is one
(1,048,576 rows, 16,384 columns, 32,767 characters in a cell) and otherwise keep a file within
a few seconds and a few hundred megabytes of memory. Each can be changed for a process with an
environment variable ``SURVEYKIT_LIMIT_<NAME>`` (``SURVEYKIT_LIMIT_MAX_ROWS=2000000``), read
every time :func:`current_limits` is called.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace

__all__ = ["Limits", "current_limits", "listing", "shorten"]


@dataclass(frozen=True)
class Limits:
    """The limits an input file must keep to.

    Attributes
    ----------
    max_file_bytes : int
        Largest file read (a CSV, XLSX or JSON file; each file of a VERIS folder).
    max_part_bytes : int
        Largest uncompressed part of an XLSX workbook (a sheet, the shared strings).
    max_unpacked_bytes : int
        Largest total of an archive's contents once uncompressed: an XLSX workbook's parts, or
        the files of a ZIP upload.
    max_archive_files : int
        Most files in a ZIP upload (the public VCDB has about 10,000 incidents).
    max_compression_ratio : float
        Largest ratio of uncompressed to compressed size of an XLSX part over 1 MB (real
        workbooks stay under about 30; a zip bomb is in the hundreds or thousands).
    max_rows : int
        Most rows of a sheet or CSV file, header included (Excel's 1,048,576).
    max_columns : int
        Most columns (Excel's 16,384).
    max_cell_chars : int
        Longest cell (Excel's 32,767 characters).
    max_line_bytes : int
        Longest line of a CSV file.
    max_json_depth : int
        Deepest nesting of arrays and objects in a JSON file (a VERIS record nests about 6).
    max_id_chars : int
        Longest incident id or response idempotency key (the store's column holds 128).
    max_wave_chars : int
        Longest wave name (the store's column holds 32).
    max_source_chars : int
        Longest incident ``source``.
    """

    max_file_bytes: int = 250_000_000
    max_part_bytes: int = 300_000_000
    max_unpacked_bytes: int = 500_000_000
    max_archive_files: int = 50_000
    max_compression_ratio: float = 100.0
    max_rows: int = 1_048_576
    max_columns: int = 16_384
    max_cell_chars: int = 32_767
    max_line_bytes: int = 1_048_576
    max_json_depth: int = 64
    max_id_chars: int = 128
    max_wave_chars: int = 32
    max_source_chars: int = 256


def current_limits() -> Limits:
    """The limits in force: the defaults, changed by any ``SURVEYKIT_LIMIT_<NAME>`` variable.

    Raises
    ------
    ValueError
        If such a variable is not a positive number.
    """
    changes: dict[str, int | float] = {}
    for spec in fields(Limits):
        text = os.environ.get(f"SURVEYKIT_LIMIT_{spec.name.upper()}")
        if text is None:
            continue
        kind = float if spec.type in ("float", float) else int
        try:
            value = kind(text.replace("_", ""))
        except ValueError:
            value = 0
        if value <= 0:
            raise ValueError(f"SURVEYKIT_LIMIT_{spec.name.upper()} must be a positive number, got {text!r}")
        changes[spec.name] = value
    return replace(Limits(), **changes)


def shorten(value: object, width: int = 60) -> str:
    """A value as text for a message, cut to ``width`` characters with its length shown."""
    text = str(value)
    if len(text) <= width:
        return text
    return f"{text[: width - 1]}… ({len(text):,} characters)"


def listing(items: Iterable[object], show: int = 10) -> str:
    """Items for a message, the first ``show`` quoted and the rest counted: ``'a', 'b' and 3 more``."""
    items = list(items)
    shown = ", ".join(repr(shorten(item, 40)) for item in items[:show])
    if len(items) > show:
        shown += f" and {len(items) - show:,} more"
    return shown or "none"
