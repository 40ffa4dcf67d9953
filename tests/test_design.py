"""SurveyDesign against R's survey package (4.1-1).

Reference values come from tests/results/survey_reference.R (run from the repository root with
``Rscript tests/results/survey_reference.R``), which builds the data sets in
tests/results/survey_*_data.csv and writes tests/results/survey_reference.json. The R commands
behind each block are quoted beside the tests. R is not needed to run these tests.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from surveykit import DesignError, LonelyPSUError, SmallSampleWarning, SurveyDesign, WeightError

RESULTS = Path(__file__).parent / "results"
RTOL = 1e-6


@cache
def reference() -> dict:
    return json.loads((RESULTS / "survey_reference.json").read_text())


def reference_frame(key: str) -> pd.DataFrame:
    return pd.DataFrame(reference()[key]).drop(columns="_row", errors="ignore")


def load_data(name: str) -> pd.DataFrame:
    """A data set written by survey_reference.R, with the tidy frame's dtypes."""
    frame = pd.read_csv(RESULTS / f"survey_{name}_data.csv")
    for column in frame.columns:
        if column.startswith("roles__"):
            frame[column] = frame[column].astype("boolean")
        elif column in ("region", "answer", "wave", "size", "psu"):
            frame[column] = frame[column].astype("string")
    return frame


def make_design(name: str, **options: object) -> SurveyDesign:
    """The R designs: svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~weight),
    svydesign(ids = ~1, weights = ~weight) and svydesign(ids = ~1)."""
    options = {"min_n": 0, "caution_n": 0, **options}
    if name == "strat":
        return SurveyDesign(
            load_data(name), weight="weight", strata="stratum", psu="psu", fpc="fpc", **options
        )
    if name == "weighted":
        return SurveyDesign(load_data(name), weight="weight", **options)
    return SurveyDesign(load_data(name), **options)


def pick(result: pd.DataFrame, category: str, region: str) -> pd.Series:
    rows = result[result["category"] == category]
    if region:
        rows = rows[rows["region"] == region]
    assert len(rows) == 1
    return rows.iloc[0]


def interval_cases() -> list[tuple[str, str, str]]:
    frame = reference_frame("intervals")
    return sorted(set(zip(frame["design"], frame["variable"], frame["method"], strict=True)))


@pytest.mark.parametrize(("design_name", "variable", "method"), interval_cases())
def test_proportions_match_svyciprop(design_name: str, variable: str, method: str) -> None:
    # R: d <- subset(design, !is.na(answer))
    #    svyciprop(~I(answer == "yes"), d, method = m)                       (overall)
    #    svyby(~I(answer == "yes"), ~region, d, svyciprop, method = m, vartype = c("se", "ci"))
    #    degf(subset(d, region == r))                                         (df per domain)
    # and the same with ~roles__ceo etc. for the select-multiple question "roles".
    ref = reference_frame("intervals")
    ref = ref[(ref["design"] == design_name) & (ref["variable"] == variable) & (ref["method"] == method)]
    design = make_design(design_name)
    overall = design.proportions(variable, method=method)
    by_region = design.proportions(variable, by="region", method=method)
    checked = 0
    for _, expected in ref.iterrows():
        got = pick(by_region if expected["region"] else overall, expected["category"], expected["region"])
        assert got["variable"] == variable and got["method"] == method
        # atol: R's logit estimate is expit() of an IRLS fit, 7.7e-12 instead of 0 for an empty cell.
        assert_allclose(got["estimate"], expected["estimate"], rtol=RTOL, atol=1e-10)
        if expected["estimate"] < 1e-10:
            continue  # R degenerates at 0% (NaN or zero-width); tested in test_proportions.py
        assert_allclose(got[["se", "df"]].astype(float), expected[["se", "df"]].astype(float), rtol=RTOL)
        # R's "mean" interval is not clipped to [0, 1]; ours is.
        low, high = expected["ci_low"], expected["ci_high"]
        if method == "mean":
            low, high = max(low, 0.0), min(high, 1.0)
        assert_allclose([got["ci_low"], got["ci_high"]], [low, high], rtol=RTOL, atol=1e-12)
        checked += 1
    assert checked >= 10


