"""The result vocabulary (docs/results.md): one function builds every estimator's frame."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from surveykit._disclosure import apply_disclosure

__all__ = ["CORE_COLUMNS", "result_frame"]

CORE_COLUMNS: tuple[str, ...] = ("estimate", "se", "ci_low", "ci_high", "n", "method", "flag")
"""The columns every estimator returns, in this order, after its grouping and row columns."""

_BLANKED = ("estimate", "se", "ci_low", "ci_high")


def result_frame(
    rows: Sequence[dict[str, object]] | pd.DataFrame,
    leading: Sequence[str],
    extras: Sequence[str],
    *,
    min_n: int,
    caution_n: int,
    blank: Sequence[str] = (),
    what: str = "cells",
    units: str = "respondents",
    flag_n: np.ndarray | None = None,
) -> pd.DataFrame:
    """Order the columns as grouping and row columns, the core seven, extras; add ``flag``.

    Parameters
    ----------
    rows : list of dict or DataFrame
        One record per result row holding ``leading``, every core column but ``flag``, and
        ``extras``.
    leading : sequence of str
        Grouping columns, then what the row is about (``category``, ``period``, ``quantile``...).
    extras : sequence of str
        Estimator-specific columns, after the core seven.
    min_n, caution_n : int
        Disclosure thresholds: rows resting on fewer than ``min_n`` units are suppressed (the
        estimate, its ``se`` and interval and the extras in ``blank`` set to NaN), rows under
        ``caution_n`` flagged ``"caution"``.
    blank : sequence of str
        Extras derived from the estimate, blanked with it.
    what, units : str
        What a row is and what ``n`` counts, for the warning ("comparisons", "incidents"...).
    flag_n : ndarray, optional
        The counts the flags follow, when not ``n`` (the smaller side of a comparison).
    """
    columns = [*leading, *CORE_COLUMNS[:-1], *extras]
    frame = pd.DataFrame(rows if isinstance(rows, pd.DataFrame) else list(rows), columns=columns)
    frame = frame.reset_index(drop=True)
    counts = pd.to_numeric(frame["n"]).to_numpy(dtype=float) if flag_n is None else np.asarray(flag_n)
    frame = apply_disclosure(
        frame, counts, min_n, caution_n, blank=[*_BLANKED, *blank], what=what, units=units
    )
    return frame[[*leading, *CORE_COLUMNS, *extras]]
