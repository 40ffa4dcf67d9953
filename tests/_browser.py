"""What the browser tests share: the app served for real by ``surveykit serve``, headless
Chromium, and a respondent's way through the survey form."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

SECTIONS: list[dict[str, str]] = [
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
"""One respondent's answers, section by section, as a person reads them on the form."""


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(folder: Path, *arguments: str) -> Iterator[str]:
    """Run ``surveykit ARGUMENTS --port P --address 127.0.0.1`` from ``folder`` until the block
    ends (``arguments`` end with ``serve`` and its options); yields the app's URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SURVEYKIT_DB_URL"}
    address = ["--port", str(port), "--address", "127.0.0.1"]
    command = [sys.executable, "-m", "surveykit", *arguments, *address]
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
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
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def choose(page: Any, question: str, label: str) -> None:
    """Tick ``label`` in the radio group ``question``, as a person would: click, look, and click
    again if a rerun still in flight (a busy machine) swallowed the click."""
    from playwright.sync_api import expect

    group = page.get_by_role("radiogroup", name=question)
    radio = group.get_by_role("radio", name=label, exact=True)
    for _ in range(3):
        group.get_by_text(label, exact=True).click()
        try:
            expect(radio).to_be_checked(timeout=5_000)
            return
        except AssertionError:
            continue
    expect(radio).to_be_checked()


def complete_survey(
    page: Any,
    sections: Sequence[Mapping[str, str]] = SECTIONS,
    shots: Path | None = None,
    *,
    submit: bool = True,
) -> None:
    """Answer the bundled survey on ``page`` (already at the form), review, and submit once
    (or stop at the review when ``submit`` is False).

    Saves a screenshot of each step in ``shots`` when given.
    """
    from playwright.sync_api import expect

    page.get_by_text("Whaling and email security posture").first.wait_for(timeout=60_000)
    for number, answers in enumerate(sections, start=1):
        expect(page.get_by_text(f"Section {number} of {len(sections)}")).to_be_visible(timeout=30_000)
        for question, label in answers.items():
            choose(page, question, label)
        if number == 4:
            outages = page.get_by_role("spinbutton", name="How many outages")
            outages.fill("0")
            outages.press("Enter")
            expect(page.get_by_text("How long was the longest")).to_have_count(0)
        if shots is not None:
            page.screenshot(path=shots / f"survey_section_{number}.png")
        page.get_by_role("button", name="Review answers" if number == len(sections) else "Next").click()
    expect(page.get_by_text("Review your answers")).to_be_visible(timeout=30_000)
    if shots is not None:
        page.screenshot(path=shots / "survey_review.png")
    if not submit:
        return
    page.get_by_role("button", name="Submit").dblclick()  # an impatient double click
    expect(page.get_by_text("Thank you, your answers are recorded.")).to_be_visible(timeout=30_000)
    if shots is not None:
        page.screenshot(path=shots / "survey_thanks.png")
