"""Headline cards and the dashboard's frames (publishing/headlines.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

import surveykit as sk
from surveykit.publishing.headlines import HEADLINE_COLUMNS, headlines, overview
from surveykit.survey.selection import survey_design


@pytest.fixture(scope="module")
def responses() -> pd.DataFrame:
    return sk.demo_responses()


def card(frame: pd.DataFrame, variable: str, category: str) -> pd.Series:
    return frame[(frame["variable"] == variable) & (frame["category"] == category)].iloc[0]


def test_unweighted_cards_are_wilson_intervals_among_those_asked(responses):
    instrument = sk.default_instrument()
    frame = headlines(sk.SurveyDesign(responses), instrument, wave="2016-12")
    assert list(frame.columns) == list(HEADLINE_COLUMNS)
    wave = responses[responses["wave"] == "2016-12"]
    checks = [
        ("whaling_trend", "increased", wave, wave["whaling_trend"] == "increased"),
        ("impersonated_roles", "cfo", wave[wave["whaling_received"] == "yes"], None),
        ("ciso_in_csuite", "yes", wave[wave["ciso_present"] == "yes"], None),
        ("controls", "payment_verification", wave, None),
    ]
    for variable, category, base, hit in checks:
        row = card(frame, variable, category)
        if hit is None:
            multi = f"{variable}__{category}"
            hit = base[multi].astype(bool) if multi in base else base[variable] == category
        count = int(hit.sum())
        low, high = proportion_confint(count, len(base), alpha=0.05, method="wilson")
        assert row["n"] == len(base)
        assert row["estimate"] == pytest.approx(count / len(base), rel=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-9)
        interval = f"{100 * low:.0f}\u2013{100 * high:.0f}%"
        assert row["text"].startswith(f"{count / len(base):.0%} (95% CI {interval}), n = {len(base)}, ")
    assert card(frame, "whaling_trend", "increased")["text"].endswith(", saw more whaling")
    assert card(frame, "impersonated_roles", "ceo")["text"].endswith("had chief executive (CEO) impersonated")
    assert card(frame, "impersonated_roles", "it")["text"].endswith("had IT impersonated")
    # Exclusive choices ("None / don't know") are not a role.
    assert "none_dont_know" not in set(frame["category"])


def test_weighted_share_is_the_weighted_mean(responses):
    design = survey_design(responses, sk.demo_margins())
    keep = (responses["country"] == "AU").to_numpy()
    frame = headlines(design.subset(keep), sk.default_instrument(), wave="2015-12")
    row = card(frame, "ciso_present", "yes")
    wave = responses[responses["wave"] == "2015-12"]
    weights = sk.rake(wave, sk.demo_margins())  # the wave raked on its own, then the domain
    domain = wave["country"] == "AU"
    by_hand = np.average(wave.loc[domain, "ciso_present"] == "yes", weights=weights[domain])
    assert row["estimate"] == pytest.approx(by_hand, rel=1e-7)
    assert row["n"] == int(domain.sum()) and row["method"] == "logit"


def test_caution_and_suppressed_cards_are_marked_and_never_a_number(responses):
    few = responses[responses["wave"] == "2016-12"].head(40)
    frame = headlines(sk.SurveyDesign(few), sk.default_instrument())
    caution = frame[frame["flag"] == "caution"]
    assert len(caution) and caution["text"].str.match(r"^\d+%\u2020 \(95% CI ").all()
    tiny = few[few["ciso_present"] == "yes"].head(3).index
    subset = sk.SurveyDesign(few).subset(few.index.isin(tiny))
    suppressed = headlines(subset, sk.default_instrument())
    assert (suppressed["flag"] == "suppressed").all()
    assert suppressed["text"].str.startswith("n too small (n = ").all()
    assert not suppressed["text"].str.contains("%").any()


def test_a_category_nobody_chose_is_zero_with_its_score_interval(responses):
    none = responses[(responses["wave"] == "2016-12") & (responses["whaling_trend"] != "increased")]
    frame = headlines(sk.SurveyDesign(none), sk.default_instrument())
    row = card(frame, "whaling_trend", "increased")
    low, high = proportion_confint(0, len(none), alpha=0.05, method="wilson")
    assert row["estimate"] == 0 and row["n"] == len(none)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=1e-12)
    assert overview(sk.SurveyDesign(none), sk.default_instrument()).trend is None


def test_overview_counts_the_wave_of_the_selection(responses):
    design = sk.SurveyDesign(responses)
    keep = (responses["sector"] == "finance").to_numpy()
    figures = overview(design.subset(keep), sk.default_instrument(), wave="2015-12")
    expected = ((responses["sector"] == "finance") & (responses["wave"] == "2015-12")).sum()
    assert figures.respondents == expected
    assert list(figures.trend["wave"]) == ["2015-12", "2016-12"]
    assert set(figures.ciso["category"]) == {"yes", "no", "dont_know"}
    with pytest.raises(sk.DesignError, match="no respondent in the selection is in wave '2030-12'"):
        overview(design, sk.default_instrument(), wave="2030-12")
