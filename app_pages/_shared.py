"""What the app's pages share: the cached store connection, sign-in and showing charts."""

from __future__ import annotations

import io
import os

import streamlit as st
from matplotlib.figure import Figure

from surveykit import LoginThrottledError, Store
from surveykit.collection.store import resolve_db_url


def get_store() -> Store:
    """The store named by ``SURVEYKIT_DB_URL`` (a SQLite file in the working folder by default)."""
    return _open_store(resolve_db_url(os.environ.get("SURVEYKIT_DB_URL")))


@st.cache_resource
def _open_store(url: str) -> Store:
    return Store(url)


def require_analyst() -> str:
    """The signed-in analyst's username; otherwise the sign-in form, and the page stops.

    Signing in re-runs the page that asked, so an analyst who followed a link lands where it pointed.
    """
    user = st.session_state.get("auth_user")
    if not user:
        st.warning("This page is for analysts. Log in first.")
        sign_in_form()
        st.stop()
    return user


def sign_in_form() -> None:
    """The analyst sign-in form; on success the session is signed in and the page re-runs."""
    with st.form("login_form"):
        username = st.text_input("Username", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if not submitted:
        return
    # The client, as far as the server can tell, so that guessing from one place is slowed down too.
    seen = (st.context.headers.get("X-Forwarded-For"), st.context.ip_address)
    client = next((value for value in seen if isinstance(value, str) and value), None)
    try:
        accepted = get_store().check_login(username, password, client=client)
    except LoginThrottledError as error:
        st.error(str(error))
        return
    if not accepted:
        st.error("Unknown username or wrong password.")
        return
    st.session_state["auth_user"] = username
    st.rerun()


def show_chart(figure: Figure) -> None:
    """Show a surveykit chart whole: its title, subtitle and source lines are part of the figure."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=200)
    st.image(buffer.getvalue(), width="stretch")
