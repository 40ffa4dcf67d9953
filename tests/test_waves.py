"""Waves, invitations and population margins, on a SQLite file and on a PostgreSQL server."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from surveykit import (
    InvitationError,
    InvitationUsedError,
    Store,
    StoreError,
    WaveClosedError,
    default_instrument,
    demo_margins,
)
from surveykit._spreadsheet import FORMULA_TRIGGERS, neutralise

from .test_instrument import VALID_ANSWERS

NOW = datetime(2017, 6, 1, 12, 0)


def test_unmanaged_wave_accepts_answers_as_before(store):
    assert store.wave_status("2016-12") == "unmanaged"
    assert store.submit(default_instrument(), VALID_ANSWERS, wave="2016-12").created
    assert store.current_wave() is None


def test_wave_open_close_and_status(store):
    store.open_wave("2017-06", opens=NOW, closes=NOW + timedelta(days=30))
    assert store.wave_status("2017-06", now=NOW - timedelta(seconds=1)) == "scheduled"
    assert store.wave_status("2017-06", now=NOW) == "open"
    assert store.wave_status("2017-06", now=NOW + timedelta(days=30)) == "closed"
    assert store.current_wave(now=NOW + timedelta(days=1)) == "2017-06"
    assert store.current_wave(now=NOW + timedelta(days=31)) is None
    store.open_wave("2017-12", opens=NOW + timedelta(days=10))
    assert store.current_wave(now=NOW + timedelta(days=11)) == "2017-12"  # the latest opened
    store.close_wave("2017-12", at=NOW + timedelta(days=12))
    assert store.wave_status("2017-12", now=NOW + timedelta(days=12)) == "closed"


def test_submit_refuses_closed_and_scheduled_waves_and_stores_nothing(store):
    instrument = default_instrument()
    store.open_wave("2017-06")
    assert store.submit(instrument, VALID_ANSWERS, wave="2017-06").created
    store.close_wave("2017-06")
    with pytest.raises(WaveClosedError, match=r"closed at .* reopen it with open_wave"):
        store.submit(instrument, VALID_ANSWERS, wave="2017-06")
    store.open_wave("2017-12", opens=datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(WaveClosedError, match="opens at"):
        store.submit(instrument, VALID_ANSWERS, wave="2017-12")
    assert store.count_responses() == 1
    store.open_wave("2017-06")  # reopened
    assert store.submit(instrument, VALID_ANSWERS, wave="2017-06").created


def test_imports_are_not_limited_by_wave_windows(store):
    instrument = default_instrument()
    store.open_wave("2017-06", opens=NOW, closes=NOW + timedelta(days=1))
    row = {"answers": instrument.clean_answers(VALID_ANSWERS), "wave": "2017-06", "source": "import"}
    assert store.add_responses(instrument, [row])[0].created


def test_wave_arguments_are_checked(store):
    with pytest.raises(StoreError, match=r"close .* before it opens"):
        store.open_wave("2017-06", opens=NOW, closes=NOW)
    with pytest.raises(StoreError, match="needs a name"):
        store.open_wave("  ")
    with pytest.raises(StoreError, match="never opened; open it first"):
        store.close_wave("nope")
    with pytest.raises(StoreError, match="never opened"):
        store.create_invitations("nope", 3)
    store.open_wave("2017-06")
    with pytest.raises(StoreError, match="positive whole number"):
        store.create_invitations("2017-06", 0)


def test_rename_wave_renames_its_responses_and_invitations(store):
    instrument = default_instrument()
    store.open_wave("2017-6")
    store.submit(instrument, VALID_ANSWERS, wave="2017-6")
    store.submit(instrument, VALID_ANSWERS, wave="2016-12")
    (token,) = store.create_invitations("2017-6", 1)
    assert store.rename_wave("2017-6", "2017-06") == 1
    assert store.waves() == ["2016-12", "2017-06"]
    assert store.wave_status("2017-06") == "open"
    assert store.invitation_wave(token) == "2017-06"
    with pytest.raises(StoreError, match="already exists"):
        store.rename_wave("2017-06", "2016-12")
    with pytest.raises(StoreError, match="There is no wave 'x'"):
        store.rename_wave("x", "y")
    assert store.rename_wave("2016-12", "2016-Q4") == 1  # unmanaged waves too
    assert store.count_responses("2016-Q4") == 1


def test_list_waves_counts_responses_and_invitations(store):
    instrument = default_instrument()
    store.submit(instrument, VALID_ANSWERS, wave="2016-12")
    store.open_wave("2017-06", opens=NOW, open_to_anyone=False)
    tokens = store.create_invitations("2017-06", 3)
    store.submit(instrument, VALID_ANSWERS, wave="2017-06", invitation=tokens[0])
    frame = store.list_waves(now=NOW + timedelta(days=1))
    assert list(frame.columns) == [
        "wave",
        "status",
        "opens_at",
        "closes_at",
        "open_to_anyone",
        "responses",
        "invitations",
        "invitations_used",
    ]
    assert frame["wave"].tolist() == ["2016-12", "2017-06"]
    assert frame["status"].tolist() == ["unmanaged", "open"]
    assert frame["responses"].tolist() == [1, 1]
    assert frame["invitations"].tolist() == [0, 3]
    assert frame["invitations_used"].tolist() == [0, 1]
    assert frame["open_to_anyone"].tolist() == [True, False]
    assert frame["opens_at"].iloc[1] == NOW


def test_invitation_lifecycle(store):
    instrument = default_instrument()
    store.open_wave("2017-06")
    tokens = store.create_invitations("2017-06", 3)
    assert len(set(tokens)) == 3 and all(len(t) >= 32 for t in tokens)
    assert [store.invitation_status(t) for t in tokens] == ["valid"] * 3
    assert store.invitation_status("made-up") == "unknown"
    store.submit(instrument, VALID_ANSWERS, wave="2017-06", invitation=tokens[0])
    store.revoke_invitation(tokens[1])
    assert [store.invitation_status(t) for t in tokens] == ["used", "revoked", "valid"]
    with pytest.raises(InvitationUsedError, match=r"already used .* one response"):
        store.submit(instrument, VALID_ANSWERS, wave="2017-06", invitation=tokens[0])
    with pytest.raises(InvitationError, match="withdrawn"):
        store.submit(instrument, VALID_ANSWERS, wave="2017-06", invitation=tokens[1])
    with pytest.raises(InvitationError, match="not known"):
        store.submit(instrument, VALID_ANSWERS, wave="2017-06", invitation="made-up")
    with pytest.raises(InvitationUsedError, match="cannot be withdrawn"):
        store.revoke_invitation(tokens[0])
    with pytest.raises(InvitationError, match="not known"):
        store.revoke_invitation("made-up")
    store.open_wave("2017-12")
    with pytest.raises(InvitationError, match="for wave '2017-06', not '2017-12'"):
        store.submit(instrument, VALID_ANSWERS, wave="2017-12", invitation=tokens[2])
    assert store.count_responses() == 1
    assert store.invitation_status(tokens[2]) == "valid"


def test_tokens_are_stored_only_as_sha256(store):
    import hashlib

    import sqlalchemy as sa

    store.open_wave("2017-06")
    (token,) = store.create_invitations("2017-06", 1)
    with store._engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM invitations")).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored


def test_invitation_tokens_stay_as_written_in_a_spreadsheet(sqlite_url):
    # The Admin page's download neutralises text a spreadsheet would run as a formula; a token
    # starting with "-" (one URL-safe token in 64) came out as "'-..." beside its link.
    with Store(sqlite_url) as store:
        store.open_wave("2017-06", open_to_anyone=False)
        tokens = store.create_invitations("2017-06", 2_000)
    assert len(set(tokens)) == 2_000
    assert [t for t in tokens if t.startswith(FORMULA_TRIGGERS)] == []
    assert [neutralise(t) for t in tokens] == tokens


def test_invitation_only_wave_requires_a_token(store):
    instrument = default_instrument()
    store.open_wave("2017-06", open_to_anyone=False)
    with pytest.raises(InvitationError, match="by invitation only"):
        store.submit(instrument, VALID_ANSWERS, wave="2017-06")
    (token,) = store.create_invitations("2017-06", 1)
    assert store.submit(instrument, VALID_ANSWERS, wave="2017-06", invitation=token).created
    assert store.count_responses() == 1


def test_retried_submission_with_its_invitation_is_not_an_error(store):
    instrument = default_instrument()
    store.open_wave("2017-06", open_to_anyone=False)
    (token,) = store.create_invitations("2017-06", 1)
    first = store.submit(instrument, VALID_ANSWERS, wave="2017-06", invitation=token, idempotency_key="k")
    again = store.submit(instrument, VALID_ANSWERS, wave="2017-06", invitation=token, idempotency_key="k")
    assert not again.created and again.respondent_id == first.respondent_id


def test_concurrent_submissions_with_one_invitation_store_exactly_one(store_url):
    with Store(store_url) as admin:
        admin.open_wave("2017-06", open_to_anyone=False)
        (token,) = admin.create_invitations("2017-06", 1)
    attempts = 6
    barrier = threading.Barrier(attempts)
    outcomes: list[str] = []

    def attempt() -> None:
        with Store(store_url) as own:
            barrier.wait()
            try:
                own.submit(default_instrument(), VALID_ANSWERS, wave="2017-06", invitation=token)
                outcomes.append("stored")
            except InvitationUsedError:
                outcomes.append("used")
            except Exception as exc:  # any other failure is a bug the assertion shows
                outcomes.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["stored"] + ["used"] * (attempts - 1)
    with Store(store_url) as check:
        assert check.count_responses() == 1
        assert check.invitation_status(token) == "used"


def test_margins_round_trip(store):
    assert store.margins() == {}
    store.set_margins(demo_margins())
    assert store.margins() == demo_margins()
    assert list(store.margins()["org_size"]) == list(demo_margins()["org_size"])
    store.set_margins({"country": {"US": 60.5, "GB": 39.5}})
    assert store.margins() == {"country": {"US": 60.5, "GB": 39.5}}


@pytest.mark.parametrize(
    ("margins", "message"),
    [
        ({"country": {"US": -1, "GB": 3}}, "non-negative numbers"),
        ({"country": {"US": "many"}}, "non-negative numbers"),
        ({"country": {"US": float("nan")}}, "non-negative numbers"),
        ({"country": {}}, "needs a mapping of levels"),
        ({"country": {"US": 0}}, "sums to zero"),
        (
            {"country": {"US": 10}, "org_size": {"small": 4, "large": 5}},
            r"totals differ \(country: 10, org_size: 9\)",
        ),
        ([("country", {})], "must be a mapping"),
    ],
)
def test_bad_margins_are_refused_and_keep_the_stored_ones(store, margins, message):
    store.set_margins(demo_margins())
    with pytest.raises(StoreError, match=message):
        store.set_margins(margins)
    assert store.margins() == demo_margins()


def test_invitation_counts_split_valid_used_and_revoked(store):
    instrument = default_instrument()
    store.open_wave("2017-06", opens=NOW, open_to_anyone=False)
    store.open_wave("2017-12", opens=NOW)
    tokens = store.create_invitations("2017-06", 4)
    store.create_invitations("2017-12", 2)
    store.submit(instrument, VALID_ANSWERS, wave="2017-06", invitation=tokens[0])
    store.revoke_invitation(tokens[1])
    store.revoke_invitation(tokens[1])  # revoking twice counts once
    counts = store.invitation_counts()
    assert list(counts.columns) == ["wave", "invitations", "valid", "used", "revoked"]
    assert counts.astype(object).values.tolist() == [["2017-06", 4, 2, 1, 1], ["2017-12", 2, 2, 0, 0]]
    waves = store.list_waves().set_index("wave")
    assert counts.set_index("wave")["used"].tolist() == waves.loc[counts["wave"], "invitations_used"].tolist()


def test_margins_table_round_trip(store):
    import pandas as pd

    assert store.margins_table().empty
    store.set_margins(demo_margins())
    table = store.margins_table()
    assert list(table.columns) == ["variable", "level", "count"]
    margins = demo_margins()
    expected = [[v, lvl, float(c)] for v in sorted(margins) for lvl, c in margins[v].items()]
    assert table.astype(object).values.tolist() == expected
    edited = pd.concat(
        [table, pd.DataFrame({"variable": [None], "level": [None], "count": [None]})], ignore_index=True
    )  # a blank row left by the editor is ignored
    store.set_margins_table(edited)
    assert store.margins() == demo_margins()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("country", "US", -3), ("country", "GB", 5)], "non-negative numbers"),
        ([("country", "US", 10), ("org_size", "small", 4)], "totals differ"),
        ([("country", "US", 10), ("country", "US", 5)], "repeats level 'US'"),
        ([("country", None, 10)], "row 1 has no level"),
        ([("country", "US", "ten")], "'ten', which is not a number"),
    ],
)
def test_bad_margins_table_is_refused_and_stores_nothing(store, rows, message):
    import pandas as pd

    store.set_margins(demo_margins())
    with pytest.raises(StoreError, match=message):
        store.set_margins_table(pd.DataFrame(rows, columns=["variable", "level", "count"]))
    with pytest.raises(StoreError, match=r"lacks \['count'\]"):
        store.set_margins_table(pd.DataFrame({"variable": ["country"], "level": ["US"]}))
    assert store.margins() == demo_margins()
