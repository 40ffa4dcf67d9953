"""Log the analyst out."""

import streamlit as st

st.session_state.pop("auth_user", None)
st.rerun()
