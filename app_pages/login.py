"""Analyst login."""

import streamlit as st

from app_pages._shared import get_store

st.title("Analyst login")
with st.form("login_form"):
    username = st.text_input("Username", key="login_username")
    password = st.text_input("Password", type="password", key="login_password")
    submitted = st.form_submit_button("Log in")

if submitted:
    if get_store().check_login(username, password):
        st.session_state["auth_user"] = username
        st.rerun()
    else:
        st.error("Unknown username or wrong password.")
