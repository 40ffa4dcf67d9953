"""Key findings as sentences, written from result frames and following their tests.

An advisory states a difference only when its interval excludes no difference at the stated
level, and says "no significant difference" otherwise; it states nothing about a suppressed
cell, and marks a cell flagged "caution". These functions read one row of a result frame (the
vocabulary of docs/results.md) and return the sentence, or None when nothing may be said.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from surveykit.publishing.style import (
    format_count,
    format_growth,
    format_growth_interval,
    format_interval,
    format_p_value,
    format_percent,
    format_points,
)

if TYPE_CHECKING:
    from surveykit.survey.tables import IndependenceTest

__all__ = [
    "change_finding",
    "growth_finding",
    "regional_finding",
    "share_finding",
    "significant",
]

_CAUTION = " Based on fewer than {n} respondents: interpret with caution."


def significant(row: Mapping[str, object]) -> bool:
    """True when the row's interval excludes zero (a difference or growth the data support)."""
    low, high = float(row["ci_low"]), float(row["ci_high"])
    return math.isfinite(low) and math.isfinite(high) and (low > 0 or high < 0)


def _suppressed(row: Mapping[str, object]) -> bool:
    estimate = row["estimate"]
    return row["flag"] == "suppressed" or estimate is None or not math.isfinite(float(estimate))


def _caution(row: Mapping[str, object], caution_n: int) -> str:
    return _CAUTION.format(n=caution_n) if row["flag"] == "caution" else ""


def share_finding(
    row: Mapping[str, object],
    predicate: str,
    *,
    subject: str = "respondents",
    level: float = 0.95,
    caution_n: int = 30,
) -> str | None:
    """``"55% of respondents (95% CI 51–60%, n = 450) saw more whaling."``

    Parameters
    ----------
    row : mapping
        One row of a share frame (``proportions``).
    predicate : str
        What the share did, e.g. ``"saw more whaling"``.
    subject : str
        Who the share is of.
    level : float
        The interval's confidence level.
    caution_n : int
        The caution threshold named in the caution note.

    Returns
    -------
    str or None
        None for a suppressed cell.
    """
    if _suppressed(row):
        return None
    interval = format_interval(float(row["ci_low"]), float(row["ci_high"]))
    return (
        f"{format_percent(float(row['estimate']))} of {subject} ({format_percent(level)} CI {interval}, "
        f"n = {format_count(float(row['n']))}) {predicate}.{_caution(row, caution_n)}"
    )


def _points(value: float) -> str:
    return f"{abs(100 * value):.0f} percentage point{'' if round(abs(100 * value)) == 1 else 's'}"


def change_finding(
    row: Mapping[str, object],
    what: str,
    *,
    level: float = 0.95,
    caution_n: int = 30,
) -> str | None:
    """A change between two waves (or any two levels) from a ``change``/``pairwise`` row.

    Parameters
    ----------
    row : mapping
        One row with ``from, to, estimate (to - from), ci_low, ci_high, estimate_from,
        estimate_to, flag``.
    what : str
        The share in words, e.g. ``"the share who saw more whaling"``.
    level : float
        The interval's confidence level.
    caution_n : int
        The caution threshold named in the caution note.

    Returns
    -------
    str or None
        A rise or fall when the interval excludes zero, "no significant difference" otherwise,
        None for a suppressed comparison.
    """
    if _suppressed(row):
        return None
    first, second = row["from"], row["to"]
    before, after = format_percent(float(row["estimate_from"])), format_percent(float(row["estimate_to"]))
    low, high = (
        format_points(float(row["ci_low"]), unit=False),
        format_points(float(row["ci_high"]), unit=False),
    )
    interval = f"{format_percent(level)} CI {low} to {high} points"
    difference = float(row["estimate"])
    if significant(row):
        direction = "rose" if difference > 0 else "fell"
        sentence = (
            f"{what[:1].upper()}{what[1:]} {direction} from {before} in {first} to {after} in {second}, "
            f"{_points(difference)} ({interval})."
        )
    else:
        sentence = (
            f"No significant difference in {what} between {first} ({before}) and {second} ({after}): "
            f"{format_points(difference, unit=False)} points, {interval}."
        )
    return sentence + _caution(row, caution_n)


def regional_finding(
    test: IndependenceTest,
    shares: pd.DataFrame,
    by: str,
    what: str,
    *,
    level: float = 0.95,
    label: str | None = None,
) -> str:
    """Whether a share differs between regions, following the Rao-Scott test.

    Parameters
    ----------
    test : IndependenceTest
        :func:`surveykit.test_independence` of ``by`` and the question.
    shares : DataFrame
        The share by region (one category), e.g. ``proportions(q, by=by)`` filtered to it.
    by : str
        The region column.
    what : str
        The share in words, e.g. ``"the share who saw more whaling"``.
    level : float
        The test's level.
    label : str, optional
        The regions in words (``"country"`` by default: ``by``).

    Returns
    -------
    str
        The test is of all the question's answers against the regions; when it rejects at
        ``1 - level`` the sentence gives the share's lowest and highest region, otherwise "no
        significant difference"; suppressed regions are never named.
    """
    regions = label or by
    statistic = f"F = {test.statistic:.2f}, {format_p_value(test.p_value)}"
    shown = shares[shares["flag"] != "suppressed"].dropna(subset=["estimate"])
    if test.p_value < 1 - level and len(shown) >= 2:
        low = shown.loc[shown["estimate"].idxmin()]
        high = shown.loc[shown["estimate"].idxmax()]
        return (
            f"Answers differed by {regions} (Rao-Scott {statistic}): {what} ranged from "
            f"{format_percent(float(low['estimate']))} in {low[by]} to "
            f"{format_percent(float(high['estimate']))} in {high[by]}."
        )
    return f"No significant difference by {regions} in {what} (Rao-Scott test of all answers: {statistic})."


def growth_finding(row: Mapping[str, object], what: str, *, level: float = 0.95) -> str | None:
    """Year-over-year growth from a ``yoy_growth`` row (``estimate`` = rate ratio - 1).

    Parameters
    ----------
    row : mapping
        One row with ``period, estimate, ci_low, ci_high, flag``.
    what : str
        The counted thing, e.g. ``"detected incidents"``.
    level : float
        The interval's confidence level.

    Returns
    -------
    str or None
        A rise or fall when the interval excludes zero, "no significant change" otherwise, None
        for a suppressed row.
    """
    if _suppressed(row):
        return None
    growth = float(row["estimate"])
    interval = (
        f"{format_percent(level)} CI {format_growth_interval(float(row['ci_low']), float(row['ci_high']))}"
    )
    subject = f"{what[:1].upper()}{what[1:]}"
    when = f"in {row['period']} on a year earlier"
    if significant(row):
        direction = "rose" if growth > 0 else "fell"
        return f"{subject} {direction} {abs(100 * growth):.0f}% {when} ({interval})."
    return f"No significant change in {what} {when}: {format_growth(growth)} ({interval})."
