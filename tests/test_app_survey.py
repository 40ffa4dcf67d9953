"""The survey form through AppTest: sections, live skip logic, errors under their questions, the
review step, one response per submission, a closed form after the thank-you, waves and invitations."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from surveykit import Instrument, Store, default_instrument
from tests._apptest import APP, start

INSTRUMENT = default_instrument()
SECTIONS = [
    {"country": "GB", "org_size": "250_999", "sector": "finance", "role": "security"},
    {"whaling_trend": "increased", "whaling_received": "yes", "impersonated_roles": ["ceo", "cfo"]},
    {"ciso_present": "yes", "ciso_in_csuite": "no"},
    {"email_continuity": "no", "outages_12m": 2, "longest_outage_hours": 6.5},
    {},
]
"""Answers section by section, in the order skip logic shows the questions."""


def open_wave(db: str, name: str = "2017-12", **options) -> None:
    with Store(db) as store:
        store.open_wave(name, **options)


def widget(at: AppTest, question_id: str, form: int = 0):
    kind = {"select_one": "radio", "select_multiple": "multiselect", "integer": "number_input",
            "decimal": "number_input", "text": "text_input"}[INSTRUMENT[question_id].type]  # fmt: skip
    return getattr(at, kind)(key=f"survey_{form}_{question_id}")


def answer(at: AppTest, answers: dict[str, object], form: int = 0) -> None:
    for question_id, value in answers.items():
        widget(at, question_id, form).set_value(value)
        at.run()  # later questions appear as skip logic allows
        assert not at.exception


def go_on(at: AppTest) -> None:
    at.button(key="survey_next").click().run()
    assert not at.exception


def fill_to_review(at: AppTest, sections: list[dict[str, object]] = SECTIONS, form: int = 0) -> None:
    for section in sections:
        answer(at, section, form)
        go_on(at)
    assert at.get("progress")[0].proto.text == "Review your answers"


def shown_keys(at: AppTest) -> set[str]:
    return {w.key for kind in ("radio", "multiselect", "number_input", "text_input") for w in at.get(kind)}


def in_order(node) -> list:
    """Every element of the page, in the order shown."""
    children = getattr(node, "children", None)
    if not children:
        return [node]
    return [leaf for key in sorted(children) for leaf in in_order(children[key])]


def progress_text(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


def review_text(at: AppTest) -> str:
    """The review's Markdown as a reader sees it (escapes removed)."""
    return re.sub(r"\\(.)", r"\1", "\n".join(m.value for m in at.markdown))


def stored(db: str) -> pd.DataFrame:
    with Store(db) as store:
        return store.responses()


def test_the_first_section_shows_its_questions_and_progress(db):
    open_wave(db)
    at = start()
    assert not at.exception
    assert at.title[0].value == "Whaling and email security posture"
    assert progress_text(at) == "Section 1 of 5: About your organisation"
    assert shown_keys(at) == {f"survey_0_{q}" for q in ("country", "org_size", "sector", "role")}
    assert widget(at, "country").label.endswith(":red[*]")  # required, and the note says what * means
    assert any(":red[*] marks a question that needs an answer." in c.value for c in at.caption)
    assert not at.button(key="survey_next").disabled and "survey_back" not in {b.key for b in at.button}


def test_skip_logic_shows_and_hides_a_question_and_a_hidden_answer_is_not_stored(db):
    open_wave(db)
    at = start()
    answer(at, SECTIONS[0])
    go_on(at)
    answer(at, SECTIONS[1])
    go_on(at)
    assert progress_text(at) == "Section 3 of 5: Security leadership"
    assert "survey_0_ciso_in_csuite" not in shown_keys(at)
    answer(at, {"ciso_present": "yes"})
    assert "survey_0_ciso_in_csuite" in shown_keys(at)  # appears when its condition holds
    answer(at, {"ciso_in_csuite": "yes"})
    answer(at, {"ciso_present": "no"})
    assert "survey_0_ciso_in_csuite" not in shown_keys(at)  # and goes when it stops holding
    go_on(at)
    fill_to_review(at, SECTIONS[3:])
    at.button(key="survey_submit").click().run()
    row = stored(db).iloc[0]
    assert row["ciso_present"] == "no" and pd.isna(row["ciso_in_csuite"])


