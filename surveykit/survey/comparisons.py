"""Regional breakdowns on a survey design: tables, Rao-Scott tests, pairwise and wave differences.

* :func:`crosstab` - weighted two-way table with cell, row and column shares and intervals;
* :func:`test_independence` - Rao-Scott corrected chi-square tests, as R's ``svychisq``, with
  Cramér's V;
* :func:`pairwise_differences` - every pair of regions, with Holm-adjusted p-values;
* :func:`compare_domains` - change of a share between waves (difference and ratio).

Comparisons use the full design's covariance between the two domains (R: ``svyby(...,
covmat = TRUE)`` then ``svycontrast``), so domains that share PSUs are handled correctly.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from surveykit._validation import check_level as _check_level
from surveykit.exceptions import DesignError
from surveykit.survey._disclosure import apply_disclosure
from surveykit.survey.proportions import newcombe_diff_confint

if TYPE_CHECKING:
    from surveykit.survey.design import SurveyDesign

__all__ = [
    "IndependenceTest",
    "compare_domains",
    "cramers_v",
    "crosstab",
    "pairwise_differences",
    "test_independence",
]

_ADJUST = ("holm", "bonferroni", "none")


@dataclass(frozen=True)
class IndependenceTest:
    """Result of :func:`test_independence`.

    Attributes
    ----------
    statistic : float
        Rao-Scott second-order corrected F (R ``svychisq(statistic = "F")``).
    ndf, ddf : float
        Its numerator and denominator degrees of freedom (``d0`` and ``d0 * degf``).
    p_value : float
        p-value of the F test.
    method : str
        Description of the test.
    chisq : float
        First-order Rao-Scott chi-square, ``X2 / mean(delta)`` (R ``statistic = "Chisq"``).
    chisq_df : int
        ``(rows - 1) * (cols - 1)``.
    chisq_p_value : float
        p-value of the first-order test.
    pearson : float
        Pearson X2 of the weighted table scaled to ``n`` (what R prints as ``X-squared``).
    mean_deff : float
        Mean generalised design effect ``mean(delta)``.
    cramers_v : float
        ``sqrt(pearson / (n * (min(rows, cols) - 1)))`` from the weighted table.
    n : int
        Respondents with both answers.
    """

    statistic: float
    ndf: float
    ddf: float
    p_value: float
    method: str
    chisq: float
    chisq_df: int
    chisq_p_value: float
    pearson: float
    mean_deff: float
    cramers_v: float
    n: int

    @property
    def summary(self) -> pd.DataFrame:
        """The result as a one-row DataFrame."""
        return pd.DataFrame([self.__dict__])


def _levels(design: SurveyDesign, column: str, mask: np.ndarray) -> tuple[np.ndarray, list[object]]:
    """Codes of ``column`` restricted to the levels observed where ``mask`` holds."""
    values = design._column(design.data, column, "column")
    codes, levels = pd.factorize(values, sort=True)
    present = np.unique(codes[mask & (codes >= 0)])
    remap = np.full(len(levels) + 1, -1, dtype=np.int64)
    remap[present] = np.arange(present.size)
    return remap[codes], [levels[i] for i in present]


def _cell_shares(
    design: SurveyDesign, codes: np.ndarray, mask: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shares of the ``m`` cells among ``mask`` with their covariance, and totals with theirs."""
    keep = mask & design._domain & (codes >= 0)
    rows = np.flatnonzero(keep)
    w = design._w[rows]
    c = codes[rows]
    total = w.sum()
    if total <= 0:
        raise DesignError("no respondent with a positive weight answered both questions (empty domain)")
    if design._psu is None:
        inverse = np.arange(rows.size)
        unit_h = design._stratum[rows]
    else:
        units, inverse = np.unique(design._psu[rows], return_inverse=True)
        unit_h = design._psu_stratum[units]
    n_units = unit_h.size
    a = np.bincount(inverse * m + c, w, n_units * m).reshape(n_units, m)
    b = np.bincount(inverse, w, n_units)
    share = a.sum(axis=0) / total
    absent = design._n_units - np.bincount(unit_h, minlength=design.n_strata)
    out = []
    for t in ((a - b[:, None] * share[None, :]) / total, a):
        # Centre at the stratum mean over all n_h PSUs (absent PSUs have t = 0), then cross-products.
        sums = np.column_stack([np.bincount(unit_h, t[:, k], design.n_strata) for k in range(m)])
        mean = sums * (design._centre / design._n_units)[:, None]
        deviation = t - mean[unit_h]
        present = (deviation * design._scale[unit_h][:, None]).T @ deviation
        out.append(present + (mean * (design._scale * absent)[:, None]).T @ mean)
    return share, out[0], a.sum(axis=0), out[1]


