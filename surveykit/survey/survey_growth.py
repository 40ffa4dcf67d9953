"""Growth in incidents reported by survey respondents (moved here from incidents; redone as a
design-based ratio in this issue)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from surveykit._grouping import by_columns as _by_list
from surveykit._options import check_option
from surveykit._validation import check_level as _check_level
from surveykit._validation import validated_weights
from surveykit.exceptions import SurveykitError

__all__ = ["survey_growth"]

BootstrapMethod = Literal["bca", "percentile"]


def survey_growth(
    data: pd.DataFrame,
    current: str = "incidents_12m",
    previous: str = "incidents_prev_12m",
    weight: str | None = None,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    *,
    n_boot: int = 2000,
    seed: int = 2016,
    ci_method: BootstrapMethod = "bca",
) -> pd.DataFrame:
    """Growth in incidents reported by survey respondents: ratio of (weighted) totals minus one.

    ``growth = sum(w * current) / sum(w * previous) - 1`` over respondents who answered both
    questions. The interval resamples respondents with replacement (carrying their weights) via
    :func:`scipy.stats.bootstrap`, BCa by default. Strata and clusters are not resampled
    separately; the interval treats respondents as independent draws.

    Parameters
    ----------
    data : DataFrame
        Tidy response frame, one row per respondent.
    current, previous : str
        Count columns for the last 12 months and the 12 before.
    weight : str, optional
        Survey weight column.
    by : str or list of str, optional
        Group columns; each group is bootstrapped on its own.
    level : float
        Confidence level.
    n_boot : int
        Bootstrap replicates.
    seed : int
        Seed of the bootstrap, so results repeat.
    ci_method : {"bca", "percentile"}
        Bias-corrected and accelerated, or plain percentile interval.

    Returns
    -------
    DataFrame
        ``[by...], n, total, previous_total, ratio, growth, se, ci_low, ci_high, method``;
        ``se`` is the bootstrap standard error of ``growth``.
    """
    _check_level(level)
    check_option("ci_method", ci_method, BootstrapMethod)
    groups = _by_list(by, data)
    for name in (current, previous, *([weight] if weight else [])):
        if name not in data.columns:
            raise SurveykitError(f"Column {name!r} is not in the data; its columns are {list(data.columns)}")
    used = data[[*groups, current, previous, *([weight] if weight else [])]].dropna(
        subset=[current, previous]
    )
    if weight:
        validated_weights(used, weight)
    for name in (current, previous):
        if (pd.to_numeric(used[name]) < 0).any():
            raise SurveykitError(f"Counts in {name!r} cannot be negative.")
    rows = []
    grouped = used.groupby(groups, dropna=False, sort=True) if groups else [((), used)]
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        c = part[current].to_numpy(dtype=float)
        p = part[previous].to_numpy(dtype=float)
        w = part[weight].to_numpy(dtype=float) if weight else np.ones(len(part))
        rows.append(
            {**dict(zip(groups, key, strict=True)), **_survey_ratio(c, p, w, level, n_boot, seed, ci_method)}
        )
    return pd.DataFrame(rows)


def _survey_ratio(
    c: np.ndarray, p: np.ndarray, w: np.ndarray, level: float, n_boot: int, seed: int, ci_method: str
) -> dict[str, object]:
    total, previous_total = float(w @ c), float(w @ p)
    label = {"bca": "bootstrap BCa", "percentile": "bootstrap percentile"}[ci_method]
    result: dict[str, object] = {"n": len(c), "total": total, "previous_total": previous_total}
    if previous_total <= 0 or len(c) < 2:
        growth = np.inf if total > 0 and previous_total <= 0 else np.nan
        return {
            **result,
            "ratio": growth + 1,
            "growth": growth,
            "se": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "method": label,
        }

    def statistic(cc: np.ndarray, pp: np.ndarray, ww: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.sum(ww * cc, axis=axis) / np.sum(ww * pp, axis=axis) - 1

    with np.errstate(divide="ignore", invalid="ignore"):
        boot = stats.bootstrap(
            (c, p, w),
            statistic,
            paired=True,
            vectorized=True,
            n_resamples=n_boot,
            confidence_level=level,
            method="BCa" if ci_method == "bca" else "percentile",
            random_state=np.random.default_rng(seed),
        )
    growth = total / previous_total - 1
    return {
        **result,
        "ratio": growth + 1,
        "growth": growth,
        "se": float(boot.standard_error),
        "ci_low": float(boot.confidence_interval.low),
        "ci_high": float(boot.confidence_interval.high),
        "method": label,
    }
