"""Survey weights: raking, post-stratification and the cost of weighting.

``rake`` and ``poststratify`` return a new weight column (a Series aligned with the data) that
reproduces population margins. A design given such a column as ``weight`` treats the weights as
fixed, as ``svydesign(weights = ~w)`` does in R. To have standard errors that credit the
calibration, as R's ``rake(design, ...)`` and ``postStratify(design, ...)`` do, calibrate the
design itself: :meth:`SurveyDesign.rake`, :meth:`SurveyDesign.poststratify` and
:meth:`SurveyDesign.calibrate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surveykit._validation import label as _label
from surveykit._validation import require_columns as _require_columns
from surveykit._validation import validated_weights as _weights
from surveykit.exceptions import WeightError
from surveykit.survey._codes import combine_codes, compact_codes, split_codes

__all__ = [
    "kish_effective_n",
    "poststratify",
    "poststratify_weights",
    "rake",
    "rake_weights",
    "weighting_efficiency",
    "weights_summary",
]

_SHARE_TOLERANCE = 1e-6
_MAX_CELLS = 2.0**62  # combinations of margin levels numbered in one int64


@dataclass(frozen=True)
class _Margin:
    """One margin: the respondents' codes of the column's own levels (in order of appearance),
    the margin level of each of those, the target total of each margin level, and the levels."""

    codes: np.ndarray
    position: np.ndarray
    target: np.ndarray
    levels: list[object]

    @property
    def level_codes(self) -> np.ndarray:
        """Each respondent's margin level."""
        return self.position[self.codes]


def _targets(
    data: pd.DataFrame, margins: Mapping[str, Mapping[object, float]], total: float
) -> dict[str, _Margin]:
    """Every margin's level codes and targets, validated against the data."""
    if not margins:
        raise WeightError("margins is empty; give at least one variable, e.g. {'country': {'US': 0.5, ...}}")
    _require_columns(data, list(margins), "margin")
    sums = {}
    for variable, margin in margins.items():
        values = pd.Series(margin, dtype=float)
        if values.isna().any() or (values < 0).any():
            raise WeightError(f"margin for {variable!r} must hold non-negative numbers; got {dict(margin)!r}")
        sums[variable] = float(values.sum())
    shares = {v: abs(s - 1.0) <= _SHARE_TOLERANCE for v, s in sums.items()}
    if len(set(shares.values())) > 1:
        raise WeightError(
            f"margins mix shares (summing to 1) and counts: sums {sums}; give all as shares or all as counts."
        )
    if not next(iter(shares.values())):
        reference = next(iter(sums.values()))
        if any(abs(s - reference) > _SHARE_TOLERANCE * reference for s in sums.values()):
            raise WeightError(
                f"margins given as counts must sum to the same population total; got sums {sums}."
            )
    out = {}
    for variable, margin in margins.items():
        column = data[variable]
        codes, observed = pd.factorize(column)
        missing = codes < 0
        if missing.any():
            row = _label(column.index[np.flatnonzero(missing)[0]])
            raise WeightError(
                f"column {variable!r} has {int(missing.sum())} missing values (first at row {row!r}); "
                "every respondent needs a level to be weighted to it."
            )
        levels = list(margin)
        position = {level: i for i, level in enumerate(levels)}
        unknown = [v for v in observed if v not in position]
        if unknown:
            raise WeightError(
                f"column {variable!r} has level {unknown[0]!r} which the margin does not list; "
                f"margin levels: {levels}."
            )
        present = set(observed)
        absent = [level for level in levels if level not in present and float(margin[level]) > 0]
        if absent:
            raise WeightError(
                f"margin for {variable!r} names level {absent[0]!r} that no respondent has; "
                f"levels in the data: {sorted(map(str, present))}."
            )
        target = np.array([float(margin[level]) for level in levels])
        if shares[variable]:
            target = target * total
        out[variable] = _Margin(
            codes, np.array([position[v] for v in observed], dtype=np.int64), target, levels
        )
    return out


