"""Time to resolve incidents and outage durations: Kaplan-Meier quantiles with intervals.

The duration of an incident runs from ``detected_at`` to ``resolved_at``. Incidents not yet
resolved are right-censored at ``as_of`` (by default the latest detection or resolution time in
the log), so long outages still open are not dropped, which would bias durations down.

Quantile intervals follow R ``survival`` (``quantile(survfit(...))``): pointwise confidence
bands for the survival curve (Greenwood variance; ``method`` as R's ``conf.type``, default
``"log"`` like R) are intersected with the horizontal line at ``1 - p``; a flat stretch exactly
at ``1 - p`` gives the midpoint. When a band never reaches ``1 - p`` the limit is missing
("not reached"), as R reports ``NA``. A quantile's interval comes from inverting the bands, so
it has no standard error: ``se`` is NaN. The Kaplan-Meier curve itself is the same as
statsmodels' ``SurvfuncRight`` and lifelines' ``KaplanMeierFitter``; the quantile interval is
computed here because statsmodels' test-inversion interval stops at the last event time where
R reports an open upper limit.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from surveykit._disclosure import check_thresholds
from surveykit._grouping import iter_groups
from surveykit._options import check_option
from surveykit._results import result_frame
from surveykit._validation import check_level, require_columns
from surveykit.exceptions import IncompleteDataWarning, SurveykitError
from surveykit.incidents.sources import duration_summary
from surveykit.incidents.summary import DURATION, EVENT, INCIDENTS, Engine, IncidentSource

__all__ = ["kaplan_meier", "km_quantiles", "resolution_curve", "time_to_resolve"]

BandMethod = Literal["log", "log-log", "plain"]
Unit = Literal["minutes", "hours", "days"]
_SECONDS = {"minutes": 60.0, "hours": 3600.0, "days": 86400.0}
_TOL = np.sqrt(np.finfo(float).eps)
_CURVE_EXTRAS = ["n_risk", "n_event", "n_censor", "std_err"]


def kaplan_meier(
    time: Sequence[float] | np.ndarray,
    event: Sequence[bool] | np.ndarray,
    *,
    level: float = 0.95,
    method: BandMethod = "log",
    min_n: int = 5,
    caution_n: int = 30,
) -> pd.DataFrame:
    """Kaplan-Meier survival curve with Greenwood pointwise confidence bands.

    Parameters
    ----------
    time : array of float
        Durations (event or censoring times), non-negative.
    event : array of bool
        True when the duration ended in the event (resolution), False when censored.
    level : float
        Confidence level of the bands.
    method : {"log", "log-log", "plain"}
        Transformation of the bands, as R ``survfit(conf.type=)``.
    min_n, caution_n : int
        Disclosure thresholds on ``n``, the number of durations the curve rests on.

    Returns
    -------
    DataFrame
        One row per distinct time: ``time, estimate, se, ci_low, ci_high, n, method, flag,
        n_risk, n_event, n_censor, std_err``. ``estimate`` is the survival (the share not yet
        resolved) and ``se`` its Greenwood standard error on that scale (R
        ``summary(survfit(...))$std.err``, NaN where the survival is 0); ``std_err`` is the
        Greenwood standard error of the cumulative hazard (R ``survfit(...)$std.err``), on
        which the bands are built; ``method`` is ``"kaplan-meier, log"`` (or ``log-log``,
        ``plain``).
    """
    curve = _curve(time, event, level, method)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    return result_frame(
        curve,
        ["time"],
        _CURVE_EXTRAS,
        min_n=min_n,
        caution_n=caution_n,
        blank=["std_err"],
        what="curve points",
        units="incidents",
    )


def _curve(
    time: Sequence[float] | np.ndarray,
    event: Sequence[bool] | np.ndarray,
    level: float,
    method: str,
    counts: np.ndarray | None = None,
) -> pd.DataFrame:
    """The curve of ``time`` and ``event``, each row standing for ``counts`` incidents (1 each by default)."""
    level = check_level(level)
    check_option("method", method, BandMethod)
    t = np.asarray(time, dtype=float)
    d = np.asarray(event, dtype=bool)
    if t.shape != d.shape or t.ndim != 1:
        raise SurveykitError(
            f"time and event must be one-dimensional and of the same length; got shapes {t.shape} "
            f"and {d.shape}."
        )
    if len(t) == 0:
        raise SurveykitError("No durations to analyse.")
    if np.isnan(t).any() or (t < 0).any():
        raise SurveykitError("Durations must be non-negative numbers without gaps.")
    w = np.ones(len(t)) if counts is None else np.asarray(counts, dtype=float)
    times, inverse = np.unique(t, return_inverse=True)
    n_event = np.bincount(inverse, weights=d * w, minlength=len(times))
    n_total = np.bincount(inverse, weights=w, minlength=len(times))
    n_risk = n_total[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1 - n_event / n_risk)
        greenwood = np.cumsum(np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0))
        std_err = np.sqrt(greenwood)
        se = survival * std_err
    z = stats.norm.ppf(1 - (1 - level) / 2)
    low, high = _bands(survival, std_err, z, method)
    return pd.DataFrame(
        {
            "time": times,
            "estimate": survival,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "n": int(w.sum()),
            "method": f"kaplan-meier, {method}",
            "n_risk": n_risk.astype(int),
            "n_event": n_event.astype(int),
            "n_censor": (n_total - n_event).astype(int),
            "std_err": std_err,
        }
    )


def _bands(s: np.ndarray, se: np.ndarray, z: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "log":
            xx = np.where(s == 0, np.nan, s)
            low = np.exp(np.log(xx) - z * se)
            high = np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        elif method == "log-log":
            xx = np.where((s == 0) | (s == 1), np.nan, s)
            spread = z * se / np.log(xx)
            low = np.exp(-np.exp(np.log(-np.log(xx)) - spread))
            high = np.exp(-np.exp(np.log(-np.log(xx)) + spread))
            low = np.where(s == 1, 1.0, low)
            high = np.where(s == 1, 1.0, high)
        else:
            low = np.maximum(s - z * se * s, 0.0)
            high = np.minimum(s + z * se * s, 1.0)
    low = np.where(np.isfinite(se), low, np.nan)
    high = np.where(np.isfinite(se), high, np.nan)
    return low, high


def _find_quantile(x: np.ndarray, y: np.ndarray, p: float) -> float:
    """R survival's findq: where the rising curve ``y = 1 - S`` first reaches ``p``."""
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    if len(y) == 0 or np.max(y) < p:
        return np.nan
    xmax = x[-1]
    _, first = np.unique(y, return_index=True)
    first = np.sort(first)
    x, y = x[first], y[first]
    order = np.argsort(y, kind="stable")
    x, y = x[order], y[order]

    def first_at_least(values: np.ndarray) -> int | None:
        hit = np.flatnonzero(values >= p)
        return int(hit[0]) if len(hit) else None

    i1 = first_at_least(y + _TOL)
    i2 = first_at_least(y - _TOL)
    if i1 is None:
        return np.nan
    if abs(p - y[-1]) < _TOL:
        return float((x[i1] + xmax) / 2)
    if i2 is None:
        return np.nan
    return float((x[i1] + x[i2]) / 2)


