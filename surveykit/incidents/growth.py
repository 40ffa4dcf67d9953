"""Growth in incidents between two periods: Poisson rate ratios, year over year, compound annual.

Growth is the rate ratio minus one, ``R - 1`` with ``R = (count / exposure) /
(previous_count / previous_exposure)``; its interval is the rate-ratio interval minus one. The
interval methods:

- ``"score"``: the score interval and test of Gu, Ng, Tang and Schucany (2008), as statsmodels
  ``confint_poisson_2indep(method="score", compare="ratio")``. Given the total
  ``n = count + previous_count``, the current count is binomial with
  ``pi = R e1 / (R e1 + e0)`` and the score statistic for ``R`` equals the binomial score
  statistic for ``pi``, so the interval is the Wilson interval for ``pi`` mapped to
  ``R = pi / (1 - pi) * e0 / e1``, computed here in closed form;
- ``"quasi_poisson"``: the same score statistic divided by ``sqrt(phi)``, with ``phi`` the
  Pearson dispersion of the monthly counts (below) on ``df`` degrees of freedom, referred to
  Student's t on ``df``: the Wilson interval with ``t(1 - a/2; df) * sqrt(phi)`` in place of
  ``z``. A quasi-Poisson model (variance ``phi * mean``, R ``glm(family = quasipoisson)``)
  makes the variance of a period's count ``phi`` times the Poisson variance, whether the
  extra variation is month to month or in a year's total;
- ``"exact"``: conditional on ``n``, the Clopper-Pearson interval for ``pi`` mapped to ``R``,
  with the exact binomial test of ``pi = e1 / (e1 + e0)`` (R ``poisson.test(c(x1, x0), c(e1,
  e0))``). It stays correct when a period has no incidents but assumes Poisson counts;
- ``"auto"`` (default): ``"quasi_poisson"`` when the monthly counts are overdispersed enough
  to widen the interval, ``t(1 - a/2; df) ** 2 * phi > z(1 - a/2) ** 2`` (``phi`` above about
  0.89 on 22 df at 95%), otherwise ``"score"`` when both counts are positive and ``"exact"``
  when one is zero. So the default is never narrower than the Poisson score interval and
  widens as far as the monthly counts say. When the log has no monthly counts in the windows
  (dates known to the year only), overdispersion cannot be checked: ``"auto"`` falls back to
  the Poisson intervals with an :class:`~surveykit.IncompleteDataWarning`.

Incident counts are usually overdispersed (the demo log's monthly counts have ``phi`` near 5),
and the Poisson intervals are then far too narrow. In bench/coverage.py (24 gamma-Poisson
monthly counts, 1,000 then 1,380 incidents a year) a nominal 95% Poisson score interval covers
62% of the time at ``phi = 5`` and 83% at ``phi = 2``; the default covers 95% at every
``phi`` from 1.5 up, and 96% for Poisson counts. Switching on the Pearson dispersion test at
the 5% level instead (as :func:`surveykit.growth_trend` does) was rejected: moderately
overdispersed counts (``phi = 1.5``) often pass the test and get the Poisson interval, and
the coverage falls to 92.6%.

The dispersion ``phi`` is the Pearson chi-square over its degrees of freedom of the monthly
counts in two 12-month windows, each around its own mean: the 12 months ending with the last
complete month of the current period and the 12 months before (for years: the two calendar
years compared, 24 counts on 22 df; with ``as_of``, the 12 months ending with the last
complete month of the window). Months outside the log's span are left out of the windows.
:func:`cagr` uses the start and end years.

The ``se`` column is the delta-method standard error of the growth,
``R * sqrt(phi * (1 / count + 1 / previous_count))`` (``phi = 1`` for ``"score"``), reported
for the score and quasi-Poisson methods when both counts are positive and NaN for the exact
method, which gives none; the intervals are not ``estimate +- z se``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from surveykit._disclosure import check_thresholds
from surveykit._grouping import iter_groups
from surveykit._options import check_option
from surveykit._results import result_frame
from surveykit._validation import check_level
from surveykit.exceptions import IncompleteDataWarning, SurveykitError
from surveykit.incidents.counts import (
    PERIODS_PER_YEAR,
    AsOf,
    ExposureArg,
    Period,
    count_table,
    last_month,
    rows_of,
    warn_if_partial,
)
from surveykit.incidents.sources import date_summary
from surveykit.incidents.summary import Engine

__all__ = ["cagr", "poisson_rate_ratio", "yoy_growth"]

RatioMethod = Literal["auto", "score", "exact"]
GrowthMethod = Literal["auto", "score", "quasi_poisson", "exact"]

_LABELS = {"score": "score", "quasi_poisson": "quasi-poisson score", "exact": "exact-conditional"}
_COUNT_EXTRAS = ["count", "previous_count", "exposure", "previous_exposure"]
_DISPERSION_EXTRAS = ["dispersion", "dispersion_df", "dispersion_p_value"]


@dataclass(frozen=True)
class _Dispersion:
    """Pearson dispersion of monthly counts: ``phi = chi2 / df`` and the test of ``phi = 1``."""

    phi: float = np.nan
    df: int = 0
    p_value: float = np.nan

    @property
    def known(self) -> bool:
        return self.df > 0 and np.isfinite(self.phi)

    def widens(self, level: float) -> bool:
        """Whether the quasi-Poisson interval at ``level`` is wider than the Poisson score one."""
        if not self.known:
            return False
        tail = 1 - (1 - level) / 2
        return bool(stats.t.ppf(tail, self.df) ** 2 * self.phi > stats.norm.ppf(tail) ** 2)


@dataclass(frozen=True)
class _Ratio:
    rate_ratio: float
    se_log: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str


def poisson_rate_ratio(
    count: int,
    exposure: float,
    previous_count: int,
    previous_exposure: float,
    *,
    level: float = 0.95,
    method: RatioMethod = "auto",
    min_n: int = 5,
    caution_n: int = 30,
) -> pd.DataFrame:
    """Growth between two Poisson counts: rate ratio minus one, with an interval and a test.

    Two counts alone carry no information on overdispersion, so the intervals here assume
    Poisson counts; :func:`yoy_growth` checks the monthly counts and widens them when needed.

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
        See the module notes; ``"auto"`` is the score interval when both counts are positive,
        the exact one otherwise.
    min_n, caution_n : int
        Disclosure thresholds on ``n = count + previous_count`` (see :func:`incident_counts`).

    Returns
    -------
    DataFrame
        One row: ``estimate, se, ci_low, ci_high, n, method, flag, rate_ratio, p_value, count,
        exposure, previous_count, previous_exposure``. ``estimate`` is the growth
        ``rate_ratio - 1`` and the interval is on that scale; ``se`` is its delta-method
        standard error (NaN for the exact method); ``p_value`` tests no change.

    Examples
    --------
    >>> poisson_rate_ratio(60, 51477.5, 30, 54308.7)[["estimate", "ci_low", "ci_high"]].round(6)
       estimate    ci_low   ci_high
    0  1.109998  0.365962  2.259306
    """
    level = check_level(level)
    check_option("method", method, RatioMethod)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    for name, value in (("count", count), ("previous_count", previous_count)):
        if not np.isfinite(value) or value < 0 or value != int(value):
            raise SurveykitError(f"{name} must be a non-negative whole number; got {value!r}")
    for name, value in (("exposure", exposure), ("previous_exposure", previous_exposure)):
        if not np.isfinite(value) or value <= 0:
            raise SurveykitError(f"{name} must be a positive number; got {value!r}")
    c1, e1, c0, e0 = int(count), float(exposure), int(previous_count), float(previous_exposure)
    ratio = _rate_ratio(c1, e1, c0, e0, level, method, _Dispersion())
    row = {**_growth_columns(ratio, c1 + c0), "count": c1, "exposure": e1}
    row.update(previous_count=c0, previous_exposure=e0)
    return result_frame(
        [row],
        [],
        ["rate_ratio", "p_value", "count", "exposure", "previous_count", "previous_exposure"],
        min_n=min_n,
        caution_n=caution_n,
        blank=["rate_ratio", "p_value"],
        what="comparisons",
        units="incidents",
    )


def yoy_growth(
    log: pd.DataFrame,
    period: Period = "year",
    by: str | Sequence[str] | None = None,
    exposure: ExposureArg = None,
    *,
    as_of: AsOf = None,
    level: float = 0.95,
    method: GrowthMethod = "auto",
    min_n: int = 5,
    caution_n: int = 30,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Year-over-year growth in incidents, with an interval that allows for overdispersion.

    Each period is compared with the same period a year earlier (the previous year, the same
    quarter or month of the previous year).

    Parameters
    ----------
    log, period, by, exposure, as_of
        As for :func:`incident_counts`. With ``as_of``, each year is counted from 1 January to
        the same day and month, so a partial year is compared with the same dates last year.
    level : float
        Confidence level.
    method : {"auto", "score", "quasi_poisson", "exact"}
        Interval and test; see the module notes. ``"auto"`` (default) uses the quasi-Poisson
        score interval when the monthly counts are overdispersed enough to widen it (estimated
        dispersion above ``(z / t_df) ** 2``, about 0.89) and the Poisson score (or, with a
        zero count, exact) interval otherwise.
    min_n, caution_n : int
        Disclosure thresholds on ``n = count + previous_count`` (see :func:`incident_counts`).
    engine : {"pandas", "duckdb", "spark"}, optional
        What reads the log, as for :func:`surveykit.incident_counts`; every engine gives the
        same frame.

    Returns
    -------
    DataFrame
        One row per group and period that has the same period a year earlier in the log:
        ``[by...], period, estimate, se, ci_low, ci_high, n, method, flag, rate_ratio, p_value,
        count, previous_count, exposure, previous_exposure, dispersion, dispersion_df,
        dispersion_p_value``. ``estimate`` is the growth ``rate_ratio - 1``, with its interval
        on that scale; ``method`` is ``"score"``, ``"quasi-poisson score"`` or
        ``"exact-conditional"``; ``dispersion`` is the Pearson ``phi`` of the monthly counts
        (module notes) on ``dispersion_df`` degrees of freedom, and ``dispersion_p_value`` its
        test of ``phi = 1``.

    Raises
    ------
    SurveykitError
        When no period has one a year earlier, or ``method="quasi_poisson"`` and the
        dispersion cannot be estimated (no monthly counts).
    """
    level = check_level(level)
    check_option("method", method, GrowthMethod)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    summary, groups = date_summary(log, by, engine)
    counts = count_table(summary, period, groups, exposure, as_of)
    if as_of is None and period == "year":
        warn_if_partial(summary)
    monthly = _monthly_counts(summary, groups)
    lag = PERIODS_PER_YEAR[period]
    rows = []
    for key, part in iter_groups(counts, groups):
        months = _months_of(monthly, key)
        table = part.set_index("key")
        for k, current in table.iterrows():
            if k - lag not in table.index:
                continue
            previous = table.loc[k - lag]
            end = last_month(int(k), period, as_of)
            dispersion = _pearson_dispersion(months, [(end - 23, end - 12), (end - 11, end)])
            if method == "quasi_poisson" and not dispersion.known:
                raise SurveykitError(_no_dispersion_message(current["period"], key))
            c1, c0 = int(current["count"]), int(previous["count"])
            e1, e0 = float(current["exposure"]), float(previous["exposure"])
            ratio = _rate_ratio(c1, e1, c0, e0, level, method, dispersion)
            rows.append(
                {
                    **key,
                    "period": current["period"],
                    **_growth_columns(ratio, c1 + c0),
                    "count": c1,
                    "previous_count": c0,
                    "exposure": e1,
                    "previous_exposure": e0,
                    **_dispersion_columns(dispersion),
                }
            )
    if not rows:
        raise SurveykitError(
            f"No {period} in the log has the same {period} a year earlier to compare with; the log "
            f"spans {counts['period'].iloc[0]} to {counts['period'].iloc[-1]}."
        )
    if method == "auto":
        _warn_unchecked(rows)
    return result_frame(
        rows,
        [*groups, "period"],
        ["rate_ratio", "p_value", *_COUNT_EXTRAS, *_DISPERSION_EXTRAS],
        min_n=min_n,
        caution_n=caution_n,
        blank=["rate_ratio", "p_value"],
        what="comparisons",
        units="incidents",
    )


