"""Annual growth from a log-linear trend in monthly incident counts.

``log E[count_m] = log(days_m) + a + b * t_m`` with ``t_m`` in years, so the annual growth rate
is ``exp(b) - 1``. Month lengths enter as an offset; months without incidents count as zeros.
Unlike :func:`surveykit.yoy_growth` and :func:`surveykit.cagr`, which compare two periods,
the trend uses every month in between.

* :func:`growth_trend` - the annual growth ``exp(b) - 1`` with its Wald interval, per group;
* :func:`trend_line` - the fitted mean count of every month with its Wald interval, the line a
  trend chart draws through the monthly counts.

Both read one fit per group, so the line drawn is the one the growth comes from.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.genmod.generalized_linear_model import GLMResults

from surveykit._disclosure import check_thresholds
from surveykit._grouping import iter_groups
from surveykit._options import check_option
from surveykit._results import result_frame
from surveykit._validation import check_level
from surveykit.exceptions import SurveykitError
from surveykit.incidents.counts import count_table
from surveykit.incidents.sources import date_summary
from surveykit.incidents.summary import Engine

__all__ = ["growth_trend", "trend_line"]

TrendMethod = Literal["auto", "poisson", "quasi_poisson", "negative_binomial"]

_LABELS = {
    "poisson": "poisson wald",
    "quasi_poisson": "quasi-poisson wald",
    "negative_binomial": "negative-binomial wald",
}
_EXTRAS = ["p_value", "dispersion", "dispersion_p_value", "alpha", "n_months", "start", "end"]
_LINE_EXTRAS = ["count", "annual_growth"]


def growth_trend(
    log: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    method: TrendMethod = "auto",
    level: float = 0.95,
    start: str | None = None,
    end: str | None = None,
    min_n: int = 5,
    caution_n: int = 30,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Annual growth rate from a log-linear trend fitted to monthly counts.

    Parameters
    ----------
    log, by
        As for :func:`surveykit.incident_counts`: a DataFrame, a CSV or Parquet file or folder,
        or a lazy relation.
    method : {"auto", "poisson", "quasi_poisson", "negative_binomial"}
        The count model, whose Wald interval on ``b`` is reported (R ``confint.default``).
        ``"auto"`` fits Poisson and, if the Pearson dispersion test rejects at the 5% level
        (overdispersion), a negative-binomial (NB2, dispersion ``alpha`` by maximum
        likelihood) model instead; its interval is that of R ``MASS::glm.nb`` +
        ``confint.default`` (Wald, given the estimated ``theta = 1 / alpha``).
        ``"quasi_poisson"`` scales the Poisson standard errors by the Pearson dispersion.
    level : float
        Confidence level.
    start, end : str, optional
        First and last month (``"2014-01"``); the first and last months with incidents by
        default. Set ``end`` to the last complete month if the log stops mid-month.
    min_n, caution_n : int
        Disclosure thresholds on ``n``, the incidents in the months fitted.
    engine : {"pandas", "duckdb", "spark"}, optional
        What reads the log, as for :func:`surveykit.incident_counts`; every engine gives the
        same frame.

    Returns
    -------
    DataFrame
        One row per group: ``[by...], estimate, se, ci_low, ci_high, n, method, flag, p_value,
        dispersion, dispersion_p_value, alpha, n_months, start, end``. ``estimate`` is the
        annual growth ``exp(b) - 1`` with its interval on that scale and ``se`` its
        delta-method standard error ``exp(b) * se(b)``; ``method`` is ``"poisson wald"``,
        ``"quasi-poisson wald"`` or ``"negative-binomial wald"``; ``p_value`` tests ``b = 0``;
        ``dispersion`` is the Poisson fit's Pearson chi-square over its degrees of freedom
        and ``alpha`` the negative-binomial dispersion (NaN for the other models).
    """
    level = check_level(level)
    check_option("method", method, TrendMethod)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    summary, groups = date_summary(log, by, engine)
    counts = _monthly(summary, groups, start, end)
    rows = []
    for key, part in iter_groups(counts, groups):
        trend = _fit_trend(part, method)
        rows.append({**key, **_growth_row(trend, part, level)})
    return result_frame(
        rows,
        groups,
        _EXTRAS,
        min_n=min_n,
        caution_n=caution_n,
        blank=["p_value"],
        what="trends",
        units="incidents",
    )


