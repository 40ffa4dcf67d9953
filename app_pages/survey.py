"""The survey form: one section per step, skip logic live, errors under their questions, a review
step, one stored response per submission, and a closed form after the thank-you.

The form is open while a managed wave is open (``Store.current_wave``), or through an invitation
link ``?invite=TOKEN`` for that invitation's wave.
"""

import logging
import re
import uuid

import streamlit as st

from app_pages._shared import get_store
from surveykit import SurveykitError, default_instrument
from surveykit.collection.form import (
    Availability,
    answer_problems,
    asked_answers,
    form_availability,
    review_items,
    submission_message,
)
from surveykit.collection.instrument import Question
from surveykit.exceptions import StoreBusyError

bundled = default_instrument()
try:
    store = get_store()
    instrument = store.latest_instrument(default=bundled)
except SurveykitError:  # details are for the operator's log, not for respondents
    logging.getLogger("surveykit.app").exception("The survey page could not read the store")
    st.error("The survey cannot be shown just now. Please try again in a few minutes.")
    st.stop()
if instrument.id == bundled.id and instrument.version < bundled.version:
    instrument = bundled  # a store written by an older surveykit: ask the current questions
sections = instrument.sections
state = st.session_state
state.setdefault("survey_form", 0)
state.setdefault("survey_key", uuid.uuid4().hex)
state.setdefault("survey_answers", {})
state.setdefault("survey_step", 0)
form = state["survey_form"]
answers: dict = state["survey_answers"]


def escaped(text: str) -> str:
    """Text shown as written, not as Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~:$])", r"\\\1", text)


def ask(question: Question) -> object:
    """One question's widget; returns its current answer."""
    key = f"survey_{form}_{question.id}"
    if key not in state and answers.get(question.id) is not None:
        state[key] = answers[question.id]  # back in a section shown before: its answers again
    # Streamlit reads the raw label out to screen readers, so only "$" (which would start maths) is escaped.
    label = question.text.replace("$", "\\$") + (" :red[*]" if question.required else "")
    labels = question.choice_labels
    hint = question.hint or None
    if question.type == "select_one":
        short = len(labels) <= 4 and all(len(text) <= 16 for text in labels.values())
        return st.radio(label, list(labels), index=None, format_func=labels.get, key=key, help=hint,
                        horizontal=short)  # fmt: skip
    if question.type == "select_multiple":
        return st.multiselect(label, list(labels), format_func=labels.get, key=key, help=hint,
                              placeholder="Choose all that apply")  # fmt: skip
    if question.type in ("integer", "decimal"):
        number = int if question.type == "integer" else float
        bounds = [None if b is None else number(b) for b in (question.minimum, question.maximum)]
        return st.number_input(label, *bounds, value=None, step=number(1 if number is int else 0.5),
                               key=key, help=hint, placeholder="Type a number")  # fmt: skip
    return st.text_input(label, key=key, help=hint, max_chars=500)


def start_again() -> None:
    """A fresh, blank response with its own idempotency key."""
    state["survey_form"] = form + 1
    state["survey_key"] = uuid.uuid4().hex
    state["survey_answers"] = {}
    state["survey_step"] = 0
    for key in ("survey_done", "survey_checked", "survey_from_review", "survey_wave"):
        state.pop(key, None)


def thank_you() -> None:
    """The closed form: the thanks, and starting again only on purpose."""
    st.success("Thank you, your answers are recorded.")
    st.write("The form is now closed. You may close this page.")
    if state["survey_done"]["again"]:
        st.caption("Answering for another organisation? Start a new, blank response.")
        st.button("Start a new response", key="survey_new", on_click=start_again)


