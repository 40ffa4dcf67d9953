"""A regional breakdown of one answer, gathered in one call for a page or a report section.

:func:`regional_breakdown` runs the estimators a regional comparison needs (the shares by
region, the Rao-Scott test, pairwise differences with Holm-adjusted p-values, and the change
between two waves within each region) and states the finding in words, so that a page showing
it is one call and a display.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from surveykit._validation import check_level
from surveykit.exceptions import DesignError
from surveykit.publishing.findings import regional_finding

if TYPE_CHECKING:
    from surveykit.survey.design import SurveyDesign
    from surveykit.survey.tables import IndependenceTest

__all__ = ["RegionalBreakdown", "regional_breakdown"]


@dataclass(frozen=True)
class RegionalBreakdown:
    """One answer compared between regions.

    Attributes
    ----------
    shares : DataFrame
        Every answer's share by region (:meth:`SurveyDesign.proportions`).
    test : IndependenceTest
        The Rao-Scott test that the answers do not depend on the region.
    finding : str
        The test in words: the lowest and highest region when it rejects, "no significant
        difference" otherwise (suppressed regions are never named).
    pairwise : DataFrame
        The chosen answer's share, every pair of regions, with Holm-adjusted p-values.
    change : DataFrame or None
        The chosen answer's change between the two waves within each region, when asked.
    """

    shares: pd.DataFrame
    test: IndependenceTest
    finding: str
    pairwise: pd.DataFrame
    change: pd.DataFrame | None


def regional_breakdown(
    design: SurveyDesign,
    variable: str,
    category: object,
    by: str = "country",
    *,
    wave: str | None = None,
    compare_wave: str | None = None,
    wave_column: str = "wave",
    level: float = 0.95,
    what: str | None = None,
    order: Sequence[object] | None = None,
) -> RegionalBreakdown:
    """Compare the share answering ``category`` to ``variable`` between the levels of ``by``.

    Parameters
    ----------
    design : SurveyDesign
        The design over every wave.
    variable, category : str, object
        The question and the answer whose share is compared.
    by : str
        The region column (country, organisation size, sector...).
    wave : str, optional
        The wave compared between regions (a subset of the design); all waves pooled if None.
    compare_wave : str, optional
        An earlier wave: also the change from it to ``wave`` within each region.
    wave_column : str
        The column holding the wave.
    level : float
        Confidence level of the intervals and the test.
    what : str, optional
        The share in words for the finding; ``"the share answering '<category>'"`` by default.
    order : sequence, optional
        The answers in the order to show them (the questionnaire's, say); answers not listed
        follow. Sorted by value otherwise.

    Returns
    -------
    RegionalBreakdown
    """
    level = check_level(level)
    if compare_wave is not None and wave is None:
        raise DesignError("compare_wave needs wave: the change is from compare_wave to wave")
    full = design
    if wave is not None:
        design = design.subset(design.variables.column(wave_column, "wave_column") == wave)
    shares = design.proportions(variable, by=by, level=level)
    if order is not None:
        rank = {category: position for position, category in enumerate(order)}
        keys = pd.DataFrame(
            {
                "group": shares.groupby(by, sort=False, dropna=False).ngroup(),
                "answer": shares["category"].map(lambda c: rank.get(c, len(rank))),
            }
        )
        shares = shares.loc[keys.sort_values(["group", "answer"], kind="stable").index].reset_index(drop=True)
    if category not in set(shares["category"]):
        raise DesignError(
            f"category {category!r} of {variable!r} never occurs in the data; "
            f"categories: {sorted(map(str, set(shares['category'])))}"
        )
    test = design.test_independence(by, variable)
    chosen = shares[shares["category"] == category]
    words = what or f"the share answering {category!r}"
    finding = regional_finding(test, chosen, by, words, level=level)
    pairwise = design.pairwise(variable, category, by, level=level)
    change = None
    if compare_wave is not None:
        change = full.change(
            variable, category, between=wave_column, levels=(compare_wave, wave), by=by, level=level
        )
    return RegionalBreakdown(shares, test, finding, pairwise, change)