def km_quantiles(
    curve: pd.DataFrame,
    quantiles: Sequence[float] = (0.5, 0.9),
    *,
    min_n: int = 5,
    caution_n: int = 30,
) -> pd.DataFrame:
    """Quantiles of a :func:`kaplan_meier` curve with their confidence limits.

    ``quantile`` p is the time by which a share p of incidents are resolved (p = 0.5: the
    median).

    Parameters
    ----------
    curve : DataFrame
        A :func:`kaplan_meier` result (a suppressed curve gives missing quantiles).
    quantiles : sequence of float
        Shares strictly between 0 and 1.
    min_n, caution_n : int
        Disclosure thresholds on the curve's ``n``.

    Returns
    -------
    DataFrame
        ``quantile, estimate, se, ci_low, ci_high, n, method, flag``; ``se`` is NaN (the
        interval inverts the bands) and the estimate or a limit is missing where not reached.
    """
    require_columns(curve, ["time", "estimate", "ci_low", "ci_high", "n", "method"], "curve", SurveykitError)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    rows = _quantile_rows(curve, quantiles)
    return result_frame(
        rows, ["quantile"], [], min_n=min_n, caution_n=caution_n, what="quantiles", units="incidents"
    )


def _quantile_rows(curve: pd.DataFrame, quantiles: Sequence[float]) -> list[dict[str, object]]:
    x = np.concatenate([[0.0], curve["time"].to_numpy(dtype=float)])
    bands = {
        column: np.concatenate([[0.0], 1 - curve[column].to_numpy(dtype=float)])
        for column in ("estimate", "ci_low", "ci_high")
    }
    rows = []
    for p in quantiles:
        if not 0 < p < 1:
            raise SurveykitError(f"quantiles must lie strictly between 0 and 1; got {p!r}")
        rows.append(
            {
                "quantile": float(p),
                **{column: _find_quantile(x, y, p) for column, y in bands.items()},
                "se": np.nan,
                "n": int(curve["n"].iloc[0]),
                "method": curve["method"].iloc[0],
            }
        )
    return rows


