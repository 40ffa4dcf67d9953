"""The admin page through AppTest: counts, test responses, waves, invitations, margins, analysts."""

from __future__ import annotations

import io
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest, app_test

from surveykit import Store, default_instrument, demo_margins, load_demo
from tests._apptest import APP, start

from .test_instrument import VALID_ANSWERS

PAGE = "app_pages/admin.py"


@pytest.fixture
def downloads(monkeypatch):
    """What each download button would send to the browser, by its media URL.

    AppTest keeps downloads in an in-memory media store made for each run; this keeps a handle on
    those stores so a test can read the bytes behind a button's URL.
    """
    stores: list[MemoryMediaFileStorage] = []

    class Kept(MemoryMediaFileStorage):
        def __init__(self, endpoint: str) -> None:
            super().__init__(endpoint)
            stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Kept)

    def read(button) -> bytes:
        name = button.proto.url.rsplit("/", 1)[-1]
        return stores[-1].get_file(name).content

    return read


def _table(at, tab: int, index: int = 0) -> pd.DataFrame:
    """The ``index``-th table in the ``tab``-th tab (Responses, Waves, Invitations, Margins, Analysts)."""
    return at.tabs[tab].dataframe[index].value


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    """A store with the demo data, made once and copied for each test (loading takes half a second)."""
    path = tmp_path_factory.mktemp("admin") / "demo.db"
    with Store(f"sqlite:///{path}") as store:
        load_demo(store)
    return path


@pytest.fixture
def demo_db(db, demo_file) -> str:
    """The app's store (``db``) holding the demo data."""
    shutil.copyfile(demo_file, db.removeprefix("sqlite:///"))
    return db


def test_admin_page_needs_a_login(demo_db):
    at = start(PAGE)
    assert not at.exception
    assert at.warning[0].value == "This page is for analysts. Log in first."
    assert at.text_input(key="login_username") is not None
    assert not at.dataframe and not at.tabs


def test_admin_page_on_an_empty_store(db):
    with Store(db) as store:
        store.add_analyst("analyst", "demo")
    at = start(PAGE, user="analyst")
    assert not at.exception
    assert at.info[0].value == "No responses are stored yet."
    assert "open one in the Waves tab first" in at.info[-2].value
    assert not at.get("download_button")


def test_counts_by_wave_and_country_match_the_store(demo_db):
    with Store(demo_db) as store:
        store.submit(default_instrument(), {**VALID_ANSWERS, "country": "ZA"}, wave="2017-01")
        responses = store.responses()
    at = start(PAGE, user="analyst")
    assert not at.exception
    shown = _table(at, 0, 0)
    expected = pd.crosstab(responses["wave"].astype(str), responses["country"].astype(str))
    assert shown.drop(columns="Total").to_numpy().tolist() == expected.to_numpy().tolist()
    assert list(shown.index) == ["2015-12", "2016-12", "2017-01"]
    assert list(shown.columns[:-1]) == list(expected.columns)
    assert shown["Total"].tolist() == responses.groupby("wave").size().tolist()


def test_delete_test_responses_needs_the_typed_wave_name(demo_db):
    instrument = default_instrument()
    with Store(demo_db) as store:
        demo_before = store.response_counts(by=("wave", "source"))
        test_ids = [store.submit(instrument, VALID_ANSWERS, wave="2016-12").respondent_id for _ in range(3)]
    at = start(PAGE, user="analyst")
    at.selectbox(key="admin_delete_wave").set_value("2016-12").run()
    assert at.selectbox(key="admin_delete_source").value == "form"  # the form's responses are proposed
    assert "**3 responses** of wave 2016-12" in at.markdown[0].value
    at.button(key="admin_delete_button").click().run()
    assert not at.exception
    assert "Nothing was deleted" in at.warning[0].value
    at.text_input(key="admin_delete_confirm").input("2015-12").run()
    at.button(key="admin_delete_button").click().run()
    assert "Nothing was deleted" in at.warning[0].value
    with Store(demo_db) as store:
        assert store.count_responses(wave="2016-12") == 520 + 3
    # One chosen response, then the rest.
    at.multiselect(key="admin_delete_chosen").set_value([test_ids[1]]).run()
    assert "**1 response** of wave 2016-12" in at.markdown[0].value
    at.text_input(key="admin_delete_confirm").input("2016-12").run()
    at.button(key="admin_delete_button").click().run()
    assert not at.exception
    assert at.success[0].value == "Deleted 1 responses of wave 2016-12 (the survey form)."
    with Store(demo_db) as store:
        left = set(store.response_index(source="form")["respondent_id"])
        assert left == {test_ids[0], test_ids[2]}
    at.selectbox(key="admin_delete_source").set_value("form")
    at.text_input(key="admin_delete_confirm").input("2016-12").run()
    at.button(key="admin_delete_button").click().run()
    assert at.success[0].value == "Deleted 2 responses of wave 2016-12 (the survey form)."
    with Store(demo_db) as store:
        after = store.response_counts(by=("wave", "source"))
    pd.testing.assert_frame_equal(after, demo_before)


