"""The quick-start path for real: `surveykit serve --demo` answers on its port, seen by a real browser."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from surveykit import Store
from tests._browser import CHROMIUM, CHROMIUM_ARGS, complete_survey, served


@pytest.fixture(scope="module")
def served_demo(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("serve")
    with served(folder, "serve", "--demo") as url:
        yield url, folder / "surveykit.db"


def test_serve_answers_with_the_demo_data(served_demo):
    url, database = served_demo
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        assert b"<title>" in answer.read()
    assert database.is_file()  # the embedded SQLite store, in the folder serve was started from
    with Store(f"sqlite:///{database}") as store:
        assert store.count_responses() == 970
        assert store.waves() == ["2015-12", "2016-12"]
        assert store.current_wave() == "2017-12"  # opened by the demo, so the form takes answers


@pytest.mark.browser
def test_a_real_browser_renders_the_survey_form(served_demo):
    assert CHROMIUM is not None, "Chromium is not installed; scripts/test installs it"
    from playwright.sync_api import sync_playwright

    url, _database = served_demo
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url)
            page.get_by_text("Whaling and email security posture").first.wait_for(timeout=60_000)
            page.get_by_text("Section 1 of 5: About your organisation").wait_for()
            page.get_by_text("In which country is your organisation headquartered?").first.wait_for()
            assert page.get_by_text("Please specify the country").count() == 0  # only after "Other"
            page.get_by_text("Analyst login").first.wait_for()
        finally:
            browser.close()


@pytest.mark.browser
def test_submitting_the_form_in_a_browser_stores_one_response(served_demo):
    from playwright.sync_api import expect, sync_playwright

    url, database = served_demo
    with Store(f"sqlite:///{database}") as store:
        before = store.count_responses()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 2400})
            page.goto(url)
            complete_survey(page)
            expect(page.get_by_role("button", name="Start a new response")).to_be_visible()
            # The form is closed (waiting out the stale elements Streamlit shows while it reruns).
            expect(page.get_by_role("button", name="Submit")).to_have_count(0)
            expect(page.get_by_role("radiogroup")).to_have_count(0)
        finally:
            browser.close()
    with Store(f"sqlite:///{database}") as store:
        assert store.count_responses() == before + 1
        latest = store.responses().iloc[-1]
    assert (latest["country"], latest["ciso_in_csuite"], latest["outages_12m"]) == ("ZA", "no", 0)
    assert latest["impersonated_roles__ceo"] is pd.NA  # skipped: no whaling received
