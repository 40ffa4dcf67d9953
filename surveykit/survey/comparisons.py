"""Comparisons of one share between domains: wave-over-wave change and pairwise regional differences.

* :func:`compare_domains` - change of a share between levels of a column (survey waves);
* :func:`pairwise_differences` - every pair of levels (regions), with Holm-adjusted p-values.

Differences are always the second level minus the first (``to - from``). Their standard errors
use the full design's covariance between the two domains (R: ``svyby(..., covmat = TRUE)`` then
``svycontrast``), so domains that share PSUs, subsets and calibrated designs are all handled by
the one variance engine.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from surveykit._options import check_option
from surveykit._results import result_frame
from surveykit._validation import check_level
from surveykit.exceptions import DesignError
from surveykit.survey.proportions import newcombe_diff_confint

if TYPE_CHECKING:
    from surveykit.survey.design import SurveyDesign

__all__ = ["compare_domains", "pairwise_differences"]

Adjust = Literal["holm", "bonferroni", "none"]

_BLANK = ("estimate_from", "estimate_to", "p_value", "ratio", "ratio_ci_low", "ratio_ci_high")


def _difference(
    design: SurveyDesign,
    y: np.ndarray,
    mask_from: np.ndarray,
    mask_to: np.ndarray,
    analysed: np.ndarray,
    level: float,
) -> dict[str, object]:
    """``to - from`` and ``to / from`` for the shares of ``y`` in two domains, with intervals.

    The degrees of freedom are those of the ``analysed`` domain the two are drawn from (R:
    ``confint(svycontrast(...), df = degf(d))`` with ``d`` the design given to ``svyby``).
    """
    weights = design.weights.to_numpy()
    mask_from = mask_from & design.domain
    mask_to = mask_to & design.domain
    n_from, n_to = int(mask_from.sum()), int(mask_to.sum())
    out: dict[str, object] = {"n_from": n_from, "n_to": n_to}
    totals = [float(weights[m].sum()) for m in (mask_from, mask_to)]
    if min(totals) <= 0:
        return out
    shares = []
    influence = []
    for mask, total in zip((mask_from, mask_to), totals, strict=True):
        share = float(np.dot(weights[mask], y[mask]) / total)
        shares.append(share)
        influence.append(np.where(mask, weights * (y - share) / total, 0.0))
    v = design.linearization.vcov(np.column_stack(influence))
    p_from, p_to = shares
    difference = p_to - p_from
    se = float(np.sqrt(max(v[0, 0] + v[1, 1] - 2 * v[0, 1], 0.0)))
    df = design.linearization.degf(analysed & design.domain & (weights > 0))
    t = stats.t.ppf(0.5 + level / 2, df) if df >= 1 else np.nan
    if design.srs:
        low, high = newcombe_diff_confint(
            float(y[mask_to].sum()), n_to, float(y[mask_from].sum()), n_from, level=level
        )
        method = "newcombe"
    else:
        low, high = max(difference - t * se, -1.0), min(difference + t * se, 1.0)
        method = "wald"
    p_value = float(2 * stats.t.sf(abs(difference) / se, df)) if se > 0 and df >= 1 else np.nan
    ratio = p_to / p_from if p_from > 0 else np.nan
    if p_from > 0 and p_to > 0:
        log_se = np.sqrt(max(v[1, 1] / p_to**2 + v[0, 0] / p_from**2 - 2 * v[0, 1] / (p_from * p_to), 0.0))
        ratio_low, ratio_high = ratio * np.exp(-t * log_se), ratio * np.exp(t * log_se)
    else:
        ratio_low, ratio_high = np.nan, np.nan
    out.update(
        estimate=difference, se=se, ci_low=low, ci_high=high, method=method, estimate_from=p_from,
        estimate_to=p_to, p_value=p_value, df=df, ratio=ratio, ratio_ci_low=ratio_low,
        ratio_ci_high=ratio_high,
    )  # fmt: skip
    return out


_EXTRAS = ("estimate_from", "estimate_to", "n_from", "n_to", "p_value", "df", *_BLANK[3:])


def _frame(design: SurveyDesign, rows: pd.DataFrame, results: list[dict[str, object]]) -> pd.DataFrame:
    table = pd.DataFrame(results)
    for column in ("estimate", "se", "ci_low", "ci_high", "df", *_BLANK):
        if column not in table:
            table[column] = np.nan
    table["method"] = table["method"].fillna("") if "method" in table else ""
    table["n"] = table["n_from"] + table["n_to"]
    leading = list(rows.columns)
    frame = pd.concat([rows.reset_index(drop=True), table.drop(columns=leading, errors="ignore")], axis=1)
    return result_frame(
        frame,
        leading,
        _EXTRAS,
        min_n=design.min_n,
        caution_n=design.caution_n,
        flag_n=np.minimum(table["n_from"].to_numpy(), table["n_to"].to_numpy()),
        blank=_BLANK,
        what="comparisons",
    )


def _observed_levels(design: SurveyDesign, column: str, argument: str, answered: np.ndarray) -> list[object]:
    values = design.variables.column(column, argument)
    return sorted(pd.unique(values[answered & design.domain].dropna()).tolist())


def compare_domains(
    design: SurveyDesign,
    variable: str,
    category: object,
    between: str = "wave",
    levels: Sequence[object] | None = None,
    by: str | Sequence[str] | None = None,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Change of one category's share between levels of ``between`` (e.g. survey waves).

    Parameters
    ----------
    design : SurveyDesign
        The design (covering all waves).
    variable, category : str, object
        The share compared: respondents answering ``category`` among those who answered ``variable``.
    between : str
        Column whose levels are compared.
    levels : sequence, optional
        ``(from, to)``; by default each observed level against the next in sorted order.
    by : str or sequence of str, optional
        Compare within each domain as well.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``variable, category, from, to, estimate, se, ci_low, ci_high,
        n, method, flag, estimate_from, estimate_to, n_from, n_to, p_value, df, ratio,
        ratio_ci_low, ratio_ci_high``. ``estimate = estimate_to - estimate_from`` with its
        standard error from the full design's covariance (R ``svycontrast`` on ``svyby(...,
        covmat = TRUE)``); the interval is Wald on ``df`` (PSUs minus strata among respondents who
        answered, in the ``by`` group) or, for an unweighted simple random sample, Newcombe's hybrid
        score interval. ``n`` is
        ``n_from + n_to``; the flag follows the smaller of the two. The p-value is the Wald t
        test; the ratio interval is Wald on the log scale.
    """
    level = check_level(level)
    question = design.variables.question(variable)
    y = question.indicator(category)
    answered = question.answered
    observed = _observed_levels(design, between, "between", answered)
    if levels is None:
        if len(observed) < 2:
            raise DesignError(f"column {between!r} has fewer than two levels among respondents: {observed}")
        pairs = list(itertools.pairwise(observed))
    else:
        if len(levels) != 2:
            raise DesignError(f"levels must be a pair (from, to); got {levels!r}")
        for value in levels:
            if value not in observed:
                raise DesignError(
                    f"level {value!r} of {between!r} has no respondents who answered {variable!r}"
                )
        pairs = [(levels[0], levels[1])]
    domains = design.variables.domains(by, answered & design.domain)
    values = design.variables.column(between, "between").to_numpy(dtype=object)
    keys, results = [], []
    for g in range(domains.count):
        in_group = answered & (domains.code == g)
        for first, second in pairs:
            results.append(
                _difference(
                    design, y, in_group & (values == first), in_group & (values == second), in_group, level
                )
            )
            keys.append(
                {
                    **domains.key(g),
                    "variable": question.name,
                    "category": category,
                    "from": first,
                    "to": second,
                }
            )
    return _frame(design, pd.DataFrame(keys), results)


