"""Calibrated designs against R's survey package: rake(), postStratify() and calibrate().

Reference values come from tests/results/design_reference.R (run from the repository root with
``Rscript tests/results/design_reference.R``; R 4.2.2, survey 4.1-1), which reads the data sets
written by survey_reference.R and stores every result with the R call that produced it in
tests/results/design_reference.json. Each test prints that call on failure. The analysis domain
is the respondents who answered, taken after calibration: ``subset(calibrated, !is.na(answer))``.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from surveykit import DesignError, SurveyDesign, WeightError
from tests.test_design import RESULTS, RTOL, load_data


@cache
def reference() -> dict:
    return json.loads((RESULTS / "design_reference.json").read_text())


def population(name: str) -> dict[str, float]:
    key = {"region": "pop_region", "size": "pop_size", "wave": "pop_wave"}[name]
    return {row[name]: float(row["Freq"]) for row in reference()["populations"][key]}


def calibrated(case: str) -> SurveyDesign:
    """The Python twin of each R call in reference()["calibration_designs"]."""
    options = {"min_n": 0, "caution_n": 0}
    strat = load_data("strat")
    weighted = load_data("weighted")
    margins = {"region": population("region"), "size": population("size")}
    if case == "rake_weighted":
        return SurveyDesign(weighted, weight="weight", **options).rake(margins)
    if case == "rake_cluster":
        margins = {"region": population("region"), "wave": population("wave")}
        return SurveyDesign(strat, weight="weight", psu="psu", **options).rake(margins)
    if case == "poststratify_strat":
        design = SurveyDesign(strat, weight="weight", strata="stratum", psu="psu", fpc="fpc", **options)
        return design.poststratify("region", population("region"))
    if case == "calibrate_linear":
        return SurveyDesign(weighted, weight="weight", **options).calibrate(margins)
    if case == "calibrate_raking":
        return SurveyDesign(weighted, weight="weight", **options).calibrate(margins, method="raking")
    if case == "calibrate_bounded":
        # R calibrates weighted_N: the weights scaled to the population total of 100,000.
        scaled = weighted.assign(weight_N=weighted["weight"] * 100_000 / weighted["weight"].sum())
        bounds = tuple(reference()["calibrate_bounds"])
        return SurveyDesign(scaled, weight="weight_N", **options).calibrate(
            margins, bounds=bounds, max_iter=200, tol=1e-9
        )
    raise KeyError(case)


CASES = [
    "rake_weighted",
    "rake_cluster",
    "poststratify_strat",
    "calibrate_linear",
    "calibrate_raking",
    "calibrate_bounded",
]


@pytest.mark.parametrize("case", CASES)
def test_calibrated_weights_match_r(case: str) -> None:
    # R: weights(<the calibrated design>)
    expected = np.asarray(reference()["calibrated_weights"][case], dtype=float)
    assert_allclose(calibrated(case).weights.to_numpy(), expected, rtol=RTOL)


def calibration_rows(case: str) -> list[dict]:
    return [r for r in reference()["calibration"] if r["case"] == case]


@pytest.mark.parametrize("case", CASES)
def test_calibrated_standard_errors_match_r(case: str) -> None:
    design = calibrated(case)
    rows = calibration_rows(case)
    assert rows
    for row in rows:
        if row["variable"] == "roles":
            result = design.proportions("roles", categories=[row["category"]]).iloc[0]
        elif row["by"]:
            table = design.proportions("answer", by=row["by"], categories=["yes"])
            result = table[table[row["by"]] == row["group"]].iloc[0]
        else:
            result = design.proportions("answer", categories=["yes"]).iloc[0]
        got = result[["estimate", "se", "ci_low", "ci_high"]].to_numpy(dtype=float)
        want = np.array([row["estimate"], row["se"], row["ci_low"], row["ci_high"]], dtype=float)
        assert_allclose(got, want, rtol=RTOL, err_msg=f"R: {row['r_call']}")
        if row["df"] is not None:
            assert result["df"] == row["df"], row["r_call"]


def test_calibration_changes_the_standard_error_of_a_cluster_sample() -> None:
    # R: the same raked weights used as fixed weights (svydesign(ids = ~psu, weights = ~w_raked))
    # give a different SE from the raked design; surveykit must report the raked design's.
    raked = calibrated("rake_cluster")
    fixed = SurveyDesign(
        load_data("strat").assign(w=raked.weights.to_numpy()), weight="w", psu="psu", min_n=0, caution_n=0
    )
    (fixed_row,) = calibration_rows("rake_cluster_fixed")
    (raked_row,) = [r for r in calibration_rows("rake_cluster") if not r["by"]]
    fixed_se = fixed.proportions("answer", categories=["yes"]).iloc[0]["se"]
    raked_se = raked.proportions("answer", categories=["yes"]).iloc[0]["se"]
    assert_allclose(fixed_se, fixed_row["se"], rtol=RTOL)
    assert_allclose(raked_se, raked_row["se"], rtol=RTOL)
    assert abs(raked_se / fixed_se - 1) > 0.1


def test_a_calibrated_design_says_so_and_is_not_a_simple_random_sample() -> None:
    srs = SurveyDesign(load_data("weighted"))
    raked = srs.rake({"region": population("region"), "size": population("size")})
    assert srs.srs and not raked.srs
    assert raked.calibrated and "raked" in repr(raked)
    assert raked.proportions("answer")["method"].eq("logit").all()
    assert_allclose(
        raked.weights.groupby(raked.data["region"]).sum(), pd.Series(population("region")).sort_index()
    )


def test_calibration_needs_the_full_design() -> None:
    data = load_data("weighted")
    design = SurveyDesign(data, weight="weight").subset(data["wave"] == "2016-12")
    with pytest.raises(DesignError, match="rake the full design, then take the subset"):
        design.rake({"region": population("region")})


def test_calibrate_names_an_unknown_level_and_unattainable_bounds() -> None:
    data = load_data("weighted")
    design = SurveyDesign(data, weight="weight")
    with pytest.raises(WeightError, match=r"column 'region' has level 'west' which the margin does not list"):
        design.calibrate({"region": {"north": 40_000, "south": 30_000, "east": 30_000}})
    with pytest.raises(WeightError, match="calibration did not converge"):
        design.calibrate({"region": population("region"), "size": population("size")}, bounds=(0.9, 1.1))
    with pytest.raises(WeightError, match=r"method must be one of \['linear', 'raking'\]; got 'logit'"):
        design.calibrate({"region": population("region")}, method="logit")
