"""End to end in headless Chromium: a respondent completes the survey, and an analyst who signed
in before reloads the dashboard, is still signed in, and sees one more respondent.

Screenshots of every page are saved in tests/output/e2e/ for a person to look at.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from surveykit import Store, default_instrument, load_demo
from tests._browser import CHROMIUM, CHROMIUM_ARGS, complete_survey, served
from tests.test_instrument import VALID_ANSWERS

SHOTS = Path(__file__).parent / "output" / "e2e"
OPEN_WAVE_RESPONSES = 40
PAGES = ["dashboard", "regions", "incidents", "reports", "admin"]


@pytest.fixture
def app(tmp_path) -> Iterator[tuple[str, str]]:
    # The demo (two closed waves, the incident log, analyst/demo, wave 2017-12 open to anyone)
    # and 40 earlier answers in the open wave, so the dashboard shows it with figures.
    url = f"sqlite:///{tmp_path / 'surveykit.db'}"
    with Store(url) as store:
        load_demo(store)
        trends = ["increased", "same", "increased", "decreased", "dont_know"]
        rows = [
            {
                "answers": dict(
                    VALID_ANSWERS,
                    country=["US", "GB", "ZA", "AU"][i % 4],
                    whaling_trend=trends[i % 5],
                    controls=[["exec_training"], ["external_banner", "simulated_tests"], []][i % 3],
                ),
                "wave": "2017-12",
                "idempotency_key": f"e{i}",
            }
            for i in range(OPEN_WAVE_RESPONSES)
        ]
        store.add_responses(default_instrument(), rows)
    with served(tmp_path, "--db", url, "serve") as app_url:
        yield app_url, url


def respondents(page) -> int:
    """The dashboard's "Respondents" figure."""
    metric = page.get_by_test_id("stMetric").filter(has_text="Respondents")
    return int(metric.get_by_test_id("stMetricValue").inner_text().replace(",", ""))


@pytest.mark.browser
def session_cookie(page, seconds: float = 30) -> dict:
    """The sign-in cookie of the page's browser, once the page has had the server set it."""
    for _ in range(int(seconds * 10)):
        found = [c for c in page.context.cookies() if c["name"] == "surveykit_session"]
        if found:
            return found[0]
        page.wait_for_timeout(100)
    raise AssertionError("the server set no sign-in cookie")


def test_a_response_reaches_the_signed_in_analysts_dashboard(app):
    assert CHROMIUM is not None, "Chromium is not installed; scripts/test installs it"
    from playwright.sync_api import expect, sync_playwright

    app_url, database = app
    SHOTS.mkdir(parents=True, exist_ok=True)
    viewport = {"width": 1400, "height": 2400}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            analyst = browser.new_context(viewport=viewport).new_page()
            analyst.goto(f"{app_url}/login")
            analyst.get_by_label("Username").fill("analyst")
            analyst.locator("input[type=password]").fill("demo")
            analyst.screenshot(path=SHOTS / "login.png")
            analyst.get_by_role("button", name="Log in").click()
            # Signing in on the login page lands on the dashboard, on the open wave.
            expect(analyst.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=60_000)
            expect(analyst.get_by_text("Wave 2017-12").first).to_be_visible(timeout=60_000)
            before = respondents(analyst)
            assert before == OPEN_WAVE_RESPONSES
            analyst.screenshot(path=SHOTS / "dashboard_before.png")
            # The sign-in is kept in a cookie the server set HttpOnly: no script on the page reads it.
            kept = session_cookie(analyst)
            assert kept["httpOnly"] and kept["sameSite"] == "Strict", kept
            assert "surveykit_session" not in analyst.evaluate("document.cookie")

            respondent = browser.new_context(viewport=viewport).new_page()
            respondent.goto(app_url)
            complete_survey(respondent, shots=SHOTS)
            # The respondent sees no analysis and no sign-in state.
            assert respondent.get_by_text("Dashboard").count() == 0

            analyst.reload()
            expect(analyst.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=60_000)
            assert analyst.locator("input[type=password]").count() == 0  # still signed in
            expect(analyst.get_by_test_id("stMetric").filter(has_text="Respondents")).to_contain_text(
                str(before + 1), timeout=60_000
            )
            assert respondents(analyst) == before + 1
            expect(analyst.get_by_text("Drawing the charts")).to_have_count(0, timeout=60_000)
            analyst.screenshot(path=SHOTS / "dashboard_after.png")

            for name in PAGES[1:]:
                analyst.goto(f"{app_url}/{name}")
                expect(analyst.get_by_role("heading", name=name.title()).first).to_be_visible(timeout=60_000)
                analyst.wait_for_timeout(3000)  # charts and tables finish drawing
                expect(analyst.get_by_test_id("stSpinner")).to_have_count(0, timeout=60_000)
                assert analyst.get_by_test_id("stException").count() == 0, name
                analyst.screenshot(path=SHOTS / f"{name}.png")
        finally:
            browser.close()
    with Store(database) as store:
        assert store.count_responses("2017-12") == OPEN_WAVE_RESPONSES + 1


