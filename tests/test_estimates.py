"""Numeric estimates (mean, total, ratio, quantile) and survey growth against R's survey package.

Reference values: tests/results/design_reference.R (R 4.2.2, survey 4.1-1) on
tests/results/survey_numeric_data.csv, section "numeric" of design_reference.json. Each record
carries its R call (``r_call``, and ``r_call_ci`` for the interval), printed on failure. The
domain is the respondents who answered: ``svyby(~x, ~region, subset(design, !is.na(x)),
svymean)``; intervals are ``confint(..., df = degf(...))``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from surveykit import DesignError, SurveyDesign, survey_growth
from tests.test_calibration import reference
from tests.test_design import RESULTS, RTOL

DESIGNS = ["strat", "weighted", "srs"]


def numeric_design(name: str) -> SurveyDesign:
    """R: num_strat, num_weighted and num_srs of design_reference.R."""
    data = pd.read_csv(RESULTS / "survey_numeric_data.csv")
    options = {"min_n": 0, "caution_n": 0}
    if name == "strat":
        return SurveyDesign(data, weight="weight", strata="stratum", psu="psu", fpc="fpc", **options)
    if name == "weighted":
        return SurveyDesign(data, weight="weight", **options)
    return SurveyDesign(data, **options)


def records(design: str, estimator: str) -> list[dict]:
    rows = [r for r in reference()["numeric"] if r["design"] == design and r["estimator"] == estimator]
    assert rows, (design, estimator)
    return rows


def pick(result: pd.DataFrame, record: dict) -> pd.Series:
    if record["by"]:
        result = result[result[record["by"]] == record["group"]]
    if record["quantile"] is not None:
        result = result[np.isclose(result["quantile"], record["quantile"])]
    assert len(result) == 1, record["r_call"]
    return result.iloc[0]


def check(row: pd.Series, record: dict) -> None:
    got = row[["estimate", "se", "ci_low", "ci_high"]].to_numpy(dtype=float)
    want = np.array(
        [record[k] if record[k] is not None else np.nan for k in ("estimate", "se", "ci_low", "ci_high")]
    )
    assert_allclose(got, want, rtol=RTOL, err_msg=f"R: {record['r_call']} / {record['r_call_ci']}")
    assert row["df"] == record["df"], record["r_call"]


@pytest.mark.parametrize("design_name", DESIGNS)
@pytest.mark.parametrize("estimator", ["mean", "total"])
def test_mean_and_total_match_svymean_and_svytotal(design_name: str, estimator: str) -> None:
    design = numeric_design(design_name)
    for record in records(design_name, estimator):
        result = getattr(design, estimator)(record["variable"], by=record["by"] or None)
        row = pick(result, record)
        check(row, record)
        assert row["method"] == "wald" and row["flag"] == "ok"


@pytest.mark.parametrize("design_name", DESIGNS)
def test_ratio_matches_svyratio(design_name: str) -> None:
    design = numeric_design(design_name)
    for record in records(design_name, "ratio"):
        numerator, denominator = record["variable"].split("/")
        row = pick(design.ratio(numerator, denominator, by=record["by"] or None), record)
        check(row, record)


@pytest.mark.parametrize("design_name", DESIGNS)
def test_quantile_matches_svyquantile(design_name: str) -> None:
    # R: svyquantile(~x, d, quantiles = c(0.5, 0.9), ci = TRUE) with its defaults
    # (interval.type = "mean", Woodruff; qrule = "math"); a limit beyond [0, 1] is NaN in both.
    design = numeric_design(design_name)
    for record in records(design_name, "quantile"):
        result = design.quantile(record["variable"], [0.5, 0.9], by=record["by"] or None)
        row = pick(result, record)
        check(row, record)
        assert row["method"] == "woodruff"


@pytest.mark.parametrize("design_name", DESIGNS)
def test_survey_growth_is_the_design_based_ratio_minus_one(design_name: str) -> None:
    design = numeric_design(design_name)
    for record in records(design_name, "ratio"):
        row = pick(survey_growth(design, by=record["by"] or None), record)
        assert_allclose(
            row[["estimate", "se", "ci_low", "ci_high", "ratio"]].to_numpy(dtype=float),
            [
                record["estimate"] - 1,
                record["se"],
                record["ci_low"] - 1,
                record["ci_high"] - 1,
                record["estimate"],
            ],
            rtol=RTOL,
            err_msg=f"R: {record['r_call']}",
        )


def test_survey_growth_against_the_earlier_svyratio_reference() -> None:
    # R (tests/results/incidents_reference.R): svyratio(~incidents_12m, ~incidents_prev_12m,
    # svydesign(ids = ~1, weights = ~weight, data = sv)) and the unweighted design.
    data = pd.read_csv(RESULTS / "incidents_survey_data.csv")
    expected = pd.read_csv(RESULTS / "incidents_survey_reference.csv").set_index("design")
    for name, design in (
        ("weighted", SurveyDesign(data, weight="weight")),
        ("unweighted", SurveyDesign(data)),
    ):
        row = survey_growth(design).iloc[0]
        assert_allclose(
            [row["ratio"], row["se"]], expected.loc[name, ["ratio", "se"]].astype(float), rtol=RTOL
        )


def test_survey_growth_applies_the_disclosure_rules() -> None:
    data = pd.read_csv(RESULTS / "survey_numeric_data.csv")
    result = survey_growth(SurveyDesign(data, weight="weight", min_n=70, caution_n=100), by="region")
    assert set(result["flag"]) <= {"suppressed", "caution", "ok"}
    suppressed = result[result["n"] < 70]
    assert (
        len(suppressed) and suppressed["estimate"].isna().all() and (suppressed["flag"] == "suppressed").all()
    )


def test_numeric_estimates_refuse_a_categorical_column_naming_a_bad_row() -> None:
    data = pd.DataFrame({"x": ["3", "many", "4"], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(
        DesignError, match=r"column 'x' must be numeric for this estimate; row 1 holds 'many'"
    ):
        SurveyDesign(data).mean("x")
    with pytest.raises(DesignError, match=r"quantiles must lie strictly between 0 and 1; got 1.5"):
        SurveyDesign(data).quantile("y", 1.5)
