"""Calibrated weights and what calibration does to standard errors.

A design calibrated to known population totals (post-stratification, raking, linear or
raking-ratio calibration) estimates more precisely than its weights alone suggest: the variance
of an estimate is that of the residuals of its influence values after projecting out the
calibration variables. Each class here holds what R's ``design$postStrata`` holds and adjusts
influence values exactly as R's ``svyrecvar`` does, so standard errors agree with
``postStratify()``, ``rake()`` and ``calibrate()`` in R's ``survey`` package:

* :class:`PostStratification` - subtract each post-stratum's weighted mean (``postStratify``);
* :class:`Raking` - ten backfitting passes of per-margin means (``rake``);
* :class:`Greg` - residuals of a weighted least-squares fit on the calibration model matrix
  (``calibrate``, linear or raking distance, with or without bounds).

:func:`greg_weights` computes calibrated weights by Newton's method on the calibration
equations (R's ``grake``), with the weight ratios ``g`` kept within ``bounds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from surveykit._options import check_option
from surveykit._validation import require_columns
from surveykit.exceptions import WeightError
from surveykit.survey._linearization import column_bincount

__all__ = ["CalibrationMethod", "Greg", "PostStratification", "Raking", "calibration_matrix", "greg_weights"]

CalibrationMethod = Literal["linear", "raking"]

_RESCALE_ABOVE = 20
_RAKING_PASSES = 10  # R's svyrecvar: a fixed number of backfitting passes, not a convergence test


@dataclass(frozen=True)
class PostStratification:
    """Post-stratification (R ``postStratify``): post-stratum codes, new and old weights."""

    codes: np.ndarray
    weights: np.ndarray
    old_weights: np.ndarray

    def residuals(self, u: np.ndarray) -> np.ndarray:
        size = int(self.codes.max()) + 1
        psw = np.where((self.weights == 0) & (self.old_weights == 0), 1.0, self.weights)
        sums = column_bincount(self.codes, u * (self.old_weights / psw)[:, None], size)
        mean = sums / np.bincount(self.codes, self.old_weights, size)[:, None]
        return u - mean[self.codes] * psw[:, None]


@dataclass(frozen=True)
class Raking:
    """Raking (R ``rake``): the level codes of each margin and the raked weights."""

    margins: tuple[np.ndarray, ...]
    weights: np.ndarray

    def residuals(self, u: np.ndarray) -> np.ndarray:
        psw = self.weights[:, None]
        return u - psw * _backfitted(u / psw, list(self.margins))

    def cell_residuals(self, b: np.ndarray, count: np.ndarray, margins: list[np.ndarray]) -> np.ndarray:
        """:meth:`residuals` of influence values ``u = w * b`` given on cells of respondents
        with the same raked weight factor and the same level of every margin: ``b`` per cell,
        ``count`` respondents in each and each cell's level of each margin. The residuals are
        the raked weights times the values returned."""
        return b - _backfitted(b, margins, count)


def _backfitted(v: np.ndarray, margins: list[np.ndarray], count: np.ndarray | None = None) -> np.ndarray:
    """The sum of the per-margin means that R's raking residuals subtract from ``v = u / w``
    (rows, or cells standing for ``count`` rows each)."""
    # R subtracts the unweighted mean of u / w within each margin level, pass after pass.
    # Each subtraction changes every margin's level sums through the cross-counts of levels,
    # so the passes run on those small tables and the rows are adjusted once at the end.
    sizes = [int(codes.max()) + 1 for codes in margins]
    counts = [np.bincount(codes, count, size) for codes, size in zip(margins, sizes, strict=True)]
    weighted = v if count is None else v * count[:, None]
    sums = [column_bincount(codes, weighted, size) for codes, size in zip(margins, sizes, strict=True)]
    cross = [
        [
            np.bincount(a * sb + b, count, sa * sb).reshape(sa, sb)
            for b, sb in zip(margins, sizes, strict=True)
        ]
        for a, sa in zip(margins, sizes, strict=True)
    ]
    adjustments = [np.zeros((size, v.shape[1])) for size in sizes]
    for _ in range(_RAKING_PASSES):
        for m, n_level in enumerate(counts):
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = np.where(n_level[:, None] > 0, sums[m] / n_level[:, None], 0.0)
            adjustments[m] += mean
            for j in range(len(sums)):
                sums[j] = sums[j] - cross[j][m] @ mean
    return sum(adjustment[codes] for adjustment, codes in zip(adjustments, margins, strict=True))


@dataclass(frozen=True)
class Greg:
    """Linear or raking-ratio calibration (R ``calibrate``): model matrix, base weights and ``g``."""

    matrix: np.ndarray
    base_weights: np.ndarray
    g: np.ndarray

    def residuals(self, u: np.ndarray) -> np.ndarray:
        # R: qr.resid(qr(X sqrt(w0)), u / (g sqrt(w0))) * g sqrt(w0), a weighted least-squares
        # residual with the pre-calibration weights.
        root = np.sqrt(self.base_weights)
        scale = (self.g * root)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(scale > 0, u / scale, 0.0)
        x = self.matrix * root[:, None]
        coef, *_ = np.linalg.lstsq(x, v, rcond=None)
        return (v - x @ coef) * scale


def calibration_matrix(
    data: pd.DataFrame, margins: Mapping[str, Mapping[object, float] | float]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Model matrix, population totals and column names for :meth:`SurveyDesign.calibrate`.

    A categorical margin ``{level: total}`` contributes an intercept (once) and one indicator
    per level but the first, like R's ``model.matrix`` with treatment contrasts; a numeric
    variable given as a single total contributes its column.
    """
    if not margins:
        raise WeightError("margins is empty; give at least one variable, e.g. {'country': {'US': 1200, ...}}")
    require_columns(data, list(margins), "margin")
    columns: list[np.ndarray] = []
    totals: list[float] = []
    names: list[str] = []
    population: float | None = None
    for variable, margin in margins.items():
        values = data[variable]
        if isinstance(margin, Mapping):
            levels = list(margin)
            counts = pd.Series(margin, dtype=float)
            if counts.isna().any() or (counts < 0).any():
                raise WeightError(
                    f"margin for {variable!r} must hold non-negative counts; got {dict(margin)!r}"
                )
            total = float(counts.sum())
            if population is None:
                population = total
                columns.append(np.ones(len(data)))
                totals.append(total)
                names.append("(Intercept)")
            elif abs(total - population) > 1e-9 * population:
                raise WeightError(
                    f"margin for {variable!r} sums to {total:g} but an earlier margin to {population:g}; "
                    "categorical margins are population counts and must sum to the same total."
                )
            if values.isna().any():
                raise WeightError(f"column {variable!r} has missing values; every respondent needs a level.")
            unknown = sorted({str(v) for v in pd.unique(values)} - {str(level) for level in levels})
            if unknown:
                raise WeightError(
                    f"column {variable!r} has level {unknown[0]!r} which the margin does not list; "
                    f"margin levels: {levels}."
                )
            for level in levels[1:]:
                columns.append((values == level).to_numpy(dtype=float))
                totals.append(float(margin[level]))
                names.append(f"{variable}{level}")
        else:
            numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            if not np.all(np.isfinite(numeric)):
                raise WeightError(
                    f"column {variable!r} must be numeric and complete to calibrate to its total."
                )
            columns.append(numeric)
            totals.append(float(margin))
            names.append(variable)
    return np.column_stack(columns), np.asarray(totals), names