def test_independence(design: SurveyDesign, row: str, col: str) -> IndependenceTest:
    """Rao-Scott test that ``row`` and ``col`` are independent, as R's ``svychisq``.

    Parameters
    ----------
    design : SurveyDesign
        The design.
    row, col : str
        Select-one columns; respondents missing either are left out (the domain of those who
        answered both, R: ``svychisq(~row + col, subset(design, !is.na(row) & !is.na(col)))``).

    Returns
    -------
    IndependenceTest
        The second-order corrected F (R's default), the first-order chi-square, Pearson's X2 of
        the weighted table and Cramér's V.
    """
    answered = [
        design._column(design.data, c, argument).notna().to_numpy()
        for c, argument in ((row, "row"), (col, "col"))
    ]
    mask = design._domain & answered[0] & answered[1]
    r_codes, r_levels = _levels(design, row, mask)
    c_codes, c_levels = _levels(design, col, mask)
    nr, nc = len(r_levels), len(c_levels)
    for name, count in ((row, nr), (col, nc)):
        if count < 2:
            raise DesignError(
                f"column {name!r} needs at least two observed levels to test independence; got {count}"
            )
    cells = np.where((r_codes >= 0) & (c_codes >= 0), r_codes + nr * c_codes, -1)
    mask = mask & (cells >= 0)
    share, vcov, _, _ = _cell_shares(design, cells, mask, nr * nc)
    n = int(mask.sum())
    table = n * share.reshape(nc, nr).T
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = float(np.nansum(np.where(expected > 0, (table - expected) ** 2 / expected, 0.0)))

    # Cells in R's order (rows vary fastest): main-effects design X1 and the interaction columns.
    r_idx = np.tile(np.arange(nr), nc)
    c_idx = np.repeat(np.arange(nc), nr)
    rows_dummy = (r_idx[:, None] == np.arange(1, nr)[None, :]).astype(float)
    cols_dummy = (c_idx[:, None] == np.arange(1, nc)[None, :]).astype(float)
    x1 = np.column_stack([np.ones(nr * nc), rows_dummy, cols_dummy])
    interaction = np.column_stack(
        [rows_dummy[:, i] * cols_dummy[:, j] for j in range(nc - 1) for i in range(nr - 1)]
    )
    contrast = interaction - x1 @ np.linalg.lstsq(x1, interaction, rcond=None)[0]
    inverse_share = np.where(share > 0, 1.0 / np.where(share > 0, share, 1.0), 0.0)
    weighted = contrast * inverse_share[:, None]
    denom = contrast.T @ weighted / n
    numer = weighted.T @ vcov @ weighted
    delta = np.linalg.solve(denom, numer)
    trace = float(np.trace(delta))
    d0 = trace**2 / float(np.trace(delta @ delta))
    nu = design._degf(mask)
    f_stat = pearson / trace
    chisq_df = (nr - 1) * (nc - 1)
    first_order = pearson / (trace / chisq_df)
    return IndependenceTest(
        statistic=f_stat,
        ndf=d0,
        ddf=d0 * nu,
        p_value=float(stats.f.sf(f_stat, d0, d0 * nu)) if nu > 0 else np.nan,
        method="Rao-Scott second-order corrected F (R svychisq, statistic = 'F')",
        chisq=first_order,
        chisq_df=chisq_df,
        chisq_p_value=float(stats.chi2.sf(first_order, chisq_df)),
        pearson=pearson,
        mean_deff=trace / chisq_df,
        cramers_v=cramers_v(pearson, n, nr, nc),
        n=n,
    )


test_independence.__test__ = False  # a statistical test, not one for pytest to collect


def cramers_v(chi2: float, n: float, n_rows: int, n_cols: int) -> float:
    """Cramér's V, ``sqrt(chi2 / (n * (min(rows, cols) - 1)))``, between 0 and 1."""
    k = min(n_rows, n_cols) - 1
    if n <= 0 or k < 1:
        raise DesignError(
            f"Cramér's V needs n > 0 and at least two rows and columns; got n={n}, {n_rows}x{n_cols}"
        )
    return float(np.sqrt(chi2 / (n * k)))


