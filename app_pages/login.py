"""Analyst sign-in; signed-in analysts go on to the analysis."""

import streamlit as st

from app_pages._shared import sign_in_form

st.title("Analyst login")
if st.session_state.get("auth_user"):
    st.switch_page("app_pages/whaling.py")
sign_in_form()
