"""Property tests (hypothesis) for interval methods and the design estimator."""

from __future__ import annotations

from typing import get_args

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from surveykit import SurveyDesign, binomial_confint, survey_confint
from surveykit.survey.proportions import BinomialMethod, SurveyMethod

SURVEY_METHODS = list(get_args(SurveyMethod))
BINOMIAL_METHODS = list(get_args(BinomialMethod))

proportions = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))
levels = st.floats(0.5, 0.995)


@st.composite
def survey_cells(draw: st.DrawFn) -> tuple[float, float, int, int]:
    p = draw(proportions)
    n = draw(st.integers(2, 5000))
    df = draw(st.integers(1, n - 1))
    deff = draw(st.floats(0.3, 8.0))
    variance = p * (1 - p) / n * deff
    return p, variance, n, df


@settings(max_examples=150, deadline=None)
@given(cell=survey_cells(), method=st.sampled_from(SURVEY_METHODS), level=levels)
def test_survey_interval_contains_estimate_within_unit_interval(
    cell: tuple[float, float, int, int], method: str, level: float
) -> None:
    p, variance, n, df = cell
    low, high = survey_confint(p, variance, n, df, level=level, method=method)
    assert 0.0 <= low <= p + 1e-12
    assert p - 1e-12 <= high <= 1.0
    assert high > low


@settings(max_examples=150, deadline=None)
@given(cell=survey_cells(), method=st.sampled_from(SURVEY_METHODS), a=levels, b=levels)
def test_survey_interval_widens_with_level(
    cell: tuple[float, float, int, int], method: str, a: float, b: float
) -> None:
    p, variance, n, df = cell
    small, large = sorted((a, b))
    low_s, high_s = survey_confint(p, variance, n, df, level=small, method=method)
    low_l, high_l = survey_confint(p, variance, n, df, level=large, method=method)
    assert low_l <= low_s + 1e-12
    assert high_l >= high_s - 1e-12


@settings(max_examples=150, deadline=None)
@given(data=st.data(), method=st.sampled_from(BINOMIAL_METHODS), a=levels, b=levels)
def test_binomial_interval_properties(data: st.DataObject, method: str, a: float, b: float) -> None:
    n = data.draw(st.integers(1, 3000))
    x = data.draw(st.integers(0, n))
    small, large = sorted((a, b))
    low_s, high_s = binomial_confint(x, n, level=small, method=method)
    low_l, high_l = binomial_confint(x, n, level=large, method=method)
    assert 0.0 <= low_l <= low_s + 1e-12 <= x / n + 2e-12
    assert x / n - 2e-12 <= high_s <= high_l + 1e-12 <= 1.0 + 2e-12


@st.composite
def survey_frames(draw: st.DrawFn) -> pd.DataFrame:
    n_strata = draw(st.integers(1, 3))
    rows = []
    for h in range(n_strata):
        for j in range(draw(st.integers(2, 4))):
            for _ in range(draw(st.integers(1, 6))):
                rows.append(
                    {
                        "stratum": h,
                        "psu": f"{h}-{j}",
                        "weight": draw(st.floats(0.5, 50.0)),
                        "region": draw(st.sampled_from(["a", "b", "c"])),
                        "answer": draw(st.sampled_from(["yes", "no", "dont_know", None])),
                    }
                )
    frame = pd.DataFrame(rows)
    frame["answer"] = frame["answer"].astype("string")
    if frame["answer"].isna().all():
        frame.loc[0, "answer"] = "yes"
    return frame


def _estimates(frame: pd.DataFrame, weight: str = "weight") -> pd.DataFrame:
    design = SurveyDesign(frame, weight=weight, strata="stratum", psu="psu", min_n=0, caution_n=0)
    result = design.proportions("answer", by="region")
    return result.sort_values(["region", "category"]).reset_index(drop=True)


COLUMNS = ["estimate", "se", "ci_low", "ci_high", "n", "df"]


@settings(max_examples=60, deadline=None)
@given(frame=survey_frames(), seed=st.integers(0, 2**32 - 1))
def test_invariant_to_row_order(frame: pd.DataFrame, seed: int) -> None:
    shuffled = frame.sample(frac=1.0, random_state=np.random.RandomState(seed))
    assert_allclose(_estimates(frame)[COLUMNS], _estimates(shuffled)[COLUMNS], rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(frame=survey_frames(), factor=st.floats(1e-3, 1e4))
def test_invariant_to_scaling_weights(frame: pd.DataFrame, factor: float) -> None:
    scaled = frame.assign(weight=frame["weight"] * factor)
    assert_allclose(_estimates(frame)[COLUMNS], _estimates(scaled)[COLUMNS], rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(frame=survey_frames())
def test_design_intervals_bracket_estimates(frame: pd.DataFrame) -> None:
    result = _estimates(frame).dropna(subset=["ci_low"])
    assert (result["ci_low"] >= 0).all() and (result["ci_high"] <= 1).all()
    assert (result["ci_low"] <= result["estimate"] + 1e-12).all()
    assert (result["ci_high"] >= result["estimate"] - 1e-12).all()
    shares = _estimates(frame).groupby("region")["estimate"].sum(min_count=1)
    assert_allclose(shares.dropna(), 1.0)
