"""Growth in reported losses with a compound-Poisson bootstrap (surveykit/incidents/losses.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surveykit import SurveykitError, demo_incidents, loss_growth
from tests._incident_logs import year_log

CORE = ["estimate", "se", "ci_low", "ci_high", "n", "method", "flag"]
BOOTSTRAP = "compound-poisson bootstrap percentile"


def test_ic3_bec_losses() -> None:
    # FBI IC3 Internet Crime Reports 2020 and 2021, business email compromise:
    # $1,866,642,107 -> $2,395,953,296 (+28.4%) on 19,369 and 19,954 complaints.
    log = year_log({2020: 19_369, 2021: 19_954}, losses={2020: 1_866_642_107, 2021: 2_395_953_296})
    losses = loss_growth(log, n_boot=200).set_index("period").loc["2021"]
    assert losses["total"] == 2_395_953_296 and losses["previous_total"] == 1_866_642_107
    assert round(losses["estimate"] * 100, 1) == 28.4
    assert losses["ratio"] == pytest.approx(losses["estimate"] + 1)
    assert losses["ci_low"] < losses["estimate"] < losses["ci_high"]
    assert (losses["n"], losses["method"]) == (19_369 + 19_954, BOOTSTRAP)


def test_frame_follows_the_vocabulary_and_is_seeded() -> None:
    log = demo_incidents(seed=2016)
    first = loss_growth(log, by="country", n_boot=300, seed=3)
    assert list(first.columns) == [
        "country", "period", *CORE, "ratio", "total", "previous_total", "count", "previous_count",
    ]  # fmt: skip
    pd.testing.assert_frame_equal(first, loss_growth(log, by="country", n_boot=300, seed=3))
    assert (first["n"] == first["count"] + first["previous_count"]).all()


def test_a_period_without_losses_is_compared_as_a_zero_total() -> None:
    # Bug: 2015 (incidents but no losses) was taken for "no previous period", so 2016 had no
    # growth at all; it is growth from zero, and 2015 is a fall of 100%.
    log = year_log({2014: 10, 2015: 10, 2016: 10})
    log["loss_amount"] = pd.array([100.0] * 10 + [np.nan] * 10 + [150.0] * 10, dtype="Float64")
    result = loss_growth(log, n_boot=200, min_n=0, caution_n=0).set_index("period")
    assert list(result.index) == ["2015", "2016"]
    after = result.loc["2016"]
    assert after["previous_total"] == 0 and after["previous_count"] == 0 and after["count"] == 10
    assert np.isinf(after["estimate"]) and np.isinf(after["ratio"])
    assert after[["se", "ci_low", "ci_high"]].isna().all()
    assert after["method"] == "not estimable: no losses in the previous period"
    fall = result.loc["2015"]
    assert fall["estimate"] == -1.0 and fall["method"] == "no interval: no losses in the current period"


def test_a_period_without_losses_in_a_group_is_a_zero_total() -> None:
    log = year_log(
        {2015: 4, 2016: 4}, losses={2015: 400, 2016: 800}, country=["US"] * 4 + ["GB", "US", "US", "US"]
    )
    result = loss_growth(log, by="country", n_boot=200, min_n=0, caution_n=0).set_index("country")
    assert np.isinf(result.loc["GB", "estimate"])  # GB: nothing in 2015, 200 in 2016
    assert result.loc["US", "estimate"] == pytest.approx(600 / 400 - 1)


def test_few_previous_losses_still_give_an_interval() -> None:
    # Bug: with 2 previous losses, exp(-2) = 14% of replicates had no previous losses and a zero
    # denominator, and the percentile interval came out NaN. Replicates are now conditional on
    # a positive previous total.
    log = year_log({2015: 2, 2016: 3}, losses={2015: 2000, 2016: 3300})
    row = loss_growth(log, n_boot=2000, min_n=0, caution_n=0).iloc[0]
    assert row["method"] == BOOTSTRAP
    assert np.isfinite([row["se"], row["ci_low"], row["ci_high"]]).all()
    assert -1 <= row["ci_low"] < row["estimate"] < row["ci_high"]


def test_bad_arguments() -> None:
    log = year_log({2015: 2, 2016: 3}, losses={2015: 2000, 2016: 3300})
    with pytest.raises(SurveykitError, match="n_boot must be a whole number of at least 100; got 10"):
        loss_growth(log, n_boot=10)
    with pytest.raises(SurveykitError, match="no year has the same year a year earlier"):
        loss_growth(year_log({2016: 3}, losses={2016: 30}))
    with pytest.raises(SurveykitError, match="'loss_amount' is not in the data"):
        loss_growth(year_log({2016: 3}))
