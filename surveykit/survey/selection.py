"""What an analyst is looking at: filters on the respondents and the weighting, stated in words.

An analysis page (or a report) looks at one wave, perhaps only some countries, organisation
sizes or sectors, weighted or not. The filters are a *domain* of the design, never a filtered
frame: the design is declared (and raked) on every respondent, then subset, so the weights are
those of the whole wave and the standard errors those of domain estimation (R:
``subset(rake(design, ...), country %in% c(...))``).

* :func:`survey_design` - the design over every wave, raked to population margins within each
  wave when margins are given;
* :func:`filter_mask` - the respondents a set of filters keeps;
* :func:`describe_filters` and :func:`weighting_statement` - the selection and the weighting in
  words, for the page or the report to state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from surveykit.collection.instrument import Instrument
from surveykit.exceptions import DesignError, WeightError
from surveykit.survey.design import SurveyDesign

__all__ = [
    "FILTER_NAMES",
    "Filters",
    "describe_filters",
    "filter_mask",
    "survey_design",
    "weighting_statement",
]

Filters = Mapping[str, Sequence[object]]
"""``{column: [levels kept]}``; an empty list keeps every level."""

FILTER_NAMES: dict[str, str] = {"country": "country", "org_size": "organisation size", "sector": "sector"}
"""Short names of the usual filter and margin variables, for sentences."""

_SEPARATOR = "\u241f"  # a character no answer code holds, joining a wave and a level


def survey_design(
    responses: pd.DataFrame,
    margins: Mapping[str, Mapping[object, float]] | None = None,
    *,
    within: str | None = "wave",
    min_n: int = 5,
    caution_n: int = 30,
) -> SurveyDesign:
    """The design over every respondent, raked to population margins within each wave.

    Parameters
    ----------
    responses : DataFrame
        The tidy response frame, all waves (``Store.responses()``). Not modified.
    margins : mapping, optional
        Population margins ``{variable: {level: count}}``; unweighted when None or empty.
    within : str or None
        Rake each level of this column (each wave) to the margins separately, so that every wave
        represents the population on its own; ``None`` rakes all respondents together. Raking
        within waves is one raking on the combined margins (wave x variable), so standard errors
        and wave-over-wave changes come from one design (R: ``rake(design, list(~wave_country,
        ~wave_size), ...)``).
    min_n, caution_n : int
        Disclosure thresholds of the design.

    Returns
    -------
    SurveyDesign
        Unweighted, or raked (``design.calibrated``).

    Raises
    ------
    WeightError
        When a wave cannot be raked (a level with no respondents, a level the margins do not
        list); the message names the wave.
    """
    design = SurveyDesign(responses, min_n=min_n, caution_n=caution_n)
    if not margins:
        return design
    if within is None:
        return design.rake(margins)
    if within not in responses.columns:
        raise DesignError(f"within={within!r} is not a column of the responses; columns: {list(responses)}")
    groups = responses[within].astype("string")
    if groups.isna().any():
        raise WeightError(
            f"{int(groups.isna().sum())} respondents have no {within}; each needs one to be weighted"
        )
    data = responses.copy(deep=False)
    combined: dict[str, dict[str, float]] = {}
    for variable, margin in margins.items():
        if variable not in responses.columns:
            raise WeightError(
                f"the margins name {variable!r}, which is not a column of the responses; "
                f"columns: {list(responses)}"
            )
        for group in groups.unique():
            _check_rakeable(responses, groups == group, variable, margin, within, group)
        column = f"{within}{_SEPARATOR}{variable}"
        data[column] = groups + _SEPARATOR + responses[variable].astype("string")
        combined[column] = {
            f"{group}{_SEPARATOR}{level}": float(count)
            for group in groups.unique()
            for level, count in margin.items()
        }
    return SurveyDesign(data, min_n=min_n, caution_n=caution_n).rake(combined)


def _check_rakeable(
    responses: pd.DataFrame,
    rows: pd.Series,
    variable: str,
    margin: Mapping[object, float],
    within: str,
    group: object,
) -> None:
    """Raise a :class:`WeightError` naming the wave when its respondents cannot meet the margin."""
    values = responses.loc[rows.to_numpy(dtype=bool), variable]
    name = FILTER_NAMES.get(variable, variable)
    if values.isna().any():
        raise WeightError(
            f"{within} {group}: {int(values.isna().sum())} respondents gave no {name}, so they cannot be "
            "weighted to the population margins."
        )
    present = set(values.astype(str))
    unknown = sorted(present - {str(level) for level in margin})
    if unknown:
        raise WeightError(
            f"{within} {group}: respondents answered {name} {unknown[0]!r}, which the population margins "
            f"do not list (margins list {[str(level) for level in margin]}); add it to the margins."
        )
    absent = [str(level) for level, count in margin.items() if float(count) > 0 and str(level) not in present]
    if absent:
        raise WeightError(
            f"{within} {group} has no respondents with {name} {absent[0]!r}, so it cannot be raked to the "
            "population margins; show it unweighted, or set margins without that level."
        )


def filter_mask(responses: pd.DataFrame, filters: Filters | None = None) -> np.ndarray:
    """The respondents every filter keeps (a level list per column; empty keeps all).

    Parameters
    ----------
    responses : DataFrame
        The response frame.
    filters : mapping, optional
        ``{column: [levels]}``.

    Returns
    -------
    ndarray of bool
        One entry per row of ``responses``; respondents with a missing value in a filtered
        column are left out.
    """
    keep = np.ones(len(responses), dtype=bool)
    for column, levels in (filters or {}).items():
        if not levels:
            continue
        if column not in responses.columns:
            raise DesignError(f"cannot filter on {column!r}: not a column of the responses")
        keep &= responses[column].isin(list(levels)).fillna(False).to_numpy(dtype=bool)
    return keep


def describe_filters(filters: Filters | None, instrument: Instrument | None = None) -> str:
    """The filters in words with the instrument's labels: ``"country: United Kingdom, Australia;
    every organisation size and sector"``.

    Parameters
    ----------
    filters : mapping
        ``{column: [levels]}``.
    instrument : Instrument, optional
        Labels of the levels; codes are shown without it.
    """
    chosen, every = [], []
    for column, levels in (filters or {}).items():
        name = FILTER_NAMES.get(column, column.replace("_", " "))
        if not levels:
            every.append(name)
            continue
        labels = {}
        if instrument is not None and column in instrument.question_ids:
            labels = {choice.name: choice.label for choice in instrument[column].choices}
        chosen.append(f"{name}: {', '.join(labels.get(level, str(level)) for level in levels)}")
    if every:
        listing = every[0] if len(every) == 1 else f"{', '.join(every[:-1])} and {every[-1]}"
        chosen.append(f"every {listing}")
    return "; ".join(chosen) if chosen else "all respondents"


def weighting_statement(margins: Mapping[str, Mapping[object, float]] | None) -> str:
    """Which figures are shown: ``"Weighted: raked to population margins by country and
    organisation size"`` or ``"Unweighted: every respondent counts once"``."""
    if not margins:
        return "Unweighted: every respondent counts once"
    names = [FILTER_NAMES.get(variable, variable.replace("_", " ")) for variable in margins]
    listing = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"Weighted: raked to population margins by {listing}"