def rake(
    data: pd.DataFrame,
    margins: Mapping[str, Mapping[object, float]],
    weight: str | None = None,
    *,
    max_iter: int = 100,
    tol: float = 1e-8,
    bounds: tuple[float, float] | None = None,
) -> pd.Series:
    """Rake weights to population margins by iterative proportional fitting.

    Parameters
    ----------
    data : DataFrame
        One row per respondent, holding every margin variable and, optionally, the start weights.
    margins : mapping
        ``{variable: {level: target}}``. Targets are either counts (every variable's counts must
        sum to the same population total) or shares summing to 1, which are scaled to the sum of
        the starting weights.
    weight : str, optional
        Column of starting (design) weights; 1 for everyone by default.
    max_iter : int
        Maximum number of full passes over the margins.
    tol : float
        Convergence: every weighted margin total is within ``tol`` (relative) of its target.
    bounds : (float, float), optional
        Bounds on the ratio of each raked weight to its starting weight rescaled to the
        population total (so ``(0.5, 2)`` keeps every adjustment within a factor of two of the
        average one). The ratios are clipped after each pass ("capped raking"); raking fails if
        the margins cannot then be met.

    Returns
    -------
    Series
        Raked weights aligned with ``data.index``, named ``"raked_weight"``.

    Raises
    ------
    WeightError
        Margins that do not sum alike, a level in the data without a margin or a margin level no
        respondent has, missing values, bad starting weights, or no convergence within
        ``max_iter``.

    Notes
    -----
    The fitting runs on the table of cells (the respondents with the same level of every
    margin), and each cell's factor is then applied to its rows, which gives the same weights
    as raking row by row. Capped raking clips each weight relative to its own starting weight,
    so there the cells are split by starting weight too (as many cells as respondents when
    every starting weight differs).

    Agrees with R's ``weights(rake(design, list(~a, ~b), list(pop_a, pop_b)))`` run to
    convergence (``control = list(maxit = 200, epsilon = 1e-9)``); R's default ``epsilon = 1``
    stops once totals move by less than one unit.
    """
    _require_columns(data, [], "data")
    start = None if weight is None else _weights(data, weight)
    weights, _ = _rake(data, margins, start, max_iter=max_iter, tol=tol, bounds=bounds)
    return pd.Series(weights, index=data.index, name="raked_weight")


