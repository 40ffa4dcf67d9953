"""The store on a real SQLite file and on a real PostgreSQL server, through the same code."""

from __future__ import annotations

import multiprocessing
import sqlite3
from types import SimpleNamespace

import pandas as pd
import pytest
import sqlalchemy as sa

from surveykit import InstrumentError, Store, StoreError, default_instrument, demo_incidents
from surveykit.collection.store import SCHEMA_VERSION, resolve_db_url

from .test_instrument import VALID_ANSWERS


def test_schema_is_created_with_a_version(store):
    assert store.schema_version == SCHEMA_VERSION
    assert store.count_responses() == 0
    assert store.responses().empty
    assert store.incidents().empty


def test_same_idempotency_key_stores_once(store):
    instrument = default_instrument()
    first = store.submit(instrument, VALID_ANSWERS, wave="2016-12", idempotency_key="abc")
    again = store.submit(instrument, VALID_ANSWERS, wave="2016-12", idempotency_key="abc")
    assert first.created and not again.created
    assert again.respondent_id == first.respondent_id
    assert store.count_responses() == 1


def test_reused_key_with_different_answers_is_refused(store):
    instrument = default_instrument()
    store.submit(instrument, VALID_ANSWERS, wave="2016-12", idempotency_key="abc")
    with pytest.raises(StoreError, match="already used for a different response"):
        store.submit(instrument, {**VALID_ANSWERS, "country": "GB"}, wave="2016-12", idempotency_key="abc")
    assert store.count_responses() == 1


def test_invalid_answers_store_nothing(store):
    with pytest.raises(InstrumentError):
        store.submit(default_instrument(), {**VALID_ANSWERS, "country": "FR"}, wave="2016-12")
    assert store.count_responses() == 0


def test_responses_come_back_tidy(store):
    instrument = default_instrument()
    store.submit(instrument, VALID_ANSWERS, wave="2015-12")
    store.submit(instrument, {**VALID_ANSWERS, "ciso_present": "yes", "ciso_in_csuite": "no"}, wave="2016-12")
    frame = store.responses()
    assert list(frame.columns[:5]) == [
        "respondent_id",
        "wave",
        "submitted_at",
        "instrument_id",
        "instrument_version",
    ]
    assert list(frame.columns[5:]) == instrument.columns
    assert len(frame) == 2
    assert frame["impersonated_roles__ceo"].tolist() == [True, True]
    assert frame["ciso_in_csuite"].isna().tolist() == [True, False]
    assert store.waves() == ["2015-12", "2016-12"]
    assert len(store.responses(wave="2016-12")) == 1


def test_incidents_round_trip_and_deduplicate(store):
    from surveykit import demo_incidents

    log = demo_incidents().head(50)
    assert store.add_incidents(log) == 50
    assert store.add_incidents(log) == 0
    back = store.incidents()
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True), log.sort_values("incident_id").reset_index(drop=True), check_dtype=True
    )


def test_failed_incident_batch_changes_nothing(store):
    from surveykit import demo_incidents

    log = demo_incidents().head(10)
    broken = log.copy()
    broken.loc[5, "incident_id"] = pd.NA
    with pytest.raises(StoreError, match="non-blank incident_id"):
        store.add_incidents(broken)
    assert store.count_incidents() == 0


def test_analyst_login(store):
    assert not store.has_analysts()
    store.add_analyst("ana", "s3cret")
    assert store.check_login("ana", "s3cret")
    assert not store.check_login("ana", "wrong")
    assert not store.check_login("bob", "s3cret")


def test_instrument_version_conflict_is_refused(store):
    instrument = default_instrument()
    store.save_instrument(instrument)
    store.save_instrument(instrument)  # the same definition again: fine
    changed = type(instrument).from_dict({**instrument.to_dict(), "title": "Changed"})
    with pytest.raises(StoreError, match="new version number"):
        store.save_instrument(changed)


