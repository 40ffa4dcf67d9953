"""regional_breakdown: one answer compared between regions, from the design's own estimators."""

from __future__ import annotations

import pandas as pd
import pytest

from surveykit import SurveyDesign, demo_responses
from surveykit.publishing.breakdowns import regional_breakdown

ORDER = ["increased", "same", "decreased", "dont_know"]  # the questionnaire's order


@pytest.fixture(scope="module")
def design() -> SurveyDesign:
    return SurveyDesign(demo_responses())


def test_the_parts_are_the_designs_own_estimates_for_the_wave(design):
    result = regional_breakdown(design, "whaling_trend", "increased", "country", wave="2016-12")
    wave = design.subset(design.data["wave"] == "2016-12")
    pd.testing.assert_frame_equal(result.shares, wave.proportions("whaling_trend", by="country"))
    assert result.test.statistic == pytest.approx(
        wave.test_independence("country", "whaling_trend").statistic
    )
    pd.testing.assert_frame_equal(result.pairwise, wave.pairwise("whaling_trend", "increased", "country"))
    assert result.change is None


def test_answers_follow_the_given_order_within_each_region(design):
    # The Regions page drew the answers alphabetically ("Decreased, Don't know, Increased,
    # About the same") until it passed the questionnaire's order.
    plain = regional_breakdown(design, "whaling_trend", "increased", "country", wave="2016-12")
    ordered = regional_breakdown(design, "whaling_trend", "increased", "country", wave="2016-12", order=ORDER)
    for _, rows in ordered.shares.groupby("country", sort=False):
        assert rows["category"].tolist() == ORDER
    assert ordered.shares["country"].tolist() == plain.shares["country"].tolist()
    key = ["country", "category"]
    pd.testing.assert_frame_equal(
        ordered.shares.sort_values(key).reset_index(drop=True),
        plain.shares.sort_values(key).reset_index(drop=True),
    )
    partial = regional_breakdown(
        design, "whaling_trend", "increased", "country", wave="2016-12", order=["same"]
    )
    first = partial.shares.groupby("country", sort=False)["category"].first()
    assert set(first) == {"same"}  # listed answers first, the others after in their usual order
