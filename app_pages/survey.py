"""The survey form: one widget per question, skip logic applied live, one call to store the response."""

import os
import uuid
from datetime import date

import streamlit as st

from app_pages._shared import get_store
from surveykit import InstrumentError, StoreError, default_instrument

store = get_store()
instrument = store.latest_instrument(default=default_instrument())
wave = os.environ.get("SURVEYKIT_WAVE") or date.today().strftime("%Y-%m")
form = st.session_state.setdefault("survey_form", 0)
st.session_state.setdefault("survey_key", uuid.uuid4().hex)

st.title(instrument.title)
st.caption(instrument.description + f" Survey wave {wave}.")

answers: dict[str, object] = {}
for question in instrument.questions:
    if not instrument.is_relevant(question.id, answers):
        continue
    key = f"survey_{form}_{question.id}"
    label = question.text + ("" if question.required else " (optional)")
    labels = {c.name: c.label for c in question.choices}
    if question.type == "select_one":
        short = len(labels) <= 4 and all(len(text) <= 16 for text in labels.values())
        answers[question.id] = st.radio(
            label,
            list(labels),
            index=None,
            format_func=labels.get,
            key=key,
            help=question.hint or None,
            horizontal=short,
        )
    elif question.type == "select_multiple":
        answers[question.id] = st.multiselect(
            label, list(labels), format_func=labels.get, key=key, help=question.hint or None
        )
    elif question.type in ("integer", "decimal"):
        whole = question.type == "integer"
        answers[question.id] = st.number_input(
            label,
            min_value=None if question.minimum is None else (int if whole else float)(question.minimum),
            max_value=None if question.maximum is None else (int if whole else float)(question.maximum),
            value=None,
            step=1 if whole else 0.5,
            key=key,
        )
    else:
        answers[question.id] = st.text_input(label, key=key)

if st.button("Submit", type="primary", key="survey_submit"):
    try:
        result = store.submit(instrument, answers, wave=wave, idempotency_key=st.session_state["survey_key"])
    except (InstrumentError, StoreError) as exc:
        st.error(str(exc))
    else:
        st.session_state["survey_done"] = result.created
        st.success("Thank you, your answers are recorded." if result.created else "Already recorded.")

if "survey_done" in st.session_state and st.button("Start a new response", key="survey_new"):
    st.session_state["survey_form"] = form + 1
    st.session_state["survey_key"] = uuid.uuid4().hex
    del st.session_state["survey_done"]
    st.rerun()