def rake_weights(
    data: pd.DataFrame,
    margins: Mapping[str, Mapping[object, float]],
    start: np.ndarray,
    *,
    max_iter: int = 100,
    tol: float = 1e-8,
    bounds: tuple[float, float] | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """:func:`rake` on an array of starting weights; also returns each margin's level codes."""
    weights, targets = _rake(data, margins, start, max_iter=max_iter, tol=tol, bounds=bounds)
    return weights, [margin.level_codes for margin in targets.values()]


def _rake(
    data: pd.DataFrame,
    margins: Mapping[str, Mapping[object, float]],
    start: np.ndarray | None,
    *,
    max_iter: int,
    tol: float,
    bounds: tuple[float, float] | None,
) -> tuple[np.ndarray, dict[str, _Margin]]:
    """:func:`rake_weights`, with ``start=None`` for unit starting weights (not multiplied)."""
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise WeightError(f"max_iter must be a positive integer; got {max_iter!r}")
    if not (isinstance(tol, int | float) and tol > 0):
        raise WeightError(f"tol must be a positive number; got {tol!r}")
    if bounds is not None:
        low, high = bounds
        if not (0 <= low <= 1 <= high):
            raise WeightError(f"bounds must satisfy 0 <= lower <= 1 <= upper; got {bounds!r}")
    if start is None and bounds is not None:
        start = np.ones(len(data))
    start_total = float(len(data) if start is None else start.sum())
    targets = _targets(data, margins, start_total)
    cells = _RakingCells.of(list(targets.values()), start, bounds)
    # Bounds apply to the starting weights rescaled to the population total.
    base = cells.weight * (next(iter(targets.values())).target.sum() / start_total)
    w = cells.weight.copy()
    discrepancy = np.inf
    for _ in range(max_iter):
        for (variable, margin), level in zip(targets.items(), cells.levels, strict=True):
            target, levels = margin.target, margin.levels
            current = np.bincount(level, weights=w * cells.count, minlength=len(target))
            empty = (current <= 0) & (target > 0)
            if empty.any():
                raise WeightError(
                    f"level {levels[int(np.flatnonzero(empty)[0])]!r} of {variable!r} has zero weight "
                    "but a positive target; give its respondents positive starting weights."
                )
            if bounds is None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    factor = np.where(current > 0, target / current, 0.0)
                w = w * factor[level]
            else:
                w = _capped_adjustment(
                    w, cells.count, level, target, base * bounds[0], base * bounds[1], variable, levels
                )
        discrepancy = max(
            float(
                np.max(
                    np.abs(np.bincount(level, weights=w * cells.count, minlength=len(t)) - t)
                    / np.maximum(t, 1e-300)
                )
            )
            for level, t in zip(cells.levels, (margin.target for margin in targets.values()), strict=True)
        )
        if discrepancy <= tol:
            return cells.weights(w, start), targets
    raise WeightError(
        f"raking did not converge in {max_iter} iterations (largest relative margin discrepancy "
        f"{discrepancy:.3g} > tol={tol:g}); raise max_iter, widen bounds, or check that the margins "
        "are attainable (no empty cells forcing contradictions)."
    )


@dataclass(frozen=True)
class _RakingCells:
    """Respondents grouped into the cells of the margins' cross-classification.

    Raking multiplies every weight in a level of a margin by the same factor, so respondents
    in the same cell (the same level of every margin) keep the ratio of their starting
    weights: fitting the table of cell totals and mapping each cell's factor back to its rows
    gives the row-by-row result. Capped raking clips each weight to bounds relative to its own
    starting weight, which breaks that ratio, so there the cells are also split by starting
    weight: the respondents of a cell then have equal weights throughout, and each cell holds
    one weight and its number of respondents (as many cells as rows when every starting weight
    differs).

    Attributes
    ----------
    cell : ndarray of int
        Cell of each respondent.
    levels : list of ndarray of int
        Level of each cell in each margin.
    weight, count : ndarray of float
        Starting weight of each cell's respondents (uncapped: their total, counted once), and
        the number of respondents it stands for (uncapped: 1).
    capped : bool
        Whether the cells are split by starting weight.
    """

    cell: np.ndarray
    levels: list[np.ndarray]
    weight: np.ndarray
    count: np.ndarray
    capped: bool

    @classmethod
    def of(
        cls, margins: list[_Margin], start: np.ndarray | None, bounds: tuple[float, float] | None
    ) -> _RakingCells:
        """Cells of the margins (of the column levels, mapped to margin levels on the cells)."""
        codes = [margin.codes for margin in margins]
        sizes = [margin.position.size for margin in margins]
        capped = bounds is not None
        if capped:
            start_code, start_values = pd.factorize(start)
            codes, sizes = [*codes, start_code], [*sizes, start_values.size]
        if np.prod(sizes, dtype=float) >= _MAX_CELLS:
            # Too many combinations to number: every respondent is a cell of its own.
            cell = np.arange(len(codes[0]))
            parts = codes
        else:
            combined, size = combine_codes(codes, sizes)
            if size <= combined.size:
                cell, used = combined, np.arange(size)  # a full table, empty cells included
            else:
                used, cell = compact_codes(combined, size)
            parts = split_codes(used, sizes)
        levels = [margin.position[part] for margin, part in zip(margins, parts[: len(margins)], strict=True)]
        n_cells = parts[0].size
        if capped:
            count = np.bincount(cell, minlength=n_cells).astype(float)
            return cls(cell, levels, np.asarray(start_values, dtype=float)[parts[-1]], count, True)
        totals = np.bincount(cell, start, n_cells).astype(float, copy=False)
        return cls(cell, levels, totals, np.ones(n_cells), False)

    def weights(self, fitted: np.ndarray, start: np.ndarray | None) -> np.ndarray:
        """Each respondent's raked weight from the fitted weights of the cells."""
        if self.capped:
            return fitted[self.cell]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(self.weight > 0, fitted / self.weight, 0.0)
        out = factor[self.cell]
        if start is not None:
            out *= start
        return out


def _capped_adjustment(
    w: np.ndarray,
    count: np.ndarray,
    codes: np.ndarray,
    target: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    variable: str,
    levels: list[object],
) -> np.ndarray:
    """Scale each level by the factor f that meets its target once weights are clipped to
    [low, high]; weight ``w[j]`` stands for ``count[j]`` respondents."""
    n_levels = target.size
    reachable_low = np.bincount(codes, low * count, n_levels)
    reachable_high = np.bincount(codes, high * count, n_levels)
    out_of_reach = (target < reachable_low * (1 - 1e-12)) | (target > reachable_high * (1 + 1e-12))
    if out_of_reach.any():
        level = levels[int(np.flatnonzero(out_of_reach)[0])]
        raise WeightError(
            f"level {level!r} of {variable!r} cannot reach its target within the bounds; widen bounds."
        )
    # Bisection on log f, vectorised over levels: the clipped total is monotone in f.
    log_lo = np.full(n_levels, -30.0)
    log_hi = np.full(n_levels, 30.0)
    for _ in range(80):
        mid = (log_lo + log_hi) / 2
        total = np.bincount(codes, np.clip(np.exp(mid)[codes] * w, low, high) * count, n_levels)
        below = total < target
        log_lo = np.where(below, mid, log_lo)
        log_hi = np.where(below, log_hi, mid)
    return np.clip(np.exp((log_lo + log_hi) / 2)[codes] * w, low, high)


def poststratify(
    data: pd.DataFrame,
    strata: str | Sequence[str],
    population: Mapping[object, float],
    weight: str | None = None,
) -> pd.Series:
    """Post-stratify weights so each post-stratum's weighted total equals its population count.

    Parameters
    ----------
    data : DataFrame
        Respondents.
    strata : str or sequence of str
        Column(s) defining post-strata; with several columns the keys of ``population`` are tuples.
    population : mapping
        ``{level: count}`` (or shares summing to 1, scaled to the sum of the starting weights).
    weight : str, optional
        Starting weights; 1 for everyone by default.

    Returns
    -------
    Series
        ``w * N_h / sum(w in h)``, aligned with ``data.index``, named ``"poststratified_weight"``
        (R: ``weights(postStratify(design, ~h, pop))``).
    """
    weights, _ = poststratify_weights(data, strata, population, _weights(data, weight))
    return pd.Series(weights, index=data.index, name="poststratified_weight")


def poststratify_weights(
    data: pd.DataFrame,
    strata: str | Sequence[str],
    population: Mapping[object, float],
    start: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`poststratify` on an array of starting weights; also returns the post-stratum codes."""
    columns = [strata] if isinstance(strata, str) else list(strata)
    _require_columns(data, columns, "strata")
    if len(columns) == 1:
        key = data[columns[0]]
    else:
        key = pd.Series(list(zip(*(data[c] for c in columns), strict=True)), index=data.index)
    name = columns[0] if len(columns) == 1 else "+".join(columns)
    frame = pd.DataFrame({name: key})
    margin = _targets(frame, {name: population}, float(start.sum()))[name]
    codes, target, levels = margin.level_codes, margin.target, margin.levels
    current = np.bincount(codes, weights=start, minlength=len(target))
    empty = (current <= 0) & (target > 0)
    if empty.any():
        raise WeightError(
            f"post-stratum {levels[int(np.flatnonzero(empty)[0])]!r} of {name!r} has zero starting weight "
            "but a positive population count."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(current > 0, target / current, 0.0)
    return start * factor[codes], codes


def kish_effective_n(weights: np.ndarray | pd.Series | Sequence[float]) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` (Kish 1965)."""
    w = _weight_array(weights)
    return float(w.sum() ** 2 / np.sum(w * w))


def weighting_efficiency(weights: np.ndarray | pd.Series | Sequence[float]) -> float:
    """Kish effective sample size as a share of the number of respondents, ``1 / (1 + cv^2)``."""
    w = _weight_array(weights)
    return kish_effective_n(w) / w.size


def weights_summary(weights: np.ndarray | pd.Series | Sequence[float]) -> pd.DataFrame:
    """One-row summary of a weight column.

    Returns
    -------
    DataFrame
        Columns ``n, sum, min, max, ratio_max_min, cv, deff_weighting, effective_n, efficiency``;
        ``deff_weighting`` is Kish's ``1 + cv^2`` (cv with divisor n).
    """
    w = _weight_array(weights)
    cv = float(w.std() / w.mean())
    return pd.DataFrame(
        {
            "n": [w.size],
            "sum": [float(w.sum())],
            "min": [float(w.min())],
            "max": [float(w.max())],
            "ratio_max_min": [float(w.max() / w.min()) if w.min() > 0 else np.inf],
            "cv": [cv],
            "deff_weighting": [1 + cv**2],
            "effective_n": [kish_effective_n(w)],
            "efficiency": [weighting_efficiency(w)],
        }
    )


def _weight_array(weights: np.ndarray | pd.Series | Sequence[float]) -> np.ndarray:
    series = weights if isinstance(weights, pd.Series) else pd.Series(np.asarray(weights))
    return _weights(series.rename("weight").to_frame(), "weight")
