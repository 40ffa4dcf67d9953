"""Incident counts and their growth: year over year, compound annual, trend, and from the survey.

Counts of incidents in a period are treated as Poisson, so the growth from one period to the
next is a Poisson rate ratio minus one:

- ``method="score"``: the score interval and test of Gu, Ng, Tang and Schucany (2008) through
  statsmodels ``confint_poisson_2indep``/``test_poisson_2indep`` (``method="score"``);
- ``method="exact"``: conditional on the total ``n = count + previous_count``, the current count
  is binomial with ``pi = R e1 / (R e1 + e0)``; the Clopper-Pearson interval for ``pi`` is
  mapped to the rate ratio ``R = pi / (1 - pi) * e0 / e1`` and the p-value is the exact
  binomial test of ``pi = e1 / (e1 + e0)``. It stays correct when a period has no incidents;
- ``method="auto"`` (default): score when both counts are positive, exact otherwise.

Monthly counts are often overdispersed (more variable than Poisson); :func:`yoy_growth`
reports the Pearson dispersion of the two years' monthly counts and :func:`growth_trend` fits
a negative-binomial (or quasi-Poisson) log-linear trend over months when it matters.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.rates import confint_poisson_2indep, test_poisson_2indep

from surveykit._validation import check_level as _check_level
from surveykit.exceptions import IncompleteDataWarning, SurveykitError

__all__ = [
    "cagr",
    "growth_trend",
    "incident_counts",
    "loss_growth",
    "poisson_rate_ratio",
    "yoy_growth",
]

Period = Literal["year", "quarter", "month"]
RatioMethod = Literal["auto", "score", "exact"]
TrendModel = Literal["auto", "poisson", "quasi_poisson", "negative_binomial"]
BootstrapMethod = Literal["bca", "percentile"]
ExposureArg = None | Literal["days"] | Mapping[object, float] | pd.DataFrame

_PERIODS = ("year", "quarter", "month")
_LAG = {"year": 1, "quarter": 4, "month": 12}
_RATIO_METHODS = ("auto", "score", "exact")
_TREND_MODELS = ("auto", "poisson", "quasi_poisson", "negative_binomial")
_BOOTSTRAP_METHODS = ("bca", "percentile")


def poisson_rate_ratio(
    count: int,
    exposure: float,
    previous_count: int,
    previous_exposure: float,
    *,
    level: float = 0.95,
    method: RatioMethod = "auto",
) -> pd.DataFrame:
    """Rate ratio of two Poisson counts with a confidence interval and a test of no change.

    Parameters
    ----------
    count, exposure : int, float
        Events and exposure (person-years, organisations, mailboxes, days) of the current
        period.
    previous_count, previous_exposure : int, float
        The same for the comparison period.
    level : float
        Confidence level.
    method : {"auto", "score", "exact"}
        See the module notes.

    Returns
    -------
    DataFrame
        One row: ``count, exposure, previous_count, previous_exposure, rate_ratio, ci_low,
        ci_high, p_value, method``.

    Examples
    --------
    >>> poisson_rate_ratio(60, 51477.5, 30, 54308.7)[["rate_ratio", "ci_low", "ci_high"]].round(6)
       rate_ratio    ci_low   ci_high
    0    2.109998  1.365962  3.259306
    """
    _check_level(level)
    _check_choice("method", method, _RATIO_METHODS)
    for name, value in (("count", count), ("previous_count", previous_count)):
        if value < 0 or value != int(value):
            raise SurveykitError(f"{name} must be a non-negative whole number, got {value!r}")
    for name, value in (("exposure", exposure), ("previous_exposure", previous_exposure)):
        if not np.isfinite(value) or value <= 0:
            raise SurveykitError(f"{name} must be a positive number, got {value!r}")
    ratio, low, high, p_value, used = _rate_ratio(
        int(count), float(exposure), int(previous_count), float(previous_exposure), level, method
    )
    return pd.DataFrame(
        {
            "count": [int(count)],
            "exposure": [float(exposure)],
            "previous_count": [int(previous_count)],
            "previous_exposure": [float(previous_exposure)],
            "rate_ratio": [ratio],
            "ci_low": [low],
            "ci_high": [high],
            "p_value": [p_value],
            "method": [used],
        }
    )


def _rate_ratio(
    c1: int, e1: float, c0: int, e0: float, level: float, method: str
) -> tuple[float, float, float, float, str]:
    alpha = 1 - level
    if method == "score" or (method == "auto" and c1 > 0 and c0 > 0):
        if c1 == 0 or c0 == 0:
            raise SurveykitError(
                "The score interval is undefined when a period has no incidents; use "
                "method='exact' (or 'auto')."
            )
        low, high = confint_poisson_2indep(c1, e1, c0, e0, method="score", compare="ratio", alpha=alpha)
        test = test_poisson_2indep(c1, e1, c0, e0, method="score", compare="ratio")
        # From the statistic, not test.pvalue, which underflows to 0 for large effects.
        p_value = 2 * stats.norm.sf(abs(float(test.statistic)))
        return (c1 / e1) / (c0 / e0), float(low), float(high), float(p_value), "score"
    n = c1 + c0
    if n == 0:
        return np.nan, 0.0, np.inf, 1.0, "exact-conditional"
    interval = stats.binomtest(c1, n).proportion_ci(confidence_level=level, method="exact")
    scale = e0 / e1

    def to_ratio(pi: float) -> float:
        return np.inf if pi >= 1 else pi / (1 - pi) * scale

    p_value = stats.binomtest(c1, n, e1 / (e1 + e0)).pvalue
    ratio = np.inf if c0 == 0 else (c1 / e1) / (c0 / e0)
    return ratio, to_ratio(interval.low), to_ratio(interval.high), float(p_value), "exact-conditional"


def incident_counts(
    log: pd.DataFrame,
    period: Period = "year",
    by: str | Sequence[str] | None = None,
    exposure: ExposureArg = None,
    *,
    as_of: str | date | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Incidents per period (and group), with the exposure each count is measured against.

    Every period from the first to the last one in the log appears, with zero counts where a
    group had no incidents.

    Parameters
    ----------
    log : DataFrame
        An incident log in the canonical schema (:func:`surveykit.read_incidents`,
        ``Store.incidents()``).
    period : {"year", "quarter", "month"}
        Quarters and months need a known month; incidents without one are left out with an
        :class:`~surveykit.IncompleteDataWarning`.
    by : str or list of str, optional
        Columns to break the counts down by (``country``, ``incident_type``...). Missing values
        form their own group.
    exposure : None, "days", mapping or DataFrame
        ``None``: each period counts as one unit (compare counts of equal periods). ``"days"``:
        days observed in the period (or the window). A mapping ``{period: exposure}`` (keys such
        as ``2015`` or ``"2015-03"``) or a frame with ``period``, the ``by`` columns and
        ``exposure`` gives organisations, mailboxes or other measures.
    as_of : date, optional
        Year periods only: count each year from 1 January to the day and month of ``as_of``
        (year to date vs the same dates in earlier years), ending in ``as_of``'s year.
        Incidents whose date is too vague to place are left out with a warning.

    Returns
    -------
    DataFrame
        ``[by...], period, period_start, count, exposure``; ``period`` is a label such as
        ``"2015"``, ``"2015-Q1"`` or ``"2015-03"``.
    """
    _check_choice("period", period, _PERIODS)
    groups = _by_list(by, log)
    frame = _dated(log, period, as_of)
    frame = frame.assign(_key=_period_key(frame, period))
    if frame.empty:
        raise SurveykitError("No incidents to count (the log is empty after dropping undated ones).")
    first = int(frame["_key"].min())
    last = int(frame["_key"].max())
    if as_of is not None:
        last = pd.Timestamp(as_of).year
    keys = np.arange(first, last + 1)
    counted = frame.groupby([*groups, "_key"], dropna=False).size().rename("count").reset_index()
    if groups:
        combos = frame[groups].drop_duplicates().reset_index(drop=True)
        grid = combos.merge(pd.DataFrame({"_key": keys}), how="cross")
    else:
        grid = pd.DataFrame({"_key": keys})
    out = grid.merge(counted, on=[*groups, "_key"], how="left")
    out["count"] = out["count"].fillna(0).astype("int64")
    out.insert(len(groups), "period", [_period_label(k, period) for k in out["_key"]])
    out.insert(len(groups) + 1, "period_start", [_period_start(k, period) for k in out["_key"]])
    out["exposure"] = _exposure(out, period, groups, exposure, as_of)
    out = out.sort_values([*groups, "_key"], na_position="last").drop(columns="_key")
    return out.reset_index(drop=True)


