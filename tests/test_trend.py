"""Annual growth from the monthly trend (surveykit/incidents/trend.py), checked against R glm
and MASS::glm.nb (tests/results/incidents_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from surveykit import SurveykitError, demo_incidents, growth_trend

RESULTS = Path(__file__).parent / "results"
TREND = pd.read_csv(RESULTS / "incidents_trend_reference.csv").set_index("model")
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
