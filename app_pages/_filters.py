"""The filters and the weighting switch the analysis pages share, in the sidebar.

The choices live in ``st.session_state`` under ``filters_*`` keys (saved apart from the widgets,
which Streamlit forgets on a page that does not draw them), so the Reports page builds the report
for the filters last set on the Dashboard. The store's responses are read once per count of
responses: a new submission changes the count, so it shows up on the next run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
import streamlit as st

from app_pages._shared import get_store
from surveykit import Instrument, Store, SurveyDesign, SurveykitError
from surveykit.survey.selection import (
    FILTER_NAMES,
    describe_filters,
    filter_mask,
    survey_design,
    weighting_statement,
)

__all__ = ["Selection", "cached_design", "cached_responses", "choose", "selected_design", "weighting_switch"]

_LABELS = {"country": "Country", "org_size": "Organisation size", "sector": "Sector"}


@dataclass(frozen=True)
class Selection:
    """What the analyst chose: a wave, filters, and weighted or not (with the margins used)."""

    wave: str
    filters: dict[str, list[str]] = field(default_factory=dict)
    margins: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The selection as text, a cache key."""
        return json.dumps([self.wave, self.filters, self.margins], sort_keys=True)

    def statement(self, instrument: Instrument) -> str:
        """The weighting and the filters in words, for the page to state."""
        filters = describe_filters(self.filters, instrument)
        return f"{weighting_statement(self.margins)}. Wave {self.wave}; {filters}."


@st.cache_resource(show_spinner="Reading the responses…", max_entries=2)
def _responses(url: str, version: str) -> pd.DataFrame:
    # A resource, not data: a 100,000-row frame is shared read-only rather than copied per run.
    return get_store().responses()


def cached_responses(store: Store) -> pd.DataFrame:
    """The store's responses (all waves), read again only when they change (``responses_version``)."""
    return _responses(store.url, store.responses_version())


@st.cache_resource(show_spinner="Weighting…", max_entries=4)
def _design(url: str, version: str, margins: str) -> SurveyDesign:
    return survey_design(cached_responses(get_store()), json.loads(margins) or None)


def cached_design(store: Store, margins: dict[str, dict[str, float]]) -> SurveyDesign:
    """The design over every response, raked within each wave when ``margins`` are given."""
    return _design(store.url, store.responses_version(), json.dumps(margins, sort_keys=True))


def _remembered(key: str, default: object) -> None:
    """Give the widget ``key`` the value saved for it, or ``default`` the first time.

    Set on every run: a widget drawn by another page is another widget to Streamlit, which would
    otherwise start it from its default. A change the analyst makes is saved by :func:`_save`
    (the widget's ``on_change``) before the run that reads it.
    """
    st.session_state[key] = st.session_state.get(f"{key}_saved", default)


def _save(key: str) -> None:
    st.session_state[f"{key}_saved"] = st.session_state[key]


def weighting_switch(store: Store) -> dict[str, dict[str, float]]:
    """The weighting switch in the sidebar; the margins to rake to, or {} for unweighted."""
    margins = store.margins()
    _remembered("filters_weighted", False)
    if not margins:
        st.session_state["filters_weighted"] = False
    weighted = st.sidebar.toggle(
        "Weighted (raked to population margins)",
        key="filters_weighted",
        on_change=_save,
        args=("filters_weighted",),
        disabled=not margins,
        help="Off: every respondent counts once. On: each wave is raked to the stored population margins.",
    )
    _save("filters_weighted")
    if not margins:
        st.sidebar.caption(
            "No population margins are stored, so figures are unweighted; an admin can set them."
        )
    return margins if weighted else {}


def choose(store: Store, responses: pd.DataFrame, instrument: Instrument) -> Selection:
    """The sidebar's wave, filters and weighting switch; returns what they select."""
    st.sidebar.header("Filters")
    waves = sorted(responses["wave"].dropna().unique().tolist())
    _remembered("filters_wave", waves[-1])
    if st.session_state["filters_wave"] not in waves:
        st.session_state["filters_wave"] = waves[-1]
    wave = st.sidebar.selectbox("Wave", waves, key="filters_wave", on_change=_save, args=("filters_wave",))
    _save("filters_wave")
    filters: dict[str, list[str]] = {}
    for column in FILTER_NAMES:
        if column not in instrument.question_ids:
            continue
        labels = {choice.name: choice.label for choice in instrument[column].choices}
        key = f"filters_{column}"
        _remembered(key, [])
        st.session_state[key] = [level for level in st.session_state[key] if level in labels]
        filters[column] = st.sidebar.multiselect(
            _LABELS[column],
            list(labels),
            key=key,
            on_change=_save,
            args=(key,),
            format_func=labels.get,
            placeholder="All",
        )
        _save(key)
    margins = weighting_switch(store)
    return Selection(wave, filters, margins)


def selected_design(store: Store, selection: Selection) -> SurveyDesign:
    """The design weighted on every respondent, subset to the filters (every wave); a readable
    message, and the page stops, when it cannot be weighted or no one matches."""
    try:
        design = cached_design(store, selection.margins)
    except SurveykitError as error:
        hint = " Switch the weighting off to see unweighted figures." if selection.margins else ""
        st.error(f"{error}{hint}")
        st.stop()
    keep = filter_mask(design.data, selection.filters)
    if not keep.any():
        st.warning("No respondent matches these filters; widen them in the sidebar.")
        st.stop()
    return design if keep.all() else design.subset(keep)