def test_open_close_and_rename_waves(demo_db):
    at = start(PAGE, user="analyst")
    opens = datetime(2030, 1, 1, 9, 0)
    at.text_input(key="admin_open_name").input("2030-01")
    at.datetime_input(key="admin_open_opens").set_value(opens)
    at.datetime_input(key="admin_open_closes").set_value(opens - timedelta(days=1))
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert "would close (2029-12-31 09:00) before it opens" in at.error[0].value
    with Store(demo_db) as store:
        assert "2030-01" not in store.list_waves()["wave"].tolist()

    at.datetime_input(key="admin_open_closes").set_value(opens + timedelta(days=30))
    at.radio(key="admin_open_invited_only").set_value(True)
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert at.success[0].value == "Wave 2030-01 opened: it is now scheduled."
    with Store(demo_db) as store:
        wave = store.list_waves().set_index("wave").loc["2030-01"]
    assert wave["status"] == "scheduled" and not wave["open_to_anyone"]
    assert wave["opens_at"] == opens and wave["closes_at"] == opens + timedelta(days=30)

    at.text_input(key="admin_open_name").input("2017-06")
    at.datetime_input(key="admin_open_opens").set_value(datetime(2017, 6, 1))
    at.datetime_input(key="admin_open_closes").set_value(None)
    at.radio(key="admin_open_invited_only").set_value(False)
    at.form_submit_button[0].click().run()
    assert at.success[0].value == "Wave 2017-06 opened: it is now open."

    at.selectbox(key="admin_close_wave").set_value("2017-06")
    at.button(key="admin_close_button").click().run()
    assert not at.exception
    with Store(demo_db) as store:
        assert store.wave_status("2017-06") == "closed"

    at.selectbox(key="admin_rename_wave").set_value("2015-12")
    at.text_input(key="admin_rename_new").input("2016-12")
    at.button(key="admin_rename_button").click().run()
    assert "Wave '2016-12' already exists" in at.error[0].value
    at.text_input(key="admin_rename_new").input("2015-Q4")
    at.button(key="admin_rename_button").click().run()
    assert at.success[0].value == "Wave 2015-12 is now 2015-Q4, with its 450 responses."
    with Store(demo_db) as store:
        assert store.list_waves()["wave"].tolist() == ["2015-Q4", "2016-12", "2017-06", "2017-12", "2030-01"]
    shown = _table(at, 1, 0)
    assert shown["wave"].tolist() == ["2015-Q4", "2016-12", "2017-06", "2017-12", "2030-01"]
    assert shown["status"].tolist() == ["no dates (demo or imported)"] * 2 + ["closed", "open", "scheduled"]


def test_invitations_are_downloaded_once_and_revoked(demo_db, downloads):
    with Store(demo_db) as store:
        store.open_wave("2017-06", open_to_anyone=False)
    at = start(PAGE, user="analyst")
    assert not [b for b in at.get("download_button") if b.key == "admin_invite_download"]
    at.text_input(key="admin_invite_base").input("https://survey.example.org/?lang=en")
    at.selectbox(key="admin_invite_wave").set_value("2017-06")
    at.number_input(key="admin_invite_count").set_value(7)
    at.button(key="admin_invite_create").click().run()
    assert not at.exception
    (button,) = [b for b in at.get("download_button") if b.key == "admin_invite_download"]
    links = pd.read_csv(io.BytesIO(downloads(button)))
    assert list(links.columns) == ["wave", "token", "link"] and len(links) == 7
    assert set(links["wave"]) == {"2017-06"} and links["token"].is_unique
    for token, link in zip(links["token"], links["link"], strict=True):
        parts = urlsplit(link)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "survey.example.org", "/")
        assert parse_qs(parts.query) == {"lang": ["en"], "invite": [token]}
    with Store(demo_db) as store:
        assert {store.invitation_status(t) for t in links["token"]} == {"valid"}
        assert store.invitation_wave(links["token"][0]) == "2017-06"
        store.submit(default_instrument(), VALID_ANSWERS, wave="2017-06", invitation=links["token"][0])

    at.text_input(key="admin_revoke_token").input(links["link"][1]).run()  # a whole link pasted
    at.button(key="admin_revoke_button").click().run()
    assert at.success[0].value == "The invitation is revoked: its link no longer opens the survey."
    at.text_input(key="admin_revoke_token").input(links["token"][0])
    at.button(key="admin_revoke_button").click().run()
    assert "already used for a response" in at.error[0].value
    at.text_input(key="admin_revoke_token").input("not-a-token")
    at.button(key="admin_revoke_button").click().run()
    assert "not known" in at.error[0].value
    with Store(demo_db) as store:
        statuses = [store.invitation_status(t) for t in links["token"]]
    assert statuses == ["used", "revoked"] + ["valid"] * 5
    counts = _table(at, 2, -1)
    assert counts.values.tolist() == [["2017-06", 7, 5, 1, 1]]


