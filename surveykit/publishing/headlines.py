"""Headline figures in the form advisories print: "55% (95% CI 51–60%), n = 450, saw more whaling".

:func:`headlines` runs :meth:`SurveyDesign.proportions` for each headline of a list of
:class:`Headline` specifications (the whaling instrument's by default: the whaling trend, each
impersonated role, CISO presence and seniority, each control in place) in one wave of a design,
and returns the result vocabulary (docs/results.md) with the sentence of each card in a ``text``
column. A card flagged "caution" carries the style's caution mark; a suppressed one says
"n too small" and never shows a number. :func:`overview` adds the frames a dashboard charts
beside the cards (the whaling trend over the waves, the roles, the controls, the CISO).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from surveykit._validation import check_level
from surveykit.collection.instrument import Instrument
from surveykit.exceptions import DesignError, SmallSampleWarning
from surveykit.publishing.style import CAUTION_MARK, SUPPRESSED_TEXT, format_count, format_share
from surveykit.survey.design import SurveyDesign
from surveykit.survey.proportions import binomial_confint

__all__ = ["HEADLINE_COLUMNS", "WHALING_HEADLINES", "Headline", "Overview", "headlines", "overview"]


@dataclass(frozen=True)
class Headline:
    """One group of headline cards: the share choosing a category (or each choice) of a question.

    Attributes
    ----------
    group : str
        The cards' heading on a page, e.g. ``"Impersonated roles"``.
    variable : str
        The question.
    predicate : str
        What the share did, after the figure: ``"saw more whaling"``. ``{label}`` is replaced by
        the choice's label with its first letter in lower case (``"had {label} impersonated"``).
    category : str, optional
        The category counted; every choice of the question (but its exclusive ones, like
        "None / don't know") when None.
    base : str
        Who the share is of, in words (the respondents who answered the question).
    title : str, optional
        The card's heading; the choice's label when None.
    """

    group: str
    variable: str
    predicate: str
    category: str | None = None
    base: str = "respondents who answered"
    title: str | None = None


WHALING_HEADLINES: tuple[Headline, ...] = (
    Headline("Whaling", "whaling_trend", "saw more whaling", "increased", title="Saw more whaling"),
    Headline(
        "Impersonated roles",
        "impersonated_roles",
        "had {label} impersonated",
        base="respondents whose organisation received whaling emails",
    ),
    Headline("Security leadership", "ciso_present", "have a CISO", "yes", title="Have a CISO"),
    Headline(
        "Security leadership",
        "ciso_in_csuite",
        "have the CISO in the C-suite",
        "yes",
        base="respondents whose organisation has a CISO",
        title="CISO in the C-suite",
    ),
    Headline("Controls in place", "controls", "have {label}"),
)
"""The dashboard's headlines for the bundled whaling instrument."""

HEADLINE_COLUMNS = (
    "wave", "variable", "category", "estimate", "se", "ci_low", "ci_high", "n", "method", "flag",
    "group", "title", "base", "text",
)  # fmt: skip
"""The columns :func:`headlines` returns, in order."""


def headlines(
    design: SurveyDesign,
    instrument: Instrument,
    *,
    wave: str | None = None,
    wave_column: str = "wave",
    specs: Sequence[Headline] = WHALING_HEADLINES,
    level: float = 0.95,
) -> pd.DataFrame:
    """The headline cards of one wave: each share with its interval, n and sentence.

    Parameters
    ----------
    design : SurveyDesign
        The design over every respondent (raked, and subset to the filters, as wanted).
    instrument : Instrument
        The questions' choices and labels. Headlines whose question it lacks are left out.
    wave : str, optional
        The wave shown (a subset of ``design``); every wave pooled when None.
    wave_column : str
        The column holding the wave.
    specs : sequence of Headline
        The headlines; the whaling instrument's by default.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        ``wave, variable, category, estimate, se, ci_low, ci_high, n, method, flag`` (the result
        vocabulary), then ``group`` (the heading of a group of cards), ``title`` (the card's
        heading: the choice's label, or the headline's title), ``base`` (who the share is of)
        and ``text``, e.g. ``"55% (95% CI 51–60%), n = 450, saw more whaling"``. A question
        nobody in the selection answered gives no row; a category nobody chose gives 0%.
    """
    level = check_level(level)
    if wave is not None:
        design = design.subset(design.variables.column(wave_column, "wave_column") == wave)
    rows = []
    for spec in specs:
        if spec.variable not in instrument.question_ids:
            continue
        question = instrument[spec.variable]
        names = (
            [spec.category]
            if spec.category is not None
            else [c.name for c in question.choices if c.name not in question.exclusive]
        )
        labels = {choice.name: choice.label for choice in question.choices}
        with warnings.catch_warnings():
            # Small cells are flagged in the frame and shown as such on the card.
            warnings.simplefilter("ignore", SmallSampleWarning)
            try:
                shares = design.proportions(spec.variable, level=level)
            except DesignError:  # nobody in the selection answered the question
                continue
        for name in names:
            label = labels.get(name, str(name))
            found = shares[shares["category"] == name]
            row = found.iloc[0].to_dict() if len(found) else _nobody(shares, spec.variable, name, level)
            predicate = spec.predicate.format(label=_lower_first(label))
            row.update(wave=wave, group=spec.group, title=spec.title or label, base=spec.base)
            row["text"] = _card_text(row, predicate, level)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(HEADLINE_COLUMNS))