def yoy_growth(
    log: pd.DataFrame,
    period: Period = "year",
    by: str | Sequence[str] | None = None,
    exposure: ExposureArg = None,
    level: float = 0.95,
    *,
    as_of: str | date | pd.Timestamp | None = None,
    method: RatioMethod = "auto",
) -> pd.DataFrame:
    """Year-over-year growth in incidents with a Poisson rate-ratio interval and test.

    Each period is compared with the same period a year earlier (the previous year, the same
    quarter or month of the previous year).

    Parameters
    ----------
    log, period, by, exposure, as_of
        As for :func:`incident_counts`. With ``as_of``, each year is counted from 1 January to
        the same day and month, so a partial year is compared with the same dates last year.
    level : float
        Confidence level.
    method : {"auto", "score", "exact"}
        Interval and test; see the module notes.

    Returns
    -------
    DataFrame
        One row per (group, period): ``[by...], period, count, previous_count, exposure,
        previous_exposure, rate_ratio, growth, ci_low, ci_high, p_value, method, dispersion,
        dispersion_p_value``. ``growth`` is the rate ratio minus one and ``ci_low``/``ci_high``
        are on the growth scale. The first periods (no previous one) have missing growth.
        ``dispersion`` (year periods only) is the Pearson chi-square over degrees of freedom of
        the two years' monthly counts around each year's mean; values well above 1 (small
        ``dispersion_p_value``) mean the Poisson interval is too narrow: use
        :func:`growth_trend`.
    """
    _check_level(level)
    _check_choice("method", method, _RATIO_METHODS)
    counts = incident_counts(log, period, by, exposure, as_of=as_of)
    groups = _by_list(by, log)
    if as_of is None and period == "year":
        _warn_if_partial(log)
    lag = _LAG[period]
    rows = []
    grouped = counts.groupby(groups, dropna=False, sort=False) if groups else [((), counts)]
    monthly = _monthly_by_year(log, groups) if period == "year" and as_of is None else None
    for key, part in grouped:
        part = part.reset_index(drop=True)
        key = key if isinstance(key, tuple) else (key,)
        for i, row in part.iterrows():
            record = dict(zip(groups, key, strict=True))
            record.update(period=row["period"], count=int(row["count"]), exposure=float(row["exposure"]))
            j = int(i) - lag
            if j < 0:
                record.update(
                    previous_count=pd.NA,
                    previous_exposure=np.nan,
                    rate_ratio=np.nan,
                    ci_low=np.nan,
                    ci_high=np.nan,
                    p_value=np.nan,
                    method=pd.NA,
                )
            else:
                prev = part.iloc[j]
                ratio, low, high, p_value, used = _rate_ratio(
                    int(row["count"]),
                    float(row["exposure"]),
                    int(prev["count"]),
                    float(prev["exposure"]),
                    level,
                    method,
                )
                record.update(
                    previous_count=int(prev["count"]),
                    previous_exposure=float(prev["exposure"]),
                    rate_ratio=ratio,
                    ci_low=low,
                    ci_high=high,
                    p_value=p_value,
                    method=used,
                )
            dispersion = (np.nan, np.nan)
            if monthly is not None and j >= 0:
                dispersion = _pair_dispersion(monthly, key, int(row["period"]))
            record.update(dispersion=dispersion[0], dispersion_p_value=dispersion[1])
            rows.append(record)
    out = pd.DataFrame(rows)
    out["previous_count"] = out["previous_count"].astype("Int64")
    out["growth"] = out["rate_ratio"] - 1
    out["ci_low"] = out["ci_low"] - 1
    out["ci_high"] = out["ci_high"] - 1
    out["method"] = out["method"].astype("string")
    columns = [
        *groups,
        "period",
        "count",
        "previous_count",
        "exposure",
        "previous_exposure",
        "rate_ratio",
        "growth",
        "ci_low",
        "ci_high",
        "p_value",
        "method",
        "dispersion",
        "dispersion_p_value",
    ]
    return out[columns]


