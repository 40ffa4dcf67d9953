"""The Streamlit app, driven through Streamlit's AppTest: every page runs, the form stores once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from surveykit import Store, default_instrument, load_demo

APP = str(Path(__file__).resolve().parent.parent / "app.py")

ANSWERS = {
    "country": "GB",
    "org_size": "250_999",
    "sector": "finance",
    "role": "security",
    "whaling_trend": "increased",
    "whaling_received": "yes",
    "ciso_present": "yes",
    "ciso_in_csuite": "no",
    "email_continuity": "no",
}


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SURVEYKIT_DB_URL", url)
    monkeypatch.setenv("SURVEYKIT_WAVE", "2016-12")
    return url


def start(page: str | None = None, user: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if user:
        at.session_state["auth_user"] = user
    at.run()
    if page:
        at.switch_page(page).run()
    return at


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


def test_analysis_pages_need_a_login(db):
    with Store(db) as store:
        load_demo(store)
        store.add_analyst("analyst", "demo")
    # Signed out, the analysis path shows the sign-in form and no figures ...
    at = start("app_pages/whaling.py")
    assert not at.exception
    assert at.warning[0].value == "This page is for analysts. Log in first."
    assert len(at.metric) == 0 and not at.dataframe
    # ... and signing in there opens the page that was asked for.
    at.text_input(key="login_username").input("analyst")
    at.text_input(key="login_password").input("demo")
    at.button[0].click().run()
    assert at.session_state["auth_user"] == "analyst"
    assert at.title[0].value == "Whaling trend" and len(at.metric) == 2


def test_login_with_the_demo_analyst(db):
    with Store(db) as store:
        store.add_analyst("analyst", "demo")
    at = start("app_pages/login.py")
    at.text_input(key="login_username").input("analyst")
    at.text_input(key="login_password").input("wrong")
    at.button[0].click().run()
    assert at.error[0].value == "Unknown username or wrong password."
    assert "auth_user" not in at.session_state
    at.text_input(key="login_password").input("demo")
    at.button[0].click().run()
    assert at.session_state["auth_user"] == "analyst"


def test_repeated_wrong_passwords_are_slowed_down_on_the_login_page(db):
    # A probe found 30 wrong passwords in 8 s met no delay: after five, the page says to wait and
    # the right password is not even checked.
    with Store(db) as store:
        store.add_analyst("analyst", "demo")
    at = start("app_pages/login.py")
    at.text_input(key="login_username").input("analyst")
    for _ in range(5):
        at.text_input(key="login_password").input("wrong")
        at.button[0].click().run()
        assert at.error[0].value == "Unknown username or wrong password."
    at.text_input(key="login_password").input("demo")
    at.button[0].click().run()
    assert not at.exception
    assert re.search(r"wait \d+ seconds", at.error[0].value)
    assert "auth_user" not in at.session_state


def test_whaling_page_shows_the_share_with_interval_and_n(db):
    with Store(db) as store:
        load_demo(store)
    at = start("app_pages/whaling.py", user="analyst")
    assert not at.exception
    shown = " ".join(m.value for m in at.metric)
    assert "%" in shown
    table = at.dataframe[0].value
    assert {"wave", "estimate", "ci_low", "ci_high", "n"} <= set(table.columns)
    assert table["n"].tolist() == [450, 520]
    # The unweighted demo is a simple random sample, so the page shows Wilson intervals.
    from statsmodels.stats.proportion import proportion_confint

    with Store(db) as store:
        responses = store.responses()
    for row in table.itertuples():
        wave = responses[responses["wave"] == row.wave]
        count = int((wave["whaling_trend"] == "increased").sum())
        low, high = proportion_confint(count, len(wave), alpha=0.05, method="wilson")
        assert row.estimate == pytest.approx(count / len(wave), rel=1e-12)
        assert (row.ci_low, row.ci_high) == pytest.approx((low, high), rel=1e-9)
        assert f"{row.estimate:.0%}" in shown


@pytest.mark.filterwarnings("ignore::surveykit.SmallSampleWarning")  # three respondents, on purpose
def test_whaling_page_says_so_when_nobody_saw_more_whaling(db):
    answers = dict(ANSWERS, impersonated_roles=["ceo"], outages_12m=0)
    with Store(db) as store:
        instrument = default_instrument()
        for wave, trend in [("2015-12", "same"), ("2016-12", "decreased"), ("2016-12", "dont_know")]:
            store.submit(instrument, dict(answers, whaling_trend=trend), wave=wave)
    at = start("app_pages/whaling.py", user="analyst")
    assert not at.exception
    assert len(at.metric) == 0
    assert at.info[0].value == (
        "None of the 3 respondents reported more whaling (answered 'increased'), so there is no "
        "share to show."
    )


@pytest.mark.parametrize("page", ["app_pages/survey.py", "app_pages/login.py"])
def test_public_pages_run_on_an_empty_store(db, page):
    at = start(page)
    assert not at.exception


def test_regions_page_compares_an_answer_between_countries_and_waves(db):
    with Store(db) as store:
        load_demo(store)
    at = start("app_pages/regions.py", user="analyst")
    assert not at.exception
    # Defaults: the first question, by country, the latest wave.
    at.selectbox(key="regions_question").set_value("whaling_trend").run()
    at.selectbox(key="regions_category").set_value("increased").run()
    finding = at.markdown[0].value
    assert finding.startswith("**Answers differed by country (Rao-Scott F = 2.29, p = 0.015)")
    assert "ranged from 47% in ZA to 70% in US" in finding
    pairs = at.dataframe[0].value
    assert len(pairs) == 6 and {"p_value", "p_adjusted"} <= set(pairs.columns)
    assert (pairs["p_adjusted"] >= pairs["p_value"]).all()
    at.selectbox(key="regions_compare").set_value("2015-12").run()
    assert not at.exception
    assert at.subheader[-1].value == "Change since 2015-12"
    at.selectbox(key="regions_by").set_value("org_size").run()
    assert not at.exception and at.markdown[0].value.startswith("**")


def test_regions_page_needs_a_login(db):
    with Store(db) as store:
        load_demo(store)
    at = start("app_pages/regions.py")
    assert not at.exception
    assert at.warning[0].value == "This page is for analysts. Log in first."
    assert not at.dataframe and not at.selectbox