@pytest.mark.browser
def test_a_submission_while_the_store_is_locked_is_stored_when_the_lock_ends(app):
    # The probe: Submit during an import's write lock showed a traceback and lost the answers.
    # Now the server waits for the lock (up to its busy timeout) and stores the response once.
    assert CHROMIUM is not None, "Chromium is not installed; scripts/test installs it"
    from playwright.sync_api import expect, sync_playwright

    app_url, database = app
    with Store(database) as store:
        before = store.count_responses()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            page.goto(app_url)
            complete_survey(page, submit=False)
            holder = sqlite3.connect(
                database.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
            )
            holder.execute("BEGIN IMMEDIATE")  # what a long import holds
            release = threading.Timer(4.0, holder.rollback)
            release.start()
            try:
                page.get_by_role("button", name="Submit").click()
                expect(page.get_by_text("Thank you, your answers are recorded.")).to_be_visible(
                    timeout=60_000
                )
            finally:
                release.join()
                holder.close()
            page.screenshot(path=SHOTS / "survey_after_lock.png")
        finally:
            browser.close()
    with Store(database) as store:
        assert store.count_responses() == before + 1


@pytest.mark.browser
def test_the_sign_in_wait_grows_with_failed_attempts_in_the_browser(app):
    # Five failures lock the username for 30 seconds; one more after that lockout doubles it.
    assert CHROMIUM is not None, "Chromium is not installed; scripts/test installs it"
    from playwright.sync_api import expect, sync_playwright

    app_url, database = app
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            page.goto(f"{app_url}/login")

            def sign_in(password: str) -> None:
                page.get_by_label("Username").fill("analyst")
                page.locator("input[type=password]").fill(password)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_timeout(500)  # the run starts ...
                expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)  # ... and ends

            for _ in range(5):
                sign_in("wrong")
                expect(page.get_by_text("Unknown username or wrong password.")).to_be_visible(timeout=30_000)
            sign_in("demo")  # the right password is not even checked now
            first = re.compile(r"wait (2[5-9]|30) seconds")  # 30 s after the fifth failure
            expect(page.get_by_text(first)).to_be_visible(timeout=30_000)
            # A sixth failure once the first lockout is over (recorded as at that moment).
            later = datetime.now(UTC) + timedelta(seconds=31)
            with Store(database) as store:
                assert store.check_login("analyst", "wrong", now=later) is False
            sign_in("demo")
            second = re.compile(r"wait (8[5-9]|9[01]) seconds")  # 60 s after it: 31 + 60 from now
            expect(page.get_by_text(second)).to_be_visible(timeout=30_000)
            page.screenshot(path=SHOTS / "login_wait.png")
            assert page.get_by_role("heading", name="Dashboard").count() == 0
        finally:
            browser.close()
