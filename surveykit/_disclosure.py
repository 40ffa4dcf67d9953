"""Disclosure rules for published cells: suppress tiny cells, flag small ones.

A cell whose estimate rests on fewer than ``min_n`` units (respondents, incidents) is suppressed (estimate and
interval blanked) and one on fewer than ``caution_n`` is flagged "interpret with caution", the
rules the Verizon DBIR applies to its figures.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.exceptions import DesignError, SmallSampleWarning

__all__ = ["FLAG_CAUTION", "FLAG_OK", "FLAG_SUPPRESSED", "apply_disclosure", "check_thresholds"]

FLAG_OK = "ok"
FLAG_CAUTION = "caution"
FLAG_SUPPRESSED = "suppressed"


def check_thresholds(min_n: int, caution_n: int) -> tuple[int, int]:
    """Validate the two thresholds; ``min_n = 0`` turns suppression off."""
    for name, value in (("min_n", min_n), ("caution_n", caution_n)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise DesignError(f"{name} must be a non-negative integer; got {value!r}")
    if caution_n < min_n:
        raise DesignError(f"caution_n ({caution_n}) must be at least min_n ({min_n})")
    return int(min_n), int(caution_n)


def apply_disclosure(
    frame: pd.DataFrame,
    n: np.ndarray,
    min_n: int,
    caution_n: int,
    blank: Sequence[str],
    flag_column: str = "flag",
    what: str = "cells",
    units: str = "respondents",
) -> pd.DataFrame:
    """Add ``flag_column`` from the respondent counts ``n`` and blank suppressed cells in place.

    Emits one :class:`SmallSampleWarning` summarising the flagged cells, if any.
    """
    n = np.asarray(n)
    suppressed = n < min_n
    caution = ~suppressed & (n < caution_n)
    frame[flag_column] = np.where(suppressed, FLAG_SUPPRESSED, np.where(caution, FLAG_CAUTION, FLAG_OK))
    if suppressed.any():
        frame.loc[suppressed, list(blank)] = np.nan
    parts = []
    if suppressed.any():
        parts.append(f"{int(suppressed.sum())} {what} rest on fewer than {min_n} {units} and were suppressed")
    if caution.any():
        parts.append(
            f"{int(caution.sum())} {what} rest on fewer than {caution_n} {units} (flagged 'caution')"
        )
    if parts:
        warnings.warn(
            "; ".join(parts) + f"; see the {flag_column!r} column. Change the thresholds with "
            "min_n=... and caution_n=... (of SurveyDesign, or of the incident function).",
            SmallSampleWarning,
            stacklevel=_outside_surveykit(),
        )
    return frame


_PACKAGE = str(Path(__file__).resolve().parent)


def _outside_surveykit() -> int:
    """The ``stacklevel`` of the first caller outside the package, so a warning names the
    user's line rather than the estimator's internals."""
    level = 0  # this function's own frame is skipped by the loop below
    frame = inspect.currentframe()
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level
