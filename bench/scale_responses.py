"""Reading stored responses into the tidy frame against ``pandas.read_sql`` of the same rows.

For each size (1,000,000 responses by default; 20,000 with ``--quick``) and each database
(SQLite, and PostgreSQL when its server binaries are installed: a throwaway server is started
as tests/conftest.py does), the store is filled through ``Store.add_responses`` with generated
demo responses (fixed seeds), then, each in a fresh subprocess so its peak memory is its own:

- surveykit: ``Store(url).responses()``, the tidy frame (string, nullable boolean, Int64,
  Float64 columns);
- baseline: ``pandas.read_sql`` of the same rows the frame is built from: the responses'
  meta columns joined with the typed answer table, in the same order (``sqlite3`` connection
  for SQLite, a SQLAlchemy engine for PostgreSQL);
- for reference, the way surveykit read responses before schema version 4 (each stored JSON
  record parsed and tidied), against the same baseline.

    python bench/scale_responses.py [--quick] [N ...]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _postgres import postgres_bin, throwaway_postgres
from _sides import PEAK_MB_SOURCE, machine, run_fresh, table, table_row

__all__ = ["Case", "cases", "main", "rows"]

QUICK_SIZES = (20_000,)
FULL_SIZES = (1_000_000,)
_DISTINCT = 20_000  # distinct generated respondents, repeated to the size asked
_BATCH = 50_000


_SURVEYKIT = """
import time
from surveykit import Store
store = Store(URL)
started = time.perf_counter()
frame = store.responses()
SECONDS = time.perf_counter() - started
ROWS = len(frame)
"""

_BEFORE = """
import json, time
import pandas as pd
import sqlalchemy as sa
from surveykit import Store
store = Store(URL)
engine = sa.create_engine(store.url)
started = time.perf_counter()
instrument = store.instrument()
with engine.connect() as conn:
    rows = conn.execute(sa.text(
        "SELECT respondent_id, wave, submitted_at, instrument_id, instrument_version, answers "
        "FROM responses ORDER BY id"
    )).all()
meta = pd.DataFrame([tuple(r)[:5] for r in rows],
                    columns=["respondent_id", "wave", "submitted_at", "instrument_id", "instrument_version"])
meta = meta.astype({"respondent_id": "string", "wave": "string", "instrument_id": "string"})
meta["submitted_at"] = pd.to_datetime(meta["submitted_at"]).astype("datetime64[ns]")
meta["instrument_version"] = meta["instrument_version"].astype("Int64")
frame = pd.concat([meta, instrument.tidy([json.loads(r.answers) for r in rows])], axis=1)
SECONDS = time.perf_counter() - started
ROWS = len(frame)
"""

_BASELINE = """
import sqlite3, time
import pandas as pd
import sqlalchemy as sa
engine = sa.create_engine(URL)
metadata = sa.MetaData()
with engine.connect() as conn:
    (name,) = conn.execute(sa.text("SELECT table_name FROM answer_tables")).one()
responses = sa.Table("responses", metadata, autoload_with=engine)
typed = sa.Table(name, metadata, autoload_with=engine)
meta = ["respondent_id", "wave", "submitted_at", "instrument_id", "instrument_version"]
query = (
    sa.select(responses.c.id, *[responses.c[c] for c in meta], *typed.c)
    .outerjoin(typed, typed.c.response_id == responses.c.id)
    .where(responses.c.instrument_id == sa.bindparam("instrument"))
    .order_by(responses.c.id)
)
started = time.perf_counter()
if engine.dialect.name == "sqlite":
    compiled = query.compile(dialect=engine.dialect)
    with sqlite3.connect(engine.url.database) as plain:
        frame = pd.read_sql(compiled.string, plain, params=("whaling-posture",))
else:
    frame = pd.read_sql(query, engine, params={"instrument": "whaling-posture"})
