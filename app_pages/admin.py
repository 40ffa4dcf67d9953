"""Admin: response counts and test responses, waves, invitations, population margins, analyst logins.

Every signed-in analyst is an administrator for now. Times are entered and shown in UTC, as stored.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

import pandas as pd
import streamlit as st

from app_pages._shared import get_store, require_analyst, sign_out
from surveykit import SurveykitError
from surveykit.publishing.export import csv_bytes

SOURCES = {"form": "the survey form", "import": "imports", "demo": "demo data"}
STATUS = {
    "open": "open",
    "scheduled": "scheduled",
    "closed": "closed",
    "unmanaged": "no dates (demo or imported)",
}

user = require_analyst()
st.title("Admin")
store = get_store()


def done(tab: str, message: str) -> None:
    """Re-run the page (so every table shows the change) and say what was done in ``tab``."""
    st.session_state[f"admin_{tab}_done"] = message
    st.rerun()


def show_done(tab: str) -> None:
    message = st.session_state.pop(f"admin_{tab}_done", None)
    if message:
        st.success(message)


def app_url() -> str:
    """The survey's address as the browser sees it (the admin page's own path removed)."""
    url = st.context.url if isinstance(st.context.url, str) else None
    if not url:
        return f"http://localhost:{st.get_option('server.port')}/"
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/admin"):
        path = path.removesuffix("admin")
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/") + "/", "", ""))


def invite_link(base: str, token: str) -> str:
    parts = urlsplit(base.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "invite"] + [("invite", token)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


def pasted_token(text: str) -> str:
    """A token pasted alone or inside its invitation link."""
    text = text.strip()
    found = parse_qs(urlsplit(text).query).get("invite") if "invite=" in text else None
    return found[0] if found else text


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)


responses_tab, waves_tab, invitations_tab, margins_tab, analysts_tab = st.tabs(
    ["Responses", "Waves", "Invitations", "Population margins", "Analysts"]
)

with responses_tab:
    show_done("responses")
    try:
        counts = store.response_counts(by=("wave", "country"))
    except SurveykitError:  # no instrument stored yet, or one without a country question
        counts = store.response_counts(by=("wave",)).assign(country="(not asked)")
    if counts.empty:
        st.info("No responses are stored yet.")
    else:
        st.subheader("Responses by wave and country")
        table = counts.fillna({"country": "(no answer)"}).pivot_table(
            index="wave", columns="country", values="responses", aggfunc="sum", fill_value=0
        )
        table["Total"] = table.sum(axis=1)
        table.index.name, table.columns.name = "Wave", None
        st.dataframe(table.astype(int))
        st.caption("Every stored response, whatever its source (the survey form, imports, demo data).")

        st.subheader("Delete test responses")
        by_source = store.response_counts(by=("wave", "source"))
        wave_names = by_source["wave"].drop_duplicates().tolist()
        left, right = st.columns(2)
        wave = left.selectbox("Wave", wave_names, index=len(wave_names) - 1, key="admin_delete_wave")
        in_wave = by_source[by_source["wave"] == wave].set_index("source")["responses"]
        sources = in_wave.index.tolist()
        source = right.selectbox(
            "Submitted through",
            sources,
            index=sources.index("form") if "form" in sources else 0,
            key="admin_delete_source",
            format_func=lambda s: f"{SOURCES.get(s, s)} ({in_wave[s]} responses)",
        )
        listed = store.response_index(wave=wave, source=source)
        labels = dict(
            zip(
                listed["respondent_id"],
                listed["submitted_at"].dt.strftime("%Y-%m-%d %H:%M:%S UTC · ")
                + listed["respondent_id"].str[:8],
                strict=True,
            )
        )
        chosen = st.multiselect(
            "Only these responses (leave empty to delete all of them)",
            list(labels),
            key="admin_delete_chosen",
            format_func=labels.get,
            placeholder="All responses of this wave and source",
        )
        n = len(chosen) if chosen else int(in_wave[source])
        st.markdown(
            f"**{n} response{'s' if n != 1 else ''}** of wave {wave} submitted through "
            f"{SOURCES.get(source, source)} would be deleted. This cannot be undone."
        )
        confirm = st.text_input(f"Type the wave name, {wave}, to confirm", key="admin_delete_confirm")
        if st.button("Delete these responses", type="primary", key="admin_delete_button"):
            if confirm.strip() != wave:
                st.warning(f"Nothing was deleted: type the wave name {wave} in the box above to confirm.")
            else:
                try:
                    deleted = store.delete_responses(
                        wave=wave, source=source, respondent_ids=chosen if chosen else None
                    )
                except SurveykitError as error:
                    st.error(str(error))
                else:
                    del st.session_state["admin_delete_confirm"]
                    st.session_state.pop("admin_delete_chosen", None)
                    done(
                        "responses",
                        f"Deleted {deleted} responses of wave {wave} ({SOURCES.get(source, source)}).",
                    )

with waves_tab:
    show_done("waves")
    waves = store.list_waves()
    if waves.empty:
        st.info("No waves yet: open one below.")
    else:
        shown = waves.assign(
            status=waves["status"].map(STATUS),
            opens_at=waves["opens_at"].dt.strftime("%Y-%m-%d %H:%M").fillna("\u2014"),
            closes_at=waves["closes_at"]
            .dt.strftime("%Y-%m-%d %H:%M")
            .where(waves["closes_at"].notna(), waves["status"].map({"unmanaged": "\u2014"}))
            .fillna("when closed by hand"),
        )
        st.dataframe(
            shown,
            hide_index=True,
            column_config={
                "wave": "Wave",
                "status": "Status",
                "opens_at": "Opens (UTC)",
                "closes_at": "Closes (UTC)",
                "open_to_anyone": st.column_config.CheckboxColumn("Open to anyone"),
                "responses": "Responses",
                "invitations": "Invitations",
                "invitations_used": "Invitations used",
            },
        )

    st.subheader("Open a wave")
    with st.form("admin_open_form"):
        name = st.text_input("Wave name", placeholder="for example 2017-06", key="admin_open_name")
        left, right = st.columns(2)
        opens = left.datetime_input("Opens (UTC)", value=utc_now(), key="admin_open_opens")
        closes = right.datetime_input(
            "Closes (UTC; leave empty to close it by hand)", value=None, key="admin_open_closes"
        )
        invited_only = st.radio(
            "Who may answer",
            [False, True],
            format_func=lambda v: (
                "Only people with an invitation link" if v else "Anyone with the survey link"
            ),
            horizontal=True,
            key="admin_open_invited_only",
        )
        if st.form_submit_button("Open wave", type="primary"):
            known = waves["wave"].tolist() if not waves.empty else []
            try:
                store.open_wave(name, opens=opens, closes=closes, open_to_anyone=not invited_only)
            except SurveykitError as error:
                st.error(str(error))
            else:
                verb = "rescheduled" if name.strip() in known else "opened"
                done("waves", f"Wave {name.strip()} {verb}: it is now {store.wave_status(name)}.")

    managed = waves[waves["status"].isin(["open", "scheduled"])]["wave"].tolist()
    left, right = st.columns(2)
    with left:
        st.subheader("Close a wave now")
        if not managed:
            st.caption("No wave is open or scheduled.")
        else:
            to_close = st.selectbox("Wave to close", managed, key="admin_close_wave")
            if st.button("Close now", key="admin_close_button"):
                try:
                    store.close_wave(to_close)
                except SurveykitError as error:
                    st.error(str(error))
                else:
                    done(
                        "waves",
                        f"Wave {to_close} is closed; the survey form no longer accepts answers to it.",
                    )
    with right:
        st.subheader("Rename a wave")
        if waves.empty:
            st.caption("No wave to rename.")
        else:
            old = st.selectbox("Wave to rename", waves["wave"].tolist(), key="admin_rename_wave")
            new = st.text_input("New name", key="admin_rename_new")
            if st.button("Rename", key="admin_rename_button"):
                try:
                    renamed = store.rename_wave(old, new)
                except SurveykitError as error:
                    st.error(str(error))
                else:
                    done("waves", f"Wave {old} is now {new.strip()}, with its {renamed} responses.")

with invitations_tab:
    show_done("invitations")
    waves = store.list_waves()
    managed = waves[waves["status"] != "unmanaged"]["wave"].tolist()
    base = st.text_input(
        "Survey address used in the links",
        value=app_url(),
        key="admin_invite_base",
        help="Each link is this address with ?invite=TOKEN added; change it if respondents reach the app "
        "at another address.",
    )
    st.subheader("Create invitations")
    if not managed:
        st.info("Invitations belong to a wave with dates: open one in the Waves tab first.")
    else:
        left, right = st.columns(2)
        wave = left.selectbox("Wave", managed, index=len(managed) - 1, key="admin_invite_wave")
        count = right.number_input(
            "How many", min_value=1, max_value=100_000, value=50, step=1, key="admin_invite_count"
        )
        if st.button("Create invitations", type="primary", key="admin_invite_create"):
            try:
                tokens = store.create_invitations(wave, int(count))
            except SurveykitError as error:
                st.error(str(error))
            else:
                st.session_state["admin_invite_created"] = {"wave": wave, "tokens": tokens}
    created = st.session_state.get("admin_invite_created")
    if created:
        links = pd.DataFrame(
            {
                "wave": created["wave"],
                "token": created["tokens"],
                "link": [invite_link(base, t) for t in created["tokens"]],
            }
        )
        st.warning(
            f"{len(links)} invitations for wave {created['wave']} created. Download them now: only a "
            "fingerprint of each token is stored, so these links cannot be shown again."
        )
        st.download_button(
            f"Download the {len(links)} invitation links (CSV)",
            data=csv_bytes(links),
            file_name=f"invitations-{created['wave']}.csv",
            mime="text/csv",
            icon=":material/download:",
            key="admin_invite_download",
        )
        st.dataframe(links.head(5), hide_index=True)
        st.caption("The first five links; the file has all of them.")

    st.subheader("Invitations per wave")
    invitations = store.invitation_counts()
    if invitations.empty:
        st.caption("No invitations yet.")
    else:
        st.dataframe(
            invitations,
            hide_index=True,
            column_config={
                "wave": "Wave",
                "invitations": "Created",
                "valid": "Unused",
                "used": "Used",
                "revoked": "Revoked",
            },
        )

    st.subheader("Revoke an invitation")
    pasted = st.text_input("Token or invitation link", key="admin_revoke_token")
    if st.button("Revoke", key="admin_revoke_button"):
        try:
            store.revoke_invitation(pasted_token(pasted))
        except SurveykitError as error:
            st.error(str(error))
        else:
            done("invitations", "The invitation is revoked: its link no longer opens the survey.")

with margins_tab:
    show_done("margins")
    current = store.margins_table()
    st.caption(
        "Population counts the dashboard's weighted figures are raked to: one row per level; every "
        "variable must add up to the same population total."
    )
    left, right = st.columns(2)
    with left:
        st.subheader("Current margins")
        if current.empty:
            st.info("No margins are stored, so weighted figures cannot be computed yet.")
        else:
            st.dataframe(current, hide_index=True)
            totals = current.groupby("variable", sort=False)["count"].sum()
            st.caption(
                "Population total: "
                + ", ".join(f"{variable} {total:,.0f}" for variable, total in totals.items())
            )
            st.download_button(
                "Download as CSV",
                data=csv_bytes(current),
                file_name="margins.csv",
                mime="text/csv",
                key="admin_margins_download",
            )
    with right:
        st.subheader("Edit")
        edited = st.data_editor(
            current,
            num_rows="dynamic",
            hide_index=True,
            key="admin_margins_editor",
            column_config={
                "variable": st.column_config.TextColumn("variable", required=True),
                "level": st.column_config.TextColumn("level", required=True),
                "count": st.column_config.NumberColumn("count", required=True),
            },
        )
        if st.button("Save margins", type="primary", key="admin_margins_save"):
            try:
                store.set_margins_table(edited)
            except SurveykitError as error:
                st.error(f"Nothing was saved. {error}")
            else:
                del st.session_state["admin_margins_editor"]
                done("margins", f"Saved {len(store.margins_table())} margin rows.")
        uploaded = st.file_uploader(
            "Or replace them from a CSV file with columns variable, level, count",
            type="csv",
            key="admin_margins_upload",
        )
        if uploaded is not None and st.button("Save the uploaded margins", key="admin_margins_upload_save"):
            try:
                table = pd.read_csv(io.BytesIO(uploaded.getvalue()), dtype={"variable": str, "level": str})
                store.set_margins_table(table)
            except (
                SurveykitError,
                pd.errors.ParserError,
                pd.errors.EmptyDataError,
                UnicodeDecodeError,
            ) as error:
                st.error(f"Nothing was saved from {uploaded.name}. {error}")
            else:
                done("margins", f"Saved the margins from {uploaded.name}.")

with analysts_tab:
    show_done("analysts")
    analysts = store.list_analysts()
    st.dataframe(
        analysts,
        hide_index=True,
        column_config={
            "username": "Username",
            "created_at": st.column_config.DatetimeColumn(
                "Added or password set (UTC)", format="YYYY-MM-DD HH:mm"
            ),
        },
    )
    st.caption("Every analyst can use every page, this one included.")
    left, right = st.columns(2)
    with left:
        st.subheader("Add an analyst")
        with st.form("admin_add_form", clear_on_submit=True):
            username = st.text_input("Username", key="admin_add_username")
            password = st.text_input("Password", type="password", key="admin_add_password")
            again = st.text_input("Password again", type="password", key="admin_add_again")
            if st.form_submit_button("Add analyst", type="primary"):
                if username.strip() in analysts["username"].tolist():
                    st.error(
                        f"{username.strip()} already has a login; remove it first to set a new password."
                    )
                elif password != again:
                    st.error("The two passwords differ; type the same password twice.")
                else:
                    try:
                        store.add_analyst(username, password)
                    except SurveykitError as error:
                        st.error(str(error))
                    else:
                        done("analysts", f"{username.strip()} can now sign in.")
    with right:
        st.subheader("Remove an analyst")
        names = analysts["username"].tolist()
        gone = st.selectbox("Analyst", names, key="admin_remove_username")
        yourself = gone == user
        sure = yourself and st.checkbox(
            "I am removing my own login and will be signed out", key="admin_remove_self"
        )
        if st.button("Remove analyst", key="admin_remove_button"):
            if len(names) == 1:
                st.error(f"{gone} is the only analyst; add another first so that someone can still sign in.")
            elif yourself and not sure:
                st.warning("This is your own login: tick the box above to confirm removing it.")
            else:
                store.remove_analyst(gone)
                if yourself:
                    sign_out()
                done("analysts", f"{gone} can no longer sign in.")
