"""Incident growth: rate ratios, year over year and CAGR (surveykit/incidents/growth.py).
Survey-reported growth is a design-based ratio, tested in tests/test_estimates.py.

Reference values are published figures or R output (tests/results/incidents_reference.R,
tests/results/incidents_yoy_reference.R).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from surveykit import (
    IncompleteDataWarning,
    SurveykitError,
    cagr,
    demo_incidents,
    poisson_rate_ratio,
    yoy_growth,
)
from tests._incident_logs import monthly_log, year_log

RESULTS = Path(__file__).parent / "results"
CORE = ["estimate", "se", "ci_low", "ci_high", "n", "method", "flag"]
UNCHECKED = "Overdispersion could not be checked"


def test_score_interval_reference() -> None:
    # statsmodels test suite / Gu et al. (2008): 60 events in 51,477.5 person-years vs 30 in
    # 54,308.7: ratio 2.1100, 95% score CI 1.365962 to 3.259306.
    result = poisson_rate_ratio(60, 51477.5, 30, 54308.7, method="score").iloc[0]
    assert result["rate_ratio"] == pytest.approx(2.1100, abs=5e-5)
    assert result["estimate"] == result["rate_ratio"] - 1
    assert_allclose([result["ci_low"], result["ci_high"]], [1.365962 - 1, 3.259306 - 1], atol=5e-7)
    assert result["method"] == "score"


def test_rate_ratio_frame_follows_the_vocabulary() -> None:
    result = poisson_rate_ratio(60, 51477.5, 30, 54308.7)
    assert list(result.columns) == [
        *CORE, "rate_ratio", "p_value", "count", "exposure", "previous_count", "previous_exposure",
    ]  # fmt: skip
    row = result.iloc[0]
    assert (row["n"], row["flag"]) == (90, "ok")
    # Delta method on the growth scale: se = R * sqrt(1 / x1 + 1 / x0).
    assert row["se"] == pytest.approx(row["rate_ratio"] * np.sqrt(1 / 60 + 1 / 30), rel=1e-12)


@pytest.mark.parametrize(
    "case", pd.read_csv(RESULTS / "incidents_poisson_exact_reference.csv").to_dict("records")
)
def test_exact_conditional_matches_r_poisson_test(case: dict[str, float]) -> None:
    # R: poisson.test(c(x1, x0), c(e1, e0)) (tests/results/incidents_reference.R)
    result = poisson_rate_ratio(case["x1"], case["e1"], case["x0"], case["e0"], method="exact").iloc[0]
    assert_allclose(
        [result["rate_ratio"], result["ci_low"] + 1, result["ci_high"] + 1, result["p_value"]],
        [case["estimate"], case["ci_low"], case["ci_high"], case["p_value"]],
        rtol=1e-9,
    )
    assert np.isnan(result["se"])  # the exact method gives no standard error


YOY_R = pd.read_csv(RESULTS / "incidents_yoy_reference.csv", keep_default_na=False)
STEADY = pd.read_csv(RESULTS / "incidents_yoy_steady_data.csv")


def _reference_row(case: dict[str, object]) -> pd.Series:
    """The surveykit row for a case of tests/results/incidents_yoy_reference.R."""
    if case["case"] == "steady":
        return yoy_growth(monthly_log(STEADY)).set_index("period").loc[case["period"]]
    log = demo_incidents(seed=2016)
    if case["case"] == "demo_cagr":
        return cagr(log).iloc[0]
    if case["case"] == "demo_days_90":
        return yoy_growth(log, exposure="days", level=0.9).set_index("period").loc[case["period"]]
    period = "quarter" if case["case"] == "demo_quarter" else "year"
    return yoy_growth(log, period=period).set_index("period").loc[case["period"]]


@pytest.mark.parametrize("case", YOY_R.to_dict("records"), ids=lambda c: f"{c['case']}-{c['period']}")
def test_auto_growth_interval_matches_r(case: dict[str, object]) -> None:
    # R: phi = summary(glm(count ~ factor(window), family = quasipoisson))$dispersion over the
    # two 12-month windows; uniroot of score_stat(R) / sqrt(phi) = +-qt(1 - a/2, df) when
    # pchisq(phi * df, df, lower.tail = FALSE) < 0.05, of score_stat(R) = +-qnorm(1 - a/2)
    # otherwise (tests/results/incidents_yoy_reference.R).
    row = _reference_row(case)
    assert row["method"] == case["method"]
    assert row["dispersion_df"] == case["dispersion_df"]
    columns = ["estimate", "ci_low", "ci_high", "rate_ratio", "p_value", "dispersion", "dispersion_p_value"]
    assert_allclose(row[columns].to_numpy(dtype=float), [case[c] for c in columns], rtol=1e-9)


def test_demo_growth_is_quasi_poisson_and_wider_than_score() -> None:
    log = demo_incidents(seed=2016)
    auto = yoy_growth(log).set_index("period")
    score = yoy_growth(log, method="score").set_index("period")
    assert (auto["method"] == "quasi-poisson score").all()
    assert (auto["dispersion"] > 4).all() and (auto["dispersion_p_value"] < 0.05).all()
    assert ((auto["ci_high"] - auto["ci_low"]) > 2 * (score["ci_high"] - score["ci_low"])).all()
    # The same point estimate; the quasi-Poisson se is the score one times sqrt(phi).
    assert_allclose(auto["estimate"], score["estimate"])
    assert_allclose(auto["se"], score["se"] * np.sqrt(auto["dispersion"]), rtol=1e-12)
    forced = yoy_growth(log, method="quasi_poisson")
    assert_allclose(forced["ci_high"], auto["ci_high"].to_numpy())


def test_auto_keeps_the_score_interval_for_poisson_counts() -> None:
    log = monthly_log(STEADY)
    auto = yoy_growth(log).iloc[0]
    score = yoy_growth(log, method="score").iloc[0]
    # The quasi-Poisson interval would be the narrower: t(0.975; 22)^2 phi < z(0.975)^2.
    assert auto["method"] == "score" and auto["dispersion"] < (1.959964 / 2.073873) ** 2
    assert (auto["ci_low"], auto["ci_high"]) == (score["ci_low"], score["ci_high"])


def test_auto_widens_for_mild_overdispersion_the_test_would_miss() -> None:
    # Pearson chi-square (12 * 7^2 / 50 + 12 * 8^2 / 60) = 24.56 on 22 df: phi = 1.116, not
    # significant (p = 0.32), but enough to widen the interval; a 5% pre-test would keep the
    # too-narrow Poisson interval (bench/coverage.py: 92.6% coverage at phi = 1.5).
    months = pd.DataFrame(
        {
            "year": np.repeat([2015, 2016], 12),
            "month": np.tile(np.arange(1, 13), 2),
            "count": np.concatenate([50 + np.tile([7, -7], 6), 60 + np.tile([8, -8], 6)]),
        }
    )
    auto = yoy_growth(monthly_log(months)).iloc[0]
    assert auto["dispersion"] == pytest.approx(24.56 / 22)
    assert (
        auto["dispersion_p_value"] == pytest.approx(stats.chi2.sf(24.56, 22))
        and auto["dispersion_p_value"] > 0.3
    )
    assert auto["method"] == "quasi-poisson score"
    score = yoy_growth(monthly_log(months), method="score").iloc[0]
    assert auto["ci_high"] - auto["ci_low"] > score["ci_high"] - score["ci_low"]


def test_ic3_bec_complaints() -> None:
    # FBI IC3 Internet Crime Reports 2020 and 2021, business email compromise:
    # 19,369 -> 19,954 complaints (+3.0%).
    log = year_log({2020: 19_369, 2021: 19_954})
    with pytest.warns(IncompleteDataWarning, match=UNCHECKED):
        growth = yoy_growth(log).set_index("period").loc["2021"]
    assert (growth["count"], growth["previous_count"], growth["n"]) == (19_954, 19_369, 39_323)
    assert round(growth["estimate"] * 100, 1) == 3.0
    assert growth["ci_low"] < growth["estimate"] < growth["ci_high"]
    # Without monthly counts "auto" is the two-count score interval.
    direct = poisson_rate_ratio(19_954, 1, 19_369, 1).iloc[0]
    assert_allclose([growth["ci_low"], growth["ci_high"]], [direct["ci_low"], direct["ci_high"]])
    assert growth["method"] == "score" and growth["dispersion_df"] == 0


def test_quasi_poisson_needs_monthly_counts() -> None:
    with pytest.raises(SurveykitError, match="method='quasi_poisson' needs monthly counts"):
        yoy_growth(year_log({2015: 30, 2016: 40}), method="quasi_poisson")


def test_zero_year_uses_exact_interval_without_dividing_by_zero() -> None:
    log = year_log({2015: 7, 2017: 3})
    with pytest.warns(IncompleteDataWarning, match=UNCHECKED):
        result = yoy_growth(log, min_n=0).set_index("period")
    assert list(result.index) == ["2016", "2017"]  # 2015 has no year before it
    empty = result.loc["2016"]  # 0 after 7
    assert empty["count"] == 0 and empty["estimate"] == -1.0 and empty["method"] == "exact-conditional"
    # Clopper-Pearson upper limit for 0 of 7, as odds (R: poisson.test(c(0, 7), c(1, 1))$conf.int)
    upper = stats.beta.ppf(0.975, 1, 7) / (1 - stats.beta.ppf(0.975, 1, 7))
    assert empty["ci_low"] == -1.0 and empty["ci_high"] == pytest.approx(upper - 1)
    after = result.loc["2017"]  # 3 after 0: unbounded above
    assert np.isinf(after["estimate"]) and np.isinf(after["ci_high"]) and after["ci_low"] > -1
    assert np.isnan(after["se"])


def test_small_comparisons_are_suppressed() -> None:
    log = year_log({2015: 2, 2016: 2, 2017: 20})
    with pytest.warns(IncompleteDataWarning), pytest.warns(UserWarning, match="suppressed"):
        result = yoy_growth(log).set_index("period")
    assert list(result["flag"]) == ["suppressed", "caution"]
    assert result.loc["2016", ["estimate", "se", "ci_low", "ci_high", "rate_ratio", "p_value"]].isna().all()


def test_exposure_days_adjusts_for_leap_years() -> None:
    log = year_log({2015: 365, 2016: 366})
    with pytest.warns(IncompleteDataWarning, match=UNCHECKED):
        result = yoy_growth(log, exposure="days").set_index("period").loc["2016"]
    assert result["estimate"] == pytest.approx(0.0, abs=1e-12)
    assert (result["exposure"], result["previous_exposure"]) == (366.0, 365.0)
    with pytest.warns(IncompleteDataWarning, match=UNCHECKED):
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
    # The dispersion uses the 12 months ending with June of each year: July 2014 to June 2016.
    assert ytd.loc["2016", "dispersion_df"] == 22


def test_dispersion_is_pearson_statistic_of_monthly_counts() -> None:
    log = demo_incidents(seed=2016)
    row = yoy_growth(log).set_index("period").loc["2015"]
    months = log[log["year"].isin([2014, 2015])].groupby(["year", "month"]).size().unstack()
    means = months.mean(axis=1)
    chi2 = (((months.sub(means, axis=0)) ** 2).div(means, axis=0)).to_numpy().sum()
    assert row["dispersion"] == pytest.approx(chi2 / 22)
    assert row["dispersion_p_value"] == pytest.approx(stats.chi2.sf(chi2, 22))


def test_cagr_transforms_the_endpoint_interval() -> None:
    log = year_log({2014: 1000, 2015: 1380, 2016: 1560})
    with pytest.warns(IncompleteDataWarning, match=UNCHECKED):
        result = cagr(log).iloc[0]
    ratio = poisson_rate_ratio(1560, 1, 1000, 1).iloc[0]
    assert result["estimate"] == pytest.approx((1560 / 1000) ** 0.5 - 1)
    assert result["rate_ratio"] == pytest.approx(1.56)
    assert_allclose(
        [result["ci_low"], result["ci_high"]], np.sqrt([ratio["ci_low"] + 1, ratio["ci_high"] + 1]) - 1
    )
    # Delta method: d/dR R^(1/2) = R^(1/2) / (2 R), on se(log R) = sqrt(1/1560 + 1/1000).
    assert result["se"] == pytest.approx(np.sqrt(1.56) / 2 * np.sqrt(1 / 1560 + 1 / 1000), rel=1e-12)
    with pytest.raises(SurveykitError, match="does not cover"):
        cagr(log, start=2010)


def test_cagr_frame_follows_the_vocabulary() -> None:
    result = cagr(demo_incidents(seed=2016), by="country")
    assert list(result.columns[:10]) == ["country", "start", "end", *CORE]
    assert (result["method"] == "quasi-poisson score").any()


def test_unknown_options_name_the_choices() -> None:
    log = year_log({2015: 3, 2016: 4})
    with pytest.raises(
        SurveykitError, match=r"period must be one of \['year', 'quarter', 'month'\]; got 'week'"
    ):
        yoy_growth(log, period="week")
    methods = r"\['auto', 'score', 'quasi_poisson', 'exact'\]"
    with pytest.raises(SurveykitError, match=rf"method must be one of {methods}; got 'wald'"):
        yoy_growth(log, method="wald")
    with pytest.raises(SurveykitError, match=r"method must be one of \['auto', 'score', 'exact'\]"):
        poisson_rate_ratio(3, 1, 4, 1, method="quasi_poisson")
    with pytest.raises(TypeError):
        yoy_growth(log, "year", None, None, 0.9)  # level is keyword-only
