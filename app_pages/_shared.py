"""What the app's pages share: the cached store connection, sign-in and showing charts."""

from __future__ import annotations

import io
import json
import os

import streamlit as st
from matplotlib.figure import Figure

from surveykit import Store, SurveykitError
from surveykit.collection.sessions import SESSION_COOKIE, demo_login_present, issue_session, verify_session
from surveykit.collection.store import resolve_db_url
from surveykit.datasets import DEMO_ANALYST


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
    warn_while_demo_login_works()
    return user


def warn_while_demo_login_works() -> None:
    """A warning in the sidebar while the demo login (``analyst`` / ``demo``) still signs in."""
    try:
        present = demo_login_present(get_store())
    except SurveykitError:  # slowed down (someone is guessing) or the store is busy: ask next time
        return
    if present:
        username, password = DEMO_ANALYST
        st.sidebar.warning(
            f"**The demo login still works**: anyone can sign in as {username!r} with the password "
            f"{password!r}. Add your own login on the Admin page and remove {username!r} there, or "
            f"set another password with `surveykit add-analyst {username}`.",
            icon=":material/lock_open:",
        )


def sign_in_form(landing: str | None = None) -> None:
    """The analyst sign-in form; on success the session is signed in and the page re-runs, or
    the app goes on to the page ``landing`` (a page file) when given."""
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
    except SurveykitError as error:  # slowed down after failed attempts, or the store is busy
        st.error(str(error))
        return
    if not accepted:
        st.error("Unknown username or wrong password.")
        return
    st.session_state["auth_user"] = username
    st.session_state.pop("signed_out", None)
    hours = session_hours()
    token = issue_session(get_store(), username, ttl=hours * 3600)
    _set_cookie(token, int(hours * 3600))
    if landing:
        st.switch_page(landing)
    st.rerun()


def session_hours() -> float:
    """How long a sign-in lasts, from ``SURVEYKIT_SESSION_HOURS`` (12 by default)."""
    text = os.environ.get("SURVEYKIT_SESSION_HOURS", "12")
    try:
        hours = float(text)
    except ValueError:
        hours = float("nan")
    if not 0 < hours <= 24 * 90:
        st.error(
            f"SURVEYKIT_SESSION_HOURS is {text!r}; give a number of hours above 0 and at most "
            "2160 (90 days). Signing in for 12 hours meanwhile."
        )
        return 12.0
    return hours


def keep_session() -> None:
    """Run first on every page: restore a sign-in from the browser's cookie, and write a cookie
    that sign-in or sign-out left pending (written one run later, so the browser is sure to
    receive it before any rerun)."""
    script = st.session_state.pop("cookie_script", None)
    if script:
        st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)
    if st.session_state.get("auth_user") or st.session_state.get("signed_out"):
        return
    token = st.context.cookies.get(SESSION_COOKIE)
    if token:
        user = verify_session(get_store(), token)
        if user:
            st.session_state["auth_user"] = user


def sign_out() -> None:
    """Sign the analyst out of this session and forget the browser's saved sign-in."""
    st.session_state.pop("auth_user", None)
    st.session_state["signed_out"] = True  # the cookie read at connection time is still there
    _set_cookie("", 0)
    st.rerun()


def _set_cookie(value: str, seconds: int) -> None:
    """Have the browser post the token to the server, which sets it as an HttpOnly cookie.

    ``surveykit serve`` answers ``_surveykit/session`` (``app_server.py``); the page's script
    never writes the cookie itself, so no script can read it back.
    """
    body = json.dumps({"token": value, "seconds": seconds})
    st.session_state["cookie_script"] = (
        'fetch(new URL("_surveykit/session", window.location.href), {method: "POST", '
        'credentials: "same-origin", headers: {"Content-Type": "application/json"}, '
        f"body: {json.dumps(body)}}});"
    )


def show_chart(figure: Figure) -> None:
    """Show a surveykit chart whole: its title, subtitle and source lines are part of the figure."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=200)
    st.image(buffer.getvalue(), width="stretch")


def result_headers(estimate: str, **others: object) -> dict[str, object]:
    """Plain headers for a table in the result vocabulary (its columns keep their names):
    ``estimate`` (called ``estimate``), its interval and SE as percentages, p-values, and
    ``others`` for the table's own columns."""
    percent = st.column_config.NumberColumn
    return {
        "estimate": percent(estimate, format="percent"),
        "se": percent("SE", format="percent"),
        "ci_low": percent("95% CI from", format="percent"),
        "ci_high": percent("95% CI to", format="percent"),
        "p_value": percent("p", format="%.3f"),
        "method": "Method",
        "flag": "Flag",
        **others,
    }


def responses_or_stop(store: Store) -> int:
    """The number of stored responses; with none, says how to get some and stops the page."""
    count = store.count_responses()
    if count == 0:
        st.info("No responses yet. Load the demo data with `surveykit demo` or collect some.")
        st.stop()
    return count
