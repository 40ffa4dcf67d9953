"""Incident counts per period with exact Poisson intervals (surveykit/incidents/counts.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from surveykit import (
    IncompleteDataWarning,
    SmallSampleWarning,
    SurveykitError,
    demo_incidents,
    incident_counts,
)
from tests._incident_logs import year_log

CORE = ["estimate", "se", "ci_low", "ci_high", "n", "method", "flag"]


def test_columns_follow_the_result_vocabulary() -> None:
    counts = incident_counts(demo_incidents(seed=2016), by="country")
    assert list(counts.columns) == [
        "country", "period", *CORE, "count", "exposure", "period_start",
    ]  # fmt: skip
    assert (counts["n"] == counts["count"]).all()
    assert (counts["method"] == "exact poisson (garwood)").all()


@pytest.mark.parametrize(
    ("count", "low", "high"),
    [
        (0, 0.0, 3.68887945411394),  # R: poisson.test(0)$conf.int
        (3, 0.618672122895602, 8.767273069742323),  # R: poisson.test(3)$conf.int
        (1000, 938.973018407695, 1063.952136016302),  # R: poisson.test(1000)$conf.int
    ],
)
def test_garwood_interval_matches_r_poisson_test(count: int, low: float, high: float) -> None:
    log = year_log({2015: 40, 2016: count}) if count else year_log({2015: 40, 2017: 40})
    period = "2016"
    row = incident_counts(log, min_n=0).set_index("period").loc[period]
    assert row["estimate"] == count and row["se"] == pytest.approx(np.sqrt(count))
    assert_allclose([row["ci_low"], row["ci_high"]], [low, high], rtol=1e-12, atol=1e-300)


def test_rate_per_exposure_with_level() -> None:
    log = year_log({2015: 40, 2016: 12})
    row = incident_counts(log, exposure={2015: 365, 2016: 365}, level=0.9, min_n=0).iloc[1]
    assert row["estimate"] == pytest.approx(12 / 365)
    # R: poisson.test(12, 365, conf.level = 0.9)$conf.int
    assert_allclose([row["ci_low"], row["ci_high"]], [0.0189704452426989, 0.0532673132326439], rtol=1e-12)


def test_small_counts_are_suppressed_or_flagged() -> None:
    log = year_log({2014: 3, 2015: 12, 2016: 40})
    with pytest.warns(SmallSampleWarning, match="1 period counts .* suppressed"):
        counts = incident_counts(log)
    assert list(counts["flag"]) == ["suppressed", "caution", "ok"]
    suppressed = counts.iloc[0]
    assert suppressed[["estimate", "se", "ci_low", "ci_high"]].isna().all()
    assert (suppressed["n"], suppressed["count"]) == (3, 3)


def test_counts_fill_zero_periods_and_groups() -> None:
    log = year_log({2014: 2, 2016: 1}, country=["US", "GB", "US"])
    counts = incident_counts(log, by="country", min_n=0, caution_n=0)
    assert counts[["country", "period", "count"]].values.tolist() == [
        ["GB", "2014", 1], ["GB", "2015", 0], ["GB", "2016", 0],
        ["US", "2014", 1], ["US", "2015", 0], ["US", "2016", 1],
    ]  # fmt: skip


def test_monthly_counts_leave_out_undated_incidents_with_a_warning() -> None:
    log = pd.concat([year_log({2015: 2}), demo_incidents(seed=1)[["year", "month", "day"]]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        counts = incident_counts(log, "month")
    assert any(issubclass(w.category, IncompleteDataWarning) for w in caught)
    assert counts["count"].sum() == len(log) - 2


def test_bad_arguments_name_the_choices() -> None:
    log = year_log({2015: 30, 2016: 40})
    with pytest.raises(
        SurveykitError, match=r"period must be one of \['year', 'quarter', 'month'\]; got 'week'"
    ):
        incident_counts(log, period="week")
    with pytest.raises(SurveykitError, match="level must be a number strictly between 0 and 1"):
        incident_counts(log, level=95)
    with pytest.raises(SurveykitError, match="caution_n"):
        incident_counts(log, min_n=10, caution_n=5)
