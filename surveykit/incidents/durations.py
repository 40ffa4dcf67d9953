"""Time to resolve incidents and outage durations: Kaplan-Meier quantiles with intervals.

The duration of an incident runs from ``detected_at`` to ``resolved_at``. Incidents not yet
resolved are right-censored at ``as_of`` (by default the latest detection or resolution time in
the log), so long outages still open are not dropped, which would bias durations down.

Quantile intervals follow R ``survival`` (``quantile(survfit(...))``): pointwise confidence
bands for the survival curve (Greenwood variance; ``conf_type`` as R's ``conf.type``, default
``"log"`` like R) are intersected with the horizontal line at ``1 - p``; a flat stretch exactly
at ``1 - p`` gives the midpoint. When a band never reaches ``1 - p`` the limit is missing
("not reached"), as R reports ``NA``. The Kaplan-Meier curve itself is the same as
statsmodels' ``SurvfuncRight`` and lifelines' ``KaplanMeierFitter``; the quantile interval is
computed here because statsmodels' test-inversion interval stops at the last event time where
R reports an open upper limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from surveykit.exceptions import SurveykitError

__all__ = ["kaplan_meier", "km_quantiles", "time_to_resolve"]

ConfType = Literal["log", "log-log", "plain"]
Unit = Literal["minutes", "hours", "days"]
_CONF_TYPES = ("log", "log-log", "plain")
_UNITS = {"minutes": 60.0, "hours": 3600.0, "days": 86400.0}
_TOL = np.sqrt(np.finfo(float).eps)


def kaplan_meier(
    time: Sequence[float] | np.ndarray,
    event: Sequence[bool] | np.ndarray,
    *,
    level: float = 0.95,
    conf_type: ConfType = "log",
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
    conf_type : {"log", "log-log", "plain"}
        Transformation of the bands, as R ``survfit(conf.type=)``.

    Returns
    -------
    DataFrame
        One row per distinct time: ``time, n_risk, n_event, n_censor, survival, std_err,
        ci_low, ci_high``; ``std_err`` is the Greenwood standard error of the cumulative
        hazard (R's ``std.err``).
    """
    if conf_type not in _CONF_TYPES:
        raise SurveykitError(f"conf_type must be one of {list(_CONF_TYPES)}, got {conf_type!r}")
    if not 0 < level < 1:
        raise SurveykitError(f"level must be between 0 and 1, got {level!r}")
    t = np.asarray(time, dtype=float)
    d = np.asarray(event, dtype=bool)
    if t.shape != d.shape or t.ndim != 1:
        raise SurveykitError("time and event must be one-dimensional and of the same length.")
    if len(t) == 0:
        raise SurveykitError("No durations to analyse.")
    if np.isnan(t).any() or (t < 0).any():
        raise SurveykitError("Durations must be non-negative numbers without gaps.")
    times, inverse = np.unique(t, return_inverse=True)
    n_event = np.bincount(inverse, weights=d, minlength=len(times))
    n_total = np.bincount(inverse, minlength=len(times)).astype(float)
    n_risk = n_total[::-1].cumsum()[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1 - n_event / n_risk)
        greenwood = np.cumsum(np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0))
    std_err = np.sqrt(greenwood)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    low, high = _bands(survival, std_err, z, conf_type)
    return pd.DataFrame(
        {
            "time": times,
            "n_risk": n_risk.astype(int),
            "n_event": n_event.astype(int),
            "n_censor": (n_total - n_event).astype(int),
            "survival": survival,
            "std_err": std_err,
            "ci_low": low,
            "ci_high": high,
        }
    )


def _bands(s: np.ndarray, se: np.ndarray, z: float, conf_type: str) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            xx = np.where(s == 0, np.nan, s)
            low = np.exp(np.log(xx) - z * se)
            high = np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        elif conf_type == "log-log":
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