def cagr(
    log: pd.DataFrame,
    start: int | None = None,
    end: int | None = None,
    by: str | Sequence[str] | None = None,
    exposure: ExposureArg = None,
    level: float = 0.95,
    *,
    method: RatioMethod = "auto",
) -> pd.DataFrame:
    """Compound annual growth of incidents between two years, with a confidence interval.

    ``cagr = (rate_end / rate_start) ** (1 / (end - start)) - 1``; the interval is the rate-ratio
    interval of the two years (see :func:`poisson_rate_ratio`) put through the same transform,
    which is monotone, so its coverage is that of the rate-ratio interval. Use
    :func:`growth_trend` for a rate that uses every year in between.

    Parameters
    ----------
    log, by, exposure
        As for :func:`incident_counts` with yearly periods.
    start, end : int, optional
        First and last year; the log's first and last years by default.
    level : float
        Confidence level.
    method : {"auto", "score", "exact"}
        Rate-ratio interval.

    Returns
    -------
    DataFrame
        ``[by...], start, end, years, start_count, end_count, cagr, ci_low, ci_high, p_value,
        method``.
    """
    _check_level(level)
    _check_choice("method", method, _RATIO_METHODS)
    counts = incident_counts(log, "year", by, exposure)
    counts["_year"] = counts["period"].astype(int)
    start = int(counts["_year"].min()) if start is None else int(start)
    end = int(counts["_year"].max()) if end is None else int(end)
    if end <= start:
        raise SurveykitError(f"cagr needs end > start, got start={start}, end={end}")
    missing = {start, end} - set(counts["_year"])
    if missing:
        raise SurveykitError(
            f"The log does not cover year(s) {sorted(missing)}; it spans "
            f"{counts['_year'].min()} to {counts['_year'].max()}."
        )
    groups = _by_list(by, log)
    years = end - start
    rows = []
    grouped = counts.groupby(groups, dropna=False, sort=False) if groups else [((), counts)]
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        first = part.loc[part["_year"] == start].iloc[0]
        last = part.loc[part["_year"] == end].iloc[0]
        ratio, low, high, p_value, used = _rate_ratio(
            int(last["count"]),
            float(last["exposure"]),
            int(first["count"]),
            float(first["exposure"]),
            level,
            method,
        )
        rows.append(
            {
                **dict(zip(groups, key, strict=True)),
                "start": start,
                "end": end,
                "years": years,
                "start_count": int(first["count"]),
                "end_count": int(last["count"]),
                "cagr": ratio ** (1 / years) - 1,
                "ci_low": low ** (1 / years) - 1,
                "ci_high": high ** (1 / years) - 1,
                "p_value": p_value,
                "method": used,
            }
        )
    return pd.DataFrame(rows)


