"""The result vocabulary (docs/results.md): one function builds every estimator's frame."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from surveykit.survey._disclosure import apply_disclosure

__all__ = ["CORE_COLUMNS", "result_frame"]

CORE_COLUMNS: tuple[str, ...] = ("estimate", "se", "ci_low", "ci_high", "n", "method", "flag")
"""The columns every estimator returns, in this order, after its grouping and row columns."""


def result_frame(
    rows: pd.DataFrame,
    *,
    estimate: np.ndarray,
    se: np.ndarray,
    ci_low: np.ndarray,
    ci_high: np.ndarray,
    n: np.ndarray,
    method: str | Sequence[str] | np.ndarray,
    extras: Mapping[str, object] | None = None,
    min_n: int,
    caution_n: int,
    flag_n: np.ndarray | None = None,
    blank: Sequence[str] = (),
    what: str = "cells",
) -> pd.DataFrame:
    """A result frame: ``rows`` (grouping and row columns), the core seven, then ``extras``.

    Cells resting on fewer than ``min_n`` units (``flag_n``, by default ``n``) are suppressed:
    the estimate, its standard error and interval, and the extra columns named in ``blank``
    are blanked; cells under ``caution_n`` are flagged.
    """
    frame = rows.reset_index(drop=True).copy()
    frame["estimate"] = np.asarray(estimate, dtype=float)
    frame["se"] = np.asarray(se, dtype=float)
    frame["ci_low"] = np.asarray(ci_low, dtype=float)
    frame["ci_high"] = np.asarray(ci_high, dtype=float)
    frame["n"] = np.asarray(n).astype(np.int64)
    frame["method"] = method
    frame["flag"] = ""
    for name, values in (extras or {}).items():
        frame[name] = values
    counts = frame["n"].to_numpy() if flag_n is None else np.asarray(flag_n)
    return apply_disclosure(
        frame, counts, min_n, caution_n, blank=("estimate", "se", "ci_low", "ci_high", *blank), what=what
    )
