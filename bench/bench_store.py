"""Store throughput against plain sqlite3 in the same run.

Writes N validated demo responses through ``Store.add_responses`` and reads them back as a tidy
frame with ``Store.responses``; the baseline inserts the same JSON rows with ``sqlite3``'s
``executemany`` and reads them with ``pandas.read_sql``, and reads the store's own typed rows
(responses joined with their typed answer table) with ``pandas.read_sql``. Prints seconds and
ratios; bench/scale_responses.py measures reading at a million responses.

    python bench/bench_store.py [N]
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from surveykit import Store, default_instrument, demo_responses


def main(n: int = 20_000) -> None:
    instrument = default_instrument()
    frame = demo_responses(n // 2)
    records = instrument.records(frame)
    started = time.perf_counter()
    cleaned = [instrument.clean_answers(r) for r in records]
    validate = time.perf_counter() - started
    rows = [
        {"answers": a, "wave": str(w), "idempotency_key": f"k{i}", "source": "bench"}
        for i, (a, w) in enumerate(zip(cleaned, frame["wave"], strict=True))
    ]
    with tempfile.TemporaryDirectory() as folder:
        store = Store(str(Path(folder) / "store.db"))
        started = time.perf_counter()
        store.add_responses(instrument, rows)
        write = time.perf_counter() - started
        started = time.perf_counter()
        back = store.responses()
        read = time.perf_counter() - started
        assert len(back) == len(rows)
        with sqlite3.connect(Path(folder) / "store.db") as own:
            (table,) = own.execute("select table_name from answer_tables").fetchone()
            started = time.perf_counter()
            typed = pd.read_sql(
                "select r.respondent_id, r.wave, r.submitted_at, r.instrument_id, r.instrument_version, t.* "
                f'from responses r left join "{table}" t on t.response_id = r.id order by r.id',
                own,
            )
            typed_read = time.perf_counter() - started
        assert len(typed) == len(rows)

        conn = sqlite3.connect(Path(folder) / "plain.db")
        conn.execute("create table r (k text primary key, wave text, answers text)")
        started = time.perf_counter()
        conn.executemany(
            "insert into r values (?, ?, ?)",
            [(r["idempotency_key"], r["wave"], json.dumps(r["answers"])) for r in rows],
        )
        conn.commit()
        base_write = time.perf_counter() - started
        started = time.perf_counter()
        plain = pd.read_sql("select * from r", conn)
        base_read = time.perf_counter() - started
        assert len(plain) == len(rows)
    print(f"responses: {len(rows)}")
    print(f"validate (clean_answers):  {validate:7.3f} s")
    print(f"write  store {write:7.3f} s  sqlite3 {base_write:7.3f} s  ratio {write / base_write:5.1f}x")
    for what, seconds in (("JSON table", base_read), ("typed rows", typed_read)):
        print(f"read   store {read:7.3f} s  read_sql {seconds:7.3f} s  ratio {read / seconds:5.1f}x  {what}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