def growth_trend(
    log: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    model: TrendModel = "auto",
    level: float = 0.95,
    *,
    start: str | None = None,
    end: str | None = None,
) -> pd.DataFrame:
    """Annual growth rate from a log-linear trend fitted to monthly counts.

    ``log E[count_m] = log(days_m) + a + b * t_m`` with ``t_m`` in years, so the annual growth
    rate is ``exp(b) - 1``. Month lengths enter as an offset; months without incidents count as
    zeros.

    Parameters
    ----------
    log, by
        As for :func:`incident_counts`.
    model : {"auto", "poisson", "quasi_poisson", "negative_binomial"}
        ``"auto"`` fits Poisson and, if the Pearson dispersion test rejects at the 5% level
        (overdispersion), a negative-binomial (NB2, dispersion ``alpha`` by maximum likelihood)
        model instead; its interval is that of R ``MASS::glm.nb`` + ``confint.default``
        (Wald, given the estimated ``theta = 1 / alpha``). ``"quasi_poisson"`` scales the
        Poisson standard errors by the Pearson dispersion.
    level : float
        Confidence level (Wald interval on ``b``).
    start, end : str, optional
        First and last month (``"2014-01"``); the first and last months with incidents by
        default. Set ``end`` to the last complete month if the log stops mid-month.

    Returns
    -------
    DataFrame
        ``[by...], annual_growth, ci_low, ci_high, p_value, model, dispersion,
        dispersion_p_value, alpha, n_months, start, end``.
    """
    _check_level(level)
    _check_choice("model", model, _TREND_MODELS)
    counts = incident_counts(log, "month", by)
    groups = _by_list(by, log)
    if start is not None:
        counts = counts[counts["period"] >= start]
    if end is not None:
        counts = counts[counts["period"] <= end]
    rows = []
    grouped = counts.groupby(groups, dropna=False, sort=False) if groups else [((), counts)]
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(groups, key, strict=True)), **_fit_trend(part, model, level)})
    return pd.DataFrame(rows)