def cagr(
    log: pd.DataFrame,
    start: int | None = None,
    end: int | None = None,
    by: str | Sequence[str] | None = None,
    exposure: ExposureArg = None,
    *,
    level: float = 0.95,
    method: GrowthMethod = "auto",
    min_n: int = 5,
    caution_n: int = 30,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Compound annual growth of incidents between two years, with a confidence interval.

    ``cagr = (rate_end / rate_start) ** (1 / (end - start)) - 1``; the interval is the rate-ratio
    interval of the two years (see :func:`yoy_growth`) put through the same transform, which
    is monotone, so its coverage is that of the rate-ratio interval. With ``method="auto"``
    the dispersion is that of the monthly counts of the start and end years (24 counts on 22
    df when both are complete). Use :func:`surveykit.growth_trend` for a rate that uses every
    month in between.

    Parameters
    ----------
    log, by, exposure
        As for :func:`incident_counts` with yearly periods.
    start, end : int, optional
        First and last year; the log's first and last years by default.
    level : float
        Confidence level.
    method : {"auto", "score", "quasi_poisson", "exact"}
        Rate-ratio interval, as for :func:`yoy_growth`.
    min_n, caution_n : int
        Disclosure thresholds on ``n = start_count + end_count``.
    engine : {"pandas", "duckdb", "spark"}, optional
        What reads the log, as for :func:`surveykit.incident_counts`; every engine gives the
        same frame.

    Returns
    -------
    DataFrame
        ``[by...], start, end, estimate, se, ci_low, ci_high, n, method, flag, rate_ratio,
        p_value, years, start_count, end_count, dispersion, dispersion_df,
        dispersion_p_value``. ``estimate`` is the compound annual growth and ``rate_ratio``
        that of the end year to the start year; ``se`` is the delta-method standard error
        ``(1 / years) * (1 + estimate) * se(log rate_ratio)`` (NaN for the exact method).
    """
    level = check_level(level)
    check_option("method", method, GrowthMethod)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    summary, groups = date_summary(log, by, engine)
    counts = count_table(summary, "year", groups, exposure)
    first, last = int(counts["key"].min()), int(counts["key"].max())
    start = first if start is None else int(start)
    end = last if end is None else int(end)
    if end <= start:
        raise SurveykitError(f"cagr needs end > start; got start={start}, end={end}")
    missing = sorted({start, end} - set(counts["key"]))
    if missing:
        raise SurveykitError(f"The log does not cover year(s) {missing}; it spans {first} to {last}.")
    monthly = _monthly_counts(summary, groups)
    years = end - start
    windows = [(start * 12, start * 12 + 11), (end * 12, end * 12 + 11)]
    rows = []
    for key, part in iter_groups(counts, groups):
        table = part.set_index("key")
        c0, e0 = int(table.loc[start, "count"]), float(table.loc[start, "exposure"])
        c1, e1 = int(table.loc[end, "count"]), float(table.loc[end, "exposure"])
        dispersion = _pearson_dispersion(_months_of(monthly, key), windows)
        if method == "quasi_poisson" and not dispersion.known:
            raise SurveykitError(_no_dispersion_message(f"{start} and {end}", key))
        ratio = _rate_ratio(c1, e1, c0, e0, level, method, dispersion)
        growth = ratio.rate_ratio ** (1 / years)
        rows.append(
            {
                **key,
                "start": start,
                "end": end,
                "estimate": growth - 1,
                "se": growth * ratio.se_log / years,
                "ci_low": ratio.ci_low ** (1 / years) - 1,
                "ci_high": ratio.ci_high ** (1 / years) - 1,
                "n": c1 + c0,
                "method": ratio.method,
                "rate_ratio": ratio.rate_ratio,
                "p_value": ratio.p_value,
                "years": years,
                "start_count": c0,
                "end_count": c1,
                **_dispersion_columns(dispersion),
            }
        )
    if method == "auto":
        _warn_unchecked(rows)
    return result_frame(
        rows,
        [*groups, "start", "end"],
        ["rate_ratio", "p_value", "years", "start_count", "end_count", *_DISPERSION_EXTRAS],
        min_n=min_n,
        caution_n=caution_n,
        blank=["rate_ratio", "p_value"],
        what="comparisons",
        units="incidents",
    )


def _rate_ratio(
    c1: int, e1: float, c0: int, e0: float, level: float, method: str, dispersion: _Dispersion
) -> _Ratio:
    """Rate ratio of ``c1 / e1`` to ``c0 / e0`` with its interval and test of ``R = 1``."""
    if method == "auto":
        if dispersion.widens(level):
            method = "quasi_poisson"
        else:
            method = "score" if c1 > 0 and c0 > 0 else "exact"
    n = c1 + c0
    if c0 > 0:
        ratio = (c1 / e1) / (c0 / e0)
    else:
        ratio = np.inf if c1 > 0 else np.nan
    if method == "exact":
        return _exact_ratio(c1, e1, c0, e0, level, ratio)
    phi = dispersion.phi if method == "quasi_poisson" else 1.0
    reference = stats.t(dispersion.df) if method == "quasi_poisson" else stats.norm()
    critical = float(reference.ppf(1 - (1 - level) / 2)) * np.sqrt(phi)
    if n == 0:
        return _Ratio(ratio, np.nan, 0.0, np.inf, 1.0, _LABELS[method])
    # Wilson interval for pi = c1 / n, the score interval for R mapped to pi.
    centre = (c1 + critical**2 / 2) / (n + critical**2)
    half = critical * np.sqrt(c1 * c0 / n + critical**2 / 4) / (n + critical**2)
    low, high = (_to_ratio(pi, e1, e0) for pi in (centre - half, centre + half))
    statistic = (c1 * e0 - c0 * e1) / np.sqrt(n * e1 * e0) / np.sqrt(phi)
    p_value = float(2 * reference.sf(abs(statistic)))
    se_log = np.sqrt(phi * (1 / c1 + 1 / c0)) if c1 > 0 and c0 > 0 else np.nan
    return _Ratio(ratio, se_log, max(low, 0.0), high, p_value, _LABELS[method])


def _exact_ratio(c1: int, e1: float, c0: int, e0: float, level: float, ratio: float) -> _Ratio:
    n = c1 + c0
    if n == 0:
        return _Ratio(ratio, np.nan, 0.0, np.inf, 1.0, _LABELS["exact"])
    interval = stats.binomtest(c1, n).proportion_ci(confidence_level=level, method="exact")
    p_value = float(stats.binomtest(c1, n, e1 / (e1 + e0)).pvalue)
    low, high = _to_ratio(interval.low, e1, e0), _to_ratio(interval.high, e1, e0)
    return _Ratio(ratio, np.nan, low, high, p_value, _LABELS["exact"])


def _to_ratio(pi: float, e1: float, e0: float) -> float:
    return np.inf if pi >= 1 else pi / (1 - pi) * e0 / e1


def _growth_columns(ratio: _Ratio, n: int) -> dict[str, object]:
    return {
        "estimate": ratio.rate_ratio - 1,
        "se": ratio.rate_ratio * ratio.se_log,
        "ci_low": ratio.ci_low - 1,
        "ci_high": ratio.ci_high - 1,
        "n": n,
        "method": ratio.method,
        "rate_ratio": ratio.rate_ratio,
        "p_value": ratio.p_value,
    }


def _dispersion_columns(dispersion: _Dispersion) -> dict[str, object]:
    return {
        "dispersion": dispersion.phi,
        "dispersion_df": dispersion.df,
        "dispersion_p_value": dispersion.p_value,
    }


def _monthly_counts(log: pd.DataFrame, groups: list[str]) -> pd.DataFrame | None:
    """Monthly counts per group over the log's span of months, or None if no month is known."""
    if "month" not in log.columns or not (log["year"].notna() & log["month"].notna()).any():
        return None
    return count_table(log, "month", groups, warn=False)


def _months_of(monthly: pd.DataFrame | None, key: dict[str, object]) -> pd.Series:
    if monthly is None:
        return pd.Series(dtype="int64")
    return rows_of(monthly, key).set_index("key")["count"]


def _pearson_dispersion(months: pd.Series, windows: list[tuple[int, int]]) -> _Dispersion:
    """Pearson chi-square / df of the monthly counts in ``windows``, each around its own mean."""
    chi2 = 0.0
    df = 0
    for low, high in windows:
        counts = months[(months.index >= low) & (months.index <= high)].to_numpy(dtype=float)
        if len(counts) == 0:
            continue
        mean = counts.mean()
        if mean <= 0:
            return _Dispersion()
        chi2 += float(((counts - mean) ** 2).sum() / mean)
        df += len(counts) - 1
    if df < 1:
        return _Dispersion()
    return _Dispersion(chi2 / df, df, float(stats.chi2.sf(chi2, df)))


def _no_dispersion_message(period: object, key: dict[str, object]) -> str:
    group = f" for {key}" if key else ""
    return (
        f"method='quasi_poisson' needs monthly counts to estimate the dispersion, and there are "
        f"none around {period}{group} (incidents dated to the year only, or a window with no "
        "incidents); use method='auto' or 'score'."
    )


def _warn_unchecked(rows: list[dict[str, object]]) -> None:
    unchecked = sum(1 for row in rows if row["dispersion_df"] == 0)
    if unchecked:
        warnings.warn(
            f"Overdispersion could not be checked for {unchecked} of {len(rows)} comparisons (no "
            "monthly counts: incidents dated to the year only); their intervals assume Poisson "
            "counts and are too narrow if the counts vary more than that.",
            IncompleteDataWarning,
            stacklevel=3,
        )
