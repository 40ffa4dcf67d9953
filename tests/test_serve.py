"""The quick-start path for real: `surveykit serve --demo` answers on its port, seen by a real browser."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from surveykit import Store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SURVEYKIT_DB_URL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "surveykit", "serve", "--demo", "--port", str(port), "--address", "127.0.0.1"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"serve exited early:\n{process.stdout.read()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the app did not answer on its port within 90 s")
        yield url, folder / "surveykit.db"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_serve_answers_with_the_demo_data(served):
    url, database = served
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        assert b"<title>" in answer.read()
    assert database.is_file()  # the embedded SQLite store, in the folder serve was started from
    with Store(f"sqlite:///{database}") as store:
        assert store.count_responses() == 970
        assert store.waves() == ["2015-12", "2016-12"]
        assert store.current_wave() == "2017-12"  # opened by the demo, so the form takes answers


@pytest.mark.browser
def test_a_real_browser_renders_the_survey_form(served):
    assert CHROMIUM is not None, "Chromium is not installed; scripts/test installs it"
    from playwright.sync_api import sync_playwright

    url, _database = served
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
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
def test_submitting_the_form_in_a_browser_stores_one_response(served):
    from playwright.sync_api import expect, sync_playwright

    url, database = served
    with Store(f"sqlite:///{database}") as store:
        before = store.count_responses()
    sections = [
        {
            "In which country is your organisation headquartered?": "South Africa",
            "How many employees does your organisation have?": "1,000 to 4,999",
            "Which sector is your organisation in?": "Retail",
            "Which best describes your role?": "Information security",
        },
        {"Over the last three months": "Increased", "Has your organisation received whaling emails": "No"},
        {
            "Does your organisation have a Chief Information Security Officer (CISO)?": "Yes",
            "Is your CISO a member of the C-suite?": "No",
        },
        {"Do you have an independent email continuity service": "No"},
        {},
    ]
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 2400})
            page.goto(url)
            page.get_by_text("Whaling and email security posture").first.wait_for(timeout=60_000)
            for number, answers in enumerate(sections, start=1):
                expect(page.get_by_text(f"Section {number} of 5")).to_be_visible(timeout=30_000)
                for question, label in answers.items():
                    group = page.get_by_role("radiogroup", name=question)
                    group.get_by_text(label, exact=True).click()
                    expect(group.get_by_role("radio", name=label, exact=True)).to_be_checked()
                if number == 4:
                    outages = page.get_by_role("spinbutton", name="How many outages")
                    outages.fill("0")
                    outages.press("Enter")
                    expect(page.get_by_text("How long was the longest")).to_have_count(0)
                page.get_by_role("button", name="Review answers" if number == 5 else "Next").click()
            expect(page.get_by_text("Review your answers")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("South Africa")).to_be_visible()
            page.get_by_role("button", name="Submit").dblclick()  # an impatient double click
            expect(page.get_by_text("Thank you, your answers are recorded.")).to_be_visible(timeout=30_000)
            expect(page.get_by_role("button", name="Start a new response")).to_be_visible()
            assert page.get_by_role("button", name="Submit").count() == 0  # the form is closed
            assert page.get_by_role("radiogroup").count() == 0
        finally:
            browser.close()
    with Store(f"sqlite:///{database}") as store:
        assert store.count_responses() == before + 1
        latest = store.responses().iloc[-1]
    assert (latest["country"], latest["ciso_in_csuite"], latest["outages_12m"]) == ("ZA", "no", 0)
    assert latest["impersonated_roles__ceo"] is pd.NA  # skipped: no whaling received
