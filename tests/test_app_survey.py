"""The survey form through AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from surveykit import Store
from tests._apptest import ANSWERS, start


def fill_form(at: AppTest) -> None:
    for question, value in ANSWERS.items():
        at.radio(key=f"survey_0_{question}").set_value(value)
        at.run()  # later questions appear as skip logic allows
    at.multiselect(key="survey_0_impersonated_roles").set_value(["ceo", "cfo"])
    at.number_input(key="survey_0_outages_12m").set_value(2)
    at.run()
    at.number_input(key="survey_0_longest_outage_hours").set_value(6.5)
    at.run()


def test_survey_page_runs_and_hides_skipped_questions(db):
    at = start()
    assert not at.exception
    assert at.title[0].value == "Whaling and email security posture"
    keys = {w.key for w in at.radio}
    assert "survey_0_country" in keys
    assert "survey_0_ciso_in_csuite" not in keys  # only once a CISO is reported
    at.radio(key="survey_0_ciso_present").set_value("yes").run()
    assert "survey_0_ciso_in_csuite" in {w.key for w in at.radio}


def test_submitting_stores_exactly_one_response_even_when_clicked_twice(db):
    at = start()
    fill_form(at)
    at.button(key="survey_submit").click().run()
    assert not at.exception
    assert at.success[0].value == "Thank you, your answers are recorded."
    at.button(key="survey_submit").click().run()
    assert at.success[0].value == "Already recorded."
    with Store(db) as store:
        assert store.count_responses() == 1
        row = store.responses().iloc[0]
    assert row["country"] == "GB" and row["wave"] == "2016-12"
    assert row["impersonated_roles__cfo"] and row["longest_outage_hours"] == 6.5


def test_incomplete_form_shows_what_is_missing_and_stores_nothing(db):
    at = start()
    at.radio(key="survey_0_country").set_value("US").run()
    at.button(key="survey_submit").click().run()
    assert not at.exception
    assert "question 'org_size': an answer is required" in at.error[0].value
    with Store(db) as store:
        assert store.count_responses() == 0


def test_new_response_gets_a_new_key(db):
    at = start()
    fill_form(at)
    at.button(key="survey_submit").click().run()
    at.button(key="survey_new").click().run()
    assert "survey_1_country" in {w.key for w in at.radio}
