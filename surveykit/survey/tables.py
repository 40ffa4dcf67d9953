"""Two-way tables on a survey design: weighted shares of every cell and the Rao-Scott test.

* :func:`crosstab` - one row per cell with its row, column or cell share, interval and counts;
* :func:`test_independence` - Rao-Scott corrected chi-square tests, as R's ``svychisq``, with
  Cramér's V.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from surveykit._options import check_option
from surveykit._results import result_frame
from surveykit._validation import check_level
from surveykit.exceptions import DesignError
from surveykit.survey.estimates import domain_estimates
from surveykit.survey.proportions import IntervalMethod, survey_confint

if TYPE_CHECKING:
    from surveykit.survey.design import SurveyDesign

__all__ = ["IndependenceTest", "Share", "cramers_v", "crosstab", "test_independence"]

Share = Literal["row", "column", "cell"]


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


def _cells(design: SurveyDesign, row: str, col: str) -> tuple[np.ndarray, np.ndarray, list, list]:
    """Cell code per respondent (-1 unless in the domain and answering both) and the levels seen."""
    r_codes, r_all = design.variables.factor(row, "row")
    c_codes, c_all = design.variables.factor(col, "col")
    both = (r_codes >= 0) & (c_codes >= 0) & design.domain
    r_seen = np.unique(r_codes[both])
    c_seen = np.unique(c_codes[both])
    r_map = np.full(len(r_all) + 1, -1, dtype=np.int64)
    c_map = np.full(len(c_all) + 1, -1, dtype=np.int64)
    r_map[r_seen] = np.arange(r_seen.size)
    c_map[c_seen] = np.arange(c_seen.size)
    r, c = r_map[r_codes], c_map[c_codes]
    cells = np.where(both, r + r_seen.size * c, -1)
    return cells, both, [r_all[i] for i in r_seen], [c_all[i] for i in c_seen]


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
    cells, both, r_levels, c_levels = _cells(design, row, col)
    nr, nc = len(r_levels), len(c_levels)
    for name, count in ((row, nr), (col, nc)):
        if count < 2:
            raise DesignError(
                f"column {name!r} needs at least two observed levels to test independence; got {count}"
            )
    weights = design.weights.to_numpy()
    total = float(weights[both].sum())
    if total <= 0:
        raise DesignError("no respondent with a positive weight answered both questions (empty domain)")
    indicator = (cells[:, None] == np.arange(nr * nc)[None, :]).astype(float)
    share = weights[both] @ indicator[both] / total
    influence = np.where(both[:, None], weights[:, None] * (indicator - share[None, :]) / total, 0.0)
    vcov = design.linearization.vcov(influence)
    n = int(both.sum())
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
    nu = design.linearization.degf(both & (weights > 0))
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


def crosstab(
    design: SurveyDesign,
    row: str,
    col: str,
    *,
    share: Share = "row",
    method: IntervalMethod = "auto",
    level: float = 0.95,
) -> pd.DataFrame:
    """Weighted two-way table, one row per cell.

    Parameters
    ----------
    design : SurveyDesign
        The design.
    row, col : str
        Select-one columns; respondents missing either are left out.
    share : {"row", "column", "cell"}
        What ``estimate`` is: the share of the row's respondents in the column category
        (:meth:`SurveyDesign.proportions` of ``col`` by ``row``), of the column's respondents in
        the row category, or of all respondents in the cell (R ``svymean(~interaction(row,
        col))``).
    method : str
        Interval method, as :meth:`SurveyDesign.proportions`; only the survey methods
        (``"auto"``, ``"logit"``, ``"beta"``, ``"wilson"``, ``"mean"``) for ``share="cell"``.
    level : float
        Confidence level.

    Returns
    -------
    DataFrame
        ``<row>, <col>, estimate, se, ci_low, ci_high, n, method, flag, count,
        weighted_count, weighted_count_se``: ``n`` is the denominator's respondents (the
        row's, the column's, or everyone's), ``count`` the respondents in the cell and
        ``weighted_count`` its weighted total (R ``svytotal``) with its standard error.
    """
    check_option("share", share, Share, DesignError)
    level = check_level(level)
    both = design.variables.column(row, "row").notna() & design.variables.column(col, "col").notna()
    sub = design.subset(both)
    cells, answered, r_levels, c_levels = _cells(sub, row, col)
    nr, nc = len(r_levels), len(c_levels)
    indicator = (cells[:, None] == np.arange(nr * nc)[None, :]).astype(float)
    counts = domain_estimates(sub, indicator, answered, None, total=True, what="both questions")
    if share == "cell":
        check_option("method", method, Literal["auto", "logit", "beta", "wilson", "mean"], DesignError)
        used = "logit" if method == "auto" else method
        shares = domain_estimates(sub, indicator, answered, None, what="both questions")
        estimate = shares.estimate[0]
        variance = shares.variance[0]
        n = np.full(nr * nc, shares.n[0])
        low, high = survey_confint(
            estimate, variance, n, np.full(nr * nc, shares.df[0]), level=level, method=used
        )
        frame = pd.DataFrame(
            {
                row: np.tile(np.array(r_levels, dtype=object), nc),
                col: np.repeat(np.array(c_levels, dtype=object), nr),
            }
        )
        cells_frame = frame.assign(
            estimate=estimate,
            se=np.sqrt(variance),
            ci_low=low,
            ci_high=high,
            n=n.astype(np.int64),
            method=used,
        )
        frame = result_frame(cells_frame, [row, col], [], min_n=design.min_n, caution_n=design.caution_n)
    else:
        outer, inner = (row, col) if share == "row" else (col, row)
        frame = sub.proportions(inner, by=outer, method=method, level=level)
        frame = frame.rename(columns={"category": inner}).drop(columns=["variable", "deff", "df"])
    frame = frame[[row, col, *(c for c in frame.columns if c not in (row, col))]]
    cell_counts = pd.DataFrame(
        {
            row: np.tile(np.array(r_levels, dtype=object), nc),
            col: np.repeat(np.array(c_levels, dtype=object), nr),
            "count": counts.count[0].astype(np.int64),
            "weighted_count": counts.estimate[0],
            "weighted_count_se": np.sqrt(counts.variance[0]),
        }
    )
    for key in (row, col):
        frame[key] = frame[key].astype(object)
    out = frame.merge(cell_counts, on=[row, col], how="left")
    for key in (row, col):
        out[key] = out[key].astype(design.data[key].dtype)
    return out.sort_values([row, col], kind="stable").reset_index(drop=True)