def trend_line(
    log: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    method: TrendMethod = "auto",
    level: float = 0.95,
    start: str | None = None,
    end: str | None = None,
    min_n: int = 5,
    caution_n: int = 30,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """The fitted monthly trend: the mean count of every month, with its interval.

    The model is that of :func:`growth_trend` with the same arguments (the same fit), so the
    line runs at the growth rate :func:`growth_trend` reports.

    Parameters
    ----------
    log, by, method, level, start, end
        As for :func:`growth_trend`.
    min_n, caution_n : int
        Disclosure thresholds on the incidents of the group in the months fitted (the fit rests
        on all of them): a suppressed group has its fitted values blanked, its counts kept.
    engine : {"pandas", "duckdb", "spark"}, optional
        What reads the log, as for :func:`surveykit.incident_counts`; every engine gives the
        same frame.

    Returns
    -------
    DataFrame
        One row per group and month: ``[by...], period, period_start, estimate, se, ci_low,
        ci_high, n, method, flag, count, annual_growth``. ``estimate`` is the fitted mean count
        ``exp(eta)`` of the month (its length included through the offset), ``se`` its
        delta-method standard error ``exp(eta) * se(eta)`` and the interval the Wald interval
        ``exp(eta +- z se(eta))`` from the fit's covariance (R ``predict(fit, se.fit = TRUE,
        type = "link")``); ``n`` and ``count`` are the month's observed count; ``method`` is
        as in :func:`growth_trend`; ``annual_growth`` is the group's ``exp(b) - 1``.
    """
    level = check_level(level)
    check_option("method", method, TrendMethod)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    summary, groups = date_summary(log, by, engine)
    counts = _monthly(summary, groups, start, end)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    parts = []
    for key, part in iter_groups(counts, groups):
        trend = _fit_trend(part, method)
        link = trend.design @ trend.fit.params + trend.offset
        link_se = np.sqrt(np.einsum("ij,jk,ik->i", trend.design, trend.fit.cov_params(), trend.design))
        fitted = np.exp(link)
        parts.append(
            pd.DataFrame(
                {
                    **key,
                    "period": part["period"].to_numpy(),
                    "period_start": part["period_start"].to_numpy(),
                    "estimate": fitted,
                    "se": fitted * link_se,
                    "ci_low": np.exp(link - z * link_se),
                    "ci_high": np.exp(link + z * link_se),
                    "n": part["count"].to_numpy(),
                    "method": _LABELS[trend.model],
                    "count": part["count"].to_numpy(),
                    "annual_growth": np.expm1(float(trend.fit.params[1])),
                    "_total": int(part["count"].sum()),
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True)
    return result_frame(
        rows,
        [*groups, "period", "period_start"],
        _LINE_EXTRAS,
        min_n=min_n,
        caution_n=caution_n,
        blank=["annual_growth"],
        what="trend lines",
        units="incidents",
        flag_n=rows["_total"].to_numpy(),
    )


def _monthly(log: pd.DataFrame, groups: list[str], start: str | None, end: str | None) -> pd.DataFrame:
    counts = count_table(log, "month", groups)
    if start is not None:
        counts = counts[counts["period"] >= start]
    if end is not None:
        counts = counts[counts["period"] <= end]
    return counts


@dataclass(frozen=True)
class _TrendFit:
    """One group's log-linear fit: the model chosen, its GLM results and its design."""

    model: str
    fit: GLMResults
    design: np.ndarray
    offset: np.ndarray
    dispersion: float
    dispersion_p_value: float
    alpha: float


def _fit_trend(part: pd.DataFrame, method: str) -> _TrendFit:
    if len(part) < 6:
        raise SurveykitError(f"A trend needs at least 6 months of data; got {len(part)}.")
    starts = pd.DatetimeIndex(part["period_start"])
    t = ((starts.year - starts.year[0]) * 12 + (starts.month - starts.month[0])).to_numpy() / 12.0
    y = part["count"].to_numpy(dtype=float)
    offset = np.log(starts.days_in_month.to_numpy(dtype=float))
    X = sm.add_constant(t)
    poisson = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
    df = poisson.df_resid
    dispersion = float(poisson.pearson_chi2 / df)
    dispersion_p = float(stats.chi2.sf(poisson.pearson_chi2, df))
    chosen = method
    if method == "auto":
        chosen = "negative_binomial" if dispersion_p < 0.05 else "poisson"
    nb_alpha = np.nan
    if chosen == "poisson":
        fit = poisson
    elif chosen == "quasi_poisson":
        fit = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(scale="X2")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; checked below
            joint = sm.NegativeBinomial(y, X, offset=offset).fit(disp=0, maxiter=200)
        if not joint.mle_retvals.get("converged", True):
            raise SurveykitError("The negative-binomial trend did not converge; try method='quasi_poisson'.")
        nb_alpha = float(joint.params[-1])
        # Refit as a GLM at the ML dispersion: the same estimates, and the standard errors of
        # R's MASS::glm.nb (expected information given theta = 1 / alpha).
        family = sm.families.NegativeBinomial(alpha=nb_alpha)
        fit = sm.GLM(y, X, family=family, offset=offset).fit(start_params=joint.params[:-1])
    return _TrendFit(chosen, fit, X, offset, dispersion, dispersion_p, nb_alpha)


def _growth_row(trend: _TrendFit, part: pd.DataFrame, level: float) -> dict[str, object]:
    fit = trend.fit
    slope = float(fit.params[1])
    low, high = (float(v) for v in np.asarray(fit.conf_int(alpha=1 - level))[1])
    return {
        "estimate": np.expm1(slope),
        "se": np.exp(slope) * float(fit.bse[1]),
        "ci_low": np.expm1(low),
        "ci_high": np.expm1(high),
        "n": int(part["count"].sum()),
        "method": _LABELS[trend.model],
        "p_value": float(fit.pvalues[1]),
        "dispersion": trend.dispersion,
        "dispersion_p_value": trend.dispersion_p_value,
        "alpha": trend.alpha,
        "n_months": len(part),
        "start": part["period"].iloc[0],
        "end": part["period"].iloc[-1],
    }
