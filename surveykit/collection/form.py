"""The survey form's logic, free of any user interface: whether the form is open, what is asked,
the respondent's errors in the question's own wording, and the review of every answer.

The app's survey page draws widgets around these functions; a command-line or web form could do
the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from surveykit.collection.instrument import ANSWER_REQUIRED, Instrument, Question
from surveykit.collection.store import Store
from surveykit.exceptions import (
    InstrumentError,
    InvitationError,
    InvitationUsedError,
    StoreError,
    SurveykitError,
    WaveClosedError,
)

__all__ = [
    "Availability",
    "AvailabilityState",
    "ReviewItem",
    "answer_problems",
    "asked_answers",
    "form_availability",
    "review_items",
    "submission_message",
]

AvailabilityState = Literal["open", "closed", "scheduled", "invitation_only", "used", "unknown", "revoked"]

_NOT_OPEN = "This survey is not open at the moment."


@dataclass(frozen=True)
class Availability:
    """Whether a respondent may answer now, and the polite message when not.

    Attributes
    ----------
    state : AvailabilityState
        ``"open"`` when the form may be shown; otherwise why not.
    wave : str or None
        The wave answers go to (when open), or the wave concerned.
    invitation : str or None
        The invitation token to submit with, when the respondent came through one.
    message : str
        What to tell the respondent; "" when open.
    """

    state: AvailabilityState
    wave: str | None = None
    invitation: str | None = None
    message: str = ""

    @property
    def is_open(self) -> bool:
        """Whether the form may be shown."""
        return self.state == "open"


@dataclass(frozen=True)
class ReviewItem:
    """One answer on the review step: its section, the question's wording and the answer in words."""

    section: int
    section_title: str
    question_id: str
    question: str
    answer: str


def form_availability(
    store: Store, invitation: str | None = None, now: datetime | None = None
) -> Availability:
    """Decide whether the survey form is open to this respondent.

    Without an invitation the form is open while a managed wave is open to anyone
    (:meth:`Store.current_wave`). With one, it is open for that invitation's wave while the
    invitation is unused and the wave is open.

    Parameters
    ----------
    store : Store
        The store the form writes to.
    invitation : str, optional
        The token of an invitation link (``?invite=TOKEN``).
    now : datetime, optional
        The moment to judge at (naive datetimes are UTC); now by default.
    """
    token = (invitation or "").strip()
    if token:
        status = store.invitation_status(token)
        if status == "used":
            return Availability(
                "used",
                message="This invitation was already used to answer the survey. Thank you for taking part!",
            )
        if status == "revoked":
            return Availability(
                "revoked",
                message="This invitation link has been withdrawn. Please ask the survey team for a new one.",
            )
        wave = store.invitation_wave(token) if status == "valid" else None
        if wave is None:
            return Availability(
                "unknown",
                message="This invitation link is not valid. Please check that you opened the whole link "
                "from your invitation, or ask the survey team for a new one.",
            )
        waves = store.list_waves(now=now)
        row = waves[waves["wave"] == wave]
        state = str(row["status"].iloc[0]) if len(row) else "unmanaged"
        if state in {"open", "unmanaged"}:
            return Availability("open", wave=wave, invitation=token)
        return _not_open(waves, wave if state == "scheduled" else None)
    current = store.current_wave(now=now)
    waves = store.list_waves(now=now)
    if current is None:
        return _not_open(waves, None)
    row = waves[waves["wave"] == current]
    if len(row) and not bool(row["open_to_anyone"].iloc[0]):
        return Availability(
            "invitation_only",
            wave=current,
            message="This survey is by invitation only. Please open the personal link in the invitation "
            "you were sent.",
        )
    return Availability("open", wave=current)


def _not_open(waves: Any, wave: str | None) -> Availability:
    """The form is closed: say when it opens next, if a wave is scheduled."""
    scheduled = waves[waves["status"] == "scheduled"]
    if wave is not None:
        scheduled = scheduled[scheduled["wave"] == wave]
    if len(scheduled):
        opens = scheduled["opens_at"].min()
        when = f"{opens:%d %B %Y at %H:%M} UTC".lstrip("0")
        return Availability(
            "scheduled",
            wave=wave,
            message=f"{_NOT_OPEN} It opens on {when}; we look forward to your answers then.",
        )
    return Availability(
        "closed",
        wave=wave,
        message=f"{_NOT_OPEN} Thank you for your interest; please come back when the next round opens.",
    )


