"""Key-finding sentences follow the test and the disclosure rule (surveykit/publishing/findings.py)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import surveykit as sk
from surveykit.publishing.findings import (
    change_finding,
    growth_finding,
    regional_finding,
    share_finding,
    significant,
)


@pytest.fixture(scope="module")
def design() -> sk.SurveyDesign:
    return sk.SurveyDesign(sk.demo_responses()).rake(sk.demo_margins())


def test_share_sentence_prints_the_interval_and_n(design: sk.SurveyDesign) -> None:
    shares = design.proportions("whaling_trend", by="wave", categories=["increased"])
    row = shares.iloc[0]
    sentence = share_finding(row, "saw more whaling")
    low, high = round(100 * row["ci_low"]), round(100 * row["ci_high"])
    assert sentence == (
        f"{round(100 * row['estimate'])}% of respondents (95% CI {low}\u2013{high}%, n = 450) "
        "saw more whaling."
    )


def test_share_sentence_of_a_suppressed_or_small_cell() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = sk.SurveyDesign(sk.demo_responses().head(40)).proportions("whaling_trend", by="country")
    suppressed = small[small["flag"] == "suppressed"].iloc[0]
    caution = small[small["flag"] == "caution"].iloc[0]
    assert share_finding(suppressed, "saw more whaling") is None
    assert share_finding(caution, "saw more whaling").endswith(
        "Based on fewer than 30 respondents: interpret with caution."
    )


def test_change_is_stated_only_when_its_interval_excludes_zero(design: sk.SurveyDesign) -> None:
    change = design.change("whaling_trend", "increased").iloc[0]
    assert significant(change)  # the demo's second wave saw more whaling (p = 0.02)
    sentence = change_finding(change, "the share who saw more whaling")
    assert sentence.startswith("The share who saw more whaling rose from 52% in 2015-12 to 63% in 2016-12")
    flat = design.change("ciso_present", "yes").iloc[0]
    assert not significant(flat)
    assert change_finding(flat, "the share with a CISO").startswith(
        "No significant difference in the share with a CISO between 2015-12"
    )
    # A fall is a fall; a suppressed comparison says nothing.
    fall = {**change.to_dict(), "estimate": -0.1, "ci_low": -0.18, "ci_high": -0.02}
    assert " fell from " in change_finding(fall, "the share")
    assert change_finding({**change.to_dict(), "flag": "suppressed", "estimate": float("nan")}, "x") is None


def test_regional_finding_follows_the_rao_scott_test(design: sk.SurveyDesign) -> None:
    shares = design.proportions("whaling_trend", by="country", categories=["increased"])
    test = design.test_independence("country", "whaling_trend")
    assert test.p_value > 0.05
    assert regional_finding(test, shares, "country", "the share who saw more whaling") == (
        f"No significant difference by country in the share who saw more whaling "
        f"(Rao-Scott test of all answers: F = {test.statistic:.2f}, p = {test.p_value:.3f})."
    )
    # Unweighted, the demo's regional difference is significant (ZA saw less whaling).
    plain = sk.SurveyDesign(sk.demo_responses())
    by_country = plain.proportions("whaling_trend", by="country", categories=["increased"])
    plain_test = plain.test_independence("country", "whaling_trend")
    assert plain_test.p_value < 0.05
    sentence = regional_finding(plain_test, by_country, "country", "the share who saw more whaling")
    lowest = by_country.loc[by_country["estimate"].idxmin()]
    highest = by_country.loc[by_country["estimate"].idxmax()]
    assert sentence == (
        f"Answers differed by country (Rao-Scott F = {plain_test.statistic:.2f}, "
        f"p = {plain_test.p_value:.3f}): the share who saw more whaling ranged from "
        f"{round(100 * lowest['estimate'])}% in {lowest['country']} to "
        f"{round(100 * highest['estimate'])}% in {highest['country']}."
    )


def test_regional_finding_never_names_a_suppressed_region(design: sk.SurveyDesign) -> None:
    ciso = design.proportions("ciso_present", by="country", categories=["yes"])
    test = design.test_independence("country", "ciso_present")
    lowest = ciso["estimate"].idxmin()
    hidden = ciso.copy()
    hidden.loc[lowest, ["estimate", "ci_low", "ci_high"]] = float("nan")
    hidden.loc[lowest, "flag"] = "suppressed"
    sentence = regional_finding(test, hidden, "country", "the share with a CISO")
    assert (
        f"in {ciso.loc[lowest, 'country']} " not in sentence
        and f"in {ciso.loc[lowest, 'country']}." not in sentence
    )


def test_growth_finding_follows_its_interval() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        growth = sk.yoy_growth(sk.demo_incidents()).set_index("period")
    rise = growth.loc["2015"].to_dict() | {"period": "2015"}
    flat = growth.loc["2016"].to_dict() | {"period": "2016"}
    assert significant(rise) and not significant(flat)
    assert growth_finding(rise, "detected incidents").startswith(
        "Detected incidents rose 38% in 2015 on a year earlier"
    )
    assert growth_finding(flat, "detected incidents").startswith(
        "No significant change in detected incidents in 2016 on a year earlier: +13%"
    )
    assert growth_finding(pd.Series({**flat, "flag": "suppressed", "estimate": float("nan")}), "x") is None
