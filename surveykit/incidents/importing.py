"""Importing an incident log into the store, all-or-nothing unless asked to skip invalid rows."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from surveykit._limits import listing
from surveykit._spreadsheet import write_csv
from surveykit.exceptions import ImportValidationError, Problem, Repair, StoreError
from surveykit.incidents._parsing import content_key
from surveykit.incidents.reading import Format, IncidentValidation, validate_incidents
from surveykit.incidents.schema import INCIDENT_COLUMNS, INCIDENT_DTYPES

__all__ = ["ImportReport", "import_incidents", "import_validated"]


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
    already_stored : list of str
        Ids of the valid incidents that were stored before this import (so skipped), sorted.
    conflicts : list of str
        Those of ``already_stored`` whose details (date, country, type, times, loss...) differ
        from the stored incident's; the stored incident is kept unchanged. Sorted.
    """

    added: int
    skipped_duplicates: int
    rejected: list[Problem] = field(default_factory=list)
    source: str = ""
    rejects_path: Path | None = None
    repaired: list[Repair] = field(default_factory=list)
    already_stored: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

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
        if self.conflicts:
            text += (
                f"; conflict: {len(self.conflicts)} stored incident ids have different details in this "
                f"file and were left unchanged ({listing(self.conflicts)})"
            )
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
    if progress:
        print(f"Storing {len(checked.incidents)} incidents ...", file=sys.stderr)
    report = import_validated(store, checked, skip_invalid=skip_invalid)
    return replace(report, rejects_path=written)


def import_validated(
    store: Any,
    checked: IncidentValidation,
    *,
    skip_invalid: bool = False,
    progress: Callable[[float, str], None] | None = None,
) -> ImportReport:
    """Store the valid incidents of a checked log, all-or-nothing unless ``skip_invalid``.

    The second half of :func:`import_incidents`, for callers that show the validation first and
    import on confirmation (the app's Incidents page).

    Parameters
    ----------
    store : surveykit.Store
        The store to add to; incident ids already stored are skipped and listed.
    checked : IncidentValidation
        A :func:`~surveykit.incidents.reading.validate_incidents` result.
    skip_invalid : bool
        Store the valid incidents although some rows are invalid (they are reported in
        ``rejected``); otherwise a log with any problem stores nothing.
    progress : callable, optional
        Called as ``progress(share_done, message)`` before and after storing; the incidents are
        stored in one transaction.

    Returns
    -------
    ImportReport

    Raises
    ------
    ImportValidationError
        If the log has problems and ``skip_invalid`` is False; nothing is stored.
    StoreError
        If the store refuses the incidents; the transaction is rolled back, so nothing is stored.
    """
    if checked.problems and not skip_invalid:
        rows = len({p.row for p in checked.problems})
        raise ImportValidationError(
            f"{checked.source}: {rows} rows have problems ({len(checked.problems)} in all), so nothing "
            "was imported. Fix them, or skip the bad rows to import the valid ones.",
            checked.problems,
        )
    incidents = checked.incidents
    already: list[str] = []
    conflicts: list[str] = []
    added = 0
    if len(incidents):
        if progress is not None:
            progress(0.0, f"Storing {len(incidents):,} incidents")
        stored = store.incidents()
        already = sorted(set(incidents["incident_id"]) & set(stored["incident_id"]))
        conflicts = _conflicts(incidents, stored, already)
        try:
            added = store.add_incidents(incidents)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreError(
                f"{checked.source}: the store refused the incidents ({reason}); nothing was imported."
            ) from None
        except StoreError as exc:
            raise type(exc)(f"{checked.source}: {exc}") from None
    if progress is not None:
        progress(1.0, f"Stored {added:,} incidents")
    return ImportReport(
        added=added,
        skipped_duplicates=checked.duplicates + len(incidents) - added,
        rejected=checked.problems,
        source=checked.source,
        repaired=checked.repairs,
        already_stored=already,
        conflicts=conflicts,
    )


def _conflicts(incidents: pd.DataFrame, stored: pd.DataFrame, ids: list[str]) -> list[str]:
    """Ids among ``ids`` whose details in ``incidents`` differ from the stored incident's."""
    if not ids:
        return []

    def keyed(frame: pd.DataFrame) -> pd.Series:
        rows = frame[frame["incident_id"].isin(ids)].drop_duplicates("incident_id")
        rows = rows[INCIDENT_COLUMNS].astype(INCIDENT_DTYPES).reset_index(drop=True)
        return pd.Series(content_key(rows).to_numpy(), index=rows["incident_id"].to_numpy())

    new, old = keyed(incidents), keyed(stored)
    return sorted(i for i in ids if new.get(i) != old.get(i))