def asked_answers(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to the questions skip logic asks, in order; answers to hidden questions are left out.

    Parameters
    ----------
    instrument : Instrument
        The instrument answered.
    answers : mapping
        Raw answers keyed by question id, possibly including questions no longer asked.
    """
    asked: dict[str, Any] = {}
    for question in instrument.questions:
        if instrument.is_relevant(question.id, asked):
            asked[question.id] = answers.get(question.id)
    return asked


def answer_problems(
    instrument: Instrument, answers: Mapping[str, Any], question_ids: Iterable[str] | None = None
) -> dict[str, str]:
    """What a respondent must fix, one message per question, in the question's own wording.

    Parameters
    ----------
    instrument : Instrument
        The instrument answered.
    answers : mapping
        Raw answers keyed by question id.
    question_ids : iterable of str, optional
        Report only these questions (for example one section's); all by default.

    Returns
    -------
    dict
        ``{question_id: message}`` in question order; empty when nothing needs fixing.
    """
    _cleaned, problems = instrument.check_answers(asked_answers(instrument, answers))
    wanted = set(instrument.question_ids if question_ids is None else question_ids)
    found = {qid: (value, reason) for qid, value, reason in problems if qid in wanted}
    return {q.id: _message(q, *found[q.id]) for q in instrument.questions if q.id in found}


def _message(question: Question, value: Any, reason: str) -> str:
    text = f"“{question.text}”"
    if reason == ANSWER_REQUIRED:
        if question.type == "select_one":
            return f"Please choose an answer to {text}"
        if question.type == "select_multiple":
            labels = question.choice_labels
            none = " or “" + labels[question.exclusive[0]] + "”" if question.exclusive else ""
            return f"Please tick at least one answer{none} to {text}"
        return f"Please give an answer to {text}"
    if question.type in {"integer", "decimal"}:
        kind = "a whole number" if question.type == "integer" else "a number"
        low, high = question.minimum, question.maximum
        if low is not None and high is not None:
            kind += f" from {_number(low)} to {_number(high)}"
        elif low is not None:
            kind += f" of at least {_number(low)}"
        elif high is not None:
            kind += f" of at most {_number(high)}"
        return f"{text} needs {kind}."
    if question.type == "select_multiple" and question.exclusive:
        labels = question.choice_labels
        alone = next((labels[x] for x in question.exclusive if x in (value or ())), None)
        if alone is not None:
            return f"For {text}, “{alone}” cannot be ticked together with other answers."
    return f"{text}: {reason}."


def review_items(instrument: Instrument, answers: Mapping[str, Any]) -> list[ReviewItem]:
    """Every question asked, with its answer in words, for the review step before submitting.

    A "please specify" answer is shown with its choice ("Other: Narnia") rather than on its own line.

    Parameters
    ----------
    instrument : Instrument
        The instrument answered.
    answers : mapping
        Raw answers keyed by question id.
    """
    asked = asked_answers(instrument, answers)
    items = []
    for number, (title, questions) in enumerate(instrument.sections):
        for question in questions:
            if question.id not in asked or question.specifies is not None:
                continue
            answer = _answer_text(question, asked[question.id])
            follow_up = asked.get(f"{question.id}_other") if question.other else None
            if isinstance(follow_up, str) and follow_up.strip():
                answer += f": {follow_up.strip()}"
            items.append(ReviewItem(number, title, question.id, question.text, answer))
    return items


def _answer_text(question: Question, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return "No answer"
    labels = question.choice_labels
    if question.type == "select_one":
        return labels.get(str(value), str(value))
    if question.type == "select_multiple":
        chosen = {str(v) for v in value}
        ticked = [label for name, label in labels.items() if name in chosen]  # in choice order, as stored
        return "; ".join(ticked) if ticked else "None ticked"
    if question.type in {"integer", "decimal"}:
        return _number(value)
    return str(value).strip()


def _number(value: float) -> str:
    number = float(value)
    return f"{int(number):,}" if number.is_integer() else f"{number:,}"


def submission_message(error: SurveykitError) -> str:
    """What to tell a respondent whose submission failed; their answers are still in the form.

    Parameters
    ----------
    error : SurveykitError
        Raised by :meth:`Store.submit`.
    """
    if isinstance(error, WaveClosedError):
        return (
            "The survey closed while you were answering, so your answers could not be sent. "
            "Thank you for your time; your answers are still shown here."
        )
    if isinstance(error, InvitationUsedError):
        return "This invitation was already used to answer the survey, so these answers were not sent."
    if isinstance(error, InvitationError):
        return f"Your answers could not be sent: {error}"
    if isinstance(error, InstrumentError):
        return "Some answers need a second look before they can be sent; please check the sections."
    if isinstance(error, StoreError):
        return "Your answers could not be saved just now. Please try again in a moment."
    return f"Your answers could not be sent: {error}"
