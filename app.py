"""surveykit app: the survey form for respondents and sign-in-protected analysis pages.

Start it with ``surveykit serve`` (or ``streamlit run app.py``); the store comes from
``SURVEYKIT_DB_URL``. Every page has its own path; an analysis page visited signed out shows the
sign-in form, and signing in there opens that page. A sign-in survives a browser reload through a
signed, expiring cookie (``SURVEYKIT_SESSION_HOURS``, 12 by default).
"""

import streamlit as st

from app_pages._shared import keep_session

st.set_page_config(page_title="surveykit", page_icon=":material/shield:", layout="wide")
keep_session()


def _page(name: str, title: str, icon: str, **options: object) -> st.Page:
    return st.Page(f"app_pages/{name}.py", title=title, icon=f":material/{icon}:", **options)


survey = _page("survey", "Take the survey", "edit_note", default=True)
login = _page("login", "Analyst login", "login", url_path="login")
dashboard = _page("dashboard", "Dashboard", "dashboard", url_path="dashboard")
regions = _page("regions", "Regions", "public", url_path="regions")
incidents = _page("incidents", "Incidents", "bug_report", url_path="incidents")
reports = _page("reports", "Reports", "download", url_path="reports")
admin = _page("admin", "Admin", "admin_panel_settings", url_path="admin")
logout = _page("logout", "Log out", "logout", url_path="logout")
analysis = [dashboard, regions, incidents, reports]

if st.session_state.get("auth_user"):
    st.navigation({"Analysis": analysis, "Manage": [admin], "Survey": [survey], "Account": [logout]}).run()
else:
    # Analysis paths stay routable (they show the sign-in form) but are not offered in the menu.
    page = st.navigation([survey, login, *analysis, admin], position="hidden")
    st.sidebar.page_link(survey)
    st.sidebar.page_link(login)
    page.run()