def test_an_empty_required_answer_is_shown_under_its_question_in_its_wording(db):
    open_wave(db)
    at = start()
    answer(at, {"country": "US", "sector": "retail", "role": "security"})
    go_on(at)
    assert not at.exception
    assert progress_text(at).startswith("Section 1 of 5")  # not let through
    message = "Please choose an answer to “How many employees does your organisation have?”"
    assert [e.value for e in at.error] == [message]
    assert "org_size" not in message
    elements = in_order(at.main)
    position = next(i for i, e in enumerate(elements) if getattr(e, "key", None) == "survey_0_org_size")
    assert elements[position + 1].type == "error" and elements[position + 1].value == message
    assert "1 answer needs your attention" in at.warning[0].value
    answer(at, {"org_size": "lt250"})
    assert not at.error  # fixed, the message goes
    assert stored(db).empty


def test_other_please_specify_is_asked_under_its_question_reviewed_and_stored(db):
    open_wave(db)
    at = start()
    assert "survey_0_sector_other" not in shown_keys(at)
    answer(at, {**SECTIONS[0], "sector": "other"})
    keys = [e.key for e in in_order(at.main) if getattr(e, "key", None)]
    assert keys.index("survey_0_sector_other") == keys.index("survey_0_sector") + 1
    at.text_input(key="survey_0_sector_other").input("Shipping").run()
    go_on(at)
    fill_to_review(at, SECTIONS[1:])
    review = review_text(at)
    assert "Which sector is your organisation in?  \n  **Other: Shipping**" in review
    at.button(key="survey_submit").click().run()
    row = stored(db).iloc[0]
    assert (row["sector"], row["sector_other"]) == ("other", "Shipping")
    assert pd.isna(row["country_other"])  # not asked: country was not "other"


def test_review_lists_every_answer_in_words_and_edit_returns_to_its_section(db):
    open_wave(db)
    at = start()
    fill_to_review(at)
    review = review_text(at)
    for question, shown in [
        ("In which country is your organisation headquartered?", "United Kingdom"),
        ("How many employees does your organisation have?", "250 to 999"),
        ("Which senior roles did the attackers impersonate? Tick all that apply.",
         "Chief executive (CEO); Chief financial officer (CFO)"),
        ("How long was the longest of those outages, in hours?", "6.5"),
        ("How many security incidents did your organisation detect in the last 12 months?", "No answer"),
    ]:  # fmt: skip
        assert f"- {question}  \n  **{shown}**" in review, shown
    assert [s.value for s in at.subheader] == [title for title, _ in INSTRUMENT.sections]
    at.button(key="survey_edit_2").click().run()
    assert progress_text(at) == "Section 3 of 5: Security leadership"
    assert widget(at, "ciso_present").value == "yes"  # the answers are still there
    answer(at, {"ciso_in_csuite": "dont_know"})
    go_on(at)  # straight back to the review
    assert "**Don't know**" in review_text(at)


def test_submit_stores_one_response_and_closes_the_form_until_started_again(db):
    open_wave(db)
    at = start()
    fill_to_review(at)
    submit = at.button(key="survey_submit")
    submit.click().run()
    assert not at.exception
    assert at.success[0].value == "Thank you, your answers are recorded."
    assert shown_keys(at) == set() and "survey_submit" not in {b.key for b in at.button}
    submit.click().run()  # a second click on the button that was there
    assert not at.exception and len(stored(db)) == 1
    row = stored(db).iloc[0]
    assert (row["wave"], row["country"], row["longest_outage_hours"]) == ("2017-12", "GB", 6.5)
    assert bool(row["impersonated_roles__cfo"]) and row["instrument_version"] == INSTRUMENT.version
    at.button(key="survey_new").click().run()
    assert not at.exception
    assert progress_text(at).startswith("Section 1 of 5")
    assert widget(at, "country", form=1).value is None  # a blank response
    fill_to_review(at, [{**SECTIONS[0], "country": "AU"}, *SECTIONS[1:]], form=1)
    at.button(key="survey_submit").click().run()
    assert stored(db)["country"].tolist() == ["GB", "AU"]
    assert all("idempotency" not in m.value.lower() for m in [*at.error, *at.success, *at.markdown])