def _fit_trend(part: pd.DataFrame, model: str, level: float) -> dict[str, object]:
    if len(part) < 6:
        raise SurveykitError(f"A trend needs at least 6 months of data, got {len(part)}.")
    starts = pd.DatetimeIndex(part["period_start"])
    t = ((starts.year - starts.year[0]) * 12 + (starts.month - starts.month[0])).to_numpy() / 12.0
    y = part["count"].to_numpy(dtype=float)
    offset = np.log(starts.days_in_month.to_numpy(dtype=float))
    X = sm.add_constant(t)
    alpha_level = 1 - level
    poisson = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit()
    df = poisson.df_resid
    dispersion = float(poisson.pearson_chi2 / df)
    dispersion_p = float(stats.chi2.sf(poisson.pearson_chi2, df))
    chosen = model
    if model == "auto":
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
            raise SurveykitError("The negative-binomial trend did not converge; try model='quasi_poisson'.")
        nb_alpha = float(joint.params[-1])
        # Refit as a GLM at the ML dispersion: the same estimates, and the standard errors of
        # R's MASS::glm.nb (expected information given theta = 1 / alpha).
        family = sm.families.NegativeBinomial(alpha=nb_alpha)
        fit = sm.GLM(y, X, family=family, offset=offset).fit(start_params=joint.params[:-1])
    slope = float(fit.params[1])
    low, high = (float(v) for v in np.asarray(fit.conf_int(alpha=alpha_level))[1])
    return {
        "annual_growth": np.expm1(slope),
        "ci_low": np.expm1(low),
        "ci_high": np.expm1(high),
        "p_value": float(fit.pvalues[1]),
        "model": chosen,
        "dispersion": dispersion,
        "dispersion_p_value": dispersion_p,
        "alpha": nb_alpha,
        "n_months": len(part),
        "start": part["period"].iloc[0],
        "end": part["period"].iloc[-1],
    }


def loss_growth(
    log: pd.DataFrame,
    period: Period = "year",
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    *,
    n_boot: int = 2000,
    seed: int = 2016,
) -> pd.DataFrame:
    """Year-over-year growth in total reported losses, with a bootstrap interval.

    Only incidents with a known ``loss_amount`` count. Each replicate draws the number of
    loss-bearing incidents in each period from a Poisson distribution with the observed count
    and resamples that many losses with replacement (a compound-Poisson bootstrap, so the
    randomness of both the number and the size of losses is carried); the interval is the
    percentile interval of the ratio of totals minus one.

    Returns
    -------
    DataFrame
        ``[by...], period, total, previous_total, n, previous_n, growth, ci_low, ci_high,
        method``.
    """
    _check_level(level)
    _check_choice("period", period, _PERIODS)
    if n_boot < 100:
        raise SurveykitError(f"n_boot must be at least 100, got {n_boot}")
    groups = _by_list(by, log)
    frame = _dated(log, period, None)
    frame = frame[frame["loss_amount"].notna()]
    frame = frame.assign(_key=_period_key(frame, period))
    rng = np.random.default_rng(seed)
    lag = _LAG[period]
    rows = []
    grouped = frame.groupby(groups, dropna=False, sort=True) if groups else [((), frame)]
    for key, part in grouped:
        key = key if isinstance(key, tuple) else (key,)
        losses = {int(k): g["loss_amount"].to_numpy(dtype=float) for k, g in part.groupby("_key")}
        keys = range(min(losses), max(losses) + 1) if losses else range(0)
        for k in keys:
            current = losses.get(k, np.array([]))
            record = {
                **dict(zip(groups, key, strict=True)),
                "period": _period_label(k, period),
                "total": current.sum(),
                "n": len(current),
            }
            previous = losses.get(k - lag) if (k - lag) in keys else None
            if previous is None:
                record.update(
                    previous_total=np.nan,
                    previous_n=pd.NA,
                    growth=np.nan,
                    ci_low=np.nan,
                    ci_high=np.nan,
                    method=pd.NA,
                )
            else:
                growth = current.sum() / previous.sum() - 1 if previous.sum() > 0 else np.nan
                replicate = _compound_totals(current, n_boot, rng) / _compound_totals(previous, n_boot, rng)
                tail = (1 - level) / 2
                low, high = (
                    np.quantile(replicate - 1, [tail, 1 - tail]) if previous.sum() > 0 else (np.nan,) * 2
                )
                record.update(
                    previous_total=previous.sum(),
                    previous_n=len(previous),
                    growth=growth,
                    ci_low=low,
                    ci_high=high,
                    method="compound-poisson bootstrap percentile",
                )
            rows.append(record)
    out = pd.DataFrame(rows)
    if out.empty:
        raise SurveykitError("No incidents with a loss_amount to compare.")
    out["previous_n"] = out["previous_n"].astype("Int64")
    columns = [
        *groups,
        "period",
        "total",
        "previous_total",
        "n",
        "previous_n",
        "growth",
        "ci_low",
        "ci_high",
        "method",
    ]
    return out[columns]


