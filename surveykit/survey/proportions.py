"""Confidence intervals for proportions: survey (design-based) and classical binomial methods.

Two families live here, both vectorised over arrays:

* :func:`survey_confint` works from a design-based estimate and its linearised variance, as
  R's ``survey::svyciprop`` does (``logit``, ``beta``, ``mean``), plus a ``wilson`` score
  interval on the design-based effective sample size.
* :func:`binomial_confint` is for counts from an unweighted simple random sample
  (``wilson``, ``clopper-pearson``, ``jeffreys``); :func:`multinomial_confint` gives Goodman's
  simultaneous intervals for all categories of a question; :func:`newcombe_diff_confint` gives
  Newcombe's hybrid-score interval for a difference of two independent proportions.

Every interval lies inside [0, 1] and contains its estimate, including at 0% and 100%.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    multinomial_proportions_confint,
    proportion_confint,
)

from surveykit._options import check_option
from surveykit._validation import check_level as _check_level
from surveykit.exceptions import DesignError

__all__ = [
    "BinomialMethod",
    "IntervalMethod",
    "SurveyMethod",
    "binomial_confint",
    "multinomial_confint",
    "newcombe_diff_confint",
    "survey_confint",
]

SurveyMethod = Literal["logit", "beta", "wilson", "mean"]
BinomialMethod = Literal["wilson", "clopper-pearson", "jeffreys"]
IntervalMethod = Literal["auto", "logit", "beta", "wilson", "mean", "clopper-pearson", "jeffreys", "goodman"]

_BOUNDARY = 1e-12


def survey_confint(
    estimate: np.ndarray | float,
    variance: np.ndarray | float,
    n: np.ndarray | float,
    df: np.ndarray | float,
    *,
    level: float = 0.95,
    method: SurveyMethod = "logit",
) -> tuple[np.ndarray, np.ndarray]:
    """Design-based confidence interval for a proportion, as R's ``svyciprop``.

    Parameters
    ----------
    estimate : array_like
        Weighted proportion(s) in [0, 1].
    variance : array_like
        Linearised (Taylor) variance of each estimate.
    n : array_like
        Unweighted number of respondents behind each estimate (R's ``nrow(design)`` of the
        domain), used by ``beta`` for its degrees-of-freedom adjustment and at the boundary.
    df : array_like
        Design degrees of freedom (PSUs minus strata in the domain, R's ``degf``).
    level : float
        Confidence level.
    method : {"logit", "beta", "wilson", "mean"}
        - ``logit``: Wald interval on the logit scale with ``t(df)`` critical value, back-transformed
          (``svyciprop(method = "logit")``, R's default);
        - ``beta``: Korn and Graubard (1998) Clopper-Pearson interval on the effective sample size
          ``p(1-p)/var`` scaled by ``(t(n-1)/t(df))^2`` (``svyciprop(method = "beta")``);
        - ``wilson``: Wilson score interval on the effective sample size ``p(1-p)/var`` with a
          ``t(df)`` critical value (Dean and Pagano 2015); not in R;
        - ``mean``: Wald interval ``p +/- t(df) se`` (``svyciprop(method = "mean")``), clipped to
          [0, 1] (R does not clip).

    Returns
    -------
    (ndarray, ndarray)
        Lower and upper limits. They are NaN where ``df < 1`` (no variance can be estimated).

    Notes
    -----
    When the estimate is 0 or 1, or its variance is 0, the design effect is undefined; every
    method then returns the Korn-Graubard interval with the effective sample size set to the
    number of respondents (Korn and Graubard 1998; NCHS data presentation standards, Parker et
    al. 2017), so the interval is ``[0, u]`` or ``[l, 1]`` and never collapses to a point. R
    returns ``NaN`` (``beta``), a zero-width interval (``mean``) or a numerically degenerate one
    (``logit``) in that case.
    """
    level = _check_level(level)
    check_option("method", method, SurveyMethod, DesignError)
    p, var, n, df = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (estimate, variance, n, df)))
    alpha = 1.0 - level
    lo = np.full(p.shape, np.nan)
    hi = np.full(p.shape, np.nan)
    usable = np.isfinite(p) & np.isfinite(var) & (df >= 1)
    # Shares within 1e-12 of 0 or 1 are 0% or 100% up to rounding of weighted sums.
    boundary = usable & ((p <= _BOUNDARY) | (p >= 1 - _BOUNDARY) | (var <= 0))
    inner = usable & ~boundary
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(usable, stats.t.ppf(1 - alpha / 2, np.where(usable, df, 1)), np.nan)
        se = np.sqrt(var)
        if method == "logit":
            half = t * se / (p * (1 - p))
            centre = special.logit(p)
            lo = np.where(inner, special.expit(centre - half), lo)
            hi = np.where(inner, special.expit(centre + half), hi)
        elif method == "mean":
            lo = np.where(inner, np.clip(p - t * se, 0, 1), lo)
            hi = np.where(inner, np.clip(p + t * se, 0, 1), hi)
        elif method == "wilson":
            n_eff = p * (1 - p) / var
            w_lo, w_hi = _wilson(p, n_eff, t)
            lo = np.where(inner, w_lo, lo)
            hi = np.where(inner, w_hi, hi)
        else:
            n_eff = p * (1 - p) / var * _df_ratio(n, df, alpha)
            b_lo, b_hi = _korn_graubard(p, n_eff, alpha)
            lo = np.where(inner, b_lo, lo)
            hi = np.where(inner, b_hi, hi)
        b_lo, b_hi = _korn_graubard(p, n * _df_ratio(n, df, alpha), alpha)
    lo = np.where(boundary, b_lo, lo)
    hi = np.where(boundary, b_hi, hi)
    # Guard against rounding: an interval always contains its estimate.
    return np.minimum(lo, p), np.maximum(hi, p)


def _df_ratio(n: np.ndarray, df: np.ndarray, alpha: float) -> np.ndarray:
    """Korn-Graubard degrees-of-freedom factor ``(t(n-1)/t(df))^2``; 1 where undefined."""
    ok = (n > 1) & (df >= 1)
    ratio = np.ones(np.shape(n))
    if np.any(ok):
        nn, dd = np.broadcast_arrays(n, df)
        ratio[ok] = (stats.t.ppf(alpha / 2, nn[ok] - 1) / stats.t.ppf(alpha / 2, dd[ok])) ** 2
    return ratio


def _korn_graubard(p: np.ndarray, n_eff: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson limits with a real-valued count ``p * n_eff`` (R's ``qbeta`` form)."""
    p, n_eff = np.broadcast_arrays(p, n_eff)
    lo = np.full(p.shape, np.nan)
    hi = np.full(p.shape, np.nan)
    ok = np.isfinite(p) & np.isfinite(n_eff) & (n_eff > 0)
    zero = ok & (p <= _BOUNDARY)
    one = ok & (p >= 1 - _BOUNDARY)
    lo[zero] = 0.0
    hi[one] = 1.0
    x = p * n_eff
    inner_lo = ok & ~zero
    inner_hi = ok & ~one
    with np.errstate(invalid="ignore", divide="ignore"):
        lo[inner_lo] = stats.beta.ppf(alpha / 2, x[inner_lo], n_eff[inner_lo] - x[inner_lo] + 1)
        hi[inner_hi] = stats.beta.ppf(1 - alpha / 2, x[inner_hi] + 1, n_eff[inner_hi] - x[inner_hi])
    return lo, hi


def _wilson(p: np.ndarray, n: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def binomial_confint(
    count: np.ndarray | float,
    nobs: np.ndarray | float,
    *,
    level: float = 0.95,
    method: BinomialMethod = "wilson",
) -> tuple[np.ndarray, np.ndarray]:
    """Classical confidence interval for a binomial proportion (unweighted simple random sample).

    Parameters
    ----------
    count, nobs : array_like
        Number of respondents with the attribute and number of respondents.
    level : float
        Confidence level.
    method : {"wilson", "clopper-pearson", "jeffreys"}
        - ``wilson``: Wilson (1927) score interval (R ``prop.test(x, n, correct = FALSE)``);
        - ``clopper-pearson``: exact interval (R ``binom.test(x, n)``);
        - ``jeffreys``: equal-tailed Beta(x + 1/2, n - x + 1/2) interval, with the lower limit
          set to 0 when ``x = 0`` and the upper to 1 when ``x = n`` (Brown, Cai and DasGupta 2001).

    Returns
    -------
    (ndarray, ndarray)
        Lower and upper limits (NaN where ``nobs`` is 0).
    """
    level = _check_level(level)
    check_option("method", method, BinomialMethod, DesignError)
    count, nobs = np.broadcast_arrays(np.asarray(count, dtype=float), np.asarray(nobs, dtype=float))
    alpha = 1 - level
    ok = nobs > 0
    lo = np.full(count.shape, np.nan)
    hi = np.full(count.shape, np.nan)
    if not np.any(ok):
        return lo, hi
    x, n = count[ok], nobs[ok]
    if method == "wilson":
        lo[ok], hi[ok] = proportion_confint(x, n, alpha=alpha, method="wilson")
    elif method == "clopper-pearson":
        lo[ok], hi[ok] = proportion_confint(x, n, alpha=alpha, method="beta")
    else:
        j_lo, j_hi = proportion_confint(x, n, alpha=alpha, method="jeffreys")
        lo[ok], hi[ok] = j_lo, j_hi
    # At no successes (or all) every method's limit is exactly 0 (or 1); the closed forms can
    # miss it by a rounding error, which would put the interval beside its estimate.
    lo[ok] = np.where(x <= 0, 0.0, lo[ok])
    hi[ok] = np.where(x >= n, 1.0, hi[ok])
    return np.clip(lo, 0, 1), np.clip(hi, 0, 1)


def multinomial_confint(
    counts: np.ndarray | list[float] | pd.Series,
    *,
    level: float = 0.95,
    method: Literal["goodman"] = "goodman",
) -> pd.DataFrame:
    """Simultaneous confidence intervals for all category shares of one question.

    Parameters
    ----------
    counts : array_like
        Unweighted count per category (an unweighted simple random sample).
    level : float
        Joint confidence level of all intervals together.
    method : {"goodman"}
        Goodman (1965) intervals, via ``statsmodels.stats.proportion.multinomial_proportions_confint``.

    Returns
    -------
    DataFrame
        One row per category (index from ``counts`` when it is a Series) with columns
        ``count``, ``estimate``, ``ci_low``, ``ci_high``.
    """
    level = _check_level(level)
    check_option("method", method, Literal["goodman"], DesignError)
    index = counts.index if isinstance(counts, pd.Series) else None
    values = np.asarray(counts, dtype=float)
    if values.ndim != 1 or values.size < 2:
        raise DesignError(f"counts must hold at least two categories; got {values.size}")
    if np.any(values < 0) or values.sum() <= 0:
        raise DesignError("counts must be non-negative and not all zero")
    limits = multinomial_proportions_confint(values, alpha=1 - level, method="goodman")
    return pd.DataFrame(
        {
            "count": values,
            "estimate": values / values.sum(),
            "ci_low": np.clip(limits[:, 0], 0, 1),
            "ci_high": np.clip(limits[:, 1], 0, 1),
        },
        index=index,
    )


def newcombe_diff_confint(
    count1: float, nobs1: float, count2: float, nobs2: float, *, level: float = 0.95
) -> tuple[float, float]:
    """Newcombe's hybrid-score interval for ``p1 - p2`` from two independent binomial samples.

    Method 10 of Newcombe (1998), built from the two Wilson score intervals; computed with
    ``statsmodels.stats.proportion.confint_proportions_2indep(method="newcomb")``.

    Parameters
    ----------
    count1, nobs1, count2, nobs2 : float
        Successes and trials in each sample.
    level : float
        Confidence level.

    Returns
    -------
    (float, float)
        Lower and upper limits, inside [-1, 1].
    """
    level = _check_level(level)
    if min(nobs1, nobs2) <= 0:
        raise DesignError(f"both samples need respondents; got nobs1={nobs1!r}, nobs2={nobs2!r}")
    lo, hi = confint_proportions_2indep(
        count1, nobs1, count2, nobs2, method="newcomb", compare="diff", alpha=1 - level
    )
    return float(max(lo, -1.0)), float(min(hi, 1.0))