def section_step(step: int) -> None:
    """One section: its questions as skip logic asks them, errors under them once checked."""
    title, questions = sections[step]
    st.progress((step + 1) / (len(sections) + 1), text=f"Section {step + 1} of {len(sections)}: {title}")
    st.caption(":red[*] marks a question that needs an answer.")
    summary = st.empty()
    current = {q.id for q in questions}
    asked = {q: v for q, v in asked_answers(instrument, answers).items() if q not in current}
    slots = {}
    for question in questions:
        if not instrument.is_relevant(question.id, asked):
            continue
        answers[question.id] = asked[question.id] = ask(question)
        slots[question.id] = st.empty()
    to_review = state.get("survey_from_review") or step == len(sections) - 1
    with st.container(horizontal=True):
        went_back = step > 0 and st.button("Back", key="survey_back", width=120)
        went_on = st.button(
            "Review answers" if to_review else "Next", type="primary", key="survey_next", width=160
        )
    if went_back:
        state["survey_step"] = step - 1
        st.rerun()
    if went_on:
        state["survey_checked"] = step
    if state.get("survey_checked") != step:
        return
    problems = answer_problems(instrument, answers, slots)
    for question_id, message in problems.items():
        slots[question_id].error(message, icon=":material/error:")
    if problems:
        count = "1 answer needs" if len(problems) == 1 else f"{len(problems)} answers need"
        summary.warning(f"{count} your attention below before you go on.")
    elif went_on:
        state["survey_step"] = len(sections) if to_review else step + 1
        state.pop("survey_checked", None)
        st.rerun()


def review_step(availability: Availability) -> None:
    """Every answer in words with a way back to its section, then the one submission."""
    st.progress(1.0, text="Review your answers")
    st.write("Please check your answers. Use **Edit** to change a section, then submit.")
    items = review_items(instrument, answers)
    for number, (title, _questions) in enumerate(sections):
        heading, edit = st.columns([5, 1], vertical_alignment="bottom")
        heading.subheader(title or "Your answers")
        if edit.button("Edit", key=f"survey_edit_{number}", icon=":material/edit:",
                       help=f"Change your answers in “{title or 'this section'}”"):  # fmt: skip
            state["survey_step"] = number
            state["survey_from_review"] = True
            st.rerun()
        rows = [f"- {escaped(i.question)}  \n  **{escaped(i.answer)}**" for i in items if i.section == number]
        st.markdown("\n".join(rows))
    with st.container(horizontal=True):
        went_back = st.button("Back", key="survey_back", width=120)
        submitted = st.button("Submit", type="primary", key="survey_submit", width=160)
    if went_back:
        state["survey_step"] = len(sections) - 1
        st.rerun()
    if not submitted:
        return
    try:
        store.submit(
            instrument,
            asked_answers(instrument, answers),
            wave=availability.wave,
            idempotency_key=state["survey_key"],
            invitation=availability.invitation,
        )
    except StoreBusyError as error:  # a long import holds the store: nothing stored, answers kept
        st.warning(str(error), icon=":material/hourglass_top:")
    except SurveykitError as error:
        st.error(submission_message(error))
        for message in answer_problems(instrument, answers).values():
            st.error(message, icon=":material/error:")
    else:
        state["survey_done"] = {"again": availability.invitation is None}
        st.rerun()


with st.container(width=860):  # a readable line length in the app's wide layout
    st.title(instrument.title)
    if "survey_done" in state:
        thank_you()
        st.stop()
    try:
        availability = form_availability(store, st.query_params.get("invite"))
    except SurveykitError as error:
        st.error(f"The survey cannot be shown just now: {error}")
        st.stop()
    if availability.is_open:
        state["survey_wave"] = availability
    elif answers and "survey_wave" in state:
        # Closed while this respondent was answering: keep their answers in view; submitting says why not.
        st.warning(availability.message)
        availability = state["survey_wave"]
    else:
        polite = availability.state in {"used", "closed", "scheduled"}  # nothing the respondent can fix
        (st.info if polite else st.warning)(availability.message)
        st.stop()
    if instrument.description:
        st.caption(instrument.description)
    if state["survey_step"] < len(sections):
        section_step(state["survey_step"])
    else:
        review_step(availability)
