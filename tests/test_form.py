"""The survey form's logic without a user interface: availability, errors in the question's wording,
the review of every answer, and the messages after a failed submission."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from surveykit import Store, default_instrument
from surveykit.collection.form import answer_problems, form_availability, review_items, submission_message
from surveykit.exceptions import InvitationUsedError, StoreError, WaveClosedError

from .test_instrument import VALID_ANSWERS

INSTRUMENT = default_instrument()


def test_number_and_exclusive_choice_errors_name_the_question_and_what_it_takes():
    answers = {
        **VALID_ANSWERS,
        "outages_12m": 400,
        "longest_outage_hours": 1.5,
        "impersonated_roles": ["ceo", "none_dont_know"],
        "incidents_12m": 2_000_000,
    }
    del answers["role"]
    problems = answer_problems(INSTRUMENT, answers)
    assert problems == {
        "role": "Please choose an answer to “Which best describes your role?”",
        "impersonated_roles": "For “Which senior roles did the attackers impersonate? Tick all that apply.”, "
        "“None / don't know” cannot be ticked together with other answers.",
        "outages_12m": "“How many outages of your cloud email service did you have in the last 12 months?” "
        "needs a whole number from 0 to 365.",
        "incidents_12m": "“How many security incidents did your organisation detect in the last 12 months?” "
        "needs a whole number from 0 to 1,000,000.",
    }
    assert list(answer_problems(INSTRUMENT, answers, ["outages_12m", "ciso_present"])) == ["outages_12m"]


def test_an_empty_multiple_choice_asks_for_a_tick_or_its_none_choice():
    answers = {**VALID_ANSWERS, "impersonated_roles": []}
    assert answer_problems(INSTRUMENT, answers) == {
        "impersonated_roles": "Please tick at least one answer or “None / don't know” to "
        "“Which senior roles did the attackers impersonate? Tick all that apply.”"
    }


def test_answers_to_hidden_questions_raise_no_error_and_are_not_reviewed():
    answers = {**VALID_ANSWERS, "whaling_received": "no", "impersonated_roles": ["ceo", "none_dont_know"]}
    assert answer_problems(INSTRUMENT, answers) == {}
    assert "impersonated_roles" not in {item.question_id for item in review_items(INSTRUMENT, answers)}


def test_review_lists_answers_in_words_with_the_please_specify_text():
    answers = {**VALID_ANSWERS, "role": "other", "role_other": "Auditor", "controls": []}
    items = {item.question_id: item for item in review_items(INSTRUMENT, answers)}
    assert items["role"].answer == "Other: Auditor"
    assert "role_other" not in items  # shown with its choice
    assert items["impersonated_roles"].answer == "Chief executive (CEO); Chief financial officer (CFO)"
    assert items["controls"].answer == "None ticked"
    assert items["longest_outage_hours"].answer == "3.5"
    assert items["incidents_12m"].answer == "No answer"
    assert (items["ciso_present"].section, items["ciso_present"].section_title) == (2, "Security leadership")


def test_availability_follows_the_waves_and_invitations(sqlite_url):
    now = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    with Store(sqlite_url) as store:
        assert form_availability(store, now=now).state == "closed"
        store.open_wave("2030-07", opens=now + timedelta(days=30), open_to_anyone=False)
        later = form_availability(store, now=now)
        assert later.state == "scheduled" and "It opens on 1 July 2030 at 12:00 UTC" in later.message
        (token,) = store.create_invitations("2030-07", 1)
        assert form_availability(store, token, now=now).state == "scheduled"
        inside = now + timedelta(days=31)
        assert form_availability(store, now=inside).state == "invitation_only"
        assert form_availability(store, f" {token} ", now=inside).invitation == token  # a pasted space
        opened = form_availability(store, token, now=inside)
        assert (opened.state, opened.wave, opened.invitation) == ("open", "2030-07", token)
        assert form_availability(store, "not-a-token", now=inside).state == "unknown"
        store.open_wave("2030-08", opens=inside, open_to_anyone=True)
        assert form_availability(store, now=inside + timedelta(hours=1)).wave == "2030-08"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (WaveClosedError("Wave '2017-12' closed at ... open_wave."), "The survey closed while you were"),
        (InvitationUsedError("..."), "This invitation was already used"),
        (StoreError("The idempotency key 'abc' was already used"), "could not be saved just now"),
    ],
)
def test_submission_messages_speak_to_the_respondent(error, text):
    message = submission_message(error)
    assert text in message
    assert "open_wave" not in message and "idempotency" not in message
