"""Incident growth: rate ratios, year over year, CAGR, trend and survey-reported growth.

Reference values are published figures or R output (tests/results/incidents_reference.R).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from surveykit import (
    IncompleteDataWarning,
    SurveykitError,
    WeightError,
    cagr,
    demo_incidents,
    growth_trend,
    incident_counts,
    loss_growth,
    poisson_rate_ratio,
    survey_growth,
    yoy_growth,
)

RESULTS = Path(__file__).parent / "results"


def _log(counts: dict[int, int], losses: dict[int, int] | None = None, **columns: object) -> pd.DataFrame:
    """A log with year-only dates and, optionally, losses summing exactly to the given totals."""
    years = np.repeat(list(counts), list(counts.values()))
    frame = pd.DataFrame(
        {
            "year": pd.array(years, dtype="Int64"),
            "month": pd.array([pd.NA] * len(years), dtype="Int64"),
            "day": pd.array([pd.NA] * len(years), dtype="Int64"),
            **columns,
        }
    )
    if losses is not None:
        amount = np.zeros(len(years))
        for year, total in losses.items():
            rows = np.flatnonzero(years == year)
            share, remainder = divmod(total, len(rows))
            amount[rows] = share
            amount[rows[:remainder]] += 1
        frame["loss_amount"] = pd.array(amount, dtype="Float64")
    return frame


def test_score_interval_reference() -> None:
    # statsmodels test suite / Gu et al. (2008): 60 events in 51,477.5 person-years vs 30 in
    # 54,308.7: ratio 2.1100, 95% score CI 1.365962 to 3.259306.
    result = poisson_rate_ratio(60, 51477.5, 30, 54308.7, method="score").iloc[0]
    assert result["rate_ratio"] == pytest.approx(2.1100, abs=5e-5)
    assert_allclose([result["ci_low"], result["ci_high"]], [1.365962, 3.259306], atol=5e-7)
    assert result["method"] == "score"


@pytest.mark.parametrize(
    "case", pd.read_csv(RESULTS / "incidents_poisson_exact_reference.csv").to_dict("records")
)
def test_exact_conditional_matches_r_poisson_test(case: dict[str, float]) -> None:
    # R: poisson.test(c(x1, x0), c(e1, e0)) (tests/results/incidents_reference.R)
    result = poisson_rate_ratio(case["x1"], case["e1"], case["x0"], case["e0"], method="exact").iloc[0]
    assert_allclose(
        [result["rate_ratio"], result["ci_low"], result["ci_high"], result["p_value"]],
        [case["estimate"], case["ci_low"], case["ci_high"], case["p_value"]],
        rtol=1e-9,
    )


def test_ic3_bec_complaints_and_losses() -> None:
    # FBI IC3 Internet Crime Reports 2020 and 2021, business email compromise:
    # 19,369 -> 19,954 complaints (+3.0%); $1,866,642,107 -> $2,395,953,296 (+28.4%).
    log = _log({2020: 19_369, 2021: 19_954}, losses={2020: 1_866_642_107, 2021: 2_395_953_296})
    growth = yoy_growth(log).set_index("period").loc["2021"]
    assert (growth["count"], growth["previous_count"]) == (19_954, 19_369)
    assert round(growth["growth"] * 100, 1) == 3.0
    assert growth["ci_low"] < growth["growth"] < growth["ci_high"]
    # Same interval as the two-count score interval directly.
    direct = poisson_rate_ratio(19_954, 1, 19_369, 1).iloc[0]
    assert_allclose([growth["ci_low"] + 1, growth["ci_high"] + 1], [direct["ci_low"], direct["ci_high"]])
    losses = loss_growth(log, n_boot=200).set_index("period").loc["2021"]
    assert losses["total"] == 2_395_953_296 and losses["previous_total"] == 1_866_642_107
    assert round(losses["growth"] * 100, 1) == 28.4


def test_zero_year_uses_exact_interval_without_dividing_by_zero() -> None:
    log = _log({2015: 7, 2017: 3})
    result = yoy_growth(log).set_index("period")
    assert list(result.index) == ["2015", "2016", "2017"]
    empty = result.loc["2016"]  # 0 after 7
    assert empty["count"] == 0 and empty["growth"] == -1.0 and empty["method"] == "exact-conditional"
    # Clopper-Pearson upper limit for 0 of 7, as odds (R: poisson.test(c(0, 7), c(1, 1))$conf.int)
    upper = stats.beta.ppf(0.975, 1, 7) / (1 - stats.beta.ppf(0.975, 1, 7))
    assert empty["ci_low"] == -1.0 and empty["ci_high"] == pytest.approx(upper - 1)
    after = result.loc["2017"]  # 3 after 0: unbounded above
    assert np.isinf(after["growth"]) and np.isinf(after["ci_high"]) and after["ci_low"] > -1


def test_counts_fill_zero_periods_and_groups() -> None:
    log = _log({2014: 2, 2016: 1}, country=["US", "GB", "US"])
    counts = incident_counts(log, by="country")
    assert counts[["country", "period", "count"]].values.tolist() == [
        ["GB", "2014", 1], ["GB", "2015", 0], ["GB", "2016", 0],
        ["US", "2014", 1], ["US", "2015", 0], ["US", "2016", 1],
    ]  # fmt: skip


def test_exposure_days_adjusts_for_leap_years() -> None:
    log = _log({2015: 365, 2016: 366})
    result = yoy_growth(log, exposure="days").set_index("period").loc["2016"]
    assert result["growth"] == pytest.approx(0.0, abs=1e-12)
    assert (result["exposure"], result["previous_exposure"]) == (366.0, 365.0)
    mailboxes = yoy_growth(log, exposure={2015: 1000, 2016: 2000}).set_index("period").loc["2016"]
    assert mailboxes["rate_ratio"] == pytest.approx(366 / 2000 / (365 / 1000))


def test_year_to_date_compares_the_same_calendar_window() -> None:
    log = demo_incidents(seed=5)
    cut = pd.Timestamp("2016-06-30")
    log = log[log["occurred_on"] <= cut]
    with pytest.warns(IncompleteDataWarning, match="as_of='2016-06-30'"):
        yoy_growth(log)
    ytd = yoy_growth(log, as_of=cut).set_index("period")
    in_window = log["occurred_on"].dt.strftime("%m-%d") <= "06-30"
    expected = log[in_window].groupby(log["year"].astype(int)).size()
    assert ytd.loc["2016", "count"] == expected[2016]
    assert ytd.loc["2016", "previous_count"] == expected[2015]
    assert ytd.loc["2015", "previous_count"] == expected[2014]


def test_dispersion_is_pearson_statistic_of_monthly_counts() -> None:
    log = demo_incidents(seed=2016)
    row = yoy_growth(log).set_index("period").loc["2015"]
    months = log[log["year"].isin([2014, 2015])].groupby(["year", "month"]).size().unstack()
    means = months.mean(axis=1)
    chi2 = (((months.sub(means, axis=0)) ** 2).div(means, axis=0)).to_numpy().sum()
    assert row["dispersion"] == pytest.approx(chi2 / 22)
    assert row["dispersion_p_value"] == pytest.approx(stats.chi2.sf(chi2, 22))


TREND = pd.read_csv(RESULTS / "incidents_trend_reference.csv").set_index("model")


@pytest.mark.parametrize(
    ("model", "rtol"), [("poisson", 1e-7), ("quasi_poisson", 1e-7), ("negative_binomial", 1e-4)]
)
def test_trend_matches_r_glm(model: str, rtol: float) -> None:
    # R: glm(count ~ t + offset(log(days)), poisson / quasipoisson), MASS::glm.nb; confint.default.
    # The data file is incident_counts(demo_incidents(seed=2016), "month"); NB is fitted by
    # iterative ML in both, hence the looser tolerance.
    result = growth_trend(demo_incidents(seed=2016), model=model).iloc[0]
    reference = TREND.loc[model]
    assert_allclose(
        [result["annual_growth"], result["ci_low"], result["ci_high"]],
        np.expm1([reference["slope"], reference["ci_low"], reference["ci_high"]]),
        rtol=rtol,
    )
    assert result["dispersion"] == pytest.approx(reference["dispersion"], rel=1e-9)
    if model == "negative_binomial":
        assert 1 / result["alpha"] == pytest.approx(reference["theta"], rel=1e-3)


def test_trend_auto_switches_to_negative_binomial_when_overdispersed() -> None:
    result = growth_trend(demo_incidents(seed=2016)).iloc[0]
    assert result["model"] == "negative_binomial" and result["dispersion_p_value"] < 0.05


def test_cagr_transforms_the_endpoint_interval() -> None:
    log = _log({2014: 1000, 2015: 1380, 2016: 1560})
    result = cagr(log).iloc[0]
    ratio = poisson_rate_ratio(1560, 1, 1000, 1).iloc[0]
    assert result["cagr"] == pytest.approx((1560 / 1000) ** 0.5 - 1)
    assert_allclose([result["ci_low"], result["ci_high"]], np.sqrt([ratio["ci_low"], ratio["ci_high"]]) - 1)
    with pytest.raises(SurveykitError, match="does not cover"):
        cagr(log, start=2010)


SURVEY = pd.read_csv(RESULTS / "incidents_survey_data.csv")
SURVEY_R = pd.read_csv(RESULTS / "incidents_survey_reference.csv").set_index("design")


@pytest.mark.parametrize(("weight", "design"), [("weight", "weighted"), (None, "unweighted")])
def test_survey_growth_against_r_svyratio(weight: str | None, design: str) -> None:
    # R: svyratio(~incidents_12m, ~incidents_prev_12m, svydesign(ids = ~1, weights = ~weight))
    result = survey_growth(SURVEY, weight=weight, n_boot=2000, seed=7).iloc[0]
    reference = SURVEY_R.loc[design]
    assert result["ratio"] == pytest.approx(reference["ratio"], rel=1e-12)
    # The bootstrap SE estimates the same quantity as the linearisation SE; with n = 400 and 2000
    # replicates the Monte Carlo error is about 2%, the two estimators differ by O(1/n).
    assert result["se"] == pytest.approx(reference["se"], rel=0.10)
    assert result["ci_low"] < result["growth"] < result["ci_high"]
    assert result["method"] == "bootstrap BCa"


def test_survey_growth_is_seeded_and_groups() -> None:
    first = survey_growth(SURVEY, weight="weight", by="org_size", n_boot=500, seed=1, ci_method="percentile")
    second = survey_growth(SURVEY, weight="weight", by="org_size", n_boot=500, seed=1, ci_method="percentile")
    pd.testing.assert_frame_equal(first, second)
    assert list(first["org_size"]) == [0, 1, 2, 3]
    assert first["n"].sum() == len(SURVEY)


def test_unknown_options_name_the_choices() -> None:
    log = _log({2015: 3, 2016: 4})
    with pytest.raises(
        SurveykitError, match=r"period must be one of \['year', 'quarter', 'month'\], got 'week'"
    ):
        yoy_growth(log, period="week")
    with pytest.raises(SurveykitError, match="method must be one of"):
        yoy_growth(log, method="wald")
    with pytest.raises(SurveykitError, match="model must be one of"):
        growth_trend(demo_incidents(seed=1), model="zip")


def test_monthly_counts_leave_out_undated_incidents_with_a_warning() -> None:
    log = pd.concat([_log({2015: 2}), demo_incidents(seed=1)[["year", "month", "day"]]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        counts = incident_counts(log, "month")
    assert any(issubclass(w.category, IncompleteDataWarning) for w in caught)
    assert counts["count"].sum() == len(log) - 2


def test_survey_growth_rejects_a_negative_weight_naming_row_and_value() -> None:
    data = pd.DataFrame({"incidents_12m": [3, 4, 5], "incidents_prev_12m": [2, 2, 4], "w": [1.0, -2.5, 1.0]})
    with pytest.raises(WeightError, match=r"first at row 1: -2\.5"):
        survey_growth(data, weight="w")