def test_sqlite_file_is_a_real_database(tmp_path):
    path = tmp_path / "real.db"
    with Store(str(path)) as store:
        store.submit(default_instrument(), VALID_ANSWERS, wave="2016-12")
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute("select count(*) from responses").fetchone()
        (version,) = conn.execute("select value from meta where key = 'schema_version'").fetchone()
    assert count == 1 and int(version) == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    Store(str(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("update meta set value = '99' where key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99, newer than"):
        Store(str(path))


@pytest.mark.parametrize("url", ["mysql://u:p@host/db", "oracle://x", "http://example"])
def test_unknown_scheme_is_a_clear_error(url):
    with pytest.raises(StoreError, match="Unknown database URL scheme"):
        Store(url)


def test_password_is_hidden_in_errors():
    with pytest.raises(StoreError) as info:
        Store("mysql://user:hunter2@host/db")
    assert "hunter2" not in str(info.value)


def test_url_resolution(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_db_url("x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    assert resolve_db_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    monkeypatch.setenv("SURVEYKIT_DB_URL", "sqlite:///env.db")
    assert resolve_db_url(None) == f"sqlite:///{tmp_path / 'env.db'}"


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(str(tmp_path / "nope" / "x.db"))


@pytest.mark.postgres
def test_unreachable_postgres_is_a_clear_error():
    with pytest.raises(StoreError, match="Cannot open the store") as info:
        Store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    # psycopg adds an "Is the server running ...?" line; the command line prints one line.
    assert "\n" not in str(info.value)
    assert "Is the server running" in str(info.value)


def test_conflict_found_by_the_database_is_one_line(store, monkeypatch):
    instrument = default_instrument()
    store.submit(instrument, VALID_ANSWERS, wave="2016-12", idempotency_key="first")
    # Every respondent id the same: the unique constraint, not the key check, must catch it.
    same_id = SimpleNamespace(uuid4=lambda: SimpleNamespace(hex="same-id"))
    monkeypatch.setattr("surveykit.collection.store.uuid", same_id)
    store.submit(instrument, VALID_ANSWERS, wave="2016-12", idempotency_key="second")
    with pytest.raises(StoreError, match="The responses conflict with stored ones") as info:
        store.submit(instrument, VALID_ANSWERS, wave="2016-12", idempotency_key="third")
    assert "\n" not in str(info.value)
    assert store.count_responses() == 2


def _open_and_report(url, barrier, errors):
    barrier.wait()
    try:
        with Store(url) as opened:
            opened.count_responses()
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{type(exc).__name__}: {exc}")


def _open_at_once(url: str, processes: int = 4) -> list[str]:
    context = multiprocessing.get_context("fork")
    barrier, errors = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=_open_and_report, args=(url, barrier, errors)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    found = []
    while not errors.empty():
        found.append(errors.get())
    found += [f"exit code {w.exitcode}" for w in workers if w.exitcode != 0]
    return found


def _downgrade(url: str, version: int) -> None:
    """Make a store exactly as surveykit with an older schema version left it.

    Version 1 had the meta, instruments, responses, incidents and analysts tables; version 2 added
    waves, invitations, margins and login attempts; version 3 added the imports table and the
    ``import_id`` column (with its index) on responses and incidents; version 4 the typed answer
    tables and their registry ``answer_tables``.
    """
    engine = sa.create_engine(resolve_db_url(url))
    with engine.begin() as conn:
        for (name,) in conn.exec_driver_sql("SELECT table_name FROM answer_tables").all():
            conn.exec_driver_sql(f'DROP TABLE "{name}"')
        conn.exec_driver_sql("DROP TABLE answer_tables")
        if version < 3:
            conn.exec_driver_sql("DROP TABLE imports")
            for table in ("responses", "incidents"):
                conn.exec_driver_sql(f"DROP INDEX ix_{table}_import")
                conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN import_id")
        if version < 2:
            for table in ("login_attempts", "margins", "invitations", "waves"):
                conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql(f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'")
    engine.dispose()


@pytest.mark.parametrize("version", [1, 2, 3])
def test_older_store_is_upgraded_in_place_keeping_every_row(store_url, version):
    instrument = default_instrument()
    with Store(store_url) as old:
        first = old.submit(instrument, VALID_ANSWERS, wave="2015-12")
        old.submit(instrument, {**VALID_ANSWERS, "country": "GB"}, wave="2016-12")
        old.add_analyst("ana", "s3cret")
        old.add_incidents(demo_incidents().head(5))
        before = old.responses()
    _downgrade(store_url, version)
    with Store(store_url) as upgraded:
        assert upgraded.schema_version == SCHEMA_VERSION == 4
        pd.testing.assert_frame_equal(upgraded.responses(), before)
        assert upgraded.check_login("ana", "s3cret")
        assert upgraded.count_incidents() == 5
        assert upgraded.list_waves()["status"].tolist() == ["unmanaged", "unmanaged"]
        assert upgraded.add_incidents(demo_incidents().head(8)) == 3
        upgraded.open_wave("2017-06")
        assert upgraded.submit(instrument, VALID_ANSWERS, wave="2017-06").created
        assert first.respondent_id in set(upgraded.responses()["respondent_id"])


def test_concurrent_openers_of_an_empty_store_all_succeed(store_url):
    assert _open_at_once(store_url) == []
    with Store(store_url) as opened:
        assert opened.schema_version == SCHEMA_VERSION


def test_concurrent_openers_of_a_version_1_store_all_succeed(store_url):
    with Store(store_url) as old:
        old.submit(default_instrument(), VALID_ANSWERS, wave="2016-12")
    _downgrade(store_url, 1)
    assert _open_at_once(store_url) == []
    with Store(store_url) as opened:
        assert opened.schema_version == SCHEMA_VERSION
        assert opened.count_responses() == 1


def _mixed_store(store) -> list[str]:
    """Demo-like responses from three sources in two waves; returns the form responses' ids."""
    instrument = default_instrument()
    rows = [
        {
            "answers": instrument.clean_answers({**VALID_ANSWERS, "country": country}),
            "wave": wave,
            "source": src,
        }
        for wave, country, src in [
            ("2015-12", "US", "demo"),
            ("2015-12", "GB", "demo"),
            ("2015-12", "GB", "import"),
            ("2016-12", "US", "demo"),
            ("2016-12", "ZA", "demo"),
        ]
    ]
    store.add_responses(instrument, rows)
    form = [
        store.submit(
            instrument, {**VALID_ANSWERS, "country": c, "outages_12m": k}, wave="2016-12"
        ).respondent_id
        for c, k in [("GB", 0), ("GB", 3), ("US", 3)]
    ]
    return form


def test_response_counts_by_wave_and_country_match_the_stored_answers(store):
    _mixed_store(store)
    counts = store.response_counts(by=("wave", "country"))
    assert list(counts.columns) == ["wave", "country", "responses"]
    expected = store.responses().groupby(["wave", "country"]).size().rename("responses").reset_index()
    assert counts.astype(object).values.tolist() == expected.astype(object).values.tolist()
    assert counts["responses"].sum() == store.count_responses() == 8
    # A numeric answer is read as text on both databases; filters combine.
    by_outages = store.response_counts(by="outages_12m", wave="2016-12", source="form")
    assert by_outages.astype(object).values.tolist() == [["0", 1], ["3", 2]]
    by_source = store.response_counts(by=["source"])
    assert dict(by_source.values.tolist()) == {"demo": 4, "form": 3, "import": 1}
    assert store.response_counts(by=()).values.tolist() == [[8]]


def test_response_counts_refuse_unknown_and_multi_answer_columns(store):
    _mixed_store(store)
    with pytest.raises(StoreError, match=r"'colour'.*not a response field.*'country'"):
        store.response_counts(by=("wave", "colour"))
    with pytest.raises(StoreError, match="several answers per respondent"):
        store.response_counts(by="impersonated_roles")
    with pytest.raises(StoreError, match="twice"):
        store.response_counts(by=("wave", "wave"))


def test_response_index_lists_responses_without_answers(store):
    form = _mixed_store(store)
    index = store.response_index(wave="2016-12", source="form")
    assert list(index.columns) == [
        "respondent_id",
        "wave",
        "source",
        "submitted_at",
        "instrument_id",
        "instrument_version",
    ]
    assert set(index["respondent_id"]) == set(form)
    assert index["submitted_at"].is_monotonic_decreasing
    assert len(store.response_index()) == 8


def test_delete_responses_deletes_exactly_the_chosen_ones(store):
    form = _mixed_store(store)
    with pytest.raises(StoreError, match="everything=True"):
        store.delete_responses()
    assert store.delete_responses(wave="2015-12", source="form") == 0
    assert store.delete_responses(respondent_ids=[]) == 0
    assert store.delete_responses(wave="2016-12", source="form") == 3
    remaining = store.response_index()
    assert len(remaining) == 5 and not set(form) & set(remaining["respondent_id"])
    assert set(remaining["source"]) == {"demo", "import"}
    one = remaining.loc[remaining["source"] == "import", "respondent_id"].tolist()
    # Chosen ids outside the wave filter are kept.
    assert store.delete_responses(wave="2016-12", respondent_ids=one) == 0
    assert store.delete_responses(respondent_ids=[*one, "no-such-id"]) == 1
    assert store.count_responses() == 4
    assert store.delete_responses(everything=True) == 4
    assert store.count_responses() == 0


def test_failed_delete_deletes_nothing(store, monkeypatch):
    form = _mixed_store(store)
    ids = [*form, *(f"x{i}" for i in range(600))]  # two chunks, so two statements in one transaction
    from surveykit.collection import store as store_module

    real_chunks = store_module._chunks

    def failing_chunks(items, size):
        for number, chunk in enumerate(real_chunks(items, size)):
            if number == 1:
                raise RuntimeError("connection lost")
            yield chunk

    monkeypatch.setattr("surveykit.collection.store._chunks", failing_chunks)
    with pytest.raises(RuntimeError):
        store.delete_responses(respondent_ids=ids)
    assert store.count_responses() == 8


def test_list_analysts_never_shows_hashes(store):
    assert store.list_analysts().empty
    store.add_analyst("zoe", "s3cret")
    store.add_analyst("ana", "s3cret")
    listed = store.list_analysts()
    assert list(listed.columns) == ["username", "created_at"]
    assert listed["username"].tolist() == ["ana", "zoe"]
    assert listed["created_at"].notna().all()
    assert not listed.astype(str).apply(lambda c: c.str.contains("scrypt")).any().any()
    store.remove_analyst("zoe")
    assert store.list_analysts()["username"].tolist() == ["ana"]


def test_the_responses_version_changes_with_every_change_of_the_responses(store_url):
    instrument = default_instrument()
    with Store(store_url, import_batch=2) as store:
        seen = [store.responses_version()]

        def changed() -> bool:
            seen.append(store.responses_version())
            return seen[-1] != seen[-2]

        assert not changed()  # reading twice
        first = store.submit(instrument, VALID_ANSWERS, wave="2016-12")
        assert changed()
        store.add_analyst("ana", "s3cret")
        store.check_login("ana", "wrong")
        store.add_incidents(demo_incidents().head(3))
        assert not changed()  # other tables
        store.delete_responses(respondent_ids=[first.respondent_id])
        assert changed()
        store.submit(instrument, VALID_ANSWERS, wave="2016-12")  # same count again, maybe same id
        assert changed()
        store.rename_wave("2016-12", "2016-Q4")
        assert changed()
        rows = [{"answers": instrument.clean_answers(VALID_ANSWERS), "wave": "2017-06"} for _ in range(3)]
        store.add_responses(instrument, rows)  # a bulk import: two batches, then visible at once
        assert changed()
        assert len(set(seen)) == 6