def km_quantiles(curve: pd.DataFrame, quantiles: Sequence[float] = (0.5, 0.9)) -> pd.DataFrame:
    """Quantiles of a :func:`kaplan_meier` curve with their confidence limits.

    ``quantile`` p is the time by which a share p of incidents are resolved (p = 0.5: the
    median).

    Returns
    -------
    DataFrame
        ``quantile, estimate, ci_low, ci_high``; missing where not reached.
    """
    x = np.concatenate([[0.0], curve["time"].to_numpy(dtype=float)])
    rows = []
    for p in quantiles:
        if not 0 < p < 1:
            raise SurveykitError(f"quantiles must lie strictly between 0 and 1, got {p!r}")
        ys = {
            name: np.concatenate([[0.0], 1 - curve[column].to_numpy(dtype=float)])
            for name, column in (("estimate", "survival"), ("ci_low", "ci_low"), ("ci_high", "ci_high"))
        }
        rows.append({"quantile": float(p), **{name: _find_quantile(x, y, p) for name, y in ys.items()}})
    return pd.DataFrame(rows)


def time_to_resolve(
    log: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    quantiles: Sequence[float] = (0.5, 0.9),
    level: float = 0.95,
    *,
    conf_type: ConfType = "log",
    unit: Unit = "hours",
    as_of: str | datetime | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Median and other quantiles of time to resolve, with unresolved incidents censored.

    Parameters
    ----------
    log : DataFrame
        Incidents in the canonical schema; only those with ``detected_at`` are used.
    by : str or list of str, optional
        Group columns, e.g. ``"incident_type"`` or ``"region"``.
    quantiles : sequence of float
        Shares of incidents resolved; 0.5 and 0.9 by default.
    level : float
        Confidence level.
    conf_type : {"log", "log-log", "plain"}
        Band transformation, as R ``survfit(conf.type=)``; ``"log"`` is R's default.
    unit : {"minutes", "hours", "days"}
        Unit of the durations reported.
    as_of : datetime, optional
        When unresolved incidents are censored; the latest time in the log by default.

    Returns
    -------
    DataFrame
        One row per group and quantile: ``[by...], quantile, estimate, ci_low, ci_high, n,
        n_resolved, n_censored, unit, method``. Missing values mean "not reached".
    """
    if unit not in _UNITS:
        raise SurveykitError(f"unit must be one of {list(_UNITS)}, got {unit!r}")
    groups = [by] if isinstance(by, str) else list(by or [])
    for name in ["detected_at", "resolved_at", *groups]:
        if name not in log.columns:
            raise SurveykitError(f"The log has no {name!r} column; its columns are {list(log.columns)}")
    frame = log[log["detected_at"].notna()]
    if frame.empty:
        raise SurveykitError("No incident has a detected_at time, so durations cannot be measured.")
    detected = pd.to_datetime(frame["detected_at"])
    resolved = pd.to_datetime(frame["resolved_at"])
    cutoff = pd.Timestamp(as_of) if as_of is not None else max(detected.max(), resolved.max())
    if resolved.notna().any() and resolved.max() > cutoff:
        raise SurveykitError(f"as_of ({cutoff}) is before some resolutions (latest {resolved.max()}).")
    end = resolved.fillna(cutoff)
    seconds = (end - detected).dt.total_seconds()
    frame = frame.assign(_duration=seconds / _UNITS[unit], _event=resolved.notna().to_numpy())
    frame = frame[frame["_duration"] >= 0]
    method = f"kaplan-meier, {conf_type} CI (R survfit conf.type='{conf_type}')"
    rows = []
    grouped = frame.groupby(groups, dropna=False, sort=True) if groups else [((), frame)]
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        curve = kaplan_meier(part["_duration"], part["_event"], level=level, conf_type=conf_type)
        table = km_quantiles(curve, quantiles)
        n_resolved = int(part["_event"].sum())
        for record in table.to_dict("records"):
            rows.append(
                {
                    **dict(zip(groups, key, strict=True)),
                    **record,
                    "n": len(part),
                    "n_resolved": n_resolved,
                    "n_censored": len(part) - n_resolved,
                    "unit": unit,
                    "method": method,
                }
            )
    return pd.DataFrame(rows)