SECONDS = time.perf_counter() - started
ROWS = len(frame)
"""


@dataclass(frozen=True)
class Case:
    """One store to fill and read: ``run()`` measures it and returns its rows of the table."""

    area: str
    case: str
    rows: int
    engine: str
    run: Callable[[], list[dict[str, Any]]]


def fill(url: str, n: int, seed: int = 7) -> None:
    """Store ``n`` validated demo responses: ``_DISTINCT`` generated ones, repeated."""
    from surveykit import Store, default_instrument, demo_responses

    instrument = default_instrument()
    frame = demo_responses(min(n, _DISTINCT) // 2, seed=seed)
    answers = [instrument.clean_answers(r) for r in instrument.records(frame)]
    waves = frame["wave"].astype(str).tolist()
    with Store(url) as store:
        for start in range(0, n, _BATCH):
            batch = [
                {
                    "answers": answers[i % len(answers)],
                    "wave": waves[i % len(answers)],
                    "idempotency_key": f"bench-{i}",
                    "source": "bench",
                }
                for i in range(start, min(n, start + _BATCH))
            ]
            store.add_responses(instrument, batch)


def _measure(code: str, url: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; its seconds, row count and peak resident memory."""
    script = f"URL = {url!r}\n{code}\n{PEAK_MB_SOURCE}\n"
    script += "print(__import__('json').dumps({'seconds': SECONDS, 'rows': ROWS, 'peak_mb': peak_mb()}))"
    return run_fresh(["-c", script], "reading the responses")


def _row(case: str, n: int, engine: str, url: str, code: str) -> dict[str, Any]:
    from surveykit.collection.store import resolve_db_url

    ours = _measure(code, url)
    base = _measure(_BASELINE, resolve_db_url(url))  # without importing surveykit
    if ours["rows"] != n or base["rows"] != n:
        raise RuntimeError(f"expected {n} rows, read {ours['rows']} and {base['rows']}")
    return table_row("responses", case, n, engine, ours, "pandas.read_sql (typed join)", base)


@contextmanager
def _postgres() -> Iterator[str | None]:
    """A throwaway PostgreSQL server's URL (None when its binaries are not installed)."""
    bindir = postgres_bin()
    if bindir is None:
        yield None
        return
    with throwaway_postgres(bindir) as url:
        yield f"{url}/postgres"


def _engine_rows(engine: str, url: str, n: int) -> list[dict[str, Any]]:
    fill(url, n)
    return [
        _row("read stored responses into the tidy frame", n, engine, url, _SURVEYKIT),
        _row("read stored responses, JSON parse (before schema 4)", n, engine, url, _BEFORE),
    ]


def _sqlite_rows(n: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        return _engine_rows("sqlite", f"sqlite:///{Path(folder) / 'responses.db'}", n)


def _postgres_rows(n: int) -> list[dict[str, Any]]:
    with _postgres() as url:
        if url is None:
            print("PostgreSQL server binaries not installed: PostgreSQL rows skipped", file=sys.stderr)
            return []
        return _engine_rows("postgresql", url, n)


def cases(sizes: Sequence[int]) -> list[Case]:
    """One case per size and database; each fills its own store and measures two rows: the
    tidy read and, for reference, the JSON read of before (none without a PostgreSQL server)."""
    return [
        Case("responses", "read stored responses", n, engine, lambda n=n, work=work: work(n))
        for n in sizes
        for engine, work in (("sqlite", _sqlite_rows), ("postgresql", _postgres_rows))
    ]


def rows(quick: bool = False, sizes: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """Measure every case; ``quick`` uses 20,000 responses (a smoke run of a few seconds)."""
    chosen = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    return [row for case in cases(chosen) for row in case.run()]


def main(argv: Sequence[str]) -> None:
    sizes = [int(a.replace("_", "")) for a in argv if not a.startswith("--")] or None
    started = time.perf_counter()
    results = rows(quick="--quick" in argv, sizes=sizes)
    print(f"surveykit benchmarks on {machine()}; {time.perf_counter() - started:.0f} s in all")
    print(table(results, markdown=False))


if __name__ == "__main__":
    main(sys.argv[1:])
