"""Interval methods against R and published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from surveykit import (
    DesignError,
    SurveyDesign,
    binomial_confint,
    multinomial_confint,
    newcombe_diff_confint,
    survey_confint,
)
from tests.test_design import RTOL, load_data, reference_frame


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson", "jeffreys"])
def test_binomial_intervals_match_r(method: str) -> None:
    # R (unweighted answers of survey_srs_data.csv, missing answers dropped):
    #   wilson:          prop.test(x, n, correct = FALSE)$conf.int
    #   clopper-pearson: binom.test(x, n)$conf.int
    #   jeffreys:        qbeta(c(.025, .975), x + 0.5, n - x + 0.5)
    ref = reference_frame("classic")
    ref = ref[ref["method"] == method]
    low, high = binomial_confint(ref["x"].to_numpy(), ref["n"].to_numpy(), method=method)
    assert_allclose(low, ref["ci_low"], rtol=RTOL)
    assert_allclose(high, ref["ci_high"], rtol=RTOL)
    # The same through the design API, for an unweighted simple random sample.
    result = SurveyDesign(load_data("srs"), min_n=0, caution_n=0).proportions("answer", method=method)
    merged = result.merge(ref, on="category")
    assert len(merged) == 3
    assert_allclose(merged["ci_low_x"], merged["ci_low_y"], rtol=RTOL)
    assert_allclose(merged["ci_high_x"], merged["ci_high_y"], rtol=RTOL)
    assert (merged["n_x"] == merged["n_y"]).all()


# Newcombe (1998), "Interval estimation for the difference between independent proportions:
# comparison of eleven methods", Statistics in Medicine 17:873-890, Table II, method 10
# (hybrid score, no continuity correction), 95% intervals to four decimals.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_newcombe_matches_published_table(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    low, high = newcombe_diff_confint(*counts)
    assert_allclose([low, high], expected, atol=5e-5)


# Goodman (1965) simultaneous intervals as published in Sison and Glaz (1995), "Simultaneous
# confidence intervals and sample size determination for multinomial proportions", JASA
# 90:366-369, Tables (Goodman column, three decimals); the same values are statsmodels'
# reference results for multinomial_proportions_confint(method="goodman").
GOODMAN_SISON_GLAZ = [
    (
        [56, 72, 73, 59, 62, 87, 58],
        [[0.085, 0.166], [0.115, 0.204], [0.116, 0.207], [0.091, 0.173], [0.096, 0.181], [0.143, 0.239],
         [0.089, 0.171]],
    ),
    ([5] * 50, [[0.005, 0.075]] * 50),
    (
        [1] * 10 + [12] * 10 + [5] * 10 + [3] * 10 + [4] * 10,
        [[0, 0.049]] * 10 + [[0.019, 0.114]] * 10 + [[0.005, 0.075]] * 10 + [[0.002, 0.062]] * 10
        + [[0.004, 0.069]] * 10,
    ),
]  # fmt: skip


@pytest.mark.parametrize(("counts", "expected"), GOODMAN_SISON_GLAZ)
def test_goodman_matches_sison_glaz(counts: list[int], expected: list[list[float]]) -> None:
    result = multinomial_confint(counts, level=0.95)
    assert_allclose(result[["ci_low", "ci_high"]].to_numpy(), np.array(expected), atol=5e-4)
    assert_allclose(result["estimate"].sum(), 1.0)


def test_goodman_through_design_is_per_group() -> None:
    data = load_data("srs")
    design = SurveyDesign(data, min_n=0, caution_n=0)
    result = design.proportions("answer", by="region", method="goodman")
    for region, part in result.groupby("region"):
        counts = data.loc[data["region"] == region, "answer"].value_counts().reindex(part["category"])
        expected = multinomial_confint(counts.to_numpy())
        assert_allclose(part[["ci_low", "ci_high"]].to_numpy(), expected[["ci_low", "ci_high"]].to_numpy())
    with pytest.raises(DesignError, match="select-multiple"):
        design.proportions("roles", method="goodman")


@pytest.mark.parametrize("method", ["logit", "beta", "wilson", "mean"])
@pytest.mark.parametrize("estimate", [0.0, 1.0])
def test_survey_intervals_at_the_boundary(method: str, estimate: float) -> None:
    # At 0% or 100% the variance is 0; the interval falls back to Korn-Graubard with n_eff = n,
    # so it is one-sided but not degenerate.
    low, high = survey_confint(estimate, 0.0, n=50, df=49, method=method)
    if estimate == 0:
        assert low == 0 and 0 < high < 0.15
    else:
        assert high == 1 and 0.85 < low < 1
    # Clopper-Pearson for 0/50: upper = 1 - 0.025^(1/50) (df adjustment is 1 when df = n - 1).
    expected = 1 - 0.025 ** (1 / 50)
    assert_allclose(high if estimate == 0 else 1 - low, expected, rtol=1e-10)


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson", "jeffreys"])
def test_binomial_intervals_at_the_boundary(method: str) -> None:
    low, high = binomial_confint([0, 20], [20, 20], method=method)
    assert low[0] == 0 and high[1] == 1
    assert 0 < high[0] < 0.2 and 0.8 < low[1] < 1


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson", "jeffreys"])
def test_boundary_limits_are_exact_for_every_sample_size(method: str) -> None:
    # Wilson's closed form gave a lower limit of 5.6e-17 for 0 of n at 357 of these n, so the
    # interval lay beside its estimate of 0 and plotting its error bar failed.
    n = np.arange(1, 2000)
    low, _ = binomial_confint(np.zeros_like(n), n, method=method)
    _, high = binomial_confint(n, n, method=method)
    assert (low == 0).all() and (high == 1).all()


def test_survey_confint_without_degrees_of_freedom_is_nan() -> None:
    low, high = survey_confint(0.4, 0.01, n=3, df=0)
    assert np.isnan(low) and np.isnan(high)


def test_design_boundary_cell_keeps_an_interval() -> None:
    # svyby(~I(answer == "dont_know"), ~region, d, svyciprop) gives NaN/degenerate limits in R for
    # the north region where nobody answered "dont_know"; surveykit keeps a one-sided interval.
    from tests.test_design import make_design

    result = make_design("strat").proportions("answer", by="region", categories=["dont_know"])
    north = result[result["region"] == "north"].iloc[0]
    assert north["estimate"] == 0 and north["ci_low"] == 0
    # Korn-Graubard upper limit for x = 0: 1 - (alpha/2)^(1/n_eff), n_eff = n (t(n-1)/t(df))^2.
    n_eff = north["n"] * (stats.t.ppf(0.025, north["n"] - 1) / stats.t.ppf(0.025, north["df"])) ** 2
    assert_allclose(north["ci_high"], 1 - 0.025 ** (1 / n_eff), rtol=1e-10)


def test_wilson_on_effective_sample_size() -> None:
    # Design Wilson: score interval with n_eff = p(1-p)/var and a t(df) critical value. With
    # var = p(1-p)/n and df large it reduces to the classical Wilson interval.
    p, n = 0.3, 200
    low, high = survey_confint(p, p * (1 - p) / n, n=n, df=10**9, method="wilson")
    expected = binomial_confint(p * n, n, method="wilson")
    assert_allclose([low, high], [expected[0], expected[1]], rtol=1e-7)


def test_options_are_validated() -> None:
    with pytest.raises(
        DesignError, match=r"method must be one of \['logit', 'beta', 'wilson', 'mean'\]; got 'exact'"
    ):
        survey_confint(0.5, 0.01, 100, 99, method="exact")
    with pytest.raises(DesignError, match="level must be a number strictly between 0 and 1"):
        binomial_confint(3, 10, level=95)
    with pytest.raises(DesignError, match="at least two categories"):
        multinomial_confint([4])
    with pytest.raises(DesignError, match="both samples need respondents"):
        newcombe_diff_confint(0, 0, 1, 5)


def test_multinomial_keeps_series_index() -> None:
    counts = pd.Series({"yes": 30, "no": 50, "dont_know": 20})
    result = multinomial_confint(counts)
    assert list(result.index) == ["yes", "no", "dont_know"]
    assert_allclose(result["estimate"], [0.3, 0.5, 0.2])
