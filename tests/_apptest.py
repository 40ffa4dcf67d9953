"""What the app's tests share: starting the app in Streamlit's AppTest, and a complete answer set."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

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
"""Answers to the bundled instrument's single-choice questions (with skip logic showing all)."""


def start(page: str | None = None, user: str | None = None) -> AppTest:
    """The app run once (as ``user`` when given), then switched to ``page`` when given."""
    at = AppTest.from_file(APP, default_timeout=60)
    if user:
        at.session_state["auth_user"] = user
    at.run()
    if page:
        at.switch_page(page).run()
    return at