def test_a_wave_closing_while_answering_keeps_the_answers_and_says_so(db):
    open_wave(db)
    at = start()
    fill_to_review(at)
    with Store(db) as store:
        store.close_wave("2017-12")
    at.button(key="survey_submit").click().run()
    assert not at.exception
    assert at.warning[0].value.startswith("This survey is not open at the moment.")
    assert "The survey closed while you were answering" in at.error[0].value
    assert "**United Kingdom**" in review_text(at)  # still in the form
    assert stored(db).empty


@pytest.mark.parametrize("setup", ["none", "closed", "scheduled"])
def test_without_an_open_wave_a_polite_message_and_no_form(db, setup):
    opens = datetime(2031, 3, 4, 9, 30, tzinfo=UTC)
    with Store(db) as store:
        if setup == "closed":
            store.open_wave("2017-06", opens=datetime.now(UTC) - timedelta(days=2))
            store.close_wave("2017-06")
        elif setup == "scheduled":
            store.open_wave("2031-03", opens=opens)
    at = start()
    assert not at.exception
    assert at.info[0].value.startswith("This survey is not open at the moment.")
    if setup == "scheduled":
        assert "It opens on 4 March 2031 at 09:30 UTC" in at.info[0].value
    assert shown_keys(at) == set() and not at.get("progress") and not at.button


def invited(token: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["invite"] = token
    return at.run()


def test_a_valid_invitation_stores_one_response_in_its_wave_and_uses_the_invitation(db):
    open_wave(db, "2017-06", open_to_anyone=False)
    with Store(db) as store:
        token, other = store.create_invitations("2017-06", 2)
    assert "by invitation only" in start().warning[0].value  # no link, no form
    at = invited(token)
    assert not at.exception
    fill_to_review(at)
    at.button(key="survey_submit").click().run()
    assert at.success[0].value == "Thank you, your answers are recorded."
    assert "survey_new" not in {b.key for b in at.button}  # one response per invitation
    with Store(db) as store:
        assert store.invitation_status(token) == "used" and store.invitation_status(other) == "valid"
        assert store.responses()["wave"].tolist() == ["2017-06"]


def test_used_unknown_and_withdrawn_invitations_get_polite_messages(db):
    open_wave(db, "2017-06", open_to_anyone=False)
    with Store(db) as store:
        used, withdrawn = store.create_invitations("2017-06", 2)
        store.submit(INSTRUMENT, {**SECTIONS[0], **SECTIONS[1], **SECTIONS[2], **SECTIONS[3]},
                     wave="2017-06", invitation=used)  # fmt: skip
        store.revoke_invitation(withdrawn)
    for token, kind, text in [
        (used, "info", "This invitation was already used to answer the survey. Thank you"),
        ("made-up-token", "warning", "This invitation link is not valid."),
        (withdrawn, "warning", "This invitation link has been withdrawn."),
    ]:
        at = invited(token)
        assert not at.exception
        assert getattr(at, kind)[0].value.startswith(text)
        assert shown_keys(at) == set()
    assert len(stored(db)) == 1


def test_a_store_written_with_instrument_version_1_gets_the_current_form(db):
    document = INSTRUMENT.to_dict()
    for question in document["questions"]:
        question.pop("section", None)
        question.pop("other", None)
    old = Instrument.from_dict({**document, "version": 1})
    with Store(db) as store:
        store.save_instrument(old)
        store.open_wave("2017-12")
    at = start()
    assert not at.exception
    assert progress_text(at) == "Section 1 of 5: About your organisation"
    fill_to_review(at)
    at.button(key="survey_submit").click().run()
    with Store(db) as store:
        assert store.latest_instrument().version == 2
        assert store.responses()["instrument_version"].tolist() == [2]
