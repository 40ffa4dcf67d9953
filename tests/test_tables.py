"""Two-way tables and Rao-Scott tests against R's survey package.

R commands (tests/results/survey_reference.R), with d <- subset(design, !is.na(answer)):
  svychisq(~region + answer, d, statistic = "F") and statistic = "Chisq"
  svytotal(~interaction(region, answer), d) and svymean(~interaction(region, answer), d)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from surveykit import DesignError, SurveyDesign
from tests.test_design import RTOL, load_data, make_design, reference_frame

DESIGNS = ["strat", "weighted", "srs"]


@pytest.mark.parametrize("design_name", DESIGNS)
def test_rao_scott_matches_svychisq(design_name: str) -> None:
    expected = reference_frame("chisq").set_index("design").loc[design_name]
    result = make_design(design_name).test_independence("region", "answer")
    assert_allclose(
        [result.statistic, result.ndf, result.ddf, result.p_value, result.pearson, result.chisq_p_value],
        expected[["f", "ndf", "ddf", "p_f", "pearson", "p_chisq"]].astype(float),
        rtol=RTOL,
    )
    assert result.chisq_df == 6
    # First-order statistic and its p-value agree: X2 / mean(delta) on (r-1)(c-1) df.
    assert_allclose(stats.chi2.sf(result.chisq, 6), result.chisq_p_value)
    assert_allclose(result.chisq, result.pearson / result.mean_deff)
    assert_allclose(result.cramers_v, np.sqrt(result.pearson / (result.n * 2)))
    assert "Rao-Scott" in result.method
    assert list(result.summary.columns)[:4] == ["statistic", "ndf", "ddf", "p_value"]


def test_unweighted_cramers_v_is_textbook() -> None:
    # With unit weights the weighted table is the count table: V from scipy's chi2_contingency.
    data = load_data("srs")
    result = SurveyDesign(data).test_independence("region", "answer")
    table = pd.crosstab(data["region"], data["answer"])
    chi2 = stats.chi2_contingency(table, correction=False)[0]
    assert_allclose(result.pearson, chi2, rtol=1e-12)
    assert_allclose(result.cramers_v, stats.contingency.association(table, method="cramer"), rtol=1e-12)


@pytest.mark.parametrize("design_name", DESIGNS)
def test_crosstab_cells_match_svytotal(design_name: str) -> None:
    expected = reference_frame("cells")
    expected = expected[expected["design"] == design_name]
    table = make_design(design_name).crosstab("region", "answer", share="cell")
    merged = table.merge(expected, on=["region", "answer"], suffixes=("", "_r"))
    assert len(merged) == len(table) == 12
    assert_allclose(merged["weighted_count"], merged["total"], rtol=RTOL)
    assert_allclose(merged["weighted_count_se"], merged["total_se"], rtol=RTOL)
    assert_allclose(merged["estimate"], merged["share"], rtol=RTOL, atol=1e-15)
    assert_allclose(merged["se"], merged["share_se"], rtol=RTOL, atol=1e-15)


def test_crosstab_row_and_column_shares() -> None:
    design = make_design("strat")
    rows = design.crosstab("region", "answer")
    columns = design.crosstab("region", "answer", share="column")
    assert_allclose(rows.groupby("region")["estimate"].sum(), 1.0)
    assert_allclose(columns.groupby("answer")["estimate"].sum(), 1.0)
    by_region = design.proportions("answer", by="region")
    merged = rows.merge(by_region, left_on=["region", "answer"], right_on=["region", "category"])
    assert_allclose(merged["estimate_x"], merged["estimate_y"])
    assert_allclose(merged["ci_high_x"], merged["ci_high_y"])
    data = load_data("strat")
    counts = data.dropna(subset=["answer"]).groupby(["region", "answer"]).size()
    assert (rows.set_index(["region", "answer"])["count"].reindex(counts.index) == counts).all()
    assert (rows.groupby("region")["n"].first() == counts.groupby(level="region").sum()).all()


def test_independence_needs_two_levels() -> None:
    data = load_data("srs").assign(single="x")
    with pytest.raises(DesignError, match=r"column 'single' needs at least two observed levels"):
        SurveyDesign(data).test_independence("region", "single")


def test_missing_columns_are_named() -> None:
    design = make_design("srs")
    with pytest.raises(DesignError, match=r"row column 'regio' is not in the data"):
        design.test_independence("regio", "answer")
    with pytest.raises(DesignError, match=r"col column 'answr' is not in the data"):
        design.crosstab("region", "answr")
    with pytest.raises(DesignError, match=r"between column 'round' is not in the data"):
        design.change("answer", "yes", between="round")
