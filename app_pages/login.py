"""Analyst sign-in; a signed-in analyst goes on to the dashboard."""

import streamlit as st

from app_pages._shared import sign_in_form

st.title("Analyst login")
if st.session_state.get("auth_user"):
    st.switch_page("app_pages/dashboard.py")
sign_in_form(landing="app_pages/dashboard.py")
