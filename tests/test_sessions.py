"""Signed sign-in tokens and login throttling, on a SQLite file and on a PostgreSQL server."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from surveykit import LoginThrottledError, Store, StoreError, issue_session, verify_session
from surveykit.collection.sessions import demo_login_present

NOW = datetime(2017, 6, 1, 12, 0)


@pytest.fixture
def analyst_store(store):
    store.add_analyst("ana", "s3cret")
    return store


def test_session_round_trip_and_expiry(analyst_store):
    token = issue_session(analyst_store, "ana", ttl=timedelta(hours=1), now=NOW)
    assert verify_session(analyst_store, token, now=NOW + timedelta(minutes=59)) == "ana"
    assert verify_session(analyst_store, token, now=NOW + timedelta(hours=1)) is None
    assert verify_session(analyst_store, issue_session(analyst_store, "ana", ttl=60)) == "ana"


def test_tampered_or_malformed_sessions_are_refused(analyst_store):
    analyst_store.add_analyst("bob", "hunter22")
    token = issue_session(analyst_store, "ana", ttl=3600, now=NOW)
    name, expiry, signature = token.split(".")
    bob = issue_session(analyst_store, "bob", ttl=3600, now=NOW).split(".")[0]
    later = str(int(expiry) + 86400)
    for forged in [
        f"{bob}.{expiry}.{signature}",
        f"{name}.{later}.{signature}",
        f"{name}.{expiry}.{signature[:-1]}{'1' if signature[-1] == '0' else '0'}",
        "",
        None,
        "garbage",
        "a.b.c",
        f"{name}.{expiry}",
    ]:
        assert verify_session(analyst_store, forged, now=NOW) is None, forged


def test_sessions_end_when_the_analyst_is_removed_or_changes_password(analyst_store):
    token = issue_session(analyst_store, "ana", ttl=3600)
    analyst_store.add_analyst("ana", "n3w-secret")
    assert verify_session(analyst_store, token) is None
    token = issue_session(analyst_store, "ana", ttl=3600)
    assert analyst_store.remove_analyst("ana")
    assert verify_session(analyst_store, token) is None
    assert not analyst_store.remove_analyst("ana")


def test_session_secret_is_made_once_and_kept_in_the_store(store_url):
    with Store(store_url) as first:
        first.add_analyst("ana", "s3cret")
        token = issue_session(first, "ana", ttl=3600)
    with Store(store_url) as reopened:
        assert verify_session(reopened, token) == "ana"


def test_secret_from_the_environment_wins(analyst_store, monkeypatch):
    monkeypatch.setenv("SURVEYKIT_SECRET", "one")
    token = issue_session(analyst_store, "ana", ttl=3600)
    assert verify_session(analyst_store, token) == "ana"
    monkeypatch.setenv("SURVEYKIT_SECRET", "two")
    assert verify_session(analyst_store, token) is None


def test_bad_session_requests_are_clear(analyst_store):
    with pytest.raises(StoreError, match="ttl must be a positive duration"):
        issue_session(analyst_store, "ana", ttl=0)
    with pytest.raises(StoreError, match="no analyst 'zed'; add one with add_analyst"):
        issue_session(analyst_store, "zed", ttl=60)


def _fail(store, times, *, user="ana", client=None, start=NOW):
    for i in range(times):
        assert not store.check_login(user, "wrong", client=client, now=start + timedelta(seconds=i))


def test_five_failures_lock_the_user_without_checking_the_password(analyst_store):
    _fail(analyst_store, 5)
    with pytest.raises(LoginThrottledError, match="this username; wait 26 seconds") as info:
        analyst_store.check_login("ana", "s3cret", now=NOW + timedelta(seconds=8))
    assert info.value.retry_after == 26
    assert analyst_store.check_login("ana", "s3cret", now=NOW + timedelta(seconds=34))


def test_backoff_doubles_and_success_resets_the_user(analyst_store):
    _fail(analyst_store, 5)
    assert not analyst_store.check_login("ana", "wrong", now=NOW + timedelta(seconds=40))  # 6th failure
    with pytest.raises(LoginThrottledError) as info:
        analyst_store.check_login("ana", "s3cret", now=NOW + timedelta(seconds=41))
    assert info.value.retry_after == 59  # 60 s after the latest failure
    assert analyst_store.check_login("ana", "s3cret", now=NOW + timedelta(seconds=100))
    _fail(analyst_store, 4, start=NOW + timedelta(seconds=101))  # counting starts again
    assert analyst_store.check_login("ana", "s3cret", now=NOW + timedelta(seconds=106))


def test_failures_older_than_the_window_do_not_count(analyst_store):
    _fail(analyst_store, 4)
    _fail(analyst_store, 1, start=NOW + timedelta(minutes=16))
    assert analyst_store.check_login("ana", "s3cret", now=NOW + timedelta(minutes=16, seconds=1))


def test_a_client_guessing_across_users_is_locked(analyst_store):
    for i, user in enumerate(["u1", "u2", "u3", "u4", "u5"]):
        assert not analyst_store.check_login(user, "x", client="10.0.0.9", now=NOW + timedelta(seconds=i))
    with pytest.raises(LoginThrottledError, match="this client"):
        analyst_store.check_login("ana", "s3cret", client="10.0.0.9", now=NOW + timedelta(seconds=6))
    # The same user from another client is not held back by that client's failures,
    assert analyst_store.check_login("ana", "s3cret", client="10.0.0.7", now=NOW + timedelta(seconds=6))
    # and one success does not unlock the guessing client.
    with pytest.raises(LoginThrottledError):
        analyst_store.check_login("ana", "s3cret", client="10.0.0.9", now=NOW + timedelta(seconds=7))


def test_unknown_users_are_throttled_like_known_ones(analyst_store):
    _fail(analyst_store, 5, user="ghost")
    with pytest.raises(LoginThrottledError):
        analyst_store.check_login("ghost", "x", now=NOW + timedelta(seconds=6))


@pytest.mark.parametrize("who", ["username", "client"])
def test_the_wait_grows_with_each_failure_per_username_and_per_client(analyst_store, who):
    # A probe found 30 wrong passwords in 8 s met no delay. From the fifth failure on, each
    # failure made once the wait is over doubles the wait: 30, 60, 120, 240 s, for one username
    # (from any client) or for one client (trying a new username each time).
    moment, waits = NOW, []
    for attempt in range(8):
        user, client = ("ana", None) if who == "username" else (f"user{attempt}", "10.0.0.9")
        assert not analyst_store.check_login(user, "wrong", client=client, now=moment)
        if attempt < 4:
            moment += timedelta(seconds=1)
            continue
        # The right password for 'ana' (or a username nobody tried) is refused unchecked.
        probe, client = ("ana", "10.0.0.7") if who == "username" else ("ana", "10.0.0.9")
        with pytest.raises(LoginThrottledError, match=f"for this {who}; wait") as info:
            analyst_store.check_login(probe, "s3cret", client=client, now=moment)
        waits.append(info.value.retry_after)
        moment += timedelta(seconds=info.value.retry_after + 1)
    assert waits == [30, 60, 120, 240]


def test_the_demo_login_is_found_without_locking_out_a_real_analyst(store):
    assert not demo_login_present(store)  # no analyst called 'analyst': nothing is tried
    store.add_analyst("analyst", "demo")
    assert all(demo_login_present(store) for _ in range(10))
    store.add_analyst("analyst", "a-real-passw0rd")
    assert not any(demo_login_present(store) for _ in range(10))
    # The checks record no failed sign-in: four real failures later the analyst is still let in
    # (a fifth failure, the check counting as one, would have locked the login).
    for _ in range(4):
        assert not store.check_login("analyst", "typo")
    assert store.check_login("analyst", "a-real-passw0rd")
    store.add_analyst("analyst", "demo")  # set back to the demo password: found again
    assert demo_login_present(store)
    store.remove_analyst("analyst")
    assert not demo_login_present(store)


def test_password_matches_records_no_failure(store):
    store.add_analyst("analyst", "right")
    assert store.password_matches("analyst", "right") and store.password_matches(" analyst ", "right")
    assert not any(store.password_matches("analyst", "wrong") for _ in range(8))
    assert not store.password_matches("nobody", "right")
    assert store.check_login("analyst", "right")  # eight wrong checks did not slow sign-in down