def test_respondent_counts_exclude_missing_answers() -> None:
    data = load_data("strat")
    design = make_design("strat")
    result = design.proportions("answer", by="region")
    answered = data[data["answer"].notna()]
    expected = answered.groupby("region").size()
    for region, n in expected.items():
        assert (result.loc[result["region"] == region, "n"] == n).all()
    # select-multiple: denominator is who answered the question (was asked), not everyone.
    roles = design.proportions("roles")
    assert list(roles["category"]) == ["ceo", "cfo", "hr"]
    assert (roles["n"] == data["roles__ceo"].notna().sum()).all()
    ticked = data.loc[data["roles__ceo"].notna(), "roles__ceo"].astype(bool)
    weights = data.loc[ticked.index, "weight"]
    assert_allclose(roles["estimate"].iloc[0], (weights * ticked).sum() / weights.sum(), rtol=1e-12)


@pytest.mark.parametrize("design_name", ["strat", "weighted", "srs"])
def test_design_effects_match_svymean(design_name: str) -> None:
    # R: svymean(~as.numeric(answer == "yes"), d, deff = TRUE) and deff = "replace", overall and on
    #    subset(d, region == r). For the unweighted SRS, R's deff = TRUE is NaN (weights sum to n),
    #    where surveykit falls back to the with-replacement reference.
    ref = reference_frame("deff")
    ref = ref[ref["design"] == design_name]
    designs = {
        reference: make_design(design_name, deff=reference)
        for reference in ("without_replacement", "replace")
    }
    results = {
        reference: (design.proportions("answer"), design.proportions("answer", by="region"))
        for reference, design in designs.items()
    }
    for _, expected in ref.iterrows():
        if expected["estimate"] == 0:
            continue
        for reference, column in (("without_replacement", "deff"), ("replace", "deff_replace")):
            overall, by_region = results[reference]
            got = pick(by_region if expected["region"] else overall, expected["category"], expected["region"])
            want = expected[column] if np.isfinite(expected[column]) else expected["deff_replace"]
            assert_allclose(got["deff"], want, rtol=RTOL)


def test_level_is_honoured() -> None:
    # R: svyciprop(~I(answer == "yes"), subset(strat_design, !is.na(answer)), method = m, level = 0.9)
    design = make_design("strat")
    for _, expected in reference_frame("level90").iterrows():
        got = pick(design.proportions("answer", method=expected["method"], level=0.9), "yes", "")
        assert_allclose([got["ci_low"], got["ci_high"]], [expected["ci_low"], expected["ci_high"]], rtol=RTOL)


@pytest.mark.parametrize("lonely_psu", ["adjust", "certainty"])
def test_lonely_psu_options_match_r(lonely_psu: str) -> None:
    # R: options(survey.lonely.psu = "adjust" / "certainty")
    #    d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, data = lonely)
    #    svymean(~as.numeric(answer == "yes"), d); svyby(~as.numeric(answer == "yes"), ~region, d, svymean)
    data = pd.read_csv(RESULTS / "survey_lonely_data.csv")
    design = SurveyDesign(
        data, weight="weight", strata="stratum", psu="psu", lonely_psu=lonely_psu, min_n=0, caution_n=0
    )
    ref = reference_frame("lonely")
    ref = ref[ref["lonely_psu"] == lonely_psu]
    overall = design.proportions("answer", categories=["yes"])
    by_region = design.proportions("answer", by="region", categories=["yes"])
    for _, expected in ref.iterrows():
        got = pick(by_region if expected["region"] else overall, "yes", expected["region"])
        assert_allclose(
            got[["estimate", "se"]].astype(float), expected[["estimate", "se"]].astype(float), rtol=RTOL
        )


def test_lonely_psu_average_matches_r() -> None:
    # R: options(survey.lonely.psu = "average"), design_reference.json "lonely_average" (its
    # r_call); the lonely stratum gets the average variance contribution of the others.
    from tests.test_calibration import reference as design_reference

    data = pd.read_csv(RESULTS / "survey_lonely_data.csv")
    design = SurveyDesign(
        data, weight="weight", strata="stratum", psu="psu", lonely_psu="average", min_n=0, caution_n=0
    )
    certainty = SurveyDesign(
        data, weight="weight", strata="stratum", psu="psu", lonely_psu="certainty", min_n=0, caution_n=0
    )
    overall = design.proportions("answer", categories=["yes"])
    by_region = design.proportions("answer", by="region", categories=["yes"])
    for expected in design_reference()["lonely_average"]:
        got = pick(by_region if expected["region"] else overall, "yes", expected["region"])
        assert_allclose(
            got[["estimate", "se"]].astype(float), [expected["estimate"], expected["se"]], rtol=RTOL
        )
    assert overall["se"].iloc[0] > certainty.proportions("answer", categories=["yes"])["se"].iloc[0]


