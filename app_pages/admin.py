"""Admin: to be built (issue 9)."""

import streamlit as st

from app_pages._shared import require_analyst

require_analyst()
st.title("Admin")
