"""What the app's pages share: the cached store connection, the login gate and formatting."""

from __future__ import annotations

import os

import streamlit as st

from surveykit import Store


@st.cache_resource
def get_store(url: str | None = None) -> Store:
    """The store named by ``SURVEYKIT_DB_URL`` (a SQLite file in the working folder by default)."""
    return Store(url or os.environ.get("SURVEYKIT_DB_URL"))


def require_analyst() -> str:
    """Stop the page unless an analyst is logged in; returns the username."""
    user = st.session_state.get("auth_user")
    if not user:
        st.warning("This page is for analysts. Log in first.")
        st.stop()
    return user


def format_share(estimate: float, low: float, high: float) -> str:
    """Format a share and its interval for display, e.g. ``55% (51-60%)``."""
    return f"{estimate:.0%} ({low * 100:.0f}-{high:.0%})"