def _nobody(shares: pd.DataFrame, variable: str, category: str, level: float) -> dict[str, object]:
    """A category no one chose (proportions lists only chosen ones): 0 of n, flagged by n."""
    first = shares.iloc[0]
    n = int(first["n"])
    suppressed = first["flag"] == "suppressed"
    low = high = float("nan")
    if first["method"] == "wilson" and not suppressed:  # the score interval exists at 0 of n
        low, high = (float(end) for end in binomial_confint(0, n, level=level))
    return {
        "variable": variable,
        "category": category,
        "estimate": float("nan") if suppressed else 0.0,
        "se": float("nan") if suppressed else 0.0,
        "ci_low": low,
        "ci_high": high,
        "n": n,
        "method": first["method"],
        "flag": first["flag"],
    }


def _card_text(row: dict[str, object], predicate: str, level: float) -> str:
    n = f"n = {format_count(float(row['n']))}"  # type: ignore[arg-type]
    if row["flag"] == "suppressed":
        return f"{SUPPRESSED_TEXT} ({n}), {predicate}"
    share = format_share(float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]), level)  # type: ignore[arg-type]
    if row["flag"] == "caution":
        percent, rest = share.split(" ", 1)
        share = f"{percent}{CAUTION_MARK} {rest}"
    return f"{share}, {n}, {predicate}"


def _lower_first(label: str) -> str:
    """``"Chief executive (CEO)"`` as ``"chief executive (CEO)"``; ``"IT"`` stays ``"IT"``."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


@dataclass(frozen=True)
class Overview:
    """What a dashboard shows for one wave of a selection (see :func:`overview`).

    Attributes
    ----------
    wave : str or None
        The wave shown.
    respondents : int
        Respondents in the selection in that wave.
    headlines : DataFrame
        The cards (:func:`headlines`).
    trend : DataFrame or None
        The share answering "increased" to ``whaling_trend`` in every wave of the selection;
        None when nobody in the selection answered "increased".
    roles, controls, ciso : DataFrame or None
        The wave's shares of ``impersonated_roles``, ``controls`` and ``ciso_present``; None when
        nobody in the selection answered the question.
    """

    wave: str | None
    respondents: int
    headlines: pd.DataFrame
    trend: pd.DataFrame | None
    roles: pd.DataFrame | None
    controls: pd.DataFrame | None
    ciso: pd.DataFrame | None


def overview(
    design: SurveyDesign,
    instrument: Instrument,
    *,
    wave: str | None = None,
    wave_column: str = "wave",
    level: float = 0.95,
) -> Overview:
    """The headline cards and the chart frames of one wave of a selection.

    Parameters
    ----------
    design : SurveyDesign
        The design over every respondent and wave (raked, and subset to the filters, as wanted):
        the trend spans its waves.
    instrument : Instrument
        The questions' choices and labels.
    wave : str, optional
        The wave of the cards and the category charts; every wave pooled when None.
    wave_column : str
        The column holding the wave.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    Overview
    """
    level = check_level(level)
    in_wave = design.domain
    current = design
    if wave is not None:
        in_wave &= (design.variables.column(wave_column, "wave_column") == wave).to_numpy(dtype=bool)
        if not in_wave.any():
            raise DesignError(f"no respondent in the selection is in {wave_column} {wave!r}")
        current = design.subset(in_wave)
    cards = headlines(design, instrument, wave=wave, wave_column=wave_column, level=level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        trend = _maybe(
            lambda: design.proportions("whaling_trend", by=wave_column, categories=["increased"], level=level)
        )
        roles, controls, ciso = (
            _maybe(lambda q=question: current.proportions(q, level=level))
            for question in ("impersonated_roles", "controls", "ciso_present")
        )
    return Overview(wave, int(in_wave.sum()), cards, trend, roles, controls, ciso)


def _maybe(estimate: Callable[[], pd.DataFrame]) -> pd.DataFrame | None:
    """The estimate, or None when nobody in the selection gave the answer it needs."""
    try:
        return estimate()
    except DesignError:
        return None