def _compound_totals(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    if len(values) == 0:
        return np.zeros(n_boot)
    sizes = rng.poisson(len(values), size=n_boot)
    picks = rng.integers(0, len(values), size=int(sizes.sum()))
    owner = np.repeat(np.arange(n_boot), sizes)
    return np.bincount(owner, weights=values[picks], minlength=n_boot)


# --- helpers ------------------------------------------------------------------------------


def _check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    if value not in choices:
        raise SurveykitError(f"{name} must be one of {list(choices)}, got {value!r}")


def _by_list(by: str | Sequence[str] | None, frame: pd.DataFrame) -> list[str]:
    groups = [by] if isinstance(by, str) else list(by or [])
    missing = [g for g in groups if g not in frame.columns]
    if missing:
        raise SurveykitError(
            f"by columns {missing} are not in the data; its columns are {list(frame.columns)}"
        )
    return groups


def _dated(log: pd.DataFrame, period: str, as_of: object) -> pd.DataFrame:
    """Incidents whose date is precise enough for the period (and window), with a warning."""
    for name in ("year", "month", "day"):
        if name not in log.columns:
            raise SurveykitError(
                f"The log has no {name!r} column; read it with surveykit.read_incidents so it has "
                "the canonical columns."
            )
    frame = log[log["year"].notna()]
    reason = ""
    if period != "year":
        keep = frame["month"].notna()
        reason = f"no month, so they cannot be placed in a {period}"
    else:
        keep = pd.Series(True, index=frame.index)
    if as_of is not None:
        if period != "year":
            raise SurveykitError("as_of (year-to-date comparison) works with period='year' only.")
        cut = pd.Timestamp(as_of)
        month = frame["month"].astype("Float64")
        day = frame["day"].astype("Float64")
        before = (month < cut.month) | ((month == cut.month) & (day <= cut.day))
        vague = before.isna()
        keep = keep & before.fillna(False).astype(bool) & (frame["year"] <= cut.year)
        if vague.any():
            reason = f"a date too vague to tell whether it falls before {cut:%d %B}"
            _warn_dropped(int((vague & (frame["year"] <= cut.year)).sum()), reason)
            reason = ""
    dropped = int((~keep).sum()) if reason else 0
    if dropped:
        _warn_dropped(dropped, reason)
    return frame[keep.astype(bool)]


def _warn_dropped(count: int, reason: str) -> None:
    if count:
        warnings.warn(f"{count} incidents left out: {reason}.", IncompleteDataWarning, stacklevel=4)


def _period_key(frame: pd.DataFrame, period: str) -> pd.Series:
    year = frame["year"].astype("int64")
    if period == "year":
        return year
    month = frame["month"].astype("int64")
    if period == "quarter":
        return year * 4 + (month - 1) // 3
    return year * 12 + (month - 1)


def _period_label(key: int, period: str) -> str:
    if period == "year":
        return str(key)
    if period == "quarter":
        return f"{key // 4}-Q{key % 4 + 1}"
    return f"{key // 12}-{key % 12 + 1:02d}"


def _period_start(key: int, period: str) -> pd.Timestamp:
    if period == "year":
        return pd.Timestamp(year=key, month=1, day=1)
    if period == "quarter":
        return pd.Timestamp(year=key // 4, month=3 * (key % 4) + 1, day=1)
    return pd.Timestamp(year=key // 12, month=key % 12 + 1, day=1)


def _period_days(start: pd.Timestamp, period: str, as_of: object) -> float:
    if as_of is not None:
        cut = pd.Timestamp(as_of)
        day = min(cut.day, pd.Timestamp(year=start.year, month=cut.month, day=1).days_in_month)
        end = pd.Timestamp(year=start.year, month=cut.month, day=day)
        return float((end - start).days + 1)
    months = {"year": 12, "quarter": 3, "month": 1}[period]
    return float((start + pd.DateOffset(months=months) - start).days)


def _exposure(
    out: pd.DataFrame, period: str, groups: list[str], exposure: ExposureArg, as_of: object
) -> np.ndarray:
    if exposure is None:
        return np.ones(len(out))
    if isinstance(exposure, str):
        if exposure != "days":
            raise SurveykitError(f"exposure must be None, 'days', a mapping or a DataFrame; got {exposure!r}")
        return np.array([_period_days(s, period, as_of) for s in out["period_start"]])
    if isinstance(exposure, pd.DataFrame):
        needed = [*groups, "period", "exposure"]
        missing = [c for c in needed if c not in exposure.columns]
        if missing:
            raise SurveykitError(f"The exposure frame needs columns {needed}; it lacks {missing}.")
        table = exposure[needed].assign(period=exposure["period"].astype(str))
        merged = out[[*groups, "period"]].merge(table, on=[*groups, "period"], how="left")
        values = merged["exposure"].to_numpy(dtype=float)
    else:
        table = {str(k): float(v) for k, v in exposure.items()}
        values = np.array([table.get(p, np.nan) for p in out["period"]], dtype=float)
    lacking = sorted(set(out.loc[~(values > 0), "period"]))
    if lacking:
        raise SurveykitError(f"Exposure is missing or not positive for period(s) {lacking}.")
    return values


def _warn_if_partial(log: pd.DataFrame) -> None:
    dated = log[log["year"].notna() & log["month"].notna()]
    if dated.empty:
        return
    last_year = int(dated["year"].max())
    latest = dated[dated["year"] == last_year]
    month = int(latest["month"].max())
    day = latest.loc[latest["month"] == month, "day"].max()
    day = int(day) if pd.notna(day) else pd.Timestamp(year=last_year, month=month, day=1).days_in_month
    last = pd.Timestamp(year=last_year, month=month, day=day)
    if (pd.Timestamp(year=last_year, month=12, day=31) - last).days > 31:
        warnings.warn(
            f"The log's latest incident is on {last:%Y-%m-%d}, so {last_year} looks incomplete; "
            f"compare the same calendar window with as_of='{last:%Y-%m-%d}'.",
            IncompleteDataWarning,
            stacklevel=3,
        )


def _monthly_by_year(log: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    dated = log[log["year"].notna() & log["month"].notna()]
    keys = [*groups, "year", "month"]
    table = dated.groupby(keys, dropna=False).size().rename("count").reset_index()
    table["year"] = table["year"].astype(int)
    table["month"] = table["month"].astype(int)
    return table


def _pair_dispersion(monthly: pd.DataFrame, key: tuple, year: int) -> tuple[float, float]:
    """Pearson chi-square / df of 24 monthly counts around each of the two years' means."""
    part = monthly
    groups = [c for c in monthly.columns if c not in ("year", "month", "count")]
    for name, value in zip(groups, key, strict=True):
        part = part[part[name].isna()] if pd.isna(value) else part[part[name] == value]
    grid = pd.MultiIndex.from_product([[year - 1, year], range(1, 13)], names=["year", "month"])
    counts = part.set_index(["year", "month"])["count"].reindex(grid, fill_value=0)
    means = counts.groupby(level="year").transform("mean")
    if (means <= 0).any():
        return np.nan, np.nan
    chi2 = float((((counts - means) ** 2) / means).sum())
    df = len(counts) - 2
    return chi2 / df, float(stats.chi2.sf(chi2, df))
