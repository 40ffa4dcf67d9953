"""Selections: per-wave raking, filters as domains, and the selection in words (survey/selection.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import surveykit as sk
from surveykit.survey.selection import describe_filters, filter_mask, survey_design, weighting_statement


@pytest.fixture(scope="module")
def responses() -> pd.DataFrame:
    return sk.demo_responses()


def test_each_wave_is_raked_to_the_margins_on_its_own(responses):
    margins = sk.demo_margins()
    design = survey_design(responses, margins)
    assert design.calibrated
    weights = design.weights
    for _, rows in responses.groupby("wave"):
        # Independently: the public rake() on that wave alone.
        alone = sk.rake(rows, margins)
        np.testing.assert_allclose(weights[rows.index], alone, rtol=1e-7)
        # And by hand: each wave's weighted totals meet every margin.
        for variable, margin in margins.items():
            totals = weights[rows.index].groupby(rows[variable]).sum()
            np.testing.assert_allclose(totals[list(margin)], list(margin.values()), rtol=1e-6)


def test_a_domain_of_the_raked_design_matches_raking_the_wave_then_subsetting(responses):
    # R: subset(rake(svydesign(~1, data = wave), ...), country == "GB"); the pooled design differs
    # only by the with-replacement factor n / (n - 1) of 970 rather than 520 respondents.
    margins = sk.demo_margins()
    wave = responses[responses["wave"] == "2016-12"]
    expected = sk.SurveyDesign(wave).rake(margins).subset(wave["country"] == "GB").proportions("ciso_present")
    pooled = survey_design(responses, margins)
    keep = (responses["wave"] == "2016-12") & (responses["country"] == "GB")
    got = pooled.subset(keep).proportions("ciso_present")
    np.testing.assert_allclose(got["estimate"], expected["estimate"], rtol=1e-9)
    np.testing.assert_allclose(got["se"], expected["se"], rtol=2e-3)


def test_unweighted_without_margins_and_pooled_raking_on_request(responses):
    assert survey_design(responses).srs
    assert survey_design(responses, {}).srs
    pooled = survey_design(responses, sk.demo_margins(), within=None)
    np.testing.assert_allclose(pooled.weights, sk.rake(responses, sk.demo_margins()), rtol=1e-7)


def test_a_wave_that_cannot_be_raked_is_named(responses):
    test_wave = responses[responses["country"] == "GB"].head(2).assign(wave="2026-11")
    with pytest.raises(sk.WeightError, match=r"wave 2026-11 has no respondents with country 'US'"):
        survey_design(pd.concat([responses, test_wave], ignore_index=True), sk.demo_margins())
    other = responses.head(1).assign(country="other")
    with pytest.raises(sk.WeightError, match=r"answered country 'other', which the population margins"):
        survey_design(pd.concat([responses, other], ignore_index=True), sk.demo_margins())


def test_filters_keep_the_listed_levels_and_empty_keeps_all(responses):
    keep = filter_mask(responses, {"country": ["GB", "AU"], "org_size": [], "sector": ["finance"]})
    expected = responses["country"].isin(["GB", "AU"]) & (responses["sector"] == "finance")
    assert keep.sum() == expected.sum() > 0
    assert (keep == expected.to_numpy()).all()
    assert filter_mask(responses, {}).all() and filter_mask(responses, None).all()
    with pytest.raises(sk.DesignError, match="cannot filter on 'colour'"):
        filter_mask(responses, {"colour": ["red"]})


def test_the_selection_in_words_uses_the_instruments_labels():
    instrument = sk.default_instrument()
    assert (
        describe_filters({"country": ["GB", "AU"], "org_size": [], "sector": []}, instrument)
        == "country: United Kingdom, Australia; every organisation size and sector"
    )
    assert describe_filters({"org_size": ["5000_plus"]}, instrument) == "organisation size: 5,000 or more"
    assert describe_filters({}, instrument) == "all respondents"
    assert weighting_statement(None) == "Unweighted: every respondent counts once"
    assert (
        weighting_statement(sk.demo_margins())
        == "Weighted: raked to population margins by country and organisation size"
    )