def test_lonely_psu_remove_points_to_its_linearised_equivalent() -> None:
    # R's "remove" and "certainty" give the same linearised variance; one name is kept.
    data = pd.read_csv(RESULTS / "survey_lonely_data.csv")
    with pytest.raises(DesignError, match=r"lonely_psu='remove' is R's name for 'certainty'"):
        SurveyDesign(data, weight="weight", strata="stratum", psu="psu", lonely_psu="remove")


def test_fpc_without_weights_gives_population_over_sample_weights() -> None:
    # R: svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, data = strat_df) takes weights
    # N_h / n_h from the fpc (design_reference.json "fpc_without_weights", with its r_call).
    from tests.test_calibration import reference as design_reference

    expected = design_reference()["fpc_without_weights"]
    data = load_data("strat")
    design = SurveyDesign(data, strata="stratum", psu="psu", fpc="fpc", min_n=0, caution_n=0)
    assert_allclose(design.weights.to_numpy(), expected["weights"], rtol=RTOL)
    got = design.proportions("answer", categories=["yes"]).iloc[0]
    assert_allclose([got["estimate"], got["se"]], [expected["estimate"], expected["se"]], rtol=RTOL)


def test_lonely_psu_fails_by_default_naming_the_stratum() -> None:
    data = pd.read_csv(RESULTS / "survey_lonely_data.csv")
    with pytest.raises(LonelyPSUError, match=r"stratum 3 of 'stratum' has only one PSU"):
        SurveyDesign(data, weight="weight", strata="stratum", psu="psu")


def test_domain_uses_full_design_not_filtered_frame() -> None:
    # A domain's variance keeps every PSU of its stratum (svyby semantics); analysing a filtered
    # frame instead drops PSUs with nobody in the domain and gives a different (wrong) SE.
    design = make_design("strat")
    data = load_data("strat")
    by_region = design.proportions("answer", by="region", categories=["yes"])
    via_subset = design.subset(data["region"] == "east").proportions("answer", categories=["yes"])
    east = by_region[by_region["region"] == "east"].iloc[0]
    assert_allclose(
        via_subset[["estimate", "se"]].iloc[0].astype(float), east[["estimate", "se"]].astype(float)
    )
    filtered = SurveyDesign(
        data[data["region"] == "east"], weight="weight", strata="stratum", psu="psu", fpc="fpc", min_n=0
    )
    wrong = filtered.proportions("answer", categories=["yes"]).iloc[0]
    assert_allclose(wrong["estimate"], east["estimate"])
    assert not np.isclose(wrong["se"], east["se"], rtol=1e-3)


def test_auto_method_is_wilson_for_srs_and_logit_otherwise() -> None:
    assert set(make_design("srs").proportions("answer")["method"]) == {"wilson"}
    assert set(make_design("weighted").proportions("answer")["method"]) == {"logit"}
    assert set(make_design("strat").proportions("answer")["method"]) == {"logit"}


@pytest.mark.parametrize("method", ["clopper-pearson", "jeffreys", "goodman"])
def test_srs_only_methods_refuse_weighted_designs(method: str) -> None:
    with pytest.raises(DesignError, match="unweighted simple random sample"):
        make_design("weighted").proportions("answer", method=method)


def test_unknown_method_names_choices() -> None:
    with pytest.raises(DesignError, match=r"method must be one of .*'logit'.*got 'probit'"):
        make_design("srs").proportions("answer", method="probit")


def test_disclosure_defaults_are_dbir_thresholds() -> None:
    design = SurveyDesign(load_data("srs"))
    assert (design.min_n, design.caution_n) == (5, 30)
    with pytest.warns(SmallSampleWarning, match="fewer than 30 respondents"):
        result = design.proportions("answer", by=["region", "wave"])
    assert set(result.loc[result["n"] < 30, "flag"]) == {"caution"}