def test_invitation_links_default_to_the_app_address(demo_db, downloads):
    with Store(demo_db) as store:
        store.open_wave("2017-06")
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["auth_user"] = "analyst"
    at.context = {"url": "http://survey.local:8564/admin"}  # what the browser reports on this page
    at.run().switch_page(PAGE).run()
    assert at.text_input(key="admin_invite_base").value == "http://survey.local:8564/"
    at.number_input(key="admin_invite_count").set_value(1)
    at.button(key="admin_invite_create").click().run()
    (button,) = [b for b in at.get("download_button") if b.key == "admin_invite_download"]
    (row,) = pd.read_csv(io.BytesIO(downloads(button))).itertuples()
    assert row.link == f"http://survey.local:8564/?invite={row.token}"


def _edits(edited=None, added=(), deleted=()) -> dict:
    return {"edited_rows": edited or {}, "added_rows": list(added), "deleted_rows": list(deleted)}


def test_margins_edited_in_the_table_are_validated_then_saved(demo_db, downloads):
    with Store(demo_db) as store:
        store.set_margins(demo_margins())
        table = store.margins_table()
    at = start(PAGE, user="analyst")
    pd.testing.assert_frame_equal(_table(at, 3, 0), table, check_dtype=False)
    (button,) = [b for b in at.get("download_button") if b.key == "admin_margins_download"]
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(downloads(button))), table, check_dtype=False)

    at.session_state["admin_margins_editor"] = _edits({0: {"count": -5}})
    at.button(key="admin_margins_save").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("Nothing was saved.") and "non-negative" in at.error[0].value
    at.session_state["admin_margins_editor"] = _edits({0: {"count": float(table["count"][0]) + 1}})
    at.button(key="admin_margins_save").click().run()
    assert "totals differ" in at.error[0].value
    with Store(demo_db) as store:
        assert store.margins() == demo_margins()

    country = table.index[table["variable"] == "country"]
    first = int(country[0])
    moved = {first: {"count": float(table["count"][first]) - 10}, first + 1: {"count": None}}
    moved[first + 1]["count"] = float(table["count"][first + 1]) + 10
    others = [int(i) for i in table.index if table["variable"][i] != "country"]
    at.session_state["admin_margins_editor"] = _edits(moved, deleted=others)
    at.button(key="admin_margins_save").click().run()
    assert not at.exception and at.success[0].value.startswith("Saved")
    expected = dict(demo_margins()["country"])
    levels = list(expected)
    expected[levels[0]] -= 10
    expected[levels[1]] += 10
    with Store(demo_db) as store:
        assert store.margins() == {"country": expected}


def test_margins_from_an_uploaded_csv(demo_db):
    at = start(PAGE, user="analyst")
    good = b"variable,level,count\ncountry,US,60\ncountry,GB,40\nsector,finance,100\n"
    at.file_uploader(key="admin_margins_upload").set_value(("m.csv", good, "text/csv")).run()
    at.button(key="admin_margins_upload_save").click().run()
    assert not at.exception and at.success[0].value == "Saved the margins from m.csv."
    with Store(demo_db) as store:
        assert store.margins() == {"country": {"US": 60, "GB": 40}, "sector": {"finance": 100}}
    bad = b"variable,level\ncountry,US\n"
    at.file_uploader(key="admin_margins_upload").set_value(("bad.csv", bad, "text/csv")).run()
    at.button(key="admin_margins_upload_save").click().run()
    assert "Nothing was saved from bad.csv" in at.error[0].value and "lacks ['count']" in at.error[0].value
    with Store(demo_db) as store:
        assert store.margins() == {"country": {"US": 60, "GB": 40}, "sector": {"finance": 100}}


def _add(at, username: str, password: str, again: str) -> None:
    at.text_input(key="admin_add_username").input(username)
    at.text_input(key="admin_add_password").input(password)
    at.text_input(key="admin_add_again").input(again)
    at.form_submit_button[-1].click().run()


def test_analysts_added_and_removed_never_the_last(demo_db):
    at = start(PAGE, user="analyst")
    at.selectbox(key="admin_remove_username").set_value("analyst")
    at.button(key="admin_remove_button").click().run()
    assert "analyst is the only analyst" in at.error[0].value
    _add(at, "bea", "secret1", "secret2")
    assert at.error[0].value == "The two passwords differ; type the same password twice."
    _add(at, "bea", "abc", "abc")
    assert "at least 4 characters" in at.error[0].value
    _add(at, "analyst", "secret1", "secret1")
    assert "analyst already has a login" in at.error[0].value
    _add(at, "bea", "secret1", "secret1")
    assert not at.exception and at.success[0].value == "bea can now sign in."
    assert _table(at, 4, 0)["username"].tolist() == ["analyst", "bea"]
    with Store(demo_db) as store:
        assert store.check_login("bea", "secret1")

    at.selectbox(key="admin_remove_username").set_value("analyst").run()  # yourself
    at.button(key="admin_remove_button").click().run()
    assert "tick the box" in at.warning[0].value
    at.selectbox(key="admin_remove_username").set_value("bea").run()
    at.button(key="admin_remove_button").click().run()
    assert at.success[0].value == "bea can no longer sign in."
    with Store(demo_db) as store:
        assert store.list_analysts()["username"].tolist() == ["analyst"]
