"""Kaplan-Meier time to resolve, checked against R survival (tests/results/incidents_reference.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from statsmodels.duration.survfunc import SurvfuncRight

from surveykit import (
    IncompleteDataWarning,
    SurveykitError,
    demo_incidents,
    kaplan_meier,
    km_quantiles,
    time_to_resolve,
)

RESULTS = Path(__file__).parent / "results"
KM_DATA = pd.read_csv(RESULTS / "incidents_km_data.csv")
# R: quantile(survfit(Surv(time, status) ~ 1, data = d, conf.type = ct), c(.5, .9))
KM_REFERENCE = pd.read_csv(RESULTS / "incidents_km_reference.csv")


@pytest.mark.parametrize("method", ["log", "log-log", "plain"])
@pytest.mark.parametrize("dataset", ["lognormal", "aml", "flat", "lastpt"])
def test_quantiles_match_r_survfit(dataset: str, method: str) -> None:
    data = KM_DATA[KM_DATA["dataset"] == dataset]
    curve = kaplan_meier(data["time"], data["status"] == 1, method=method, min_n=0, caution_n=0)
    got = km_quantiles(curve, (0.5, 0.9), min_n=0, caution_n=0)
    expected = KM_REFERENCE[(KM_REFERENCE["dataset"] == dataset) & (KM_REFERENCE["conf_type"] == method)]
    for column in ("estimate", "ci_low", "ci_high"):
        assert_allclose(got[column], expected[column], rtol=1e-12, equal_nan=True, err_msg=column)
    assert got["se"].isna().all() and (got["method"] == f"kaplan-meier, {method}").all()
    assert (got["n"] == len(data)).all()


def test_curve_matches_statsmodels() -> None:
    data = KM_DATA[KM_DATA["dataset"] == "aml"]
    curve = kaplan_meier(data["time"], data["status"] == 1, min_n=0, caution_n=0)
    reference = SurvfuncRight(data["time"], data["status"])
    events = curve[curve["n_event"] > 0]
    assert_allclose(events["time"], reference.surv_times)
    assert_allclose(events["estimate"], reference.surv_prob, rtol=1e-12)
    # statsmodels reports the Greenwood SE of S (our se); R's std.err is that of the cumulative
    # hazard (our std_err).
    assert_allclose(events["se"], reference.surv_prob_se, rtol=1e-12)
    assert_allclose(events["std_err"] * events["estimate"], reference.surv_prob_se, rtol=1e-12)


def test_curve_frame_follows_the_vocabulary() -> None:
    curve = kaplan_meier([1, 2, 3, 4], [True] * 4, min_n=0, caution_n=0)
    assert list(curve.columns) == [
        "time", "estimate", "se", "ci_low", "ci_high", "n", "method", "flag",
        "n_risk", "n_event", "n_censor", "std_err",
    ]  # fmt: skip
    # R: summary(survfit(Surv(1:4, rep(1, 4)) ~ 1))$std.err: 0.2165064 0.25 0.2165064 NaN
    assert_allclose(curve["se"], [np.sqrt(3) / 8, 0.25, np.sqrt(3) / 8, np.nan], rtol=1e-12)
    assert (curve["n"] == 4).all() and (curve["method"] == "kaplan-meier, log").all()
    with pytest.warns(UserWarning, match="suppressed"):
        small = kaplan_meier([1, 2, 3, 4], [True] * 4)
    assert (small["flag"] == "suppressed").all() and small["estimate"].isna().all()


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
    result = time_to_resolve(log, as_of=start + pd.Timedelta(hours=6), min_n=0, caution_n=0)
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
    assert list(result.columns) == [
        "incident_type", "quantile", "estimate", "se", "ci_low", "ci_high", "n", "method", "flag",
        "n_resolved", "n_censored", "unit",
    ]  # fmt: skip


def test_incidents_detected_after_as_of_are_left_out_with_a_warning() -> None:
    # Bug: they were dropped silently (their duration to as_of is negative).
    start = pd.Timestamp("2016-01-01")
    log = pd.DataFrame(
        {
            "detected_at": [start] * 6 + [start + pd.Timedelta(days=10)] * 2,
            "resolved_at": [start + pd.Timedelta(hours=h) for h in range(1, 7)] + [pd.NaT] * 2,
        }
    )
    with pytest.warns(IncompleteDataWarning, match=r"2 incidents left out: detected after as_of"):
        result = time_to_resolve(log, as_of=start + pd.Timedelta(days=1), min_n=0, caution_n=0)
    assert (result["n"] == 6).all() and (result["n_censored"] == 0).all()


def test_resolved_before_detected_is_an_error() -> None:
    start = pd.Timestamp("2016-01-01")
    log = pd.DataFrame({"detected_at": [start, start], "resolved_at": [start, start - pd.Timedelta(hours=1)]})
    with pytest.raises(SurveykitError, match="1 incidents are resolved before they were detected"):
        time_to_resolve(log)


def test_bad_options_name_the_choices() -> None:
    with pytest.raises(
        SurveykitError, match=r"method must be one of \['log', 'log-log', 'plain'\]; got 'arcsine'"
    ):
        kaplan_meier([1, 2], [True, False], method="arcsine")
    with pytest.raises(SurveykitError, match="unit must be one of"):
        time_to_resolve(demo_incidents(seed=1), unit="weeks")


def test_resolution_curve_is_the_kaplan_meier_curve_of_each_group() -> None:
    import surveykit as sk

    log = sk.demo_incidents()
    curves = sk.resolution_curve(log, by="incident_type", unit="hours")
    quantiles = sk.time_to_resolve(log, by="incident_type", unit="hours")
    outage = log[log["incident_type"] == "email_outage"]
    cutoff = max(outage["detected_at"].max(), log["resolved_at"].max(), log["detected_at"].max())
    hours = (outage["resolved_at"].fillna(cutoff) - outage["detected_at"]).dt.total_seconds() / 3600
    expected = sk.kaplan_meier(hours, outage["resolved_at"].notna())
    got = curves[curves["incident_type"] == "email_outage"].reset_index(drop=True)
    pd.testing.assert_frame_equal(got.drop(columns=["incident_type", "unit"]), expected)
    median = quantiles[(quantiles["incident_type"] == "email_outage") & (quantiles["quantile"] == 0.5)]
    assert median["estimate"].iloc[0] == sk.km_quantiles(expected, [0.5])["estimate"].iloc[0]
