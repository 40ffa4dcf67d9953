"""The Streamlit app through AppTest: navigation, sign-in and the pages' shared behaviour."""

from __future__ import annotations

import json
import re

import pytest

from surveykit import Store, load_demo
from surveykit.collection.sessions import verify_session
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
    assert not at.exception
    assert at.session_state["auth_user"] == "analyst"
    assert at.title[0].value == "Dashboard"
    assert at.title[0].value == "Dashboard"


def test_login_with_the_demo_analyst_lands_on_the_dashboard(db):
    # A probe found the analyst landing on the survey form after signing in.
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


def test_signing_in_has_the_browser_post_a_signed_expiring_token_to_keep(db, monkeypatch):
    # The browser keeps the sign-in across a reload through an HttpOnly cookie the server sets
    # when the page posts it the token (app_server.KeepSession; the Playwright end-to-end test
    # reloads for real); here: the token posted is one the store accepts, for the configured
    # lifetime, and signing out posts an empty one. The page never writes document.cookie.
    monkeypatch.setenv("SURVEYKIT_SESSION_HOURS", "2")
    with Store(db) as store:
        store.add_analyst("analyst", "demo")
    at = start("app_pages/login.py")
    at.text_input(key="login_username").input("analyst")
    at.text_input(key="login_password").input("demo")
    at.button[0].click().run()
    assert not at.exception
    scripts = [element.proto.body for element in at.get("html")]
    posted = _posted_body(scripts[0])
    assert posted["seconds"] == 2 * 3600
    with Store(db) as store:
        assert verify_session(store, posted["token"]) == "analyst"
    at.switch_page("app_pages/logout.py").run()
    assert not at.exception and "auth_user" not in at.session_state
    scripts = [element.proto.body for element in at.get("html")]
    assert {"token": "", "seconds": 0} in [_posted_body(script) for script in scripts]
    assert not any("document.cookie" in script for script in scripts)


def _posted_body(script: str) -> dict:
    """The JSON body a sign-in script posts to ``_surveykit/session``."""
    assert 'fetch(new URL("_surveykit/session", window.location.href)' in script
    literal, _ = json.JSONDecoder().raw_decode(script.split("body: ", 1)[1])  # a JSON string
    return json.loads(literal)


def test_analysis_pages_warn_while_the_demo_login_works(db):
    with Store(db) as store:
        store.add_analyst("analyst", "demo")
        store.add_analyst("ana", "s3cret")
    at = start("app_pages/regions.py", user="ana")
    assert not at.exception
    [banner] = at.sidebar.warning
    assert banner.value.startswith("**The demo login still works**: anyone can sign in as 'analyst'")
    with Store(db) as store:
        store.add_analyst("analyst", "n0t-the-demo")
    at = start("app_pages/regions.py", user="ana")
    assert not at.exception
    assert not at.sidebar.warning
    # Public pages never ask.
    with Store(db) as store:
        store.add_analyst("analyst", "demo")
    at = start("app_pages/survey.py")
    assert not at.exception and not at.sidebar.warning


def test_a_sign_in_while_the_store_is_busy_is_a_message_not_a_traceback(db, monkeypatch):
    # A failed sign-in is written to the store; with another writer holding the lock past the
    # bound, the page said nothing readable (only LoginThrottledError was caught).
    import sqlite3

    monkeypatch.setenv("SURVEYKIT_BUSY_TIMEOUT", "0.5")
    with Store(db) as store:
        store.add_analyst("analyst", "demo")
    at = start("app_pages/login.py")
    holder = sqlite3.connect(db.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        at.text_input(key="login_username").input("analyst")
        at.text_input(key="login_password").input("wrong")
        at.button[0].click().run()
    finally:
        holder.rollback()
        holder.close()
    assert not at.exception
    assert "busy" in at.error[0].value and "auth_user" not in at.session_state
