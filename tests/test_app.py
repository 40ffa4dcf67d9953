"""The Streamlit app through AppTest: navigation, sign-in and the pages' shared behaviour."""

from __future__ import annotations

import re

import pytest

from surveykit import Store, load_demo
from tests._apptest import start


def test_analysis_pages_need_a_login(db):
    with Store(db) as store:
        load_demo(store)
        store.add_analyst("analyst", "demo")
    # Signed out, the analysis path shows the sign-in form and no figures ...
    at = start("app_pages/dashboard.py")
    assert not at.exception
    assert at.warning[0].value == "This page is for analysts. Log in first."
    assert len(at.metric) == 0 and not at.dataframe
    # ... and signing in there opens the page that was asked for.
    at.text_input(key="login_username").input("analyst")
    at.text_input(key="login_password").input("demo")
    at.button[0].click().run()
    assert at.session_state["auth_user"] == "analyst"
    assert at.title[0].value == "Dashboard"


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


@pytest.mark.parametrize("page", ["app_pages/survey.py", "app_pages/login.py"])
def test_public_pages_run_on_an_empty_store(db, page):
    at = start(page)
    assert not at.exception
