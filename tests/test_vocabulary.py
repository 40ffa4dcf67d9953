"""Every public estimator speaks the one result vocabulary of docs/results.md.

Each estimator runs on the demo data; its frame must hold the core columns ``estimate, se,
ci_low, ci_high, n, method, flag`` contiguously and in that order, every interval must contain
its estimate where all three are present, ``method`` must be filled and ``flag`` must be one of
the three disclosure flags.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit._results import CORE_COLUMNS


@cache
def demo() -> tuple[sk.SurveyDesign, sk.SurveyDesign, pd.DataFrame]:
    responses = sk.demo_responses()
    plain = sk.SurveyDesign(responses)
    raked = plain.rake(sk.demo_margins())
    return plain, raked, sk.demo_incidents()


def survey_estimators() -> dict[str, Callable[[], pd.DataFrame]]:
    plain, raked, _ = demo()
    return {
        "proportions": lambda: raked.proportions("whaling_trend", by="country"),
        "proportions (select-multiple)": lambda: plain.proportions("impersonated_roles", by="wave"),
        "mean": lambda: raked.mean("outages_12m", by="country"),
        "total": lambda: raked.total("incidents_12m", by="wave"),
        "ratio": lambda: raked.ratio("incidents_12m", "incidents_prev_12m", by="country"),
        "quantile": lambda: raked.quantile("longest_outage_hours", [0.5, 0.9], by="wave"),
        "survey_growth": lambda: sk.survey_growth(raked, by="country"),
        "change": lambda: raked.change("whaling_trend", "increased", by="country"),
        "pairwise": lambda: raked.pairwise("ciso_present", "yes", by="country"),
        "crosstab row": lambda: raked.crosstab("country", "ciso_present"),
        "crosstab column": lambda: plain.crosstab("country", "ciso_present", share="column"),
        "crosstab cell": lambda: raked.crosstab("country", "ciso_present", share="cell"),
    }


def incident_estimators() -> dict[str, Callable[[], pd.DataFrame]]:
    _, _, log = demo()
    return {
        "incident_counts": lambda: sk.incident_counts(log, by="country"),
        "yoy_growth": lambda: sk.yoy_growth(log, by="incident_type"),
        "poisson_rate_ratio": lambda: sk.poisson_rate_ratio(1560, 1.0, 1380, 1.0),
        "cagr": lambda: sk.cagr(log),
        "growth_trend": lambda: sk.growth_trend(log),
        "trend_line": lambda: sk.trend_line(log, by="country"),
        "loss_growth": lambda: sk.loss_growth(log, n_boot=200),
        "time_to_resolve": lambda: sk.time_to_resolve(log, by="incident_type"),
        "resolution_curve": lambda: sk.resolution_curve(log, by="incident_type"),
        "kaplan_meier": lambda: sk.kaplan_meier(
            [1.0, 2.0, 2.0, 5.0, 8.0, 9.0], [True, True, False, True, False, True]
        ),
    }


def all_estimators() -> dict[str, Callable[[], pd.DataFrame]]:
    return {**survey_estimators(), **incident_estimators()}


NAMES = [
    "proportions",
    "proportions (select-multiple)",
    "mean",
    "total",
    "ratio",
    "quantile",
    "survey_growth",
    "change",
    "pairwise",
    "crosstab row",
    "crosstab column",
    "crosstab cell",
    "incident_counts",
    "yoy_growth",
    "poisson_rate_ratio",
    "cagr",
    "growth_trend",
    "trend_line",
    "loss_growth",
    "time_to_resolve",
    "resolution_curve",
    "kaplan_meier",
]


def test_every_public_estimator_is_checked() -> None:
    assert list(all_estimators()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_estimator_follows_the_vocabulary(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = all_estimators()[name]()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0
    columns = list(frame.columns)
    missing = [c for c in CORE_COLUMNS if c not in columns]
    assert not missing, f"{name} lacks {missing}; columns: {columns}"
    start = columns.index("estimate")
    assert tuple(columns[start : start + len(CORE_COLUMNS)]) == CORE_COLUMNS, columns
    values = frame[["ci_low", "estimate", "ci_high"]].to_numpy(dtype=float)
    complete = np.isfinite(values).all(axis=1)
    assert (values[complete, 0] <= values[complete, 1] + 1e-12).all(), name
    assert (values[complete, 1] <= values[complete, 2] + 1e-12).all(), name
    methods = frame["method"].astype("string")
    assert methods.notna().all() and (methods.str.len() > 0).all(), f"{name}: method not filled"
    assert set(frame["flag"]) <= {"ok", "caution", "suppressed"}, set(frame["flag"])
    suppressed = frame["flag"] == "suppressed"
    assert frame.loc[suppressed, ["estimate", "se", "ci_low", "ci_high"]].isna().all().all()


def test_the_vocabulary_is_documented_once() -> None:
    from pathlib import Path

    document = (Path(__file__).parents[1] / "docs" / "results.md").read_text()
    for column in CORE_COLUMNS:
        assert f"`{column}`" in document


def test_small_sample_warnings_point_at_the_callers_line() -> None:
    # The warning names the analyst's line, not the estimator's internals.
    plain, _, log = demo()
    with pytest.warns(sk.SmallSampleWarning) as survey_record:
        plain.subset(plain.data["country"] == "ZA").proportions("impersonated_roles", by="org_size")
    with pytest.warns(sk.SmallSampleWarning) as incident_record:
        sk.incident_counts(log.head(20))
    assert {w.filename for w in [*survey_record, *incident_record]} == {__file__}