def crosstab(design: SurveyDesign, row: str, col: str, level: float = 0.95) -> pd.DataFrame:
    """Weighted two-way table, one row per cell.

    Parameters
    ----------
    design : SurveyDesign
        The design.
    row, col : str
        Select-one columns; respondents missing either are left out.
    level : float
        Confidence level of the row and column share intervals.

    Returns
    -------
    DataFrame
        Columns ``<row>, <col>, n, weighted_n, weighted_n_se, share, share_se`` (cell total and
        share of all respondents, R ``svytotal``/``svymean(~interaction(row, col))``), then
        ``row_share, row_se, row_ci_low, row_ci_high, row_n, row_flag`` (share of the row's
        respondents in the column category: :meth:`SurveyDesign.proportions` of ``col`` by
        ``row``) and the same ``col_*`` columns for shares of the column's respondents.
    """
    _check_level(level)
    both = design._column(design.data, row, "row").notna() & design._column(design.data, col, "col").notna()
    sub = design.subset(both)
    mask = sub._domain
    r_codes, r_levels = _levels(sub, row, mask)
    c_codes, c_levels = _levels(sub, col, mask)
    nr, nc = len(r_levels), len(c_levels)
    cells = np.where((r_codes >= 0) & (c_codes >= 0), r_codes * nc + c_codes, -1)
    share, vcov, totals, totals_vcov = _cell_shares(sub, cells, mask, nr * nc)
    counts = np.bincount(cells[mask], minlength=nr * nc)
    frame = pd.DataFrame(
        {
            row: pd.Series(np.repeat(np.array(r_levels, dtype=object), nc), dtype=design.data[row].dtype),
            col: pd.Series(np.tile(np.array(c_levels, dtype=object), nr), dtype=design.data[col].dtype),
            "n": counts,
            "weighted_n": totals,
            "weighted_n_se": np.sqrt(np.maximum(np.diag(totals_vcov), 0)),
            "share": share,
            "share_se": np.sqrt(np.maximum(np.diag(vcov), 0)),
        }
    )
    row_shares = sub.proportions(col, by=row, level=level)
    col_shares = sub.proportions(row, by=col, level=level)
    picked = ["estimate", "se", "ci_low", "ci_high", "n", "flag"]
    row_part = row_shares.rename(columns={"category": col})[[row, col, *picked]]
    row_part.columns = [row, col, "row_share", "row_se", "row_ci_low", "row_ci_high", "row_n", "row_flag"]
    col_part = col_shares.rename(columns={"category": row})[[row, col, *picked]]
    col_part.columns = [row, col, "col_share", "col_se", "col_ci_low", "col_ci_high", "col_n", "col_flag"]
    for part in (row_part, col_part):
        for key in (row, col):
            part[key] = part[key].astype(frame[key].dtype)
    return frame.merge(row_part, on=[row, col], how="left").merge(col_part, on=[row, col], how="left")


def _difference(
    design: SurveyDesign, y: np.ndarray, mask_a: np.ndarray, mask_b: np.ndarray, level: float
) -> dict[str, float]:
    """``b - a`` and ``b / a`` for the shares of ``y`` in two domains, with intervals."""
    n_a, n_b = int((mask_a & design._domain).sum()), int((mask_b & design._domain).sum())
    out: dict[str, float] = {"n_a": n_a, "n_b": n_b}
    if n_a == 0 or n_b == 0:
        return out
    p_a, z_a = design._ratio_influence(y, mask_a)
    p_b, z_b = design._ratio_influence(y, mask_b)
    v = design._vcov(np.column_stack([z_a, z_b]))
    diff = p_b - p_a
    se = float(np.sqrt(max(v[0, 0] + v[1, 1] - 2 * v[0, 1], 0.0)))
    df = design._degf(mask_a | mask_b)
    t = stats.t.ppf(0.5 + level / 2, df) if df >= 1 else np.nan
    if design.srs:
        x_a, x_b = float(y[mask_a].sum()), float(y[mask_b].sum())
        lo, hi = newcombe_diff_confint(x_b, n_b, x_a, n_a, level=level)
        method = "newcombe"
    else:
        lo, hi = max(diff - t * se, -1.0), min(diff + t * se, 1.0)
        method = "wald"
    p_value = float(2 * stats.t.sf(abs(diff) / se, df)) if se > 0 and df >= 1 else np.nan
    ratio = p_b / p_a if p_a > 0 else np.nan
    if p_a > 0 and p_b > 0:
        log_se = np.sqrt(max(v[1, 1] / p_b**2 + v[0, 0] / p_a**2 - 2 * v[0, 1] / (p_a * p_b), 0.0))
        ratio_lo, ratio_hi = ratio * np.exp(-t * log_se), ratio * np.exp(t * log_se)
    else:
        log_se, ratio_lo, ratio_hi = np.nan, np.nan, np.nan
    out.update(
        estimate_a=p_a, estimate_b=p_b, difference=diff, se=se, ci_low=lo, ci_high=hi, p_value=p_value,
        ratio=ratio, log_ratio_se=log_se, ratio_ci_low=ratio_lo, ratio_ci_high=ratio_hi, df=df, method=method,
    )  # fmt: skip
    return out