def pairwise_differences(
    design: SurveyDesign,
    variable: str,
    category: object,
    by: str,
    *,
    level: float = 0.95,
    adjust: Adjust = "holm",
) -> pd.DataFrame:
    """Difference in one category's share between every pair of levels of ``by`` (e.g. regions).

    Parameters
    ----------
    design : SurveyDesign
        The design.
    variable, category : str, object
        The share compared.
    by : str
        Column of the groups compared.
    level : float
        Confidence level of each (unadjusted) interval.
    adjust : {"holm", "bonferroni", "none"}
        Multiple-comparison adjustment of the p-values (``statsmodels`` ``multipletests``).

    Returns
    -------
    DataFrame
        ``variable, category, from, to`` and the columns of :func:`compare_domains`, plus
        ``p_adjusted``; one row per pair of levels in sorted order, ``from`` before ``to``, with
        ``estimate = estimate_to - estimate_from``.
    """
    level = check_level(level)
    check_option("adjust", adjust, Adjust, DesignError)
    question = design.variables.question(variable)
    y = question.indicator(category)
    answered = question.answered
    observed = _observed_levels(design, by, "by", answered)
    if len(observed) < 2:
        raise DesignError(f"column {by!r} has fewer than two levels among respondents: {observed}")
    values = design.variables.column(by, "by").to_numpy(dtype=object)
    keys, results = [], []
    for first, second in itertools.combinations(observed, 2):
        results.append(
            _difference(
                design, y, answered & (values == first), answered & (values == second), answered, level
            )
        )
        keys.append({"variable": question.name, "category": category, "from": first, "to": second})
    frame = _frame(design, pd.DataFrame(keys), results)
    p = frame["p_value"].to_numpy()
    adjusted = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        adjusted[ok] = p[ok] if adjust == "none" else multipletests(p[ok], method=adjust)[1]
    frame.insert(frame.columns.get_loc("p_value") + 1, "p_adjusted", adjusted)
    return frame
