"""Analyst login."""

import streamlit as st

from app_pages._shared import get_store
from surveykit import LoginThrottledError

st.title("Analyst login")
with st.form("login_form"):
    username = st.text_input("Username", key="login_username")
    password = st.text_input("Password", type="password", key="login_password")
    submitted = st.form_submit_button("Log in")

if submitted:
    # The client, as far as the server can tell, so that guessing from one place is slowed down too.
    seen = (st.context.headers.get("X-Forwarded-For"), st.context.ip_address)
    client = next((value for value in seen if isinstance(value, str) and value), None)
    try:
        accepted = get_store().check_login(username, password, client=client)
    except LoginThrottledError as error:
        st.error(str(error))
    else:
        if accepted:
            st.session_state["auth_user"] = username
            st.rerun()
        st.error("Unknown username or wrong password.")
