"""surveykit app: the survey form for respondents and sign-in-protected analysis pages.

Start it with ``surveykit serve`` (or ``streamlit run app.py``); the store comes from
``SURVEYKIT_DB_URL``. Every page has its own path; an analysis page visited signed out shows the
sign-in form, and signing in there opens that page.
"""

import streamlit as st

st.set_page_config(page_title="surveykit", page_icon=":material/shield:", layout="wide")

survey = st.Page("app_pages/survey.py", title="Take the survey", icon=":material/edit_note:", default=True)
login = st.Page("app_pages/login.py", title="Analyst login", icon=":material/login:", url_path="login")
whaling = st.Page(
    "app_pages/whaling.py", title="Whaling trend", icon=":material/insights:", url_path="whaling"
)
regions = st.Page("app_pages/regions.py", title="Regions", icon=":material/public:", url_path="regions")
logout = st.Page("app_pages/logout.py", title="Log out", icon=":material/logout:", url_path="logout")

if st.session_state.get("auth_user"):
    st.navigation({"Survey": [survey], "Analysis": [whaling, regions], "Account": [logout]}).run()
else:
    # Analysis paths stay routable (they show the sign-in form) but are not offered in the menu.
    page = st.navigation([survey, login, whaling, regions], position="hidden")
    st.sidebar.page_link(survey)
    st.sidebar.page_link(login)
    page.run()
