"""Importing an incident log into the store, all-or-nothing unless asked to skip invalid rows."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from surveykit._spreadsheet import write_csv
from surveykit.exceptions import ImportValidationError, Problem, Repair
from surveykit.incidents.reading import Format, validate_incidents

__all__ = ["ImportReport", "import_incidents"]


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
    repaired : list of Repair
        VERIS values kept at the precision that is valid instead of rejecting their incidents
        (also shown as a :class:`~surveykit.exceptions.DataRepairWarning`).
    """

    added: int
    skipped_duplicates: int
    rejected: list[Problem] = field(default_factory=list)
    source: str = ""
    rejects_path: Path | None = None
    repaired: list[Repair] = field(default_factory=list)

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
        if self.repaired:
            text += f", {len(self.repaired)} values repaired (listed in the warning above)"
        return text + "."


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
        With ``skip_invalid``, write the problems as CSV (``row, column, value, reason``; text
        that would run as a formula gets a leading apostrophe).
    progress : bool
        Show progress bars on stderr (the command line does for a terminal).

    Returns
    -------
    ImportReport

    Raises
    ------
    ImportValidationError
        If any row is invalid and ``skip_invalid`` is False; the store is untouched.

    Warns
    -----
    DataRepairWarning
        As for :func:`~surveykit.incidents.reading.read_incidents`; the repaired incidents are
        stored.
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
        write_csv(checked.problems_frame(), written, "the rejects")
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
        repaired=checked.repairs,
    )