def greg_weights(
    matrix: np.ndarray,
    weights: np.ndarray,
    population: np.ndarray,
    *,
    method: CalibrationMethod = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 50,
    tol: float = 1e-7,
) -> np.ndarray:
    """Calibration factors ``g`` so that ``sum(g w x) = population`` (R ``grake``).

    Parameters
    ----------
    matrix : ndarray
        Calibration model matrix, one row per respondent.
    weights : ndarray
        Starting weights.
    population : ndarray
        Population totals of the matrix columns.
    method : {"linear", "raking"}
        Distance function: linear (GREG, weights may turn negative without bounds) or raking
        ratio (``g = exp(x'eta)``, always positive).
    bounds : (float, float), optional
        Lower and upper limits of ``g`` (R ``bounds``); linear calibration with bounds is
        truncated linear.
    max_iter, tol : int, float
        Newton iterations and the convergence criterion ``|misfit| / (1 + |total|) < tol``.

    Returns
    -------
    ndarray
        The factors ``g``; calibrated weights are ``g * weights``.
    """
    check_option("method", method, CalibrationMethod, WeightError)
    lower, upper = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))
    if not lower <= 1 <= upper:
        raise WeightError(f"bounds must satisfy lower <= 1 <= upper; got {bounds!r}")

    def f_minus_1(u: np.ndarray) -> np.ndarray:
        if method == "raking":
            return np.expm1(u)
        return np.clip(u + 1, lower, upper) - 1

    def derivative(u: np.ndarray) -> np.ndarray:
        if method == "raking":
            return np.exp(u)
        return ((u < upper - 1) & (u > lower - 1)).astype(float)

    sample_total = matrix.T @ weights
    # R rescales the weights when every total is more than 20 times its sample estimate, and
    # then reads the bounds relative to the rescaled weights; do the same so results agree.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = population / sample_total
    rescale = (
        float(np.mean(ratios)) if np.all(np.isfinite(ratios)) and np.min(ratios) > _RESCALE_ABOVE else 1.0
    )
    weights = weights * rescale
    sample_total = sample_total * rescale
    eta = np.zeros(matrix.shape[1])
    for _ in range(max_iter):
        xeta = matrix @ eta
        misfit = population - sample_total - matrix.T @ (weights * f_minus_1(xeta))
        if np.all(np.abs(misfit) / (1 + np.abs(population)) < tol):
            break
        t_matrix = (matrix * (weights * derivative(xeta))[:, None]).T @ matrix
        eta = eta + np.linalg.pinv(t_matrix) @ misfit
    misfit = population - sample_total - matrix.T @ (weights * f_minus_1(matrix @ eta))
    achieved = float(np.max(np.abs(misfit) / (1 + np.abs(population))))
    if achieved >= tol:
        hint = " or widen bounds" if bounds is not None else ""
        raise WeightError(
            f"calibration did not converge in {max_iter} iterations (largest relative misfit "
            f"{achieved:.3g}); check that the totals are attainable{hint}."
        )
    return (1 + f_minus_1(matrix @ eta)) * rescale