def compare_domains(
    design: SurveyDesign,
    variable: str,
    category: object,
    between: str = "wave",
    levels: Sequence[object] | None = None,
    by: str | Sequence[str] | None = None,
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
        The ``by`` columns, then ``variable, category, level_from, level_to, estimate_from,
        estimate_to, difference, se, ci_low, ci_high, p_value, ratio, ratio_ci_low,
        ratio_ci_high, n_from, n_to, df, method, flag``. ``difference = to - from``, its
        standard error from the full design's covariance (R ``svycontrast`` on ``svyby(...,
        covmat = TRUE)``); the interval is Wald on ``df`` (PSUs minus strata in the two
        domains) or, for an unweighted simple random sample, Newcombe's hybrid score interval.
        The p-value is the Wald t test; the ratio interval is Wald on the log scale. A
        comparison with fewer than ``min_n`` respondents on either side is suppressed.
    """
    level = _check_level(level)
    name, y, answered = design._indicator(variable, category)
    column = design._column(design.data, between, "between")
    observed = sorted(pd.unique(column[answered & design._domain].dropna()).tolist())
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
        pairs = [tuple(levels)]
    by_columns, group, keys = design._groups(by)
    values = column.to_numpy(dtype=object)
    rows = []
    for g in range(len(keys)):
        in_group = answered & (group == g)
        for a, b in pairs:
            result = _difference(design, y, in_group & (values == a), in_group & (values == b), level)
            rows.append({**keys.iloc[g].to_dict(), "level_from": a, "level_to": b, **result})
    out = pd.DataFrame(rows)
    frame = out[list(by_columns)].copy() if by_columns else pd.DataFrame(index=out.index)
    frame["variable"] = name
    frame["category"] = category
    frame["level_from"] = out["level_from"]
    frame["level_to"] = out["level_to"]
    renamed = {"estimate_a": "estimate_from", "estimate_b": "estimate_to", "n_a": "n_from", "n_b": "n_to"}
    for source in ("estimate_a", "estimate_b", "difference", "se", "ci_low", "ci_high", "p_value", "ratio",
                   "ratio_ci_low", "ratio_ci_high", "n_a", "n_b", "df", "method"):  # fmt: skip
        frame[renamed.get(source, source)] = out[source] if source in out else np.nan
    frame["n_from"] = frame["n_from"].astype(np.int64)
    frame["n_to"] = frame["n_to"].astype(np.int64)
    smallest = np.minimum(frame["n_from"].to_numpy(), frame["n_to"].to_numpy())
    return apply_disclosure(
        frame, smallest, design.min_n, design.caution_n,
        blank=("estimate_from", "estimate_to", "difference", "se", "ci_low", "ci_high", "p_value",
               "ratio", "ratio_ci_low", "ratio_ci_high"),
        what="comparisons",
    )  # fmt: skip


def pairwise_differences(
    design: SurveyDesign,
    variable: str,
    category: object,
    by: str,
    level: float = 0.95,
    adjust: Literal["holm", "bonferroni", "none"] = "holm",
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
        ``variable, category, level_a, level_b, estimate_a, estimate_b, difference, se, ci_low,
        ci_high, p_value, p_adjusted, n_a, n_b, df, method, flag`` with ``difference = a - b``,
        one row per pair in sorted order. Method as :func:`compare_domains`.
    """
    level = _check_level(level)
    if adjust not in _ADJUST:
        raise DesignError(f"adjust must be one of {list(_ADJUST)}; got {adjust!r}")
    name, y, answered = design._indicator(variable, category)
    column = design._column(design.data, by, "by")
    values = column.to_numpy(dtype=object)
    observed = sorted(pd.unique(column[answered & design._domain].dropna()).tolist())
    if len(observed) < 2:
        raise DesignError(f"column {by!r} has fewer than two levels among respondents: {observed}")
    rows = []
    for a, b in itertools.combinations(observed, 2):
        # _difference returns second minus first, so pass (b, a) to get a - b.
        result = _difference(design, y, answered & (values == b), answered & (values == a), level)
        rows.append({
            "variable": name, "category": category, "level_a": a, "level_b": b,
            "estimate_a": result.get("estimate_b", np.nan), "estimate_b": result.get("estimate_a", np.nan),
            "difference": result.get("difference", np.nan), "se": result.get("se", np.nan),
            "ci_low": result.get("ci_low", np.nan), "ci_high": result.get("ci_high", np.nan),
            "p_value": result.get("p_value", np.nan), "n_a": result["n_b"], "n_b": result["n_a"],
            "df": result.get("df", np.nan), "method": result.get("method", ""),
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    p = frame["p_value"].to_numpy()
    adjusted = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        adjusted[ok] = p[ok] if adjust == "none" else multipletests(p[ok], method=adjust)[1]
    frame.insert(frame.columns.get_loc("p_value") + 1, "p_adjusted", adjusted)
    smallest = np.minimum(frame["n_a"].to_numpy(), frame["n_b"].to_numpy())
    return apply_disclosure(
        frame, smallest, design.min_n, design.caution_n,
        blank=("estimate_a", "estimate_b", "difference", "se", "ci_low", "ci_high", "p_value", "p_adjusted"),
        what="comparisons",
    )  # fmt: skip
