"""The result frame every incident estimator returns (docs/results.md), built in one place."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from surveykit.survey._disclosure import apply_disclosure, check_thresholds

__all__ = ["CORE", "check_thresholds", "result_frame"]

CORE = ("estimate", "se", "ci_low", "ci_high", "n", "method", "flag")
_BLANKED = ("estimate", "se", "ci_low", "ci_high")


def result_frame(
    rows: Sequence[dict[str, object]] | pd.DataFrame,
    leading: Sequence[str],
    extras: Sequence[str],
    *,
    min_n: int,
    caution_n: int,
    blank: Sequence[str] = (),
    what: str,
) -> pd.DataFrame:
    """Order the columns as grouping and row columns, the core seven, extras; add ``flag``.

    Parameters
    ----------
    rows : list of dict or DataFrame
        One record per result row holding ``leading``, every core column but ``flag``, and
        ``extras``.
    leading : sequence of str
        Grouping columns, then what the row is about (``period``, ``quantile``...).
    extras : sequence of str
        Estimator-specific columns, after the core seven.
    min_n, caution_n : int
        Disclosure thresholds on ``n``: rows below ``min_n`` are suppressed (the estimate, its
        ``se`` and interval and the extras in ``blank`` set to NaN), rows below ``caution_n``
        flagged ``"caution"``.
    blank : sequence of str
        Extras derived from the estimate, blanked with it.
    what : str
        What a row is, for the warning ("periods", "comparisons"...).
    """
    columns = [*leading, *CORE[:-1], *extras]
    frame = pd.DataFrame(list(rows) if not isinstance(rows, pd.DataFrame) else rows, columns=columns)
    frame = frame.reset_index(drop=True)
    n = pd.to_numeric(frame["n"]).to_numpy(dtype=float)
    frame = apply_disclosure(frame, n, min_n, caution_n, blank=[*_BLANKED, *blank], what=what)
    return frame[[*leading, *CORE, *extras]]