def time_to_resolve(
    log: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    *,
    level: float = 0.95,
    method: BandMethod = "log",
    unit: Unit = "hours",
    as_of: str | datetime | pd.Timestamp | None = None,
    min_n: int = 5,
    caution_n: int = 30,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Median and other quantiles of time to resolve, with unresolved incidents censored.

    Parameters
    ----------
    log : DataFrame, path or relation
        Incidents in the canonical schema, or a CSV or Parquet file or folder of them, a DuckDB
        relation or a Spark DataFrame (see :mod:`surveykit.incidents.sources`); only those with
        ``detected_at`` are used.
    by : str or list of str, optional
        Group columns, e.g. ``"incident_type"`` or ``"region"``.
    quantiles : sequence of float
        Shares of incidents resolved; 0.5 and 0.9 by default.
    level : float
        Confidence level.
    method : {"log", "log-log", "plain"}
        Band transformation, as R ``survfit(conf.type=)``; ``"log"`` is R's default.
    unit : {"minutes", "hours", "days"}
        Unit of the durations reported.
    as_of : datetime, optional
        When unresolved incidents are censored; the latest time in the log by default.
        Incidents detected after ``as_of`` did not exist yet: they are left out with an
        :class:`~surveykit.IncompleteDataWarning` saying how many.
    min_n, caution_n : int
        Disclosure thresholds on ``n``, the incidents in the group.
    engine : {"pandas", "duckdb", "spark"}, optional
        What reads the log, as for :func:`surveykit.incident_counts`: the engine groups the
        incidents by group, duration and resolution, and the curves are computed from those
        counts, so every engine gives the same frame.

    Returns
    -------
    DataFrame
        One row per group and quantile: ``[by...], quantile, estimate, se, ci_low, ci_high, n,
        method, flag, n_resolved, n_censored, unit``. Missing estimates or limits mean "not
        reached"; ``se`` is NaN (see the module notes).

    Raises
    ------
    SurveykitError
        If ``as_of`` is before a resolution, or an incident is resolved before it was detected.
    ImportValidationError
        If a ``detected_at`` or ``resolved_at`` of a file cannot be read as a time.
    """
    level = check_level(level)
    check_option("method", method, BandMethod)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    frame, groups = _durations(log, by, unit, as_of, engine)
    rows = []
    for key, part in iter_groups(frame, groups):
        counts = part[INCIDENTS].to_numpy()
        curve = _curve(part["_duration"], part[EVENT], level, method, counts)
        n_resolved = int(counts[part[EVENT].to_numpy(dtype=bool)].sum())
        for record in _quantile_rows(curve, quantiles):
            rows.append(
                {
                    **key,
                    **record,
                    "n_resolved": n_resolved,
                    "n_censored": int(counts.sum()) - n_resolved,
                    "unit": unit,
                }
            )
    return result_frame(
        rows,
        [*groups, "quantile"],
        ["n_resolved", "n_censored", "unit"],
        min_n=min_n,
        caution_n=caution_n,
        what="quantiles",
        units="incidents",
    )


def _durations(
    log: IncidentSource,
    by: str | Sequence[str] | None,
    unit: str,
    as_of: str | datetime | pd.Timestamp | None,
    engine: Engine | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Durations (in ``unit``, column ``_duration``) and resolution (:data:`EVENT`) by group, with
    the number of incidents of each (:data:`INCIDENTS`); unresolved incidents are censored at
    ``as_of``, and those detected after it left out with a warning."""
    check_option("unit", unit, Unit)
    summary, groups, cutoff, later = duration_summary(log, by, engine, as_of)
    if later:
        warnings.warn(
            f"{later} incidents left out: detected after as_of ({cutoff}), so not yet known then.",
            IncompleteDataWarning,
            stacklevel=3,
        )
    seconds = summary[DURATION].to_numpy(dtype="int64") / 1_000_000_000
    return summary.assign(_duration=seconds / _SECONDS[unit]), groups


def resolution_curve(
    log: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    level: float = 0.95,
    method: BandMethod = "log",
    unit: Unit = "hours",
    as_of: str | datetime | pd.Timestamp | None = None,
    min_n: int = 5,
    caution_n: int = 30,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """The Kaplan-Meier curve of time to resolve, per group, from an incident log.

    Durations, censoring and ``engine`` as :func:`time_to_resolve`; the curve as
    :func:`kaplan_meier`.

    Returns
    -------
    DataFrame
        ``[by...], time, estimate, se, ci_low, ci_high, n, method, flag, n_risk, n_event,
        n_censor, std_err, unit``: one row per group and distinct duration; ``estimate`` is the
        share of the group's incidents not yet resolved.
    """
    level = check_level(level)
    check_option("method", method, BandMethod)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    frame, groups = _durations(log, by, unit, as_of, engine)
    parts = []
    for key, part in iter_groups(frame, groups):
        curve = _curve(part["_duration"], part[EVENT], level, method, part[INCIDENTS].to_numpy())
        parts.append(curve.assign(**key, unit=unit))
    return result_frame(
        pd.concat(parts, ignore_index=True),
        [*groups, "time"],
        [*_CURVE_EXTRAS, "unit"],
        min_n=min_n,
        caution_n=caution_n,
        blank=["std_err"],
        what="curve points",
        units="incidents",
    )
