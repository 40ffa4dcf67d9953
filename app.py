"""surveykit app: the survey form for respondents and login-protected analysis pages.

Start it with ``surveykit serve`` (or ``streamlit run app.py``); the store comes from
``SURVEYKIT_DB_URL``.
"""

import streamlit as st

st.set_page_config(page_title="surveykit", page_icon=":material/shield:", layout="wide")

survey = st.Page("app_pages/survey.py", title="Take the survey", icon=":material/edit_note:", default=True)
login = st.Page("app_pages/login.py", title="Analyst login", icon=":material/login:")
whaling = st.Page("app_pages/whaling.py", title="Whaling trend", icon=":material/insights:")
regions = st.Page("app_pages/regions.py", title="Regions", icon=":material/public:", url_path="regions")
logout = st.Page("app_pages/logout.py", title="Log out", icon=":material/logout:")

if st.session_state.get("auth_user"):
    pages = {"Survey": [survey], "Analysis": [whaling, regions], "Account": [logout]}
else:
    pages = {"Survey": [survey], "Analysts": [login]}

st.navigation(pages).run()