def test_disclosure_flags_and_warning() -> None:
    design = make_design("strat", min_n=10, caution_n=20)
    with pytest.warns(SmallSampleWarning, match="suppressed"):
        result = design.proportions("roles", by="region")
    suppressed = result["n"] < 10
    caution = (result["n"] >= 10) & (result["n"] < 20)
    assert suppressed.any() and caution.any()
    assert (result.loc[suppressed, "flag"] == "suppressed").all()
    assert result.loc[suppressed, ["estimate", "se", "ci_low", "ci_high", "deff"]].isna().all().all()
    assert (result.loc[caution, "flag"] == "caution").all()
    assert result.loc[caution, "estimate"].notna().all()
    assert (result.loc[result["n"] >= 20, "flag"] == "ok").all()


def test_disclosure_thresholds_configurable() -> None:
    design = make_design("strat", min_n=0, caution_n=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SmallSampleWarning)
        result = design.proportions("roles", by="region")
    assert (result["flag"] == "ok").all()
    with pytest.raises(DesignError, match="caution_n"):
        SurveyDesign(load_data("srs"), min_n=10, caution_n=5)


def test_categories_selects_and_orders() -> None:
    result = make_design("srs").proportions("answer", by="region", categories=["yes", "no"])
    assert list(result["category"][:2]) == ["yes", "no"]
    assert len(result) == 8
    with pytest.raises(DesignError, match=r"category 'maybe' of 'answer' never occurs"):
        make_design("srs").proportions("answer", categories=["maybe"])


def test_input_errors_name_the_column_and_value() -> None:
    data = load_data("weighted")
    with pytest.raises(DesignError, match=r"column 'answr' is not in the data"):
        make_design("weighted").proportions("answr")
    with pytest.raises(DesignError, match=r"strata column 'stratum' is not in the data"):
        SurveyDesign(data, weight="weight", strata="stratum")
    bad = data.assign(weight=data["weight"].astype(object))
    bad.loc[3, "weight"] = "heavy"
    with pytest.raises(WeightError, match=r"weight column 'weight' must be numeric; row 3 holds 'heavy'"):
        SurveyDesign(bad, weight="weight")
    negative = data.assign(weight=data["weight"].where(data.index != 7, -1.5))
    with pytest.raises(WeightError, match=r"negative values \(first at row 7: -1.5\)"):
        SurveyDesign(negative, weight="weight")
    with pytest.raises(WeightError, match="zero for every respondent"):
        SurveyDesign(data.assign(weight=0.0), weight="weight")
    missing = data.assign(weight=data["weight"].where(data.index != 2))
    with pytest.raises(WeightError, match=r"missing or infinite values \(first at row 2"):
        SurveyDesign(missing, weight="weight")
    with pytest.raises(DesignError, match="empty domain"):
        make_design("weighted").subset(data["region"] == "atlantis")
    empty = data.assign(answer=pd.array([pd.NA] * len(data), dtype="string"))
    with pytest.raises(DesignError, match=r"no respondent in the domain answered 'answer'"):
        SurveyDesign(empty, weight="weight").proportions("answer")
    with pytest.raises(DesignError, match=r"lonely_psu must be one of .* got 'drop'"):
        SurveyDesign(data, lonely_psu="drop")


def test_fpc_must_be_constant_within_strata() -> None:
    data = load_data("strat")
    data.loc[0, "fpc"] = 99
    with pytest.raises(
        DesignError, match=r"fpc column 'fpc' must be constant within each stratum; stratum 1"
    ):
        SurveyDesign(data, weight="weight", strata="stratum", psu="psu", fpc="fpc")


def test_fpc_as_fraction_equals_population_size() -> None:
    data = load_data("strat")
    sampled = data.groupby("stratum")["psu"].transform("nunique")
    as_fraction = data.assign(fpc=sampled / data["fpc"])
    a = make_design("strat").proportions("answer")
    b = SurveyDesign(
        as_fraction, weight="weight", strata="stratum", psu="psu", fpc="fpc", min_n=0
    ).proportions("answer")
    assert_allclose(a[["estimate", "se"]], b[["estimate", "se"]], rtol=1e-12)


def test_degf_counts_psus_minus_strata() -> None:
    # R: degf(strat_design) = 14 PSUs - 4 strata
    assert make_design("strat").degf == 10
    assert make_design("srs").degf == len(load_data("srs")) - 1


def test_inputs_are_not_mutated() -> None:
    data = load_data("strat")
    before = data.copy()
    design = make_design("strat")
    design.data = data
    design.proportions("answer", by=["region", "wave"])
    design.crosstab("region", "answer")
    pd.testing.assert_frame_equal(data, before)
