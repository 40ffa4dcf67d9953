"""The store under contention: a held write lock, racing submissions and openers, and
submissions during an import, on real SQLite files and a real PostgreSQL server (imports killed
part-way are in test_bulk_imports.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from surveykit import Store, default_instrument
from surveykit.collection.store import BUSY_MESSAGE, SCHEMA_VERSION
from surveykit.exceptions import StoreBusyError
from tests._apptest import start
from tests.test_app_survey import fill_to_review, open_wave, review_text, stored

from ._processes import run_at_once
from .test_instrument import VALID_ANSWERS

INSTRUMENT = default_instrument()


def _path(url: str) -> str:
    return url.removeprefix("sqlite:///")


@contextmanager
def write_lock(url: str, seconds: float) -> Iterator[threading.Thread]:
    """Another process's writer, as an import is: a raw sqlite3 connection holding ``BEGIN
    IMMEDIATE`` (the write lock) for ``seconds`` from when the block starts."""
    taken = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(_path(url), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    try:
        yield holder
    finally:
        holder.join(seconds + 10)


def test_a_submit_during_a_held_write_lock_waits_and_is_stored_after_it(sqlite_url):
    with Store(sqlite_url) as store:
        with write_lock(sqlite_url, 1.5):
            started = time.monotonic()
            result = store.submit(INSTRUMENT, VALID_ANSWERS, wave="2016-12", idempotency_key="k")
            waited = time.monotonic() - started
        assert result.created and waited >= 1.0  # it waited for the lock, then stored
        assert store.count_responses() == 1
        with sqlite3.connect(_path(sqlite_url)) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_past_the_bound_a_submit_is_refused_as_busy_and_stores_nothing(sqlite_url):
    with Store(sqlite_url, busy_timeout=0.5) as store:
        with write_lock(sqlite_url, 2.0):
            started = time.monotonic()
            with pytest.raises(StoreBusyError) as info:
                store.submit(INSTRUMENT, VALID_ANSWERS, wave="2016-12", idempotency_key="k")
            assert time.monotonic() - started < 1.8  # gave up at the bound, not at the lock's end
        assert str(info.value) == BUSY_MESSAGE
        assert store.count_responses() == 0
        # The same submission again, once the lock is gone, is stored.
        assert store.submit(INSTRUMENT, VALID_ANSWERS, wave="2016-12", idempotency_key="k").created


def test_reads_and_opening_are_not_blocked_by_a_writer(sqlite_url):
    with Store(sqlite_url) as store:
        store.submit(INSTRUMENT, VALID_ANSWERS, wave="2016-12")
    with write_lock(sqlite_url, 2.0):
        started = time.monotonic()
        with Store(sqlite_url) as reader:
            assert reader.count_responses() == 1
            assert len(reader.responses()) == 1
            assert reader.latest_instrument().id == INSTRUMENT.id
        assert time.monotonic() - started < 1.5


def test_busy_timeout_is_checked():
    with pytest.raises(Exception, match="non-negative number of seconds"):
        Store("sqlite:///:memory:", busy_timeout=-1)


# --- the survey page -------------------------------------------------------------------------


def test_the_survey_page_loads_while_an_import_holds_the_write_lock(db):
    open_wave(db)
    with Store(db):
        pass
    with write_lock(db, 3.0):
        started = time.monotonic()
        at = start()
        assert not at.exception
        assert at.get("progress")[0].proto.text.startswith("Section 1 of 5")
        assert time.monotonic() - started < 2.5


def test_a_submission_made_while_the_store_is_locked_is_stored_once_after_the_lock(db):
    open_wave(db)
    at = start()
    fill_to_review(at)
    with write_lock(db, 1.5):
        at.button(key="survey_submit").click().run()
    assert not at.exception
    assert at.success[0].value == "Thank you, your answers are recorded."
    assert len(stored(db)) == 1 and stored(db)["country"].tolist() == ["GB"]


def test_a_lock_held_too_long_says_so_and_keeps_the_answers(db, monkeypatch):
    monkeypatch.setenv("SURVEYKIT_BUSY_TIMEOUT", "0.5")
    open_wave(db)
    at = start()
    fill_to_review(at)
    with write_lock(db, 2.0):
        at.button(key="survey_submit").click().run()
    assert not at.exception
    assert [w.value for w in at.warning] == [BUSY_MESSAGE]
    assert not at.success and stored(db).empty
    assert "**United Kingdom**" in review_text(at)  # every answer still in the form
    at.button(key="survey_submit").click().run()  # pressing Submit again once the lock is gone
    assert not at.exception and at.success[0].value == "Thank you, your answers are recorded."
    assert len(stored(db)) == 1


# --- races -----------------------------------------------------------------------------------


def _submit_same_key(url: str) -> str:
    with Store(url) as own:
        result = own.submit(INSTRUMENT, VALID_ANSWERS, wave="2016-12", idempotency_key="same")
    return f"{'created' if result.created else 'already recorded'} {result.respondent_id}"


def _open_store(url: str) -> str:
    with Store(url) as own:
        return f"version {own.schema_version}"


def _save_instrument(url: str) -> str:
    with Store(url) as own:
        own.save_instrument(INSTRUMENT)
        return "saved"


def test_racing_submissions_with_one_key_store_one_and_all_succeed(store_url):
    """Also the first instrument insert races: the store is empty when they start."""
    outcomes = run_at_once(store_url, _submit_same_key)
    kinds = sorted(o.rsplit(" ", 1)[0] for o in outcomes)
    assert kinds == ["already recorded"] * 7 + ["created"], outcomes
    assert len({o.rsplit(" ", 1)[1] for o in outcomes}) == 1  # every caller got the stored id
    with Store(store_url) as check:
        assert check.count_responses() == 1


def test_racing_instrument_saves_all_succeed(store_url):
    with Store(store_url):
        pass
    assert run_at_once(store_url, _save_instrument) == ["saved"] * 8
    with Store(store_url) as check:
        assert check.instrument().to_dict() == INSTRUMENT.to_dict()


def test_eight_processes_opening_an_empty_store_all_succeed(store_url):
    assert run_at_once(store_url, _open_store) == [f"version {SCHEMA_VERSION}"] * 8


# --- load ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url_kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_submissions_during_an_import_are_each_stored_once(request, tmp_path, url_kind):
    """The small version of bench/bench_load.py: 200 submissions from 4 processes during a
    20,000-incident import in batches of 2,000."""
    from bench.bench_load import run

    url = (
        f"sqlite:///{tmp_path / 'load.db'}"
        if url_kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    figures = run(url, n=200, processes=4, incidents=20_000, batch=2_000)
    assert figures["errors"] == []
    assert figures["during"]["submissions"] > 0  # they met the import's batches
    assert (figures["stored"], figures["duplicates"], figures["missing"]) == (200, 0, 0)
    assert figures["incidents_added"] == 20_000
    with Store(url) as store:
        assert store.count_responses() == 200 and store.count_incidents() == 20_000
