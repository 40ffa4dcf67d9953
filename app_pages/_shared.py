"""What the app's pages share: the cached store connection, the login gate and showing charts."""

from __future__ import annotations

import io
import os

import streamlit as st
from matplotlib.figure import Figure

from surveykit import Store
from surveykit.collection.store import resolve_db_url


def get_store() -> Store:
    """The store named by ``SURVEYKIT_DB_URL`` (a SQLite file in the working folder by default)."""
    return _open_store(resolve_db_url(os.environ.get("SURVEYKIT_DB_URL")))


@st.cache_resource
def _open_store(url: str) -> Store:
    return Store(url)


def require_analyst() -> str:
    """Stop the page unless an analyst is logged in; returns the username."""
    user = st.session_state.get("auth_user")
    if not user:
        st.warning("This page is for analysts. Log in first.")
        st.stop()
    return user


def show_chart(figure: Figure) -> None:
    """Show a surveykit chart whole: its title, subtitle and source lines are part of the figure."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=200)
    st.image(buffer.getvalue(), width="stretch")
