"""Design-based estimates by domain: proportions, means, totals, ratios, quantiles, survey growth.

Every estimate here is a total or a ratio of weighted totals over a domain (the respondents in
the design's domain, in the ``by`` group, who answered), so one function,
:func:`domain_estimates`, computes them all with their linearised variances and degrees of
freedom; each public function adds its interval and returns the result vocabulary
(docs/results.md). References: R ``svyciprop``, ``svymean``, ``svytotal``, ``svyratio`` and
``svyquantile`` on ``svyby(..., subset(design, !is.na(x)))`` (Lumley 2010).

Intervals of means, totals and ratios are Wald intervals with a ``t`` critical value on the
design degrees of freedom (R ``confint(..., df = degf(design))``), as ``svyciprop`` uses for
proportions; with hundreds of PSUs this is the normal interval R prints by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from surveykit._options import check_option
from surveykit._results import result_frame
from surveykit._validation import check_level
from surveykit.exceptions import DesignError
from surveykit.survey._codes import combine_codes, split_codes
from surveykit.survey._linearization import column_bincount
from surveykit.survey._variables import Domains
from surveykit.survey.calibration import Raking
from surveykit.survey.proportions import (
    IntervalMethod,
    binomial_confint,
    multinomial_confint,
    survey_confint,
)

if TYPE_CHECKING:
    from surveykit.survey.design import SurveyDesign

__all__ = [
    "DomainEstimates",
    "class_estimates",
    "domain_estimates",
    "mean",
    "proportions",
    "quantile",
    "ratio",
    "survey_growth",
    "total",
]

_SRS_ONLY = ("clopper-pearson", "jeffreys", "goodman")
_BLOCK_VALUES = 1 << 22  # influence values per block of domains of a raked design (32 MB)


@dataclass(frozen=True)
class DomainEstimates:
    """Totals or ratios of totals for every (domain, column), with variances.

    Attributes
    ----------
    domains : Domains
        The domains (``by`` groups) and their keys.
    estimate, variance, count : ndarray, shape (domains, columns)
        Estimates, their linearised variances, and unweighted sums of the numerator column.
    n, n_positive : ndarray, shape (domains,)
        Respondents in each domain, and those of them with a positive weight.
    weight_total : ndarray, shape (domains,)
        Weighted total of the denominator (of the weights, for shares and means).
    df : ndarray, shape (domains,)
        Design degrees of freedom of each domain.
    """

    domains: Domains
    estimate: np.ndarray
    variance: np.ndarray
    count: np.ndarray
    n: np.ndarray
    n_positive: np.ndarray
    weight_total: np.ndarray
    df: np.ndarray


def domain_estimates(
    design: SurveyDesign,
    y: np.ndarray,
    answered: np.ndarray,
    by: str | Sequence[str] | None,
    *,
    denominator: np.ndarray | None = None,
    total: bool = False,
    what: str = "the question",
) -> DomainEstimates:
    """Weighted totals of ``y`` (rows x columns), or their ratios to the total of ``denominator``
    (of the weights when None), in every domain of ``by`` among respondents who ``answered``."""
    present = answered & design.domain
    domains = design.variables.domains(by, present)
    rows = np.flatnonzero(domains.code >= 0)
    if rows.size == 0:
        raise DesignError(f"no respondent in the domain answered {what} (empty domain)")
    g = domains.code[rows]
    n_groups = domains.count
    w = design.weights.to_numpy()[rows]
    values = y if rows.size == len(y) else y[rows]  # no copy when everyone is in a domain
    x = np.ones(rows.size) if denominator is None else denominator[rows]
    numerator = np.column_stack([np.bincount(g, w * values[:, k], n_groups) for k in range(values.shape[1])])
    count = np.column_stack([np.bincount(g, values[:, k], n_groups) for k in range(values.shape[1])])
    weight_total = np.bincount(g, w * x, n_groups)
    if total:
        estimate = numerator
        influence = w[:, None] * values
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = numerator / weight_total[:, None]
        safe = np.where(weight_total > 0, weight_total, 1.0)
        centre = np.nan_to_num(estimate)[g]
        influence = values - (centre if denominator is None else centre * x[:, None])
        influence *= (w / safe[g])[:, None]
    variance = design.linearization.domain_variances(rows, g, influence, n_groups)
    if not total:
        variance = np.where(weight_total[:, None] > 0, variance, np.nan)
    positive = w > 0
    return DomainEstimates(
        domains=domains,
        estimate=estimate,
        variance=variance,
        count=count,
        n=np.bincount(g, minlength=n_groups),
        n_positive=np.bincount(g[positive], minlength=n_groups),
        weight_total=weight_total,
        df=design.linearization.domain_degf(rows[positive], g[positive], n_groups),
    )


def class_estimates(
    design: SurveyDesign,
    kind: np.ndarray,
    table: np.ndarray,
    answered: np.ndarray,
    by: str | Sequence[str] | None,
    *,
    what: str = "the question",
) -> DomainEstimates | None:
    """:func:`domain_estimates` of shares when the rows fall into a few answer classes.

    Row ``i`` has the indicators ``table[kind[i]]``, so every influence value is its weight
    times a value of its (PSU, domain, class) cell; the respondents are read once to form the
    cells and everything else is computed on them. A raked design's influence values are
    adjusted on every respondent, so its cells also hold the rows outside the domains and are
    split by the raking margins. None for other calibrations (adjusted row by row instead).
    """
    calibrations = design.linearization.calibrations
    raking = calibrations[0] if len(calibrations) == 1 and isinstance(calibrations[0], Raking) else None
    if calibrations and raking is None:
        return None
    present = answered & design.domain
    domains = design.variables.domains(by, present)
    n_groups, n_kinds = domains.count, table.shape[0]
    linearization = design.linearization
    if raking is None:
        weights = design.weights.to_numpy()
        cells, cell_kind = linearization.weight_cells(domains.code, kind, n_groups, n_kinds, weights)
        inside = np.ones(cell_kind.size, dtype=bool)
    else:
        # The design's weights are the raked ones (zero outside a subset, where the rows are
        # outside every domain), so the cells are formed on the raked weights.
        sizes = [int(codes.max()) + 1 for codes in raking.margins]
        combination, n_combinations = combine_codes(list(raking.margins), sizes)
        outside = domains.code < 0
        group = np.where(outside, n_groups, domains.code)
        kinds = np.where(outside, 0, kind) * n_combinations + combination
        cells, cell_kinds = linearization.weight_cells(
            group, kinds, n_groups + 1, n_kinds * n_combinations, raking.weights
        )
        cell_kind = cell_kinds // n_combinations
        inside = cells.group < n_groups
    domain_cells = cells.subset(inside)
    if domain_cells.group.size == 0:
        raise DesignError(f"no respondent in the domain answered {what} (empty domain)")
    g = domain_cells.group
    y = table[cell_kind[inside]]
    numerator = column_bincount(g, y * domain_cells.weight[:, None], n_groups)
    weight_total = np.bincount(g, domain_cells.weight, n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = numerator / weight_total[:, None]
    safe = np.where(weight_total > 0, weight_total, 1.0)
    b = (y - np.nan_to_num(estimate)[g]) / safe[g][:, None]
    if raking is None:
        variance = linearization.cell_variances(cells, b, n_groups)
    else:
        # One influence column per (domain, category), zero in the other domains' cells, for a
        # block of domains at a time so that the columns stay small.
        k = table.shape[1]
        margins = split_codes(cell_kinds % n_combinations, sizes)
        one_group = replace(cells, group=np.zeros_like(cells.group))
        at = np.flatnonzero(inside)
        block = max(1, _BLOCK_VALUES // (cells.group.size * k))
        variance = np.empty((n_groups, k))
        for first in range(0, n_groups, block):
            width = min(block, n_groups - first)
            in_block = (g >= first) & (g < first + width)
            full = np.zeros((cells.group.size, width, k))
            full[at[in_block], g[in_block] - first] = b[in_block]
            residual = raking.cell_residuals(full.reshape(-1, width * k), cells.count, margins)
            variance[first : first + width] = linearization.cell_variances(one_group, residual, 1).reshape(
                width, k
            )
    return DomainEstimates(
        domains=domains,
        estimate=estimate,
        variance=np.where(weight_total[:, None] > 0, variance, np.nan),
        count=column_bincount(g, y * domain_cells.count[:, None], n_groups),
        n=np.bincount(g, domain_cells.count, n_groups).astype(np.int64),
        n_positive=np.bincount(g, domain_cells.positive, n_groups).astype(np.int64),
        weight_total=weight_total,
        df=linearization.cell_degf(domain_cells, n_groups),
    )


def proportions(
    design: SurveyDesign,
    variable: str,
    by: str | Sequence[str] | None = None,
    *,
    method: IntervalMethod = "auto",
    level: float = 0.95,
    categories: Sequence[object] | None = None,
) -> pd.DataFrame:
    """Weighted share of respondents in each category, with design-based SE and interval.

    Parameters
    ----------
    design : SurveyDesign
        The design.
    variable : str
        A select-one column, a boolean column, or the name of a select-multiple question whose
        choices are the columns ``f"{variable}__{choice}"``. For a select-multiple question each
        row is the share of respondents who answered the question that ticked the choice.
    by : str or sequence of str, optional
        Domain column(s); one row per (domain, category). Respondents with a missing ``by``
        value are left out.
    method : {"auto", "logit", "beta", "wilson", "mean", "clopper-pearson", "jeffreys", "goodman"}
        Interval method (see :func:`surveykit.survey_confint` and
        :func:`surveykit.binomial_confint`). ``"auto"`` is ``"wilson"`` for an unweighted simple
        random sample and ``"logit"`` (R's ``svyciprop`` default) otherwise.
        ``"clopper-pearson"``, ``"jeffreys"`` and ``"goodman"`` (simultaneous intervals over the
        categories of a select-one question, Goodman 1965) need an unweighted simple random sample.
    level : float
        Confidence level.
    categories : sequence, optional
        Categories to report, in this order; each must occur in the data.

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``variable, category, estimate, se, ci_low, ci_high, n, method,
        flag, deff, df``: ``n`` is the unweighted number of respondents in the denominator,
        ``deff`` the design effect, ``df`` the design degrees of freedom; suppressed cells have
        estimate, se, interval and deff blanked.

    Warns
    -----
    SmallSampleWarning
        When any cell is flagged.
    """
    check_option("method", method, IntervalMethod, DesignError)
    level = check_level(level)
    if method == "auto":
        method = "wilson" if design.srs else "logit"
    if method in _SRS_ONLY and not design.srs:
        raise DesignError(
            f"method {method!r} assumes an unweighted simple random sample, but this design has "
            f"{design.description}; use 'logit', 'beta', 'wilson' or 'mean'."
        )
    question = design.variables.question(variable)
    if method == "goodman" and question.multi:
        raise DesignError(
            f"method 'goodman' gives simultaneous intervals for the categories of a select-one "
            f"question; {variable!r} is select-multiple."
        )
    classes = question.classes()
    cells = (
        None
        if classes is None
        else class_estimates(design, *classes, question.answered, by, what=repr(variable))
    )
    if cells is None:
        if question.multi:
            y = question.indicators
        else:
            y = (question.codes[:, None] == np.arange(len(question.categories))[None, :]).astype(float)
        cells = domain_estimates(design, y, question.answered, by, what=repr(variable))
    n_groups, n_cat = cells.estimate.shape
    n = np.repeat(cells.n, n_cat).astype(float)
    df = np.repeat(cells.df, n_cat).astype(float)
    estimate = cells.estimate.ravel()
    variance = cells.variance.ravel()
    if method == "goodman":
        lo = np.full(estimate.shape, np.nan)
        hi = np.full(estimate.shape, np.nan)
        for g in np.flatnonzero(cells.n > 0):
            limits = multinomial_confint(cells.count[g], level=level)
            lo[g * n_cat : (g + 1) * n_cat] = limits["ci_low"].to_numpy()
            hi[g * n_cat : (g + 1) * n_cat] = limits["ci_high"].to_numpy()
    elif design.srs and method in ("wilson", "clopper-pearson", "jeffreys"):
        lo, hi = binomial_confint(cells.count.ravel(), n, level=level, method=method)
    else:
        lo, hi = survey_confint(estimate, variance, n, df, level=level, method=method)
    rows = cells.domains.keys.iloc[np.repeat(np.arange(n_groups), n_cat)].reset_index(drop=True)
    rows["variable"] = question.name
    rows["category"] = pd.Series(np.tile(np.array(question.categories, dtype=object), n_groups), dtype=object)
    leading = list(rows.columns)
    rows = rows.assign(
        estimate=estimate, se=np.sqrt(variance), ci_low=lo, ci_high=hi, n=n.astype(np.int64), method=method,
        deff=_deff(design, cells).ravel(), df=df.astype(np.int64),
    )  # fmt: skip
    frame = result_frame(
        rows, leading, ["deff", "df"], min_n=design.min_n, caution_n=design.caution_n, blank=("deff",)
    )
    if categories is not None:
        order = np.asarray(question.positions(categories))
        frame = frame.iloc[(np.arange(n_groups)[:, None] * n_cat + order[None, :]).ravel()]
        frame = frame.reset_index(drop=True)
    return frame


def _deff(design: SurveyDesign, cells: DomainEstimates) -> np.ndarray:
    """Design effect as R's ``svymean(deff = TRUE)`` (or ``deff = "replace"``)."""
    nobs = cells.n_positive.astype(float)[:, None]
    total = cells.weight_total[:, None]
    p = cells.estimate
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = nobs / (nobs - 1) * p * (1 - p)
        replace = s2 / nobs
        without = s2 * (total - nobs) / (total * nobs)
        reference = (
            replace if design.deff_reference == "replace" else np.where(total > nobs, without, replace)
        )
        deff = cells.variance / reference
    return np.where(np.isfinite(deff), deff, np.nan)


def mean(
    design: SurveyDesign, variable: str, by: str | Sequence[str] | None = None, *, level: float = 0.95
) -> pd.DataFrame:
    """Weighted mean of a numeric answer among respondents who answered (R ``svymean``).

    Parameters
    ----------
    design : SurveyDesign
        The design.
    variable : str
        A numeric column (outages in 12 months, longest outage, incidents counted).
    by : str or sequence of str, optional
        Domain column(s).
    level : float
        Confidence level of the Wald ``t(df)`` interval.

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``variable, estimate, se, ci_low, ci_high, n, method, flag, df``.
    """
    level = check_level(level)
    values, answered = design.variables.numeric(variable)
    cells = domain_estimates(design, values[:, None], answered, by, what=repr(variable))
    return _wald_frame(design, cells, {"variable": variable}, level)


def total(
    design: SurveyDesign, variable: str, by: str | Sequence[str] | None = None, *, level: float = 0.95
) -> pd.DataFrame:
    """Weighted total of a numeric answer over respondents who answered (R ``svytotal``).

    Parameters
    ----------
    design : SurveyDesign
        The design.
    variable : str
        A numeric column.
    by : str or sequence of str, optional
        Domain column(s).
    level : float
        Confidence level of the Wald ``t(df)`` interval.

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``variable, estimate, se, ci_low, ci_high, n, method, flag, df``.
    """
    level = check_level(level)
    values, answered = design.variables.numeric(variable)
    cells = domain_estimates(design, values[:, None], answered, by, total=True, what=repr(variable))
    return _wald_frame(design, cells, {"variable": variable}, level)


def ratio(
    design: SurveyDesign,
    numerator: str,
    denominator: str,
    by: str | Sequence[str] | None = None,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Ratio of two weighted totals among respondents who answered both (R ``svyratio``).

    Parameters
    ----------
    design : SurveyDesign
        The design.
    numerator, denominator : str
        Numeric columns; the estimate is ``sum(w y) / sum(w x)``.
    by : str or sequence of str, optional
        Domain column(s).
    level : float
        Confidence level of the Wald ``t(df)`` interval.

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``variable, denominator, estimate, se, ci_low, ci_high, n,
        method, flag, df``.
    """
    level = check_level(level)
    cells = _ratio_cells(design, numerator, denominator, by)
    return _wald_frame(design, cells, {"variable": numerator, "denominator": denominator}, level)


def survey_growth(
    design: SurveyDesign,
    current: str = "incidents_12m",
    previous: str = "incidents_prev_12m",
    by: str | Sequence[str] | None = None,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Growth in incidents reported by respondents: ratio of weighted totals minus one.

    ``growth = sum(w * current) / sum(w * previous) - 1`` over respondents who answered both
    questions, with the linearised standard error of the ratio (R ``svyratio``), so strata,
    PSUs, fpc and any calibration of the design are respected.

    Parameters
    ----------
    design : SurveyDesign
        The design.
    current, previous : str
        Count columns for the last 12 months and the 12 before.
    by : str or sequence of str, optional
        Domain column(s).
    level : float
        Confidence level of the Wald ``t(df)`` interval.

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``variable, denominator, estimate, se, ci_low, ci_high, n,
        method, flag, df, ratio``: ``estimate`` is the growth (ratio - 1) and ``ratio`` the
        ratio of totals.
    """
    level = check_level(level)
    cells = _ratio_cells(design, current, previous, by)
    frame = _wald_frame(design, cells, {"variable": current, "denominator": previous}, level)
    frame["ratio"] = frame["estimate"]
    for column in ("estimate", "ci_low", "ci_high"):
        frame[column] = frame[column] - 1
    return frame


def _ratio_cells(
    design: SurveyDesign, numerator: str, denominator: str, by: str | Sequence[str] | None
) -> DomainEstimates:
    y, y_answered = design.variables.numeric(numerator)
    x, x_answered = design.variables.numeric(denominator)
    return domain_estimates(
        design,
        y[:, None],
        y_answered & x_answered,
        by,
        denominator=x,
        what=f"both {numerator!r} and {denominator!r}",
    )


def _wald_frame(
    design: SurveyDesign, cells: DomainEstimates, labels: dict[str, str], level: float
) -> pd.DataFrame:
    estimate = cells.estimate[:, 0]
    se = np.sqrt(cells.variance[:, 0])
    df = cells.df.astype(float)
    with np.errstate(invalid="ignore"):
        t = np.where(df >= 1, stats.t.ppf(0.5 + level / 2, np.maximum(df, 1)), np.nan)
    rows = cells.domains.keys.reset_index(drop=True)
    for name, value in labels.items():
        rows[name] = value
    leading = list(rows.columns)
    rows = rows.assign(
        estimate=estimate, se=se, ci_low=estimate - t * se, ci_high=estimate + t * se, n=cells.n,
        method="wald", df=cells.df.astype(np.int64),
    )  # fmt: skip
    return result_frame(rows, leading, ["df"], min_n=design.min_n, caution_n=design.caution_n)


def quantile(
    design: SurveyDesign,
    variable: str,
    q: float | Sequence[float] = 0.5,
    by: str | Sequence[str] | None = None,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Weighted quantiles of a numeric answer with Woodruff intervals (R ``svyquantile``).

    The estimate is the smallest value whose weighted distribution function reaches ``q``
    (R's ``qrule = "math"``, including its rule of taking the second value when the first
    respondent alone outweighs ``q``). The interval is Woodruff's: a Wald ``t(df)`` interval for
    the share of respondents at or below the estimate, mapped back through the weighted
    distribution function; a limit beyond 0 or 1 is not estimable (NaN), and ``se`` is the
    interval's width over ``2 t``, as R reports.

    Parameters
    ----------
    design : SurveyDesign
        The design.
    variable : str
        A numeric column.
    q : float or sequence of float
        Quantiles, each strictly between 0 and 1.
    by : str or sequence of str, optional
        Domain column(s).
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``variable, quantile, estimate, se, ci_low, ci_high, n,
        method, flag, df``.
    """
    level = check_level(level)
    quantiles = [q] if isinstance(q, int | float) else list(q)
    for p in quantiles:
        if not (isinstance(p, int | float) and 0 < p < 1):
            raise DesignError(f"quantiles must lie strictly between 0 and 1; got {p!r}")
    values, answered = design.variables.numeric(variable)
    # The share at or below each candidate value is estimated by the engine; domains first.
    counting = domain_estimates(design, np.zeros((len(values), 1)), answered, by, what=repr(variable))
    domains = counting.domains
    weights = design.weights.to_numpy()
    records = []
    for g in range(domains.count):
        in_domain = domains.code == g
        rows = np.flatnonzero(in_domain & (weights > 0))
        order = rows[np.argsort(values[rows], kind="stable")]
        x, w = values[order], weights[order]
        cumulative = np.cumsum(w)
        df = float(counting.df[g])
        t = stats.t.ppf(0.5 + level / 2, df) if df >= 1 else np.nan
        for p in quantiles:
            estimate = _quantile_math(x, cumulative, p)
            below = (values <= estimate).astype(float)
            share = domain_estimates(design, below[:, None], in_domain, None, what=repr(variable))
            p_hat = float(share.estimate[0, 0])
            half = t * float(np.sqrt(share.variance[0, 0]))
            low = _quantile_math(x, cumulative, p_hat - half) if p_hat - half >= 0 else np.nan
            high = _quantile_math(x, cumulative, p_hat + half) if p_hat + half <= 1 else np.nan
            records.append((g, p, estimate, (high - low) / (2 * t), low, high))
    table = np.array([r[1:] for r in records], dtype=float).reshape(-1, 5)
    group = np.array([r[0] for r in records], dtype=np.int64)
    rows = domains.keys.iloc[group].reset_index(drop=True)
    rows["variable"] = variable
    rows["quantile"] = table[:, 0]
    leading = list(rows.columns)
    rows = rows.assign(
        estimate=table[:, 1], se=table[:, 2], ci_low=table[:, 3], ci_high=table[:, 4], n=counting.n[group],
        method="woodruff", df=counting.df[group].astype(np.int64),
    )  # fmt: skip
    return result_frame(rows, leading, ["df"], min_n=design.min_n, caution_n=design.caution_n)


def _quantile_math(x: np.ndarray, cumulative: np.ndarray, p: float) -> float:
    """R's ``qrule_math`` on sorted values ``x`` with cumulative weights ``cumulative``."""
    total = cumulative[-1]
    reached = np.flatnonzero(cumulative <= p * total)
    position = int(reached[-1]) if reached.size else 0
    if p - cumulative[position] / total == 0:
        return float(x[position])
    return float(x[min(position + 1, x.size - 1)])
