"""Kaplan-Meier time to resolve, checked against R survival (tests/results/incidents_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from statsmodels.duration.survfunc import SurvfuncRight

from surveykit import SurveykitError, demo_incidents, kaplan_meier, km_quantiles, time_to_resolve

RESULTS = Path(__file__).parent / "results"
KM_DATA = pd.read_csv(RESULTS / "incidents_km_data.csv")
# R: quantile(survfit(Surv(time, status) ~ 1, data = d, conf.type = ct), c(.5, .9))
KM_REFERENCE = pd.read_csv(RESULTS / "incidents_km_reference.csv")


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
@pytest.mark.parametrize("dataset", ["lognormal", "aml", "flat", "lastpt"])
def test_quantiles_match_r_survfit(dataset: str, conf_type: str) -> None:
    data = KM_DATA[KM_DATA["dataset"] == dataset]
    curve = kaplan_meier(data["time"], data["status"] == 1, conf_type=conf_type)
    got = km_quantiles(curve, (0.5, 0.9))
    expected = KM_REFERENCE[(KM_REFERENCE["dataset"] == dataset) & (KM_REFERENCE["conf_type"] == conf_type)]
    for column in ("estimate", "ci_low", "ci_high"):
        assert_allclose(got[column], expected[column], rtol=1e-12, equal_nan=True, err_msg=column)


def test_curve_matches_statsmodels() -> None:
    data = KM_DATA[KM_DATA["dataset"] == "aml"]
    curve = kaplan_meier(data["time"], data["status"] == 1)
    reference = SurvfuncRight(data["time"], data["status"])
    events = curve[curve["n_event"] > 0]
    assert_allclose(events["time"], reference.surv_times)
    assert_allclose(events["survival"], reference.surv_prob, rtol=1e-12)
    # statsmodels reports the Greenwood SE of S; R's std.err is that of the cumulative hazard.
    assert_allclose(events["std_err"] * events["survival"], reference.surv_prob_se, rtol=1e-12)


def test_time_to_resolve_censors_unresolved_at_as_of() -> None:
    start = pd.Timestamp("2016-01-01")
    hours = [1, 2, 3, 4, 5, 6]
    log = pd.DataFrame(
        {
            "incident_type": ["email_outage"] * 6,
            "detected_at": [start] * 6,
            "resolved_at": [start + pd.Timedelta(hours=h) for h in hours[:3]] + [pd.NaT] * 3,
        }
    )
    result = time_to_resolve(log, as_of=start + pd.Timedelta(hours=6))
    # Same data as the "lastpt" R case: events at 1, 2, 3; censored at 6 (R gives 4.5 = (3 + 6) / 2)
    median = result[result["quantile"] == 0.5].iloc[0]
    assert median["estimate"] == pytest.approx(4.5)
    assert (median["n"], median["n_resolved"], median["n_censored"]) == (6, 3, 3)
    assert np.isnan(result[result["quantile"] == 0.9].iloc[0]["estimate"])  # not reached


def test_dropping_unresolved_would_bias_down() -> None:
    log = demo_incidents(seed=3)
    result = time_to_resolve(log, by="incident_type", unit="hours")
    outage = result[(result["incident_type"] == "email_outage") & (result["quantile"] == 0.5)].iloc[0]
    assert outage["ci_low"] <= outage["estimate"] <= outage["ci_high"]
    # demo outages are clipped to 1 hour .. 1 week
    assert 1 <= outage["estimate"] <= 168
    assert set(result.columns) >= {"incident_type", "quantile", "estimate", "ci_low", "ci_high", "method"}


def test_bad_options_name_the_choices() -> None:
    with pytest.raises(SurveykitError, match="conf_type must be one of"):
        kaplan_meier([1, 2], [True, False], conf_type="arcsine")
    with pytest.raises(SurveykitError, match="unit must be one of"):
        time_to_resolve(demo_incidents(seed=1), unit="weeks")
