"""Bulk imports commit in batches, each a short write transaction, and stay all-or-nothing: their
rows are invisible until the last transaction, a failed import removes them, and an import
killed part-way is cleared by the next one. Real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
import time

import pytest

from bench.bench_load import big_incident_log
from surveykit import Store, default_instrument, demo_incidents, demo_responses
from surveykit.exceptions import StoreBusyError, StoreError

from .test_instrument import VALID_ANSWERS
from .test_response_store import typed_row_counts

INSTRUMENT = default_instrument()
BATCH = 2_000  # rows per write transaction; the default (50,000 incidents) works the same way
BULK = 12_000  # six batches: a bulk import


def _raw(url: str, query: str) -> int:
    """A count straight from the SQLite file, seeing rows that reads through the store hide."""
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=60)
    try:
        return int(conn.execute(query).fetchone()[0])
    finally:
        conn.close()


def _import_incidents(url: str, rows: int) -> None:
    with Store(url, import_batch=BATCH) as store:
        store.add_incidents(big_incident_log(rows))


def _seeded(url: str) -> None:
    with Store(url) as store:
        store.add_incidents(demo_incidents().head(100))
        store.submit(INSTRUMENT, VALID_ANSWERS, wave="2016-12")


def _wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the import never reached this point"
        time.sleep(0.02)


PENDING = "SELECT count(*) FROM incidents WHERE import_id IS NOT NULL"
POINTS = {
    # while the rows are staged outside the store (nothing written to it yet)
    "staging": lambda url: time.sleep(0.05),
    # after the first batch committed: its rows are in the file but invisible
    "first batch": lambda url: _wait_for(lambda: _raw(url, PENDING) > 0),
    # all but the last batch committed
    "last batch": lambda url: _wait_for(lambda: _raw(url, PENDING) >= BULK - BATCH),
}


@pytest.mark.parametrize("point", [*POINTS, "after the end"])
def test_an_import_killed_at_any_point_leaves_the_store_unchanged_or_complete(sqlite_url, point):
    _seeded(sqlite_url)
    context = multiprocessing.get_context("fork")
    child = context.Process(target=_import_incidents, args=(sqlite_url, BULK))
    child.start()
    if point == "after the end":
        child.join(300)
    else:
        POINTS[point](sqlite_url)
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
    finished = child.exitcode == 0
    assert finished == (point == "after the end")
    with Store(sqlite_url) as store:
        assert store.count_incidents() == (100 + BULK if finished else 100)
        assert len(store.incidents()) == store.count_incidents()
        assert store.count_responses() == 1
    if point == "first batch":
        assert _raw(sqlite_url, PENDING) > 0  # the killed import's rows are there, unseen
    # The next import takes the killed one (no progress for import_stale_after s) for dead,
    # removes its rows, and stores its own.
    with Store(sqlite_url, import_stale_after=0, import_batch=BATCH) as store:
        assert store.add_incidents(big_incident_log(6_000)) == (0 if finished else 6_000)
        assert store.count_incidents() == (100 + BULK if finished else 6_100)
    assert _raw(sqlite_url, "SELECT count(*) FROM incidents") == (100 + BULK if finished else 6_100)
    assert _raw(sqlite_url, "SELECT count(*) FROM imports WHERE finished_at IS NULL") == 0


def test_an_import_that_fails_in_a_later_batch_stores_nothing_and_leaves_no_rows(sqlite_url):
    _seeded(sqlite_url)
    conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON incidents WHEN NEW.incident_id = 'LOAD-0011000' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    )
    conn.commit()
    conn.close()
    with (
        Store(sqlite_url, import_batch=BATCH) as store,
        pytest.raises(StoreError, match="refused by the test"),
    ):
        store.add_incidents(big_incident_log(BULK))
    with Store(sqlite_url) as store:
        assert store.count_incidents() == 100
    assert _raw(sqlite_url, "SELECT count(*) FROM incidents") == 100  # the batches were removed
    assert _raw(sqlite_url, "SELECT count(*) FROM imports") == 0


def _running_import(url: str) -> None:
    """An import another process is running: its row in the imports table, alive just now."""
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    conn.execute(
        "INSERT INTO imports (id, kind, started_at, heartbeat_at) VALUES (99, 'incidents', ?, ?)", (now, now)
    )
    conn.commit()
    conn.close()


def test_a_second_bulk_import_waits_for_the_first_and_says_so_past_the_bound(sqlite_url):
    _seeded(sqlite_url)
    _running_import(sqlite_url)
    with (
        Store(sqlite_url, busy_timeout=0.3, import_batch=BATCH) as store,
        pytest.raises(StoreBusyError, match=r"Another import, started at .* UTC, is still being stored"),
    ):
        store.add_incidents(big_incident_log(BULK))

    def finish_the_other() -> None:
        time.sleep(1)
        conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
        conn.execute("UPDATE imports SET finished_at = heartbeat_at WHERE id = 99")
        conn.commit()
        conn.close()

    other = threading.Thread(target=finish_the_other)
    other.start()
    started = time.monotonic()
    with Store(sqlite_url, import_batch=BATCH) as store:  # waits for the other, then stores its own
        assert store.add_incidents(big_incident_log(BULK)) == BULK
        assert store.count_incidents() == 100 + BULK
    assert time.monotonic() - started > 0.9
    other.join()


def test_an_import_without_progress_is_taken_for_dead_after_import_stale_after(sqlite_url):
    _seeded(sqlite_url)
    _running_import(sqlite_url)
    time.sleep(1.1)
    with Store(sqlite_url, busy_timeout=0.3, import_stale_after=1, import_batch=BATCH) as store:
        assert store.add_incidents(big_incident_log(BULK)) == BULK
    assert _raw(sqlite_url, "SELECT count(*) FROM imports WHERE id = 99") == 0


def _response_rows(count: int, wave: str = "2016-12") -> list[dict]:
    records = INSTRUMENT.records(demo_responses(count // 2 + 1, seed=3))[:count]
    return [
        {"answers": INSTRUMENT.clean_answers(r), "wave": wave, "idempotency_key": f"bulk-{i}"}
        for i, r in enumerate(records)
    ]


def test_bulk_responses_are_stored_whole_and_a_rerun_finds_them_all(store_url):
    rows = _response_rows(3_000)  # three batches
    with Store(store_url, import_batch=1_000) as store:
        results = store.add_responses(INSTRUMENT, rows)
        assert sum(r.created for r in results) == 3_000
        assert store.count_responses() == 3_000 == len(store.responses())
        again = store.add_responses(INSTRUMENT, rows)
        assert [r.respondent_id for r in again] == [r.respondent_id for r in results]
        assert not any(r.created for r in again)


def test_bulk_responses_failing_in_a_later_batch_store_nothing(sqlite_url):
    with Store(sqlite_url) as store:
        store.submit(INSTRUMENT, VALID_ANSWERS, wave="2016-12")
    conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON responses WHEN NEW.idempotency_key = 'bulk-2500' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
    )
    conn.commit()
    conn.close()
    with (
        Store(sqlite_url, import_batch=1_000) as store,
        pytest.raises(StoreError, match="refused by the test"),
    ):
        store.add_responses(INSTRUMENT, _response_rows(3_000))
    with Store(sqlite_url) as store:
        assert store.count_responses() == 1
        assert store.waves() == ["2016-12"]
    assert _raw(sqlite_url, "SELECT count(*) FROM responses") == 1
    # The typed answers of the batches stored before the refusal went with their responses.
    assert typed_row_counts(sqlite_url) == {("whaling-posture", 2): 1}


def test_a_reused_key_with_other_answers_aborts_a_bulk_import_before_it_writes(sqlite_url):
    rows = _response_rows(3_000)
    with Store(sqlite_url, import_batch=1_000) as store:
        store.add_responses(INSTRUMENT, rows[:1])
        changed = {**rows[0], "answers": INSTRUMENT.clean_answers({**VALID_ANSWERS, "country": "ZA"})}
        with pytest.raises(StoreError, match="'bulk-0' was already used for a different response"):
            store.add_responses(INSTRUMENT, [changed, *rows[1:]])
        assert store.count_responses() == 1
    assert _raw(sqlite_url, "SELECT count(*) FROM imports") == 0
