"""Errors and warnings raised by surveykit.

Every problem with user input raises a subclass of :class:`SurveykitError`, which is also a
``ValueError`` so that generic callers can catch it. Messages name the argument, column or row
at fault and say how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DataRepairWarning",
    "DesignError",
    "ImportValidationError",
    "IncompleteDataWarning",
    "InstrumentError",
    "InvitationError",
    "InvitationUsedError",
    "LoginThrottledError",
    "LonelyPSUError",
    "Problem",
    "Repair",
    "SmallSampleWarning",
    "StoreBusyError",
    "StoreError",
    "SurveykitError",
    "WaveClosedError",
    "WeightError",
]


class SurveykitError(ValueError):
    """Base class of every error surveykit raises for bad input or a bad state."""


class InstrumentError(SurveykitError):
    """An instrument definition, or an answer to it, is invalid.

    Attributes
    ----------
    problems : list of str
        Every problem found, each naming the question it concerns.
    """

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems = list(problems)
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class StoreError(SurveykitError):
    """The data store cannot be opened or would be left inconsistent."""


class StoreBusyError(StoreError):
    """Another writer (a long import, say) kept the store locked past the wait allowed
    (``Store(busy_timeout=...)``); nothing was stored, and trying again later is safe."""


class WaveClosedError(StoreError):
    """A response was submitted to a wave that is closed or not open yet; nothing was stored."""


class InvitationError(StoreError):
    """An invitation token is unknown, withdrawn, for another wave, or missing where the wave
    requires one; nothing was stored."""


class InvitationUsedError(InvitationError):
    """The invitation token was already used for a response (each allows one); nothing was stored."""


class LoginThrottledError(SurveykitError):
    """Too many sign-ins failed recently for this username or client; the password was not checked.

    Attributes
    ----------
    retry_after : int
        Seconds to wait before trying again.
    """

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


@dataclass(frozen=True)
class Problem:
    """One bad value found while validating imported data.

    Attributes
    ----------
    row : int or str
        1-based data row number (header excluded) or, for a directory of files, the file name.
    column : str
        Column (or field) at fault; empty when the whole row or file is at fault.
    value : str
        The offending value as read, truncated for display.
    reason : str
        Why the value was rejected, phrased so a person can fix it.
    """

    row: int | str
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if isinstance(self.row, int) else str(self.row)
        if self.column:
            where += f", column {self.column!r}"
        value = f" (value {self.value!r})" if self.value != "" else ""
        return f"{where}{value}: {self.reason}"


@dataclass(frozen=True)
class Repair:
    """One invalid value that was read at the precision that is valid, or dropped to missing.

    Attributes
    ----------
    row : int or str
        Where the value was: for VERIS the file name (with the record number for arrays).
    column : str
        The field at fault, e.g. ``timeline.incident.day`` or ``victim.region``.
    value : str
        The invalid value as read.
    kept : str
        What was kept instead, e.g. ``"kept the year 2015"`` or ``"region left missing"``.
    """

    row: int | str
    column: str
    value: str
    kept: str

    def __str__(self) -> str:
        where = f"row {self.row}" if isinstance(self.row, int) else str(self.row)
        return f"{where}, field {self.column!r} (value {self.value!r}): {self.kept}"


class ImportValidationError(SurveykitError):
    """An import found invalid rows and, being all-or-nothing, imported none of them.

    Attributes
    ----------
    problems : list of Problem
        Every invalid value, with its row, column, value and reason.
    """

    def __init__(self, message: str, problems: Iterable[Problem] = (), show: int = 20) -> None:
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:show]]
        if len(self.problems) > show:
            lines.append(f"... and {len(self.problems) - show} more")
        if lines:
            message = message + "\n" + "\n".join(f"  - {line}" for line in lines)
        super().__init__(message)


class DesignError(SurveykitError):
    """A survey design or an analysis request on it is invalid."""


class WeightError(DesignError):
    """Weights are missing, non-numeric, negative, all zero, or cannot be calibrated."""


class LonelyPSUError(DesignError):
    """A stratum has a single primary sampling unit, so its variance cannot be estimated."""


class SmallSampleWarning(UserWarning):
    """A reported cell rests on fewer respondents than the reporting threshold."""


class IncompleteDataWarning(UserWarning):
    """Records were left out of an analysis (dates too vague for the period asked), or the
    latest period looks partial and should be compared on the same calendar window."""


class DataRepairWarning(UserWarning):
    """Invalid values were kept at the precision that is valid (a date at its year or month) or
    dropped to missing, instead of rejecting their incidents.

    Attributes
    ----------
    repairs : list of Repair
        Every repair, with where it was, the field, the value and what was kept.
    """

    def __init__(self, message: str, repairs: Iterable[Repair] = ()) -> None:
        self.repairs = list(repairs)
        if self.repairs:
            message = message + "\n" + "\n".join(f"  - {r}" for r in self.repairs)
        super().__init__(message)
