"""Annual growth and the fitted monthly line of the trend (surveykit/incidents/trend.py), checked
against R glm and MASS::glm.nb (tests/results/incidents_reference.R and
tests/results/incidents_trend_line_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from surveykit import SmallSampleWarning, SurveykitError, demo_incidents, growth_trend, trend_line

RESULTS = Path(__file__).parent / "results"
TREND = pd.read_csv(RESULTS / "incidents_trend_reference.csv").set_index("model")
LINE = pd.read_csv(RESULTS / "incidents_trend_line_reference.csv")
LABELS = {
    "poisson": "poisson wald",
    "quasi_poisson": "quasi-poisson wald",
    "negative_binomial": "negative-binomial wald",
}


@pytest.mark.parametrize(
    ("method", "rtol"), [("poisson", 1e-7), ("quasi_poisson", 1e-7), ("negative_binomial", 1e-4)]
)
def test_trend_matches_r_glm(method: str, rtol: float) -> None:
    # R: glm(count ~ t + offset(log(days)), poisson / quasipoisson), MASS::glm.nb; confint.default.
    # The data file is incident_counts(demo_incidents(seed=2016), "month"); NB is fitted by
    # iterative ML in both, hence the looser tolerance.
    result = growth_trend(demo_incidents(seed=2016), method=method).iloc[0]
    reference = TREND.loc[method]
    assert_allclose(
        [result["estimate"], result["ci_low"], result["ci_high"]],
        np.expm1([reference["slope"], reference["ci_low"], reference["ci_high"]]),
        rtol=rtol,
    )
    # Delta method: se(exp(b) - 1) = exp(b) * se(b), R: sqrt(vcov(fit)["t", "t"])
    assert result["se"] == pytest.approx(np.exp(reference["slope"]) * reference["se"], rel=rtol)
    assert result["dispersion"] == pytest.approx(reference["dispersion"], rel=1e-9)
    assert result["method"] == LABELS[method]
    if method == "negative_binomial":
        assert 1 / result["alpha"] == pytest.approx(reference["theta"], rel=1e-3)


def test_trend_auto_switches_to_negative_binomial_when_overdispersed() -> None:
    result = growth_trend(demo_incidents(seed=2016)).iloc[0]
    assert result["method"] == "negative-binomial wald" and result["dispersion_p_value"] < 0.05


def test_trend_frame_follows_the_vocabulary() -> None:
    log = demo_incidents(seed=2016)
    result = growth_trend(log, by="country", method="poisson")
    assert list(result.columns) == [
        "country", "estimate", "se", "ci_low", "ci_high", "n", "method", "flag",
        "p_value", "dispersion", "dispersion_p_value", "alpha", "n_months", "start", "end",
    ]  # fmt: skip
    assert result["n"].sum() == len(log) and (result["n_months"] == 36).all()


def test_bad_options_name_the_choices() -> None:
    with pytest.raises(SurveykitError, match=r"method must be one of \['auto', 'poisson'.*; got 'zip'"):
        growth_trend(demo_incidents(seed=1), method="zip")
    with pytest.raises(SurveykitError, match="at least 6 months"):
        growth_trend(demo_incidents(seed=1), end="2014-03")
    with pytest.raises(SurveykitError, match=r"method must be one of .*; got 'zip'"):
        trend_line(demo_incidents(seed=1), method="zip")
    with pytest.raises(SurveykitError, match="at least 6 months"):
        trend_line(demo_incidents(seed=1), end="2014-03")


@pytest.mark.parametrize("method", ["poisson", "quasi_poisson", "negative_binomial"])
def test_trend_line_matches_r_predict(method: str) -> None:
    # R: p <- predict(fit, se.fit = TRUE, type = "link") for
    # fit <- glm(count ~ t + offset(log(days)), family = poisson / quasipoisson, data = tr) and
    # fit <- MASS::glm.nb(count ~ t + offset(log(days)), data = tr,
    #                     control = glm.control(epsilon = 1e-12, maxit = 100)),
    # tr = tests/results/incidents_trend_data.csv (incidents_trend_line_reference.R).
    line = trend_line(demo_incidents(seed=2016), method=method, level=0.9)
    reference = LINE[LINE["model"] == method]
    assert line["period"].tolist() == reference["period"].tolist()
    link, link_se = reference["link"].to_numpy(), reference["se_link"].to_numpy()
    assert_allclose(np.log(line["estimate"]), link, rtol=1e-6)
    assert_allclose(line["se"] / line["estimate"], link_se, rtol=1e-6)  # delta method: se = mu * se(eta)
    z = stats.norm.ppf(0.95)
    assert_allclose(line["ci_low"], np.exp(link - z * link_se), rtol=1e-6)
    assert_allclose(line["ci_high"], np.exp(link + z * link_se), rtol=1e-6)
    assert (line["method"] == LABELS[method]).all()


def test_trend_line_is_the_fit_growth_trend_reports() -> None:
    log = demo_incidents(seed=2016)
    line = trend_line(log, by="country")
    growth = growth_trend(log, by="country").set_index("country")
    for country, part in line.groupby("country"):
        assert part["method"].iloc[0] == growth.loc[country, "method"]
        assert part["annual_growth"].iloc[0] == pytest.approx(growth.loc[country, "estimate"], rel=1e-12)
        # Twelve months apart the fitted mean grows by exp(b) times the ratio of month lengths.
        first, later = part.iloc[0], part.iloc[12]
        days = first["period_start"].days_in_month, later["period_start"].days_in_month
        ratio = (later["estimate"] / days[1]) / (first["estimate"] / days[0])
        assert ratio == pytest.approx(1 + growth.loc[country, "estimate"], rel=1e-9)


def test_trend_line_frame_follows_the_vocabulary() -> None:
    log = demo_incidents(seed=2016)
    line = trend_line(log, by="country", end="2016-06")
    assert list(line.columns) == [
        "country", "period", "period_start", "estimate", "se", "ci_low", "ci_high", "n", "method",
        "flag", "count", "annual_growth",
    ]  # fmt: skip
    assert (line["n"] == line["count"]).all() and line["period"].max() == "2016-06"
    assert line.groupby("country").size().eq(30).all()
    months = log["year"].astype(str) + "-" + log["month"].map("{:02d}".format)
    observed = log[months <= "2016-06"].groupby(["country", months]).size()
    counts = line.set_index(["country", "period"])["count"]
    assert counts.eq(observed.reindex(counts.index, fill_value=0)).all()


def test_trend_line_suppresses_a_group_on_its_total_not_its_months() -> None:
    log = demo_incidents(seed=2016)
    few = log[(log["country"] != "ZA") | (log.index % 40 == 0)]  # ZA keeps about a dozen incidents
    with pytest.warns(SmallSampleWarning, match="trend lines"):
        line = trend_line(few, by="country", method="poisson", caution_n=100)
    za = line[line["country"] == "ZA"]
    assert (za["flag"] == "caution").all() and za["estimate"].notna().all()
    assert (za["count"] < 5).any()  # thin months keep their fitted value: the fit rests on the total
    with pytest.warns(SmallSampleWarning):
        tiny = trend_line(few, by="country", method="poisson", min_n=200, caution_n=200)
    za = tiny[tiny["country"] == "ZA"]
    assert (za["flag"] == "suppressed").all()
    assert za[["estimate", "se", "ci_low", "ci_high", "annual_growth"]].isna().all().all()
    assert za["count"].sum() == za["n"].sum() > 0
