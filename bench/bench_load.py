"""Submissions under load: N form submissions from P processes while another process imports a
large incident log into the same store.

Each submitter sends its share of the N submissions, each with its own idempotency key, timing
every ``Store.submit``. A submission refused with ``StoreBusyError`` is sent again with the same
key, as a respondent pressing Submit again would; any other exception is counted as an error.
At the end every distinct key must be stored exactly once and the import must be complete.
Prints throughput and p50/p95/max latency.

    python bench/bench_load.py [--n 10000] [--processes 8] [--incidents 500000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from surveykit import Store, default_instrument, demo_incidents, demo_responses
from surveykit.collection.store import resolve_db_url
from surveykit.exceptions import StoreBusyError

__all__ = ["big_incident_log", "run"]


def big_incident_log(rows: int) -> pd.DataFrame:
    """The demo incident log repeated to ``rows`` rows, each with its own incident id."""
    base = demo_incidents()
    frame = pd.concat([base] * (rows // len(base) + 1), ignore_index=True).head(rows).copy()
    frame["incident_id"] = pd.array([f"LOAD-{i:07d}" for i in range(rows)], dtype="string")
    return frame


def _import(url: str, rows: int, batch: int | None, out: Any) -> None:
    frame = big_incident_log(rows)
    with Store(url, import_batch=batch) as store:
        begun = time.perf_counter()
        try:
            added = store.add_incidents(frame)
            out.put(("import", added, time.perf_counter() - begun))
        except Exception as exc:
            out.put(("import", f"{type(exc).__name__}: {exc}", time.perf_counter() - begun))


def _submit(url: str, worker: int, count: int, go: Any, out: Any) -> None:
    instrument = default_instrument()
    answers = [instrument.clean_answers(r) for r in instrument.records(demo_responses(50, seed=worker))]
    timings, busy, errors = [], 0, []  # (wall-clock start, seconds) of each submission
    with Store(url) as store:
        go.wait(600)
        for i in range(count):
            key = f"load-{worker}-{i}"
            while True:
                moment, begun = time.time(), time.perf_counter()
                try:
                    store.submit(instrument, answers[i % len(answers)], wave="2017-12", idempotency_key=key)
                except StoreBusyError:
                    busy += 1
                    continue
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                finally:
                    timings.append((moment, time.perf_counter() - begun))
                break
    out.put(("submit", timings, busy, errors))


def _writing(engine: sa.Engine) -> bool:
    """Whether a bulk import has started writing to the store (its row in ``imports``)."""
    with engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT count(*) FROM imports")).scalar_one())


def _percentiles(latencies: np.ndarray) -> dict[str, float]:
    if latencies.size == 0:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan")}
    return {
        "p50_ms": 1000 * float(np.percentile(latencies, 50)),
        "p95_ms": 1000 * float(np.percentile(latencies, 95)),
        "max_ms": 1000 * float(latencies.max()),
    }


def run(
    url: str, n: int = 10_000, processes: int = 8, incidents: int = 500_000, batch: int | None = None
) -> dict[str, Any]:
    """Run the load against the (empty) store at ``url``; returns the figures and the checks.

    The submitters start together when the import starts writing to the store (after reading and
    staging its rows, which takes no lock), so the submissions meet every batch of the import.

    Parameters
    ----------
    batch : int, optional
        The import's rows per write transaction (``Store(import_batch=)``); the default is the
        store's (50,000 incidents).

    Returns
    -------
    dict
        ``submissions, processes, seconds, per_second, p50_ms, p95_ms, max_ms, busy_retries,
        errors, stored, duplicates, missing, incidents_added, import_seconds, write_seconds``, and
        ``during``: the count and p50/p95/max of the submissions made while the import wrote.
    """
    with Store(url) as store:
        store.save_instrument(default_instrument())
    engine = sa.create_engine(resolve_db_url(url))
    context = multiprocessing.get_context("fork")
    go, out = context.Event(), context.Queue()
    shares = [n // processes + (1 if w < n % processes else 0) for w in range(processes)]
    submitters = [
        context.Process(target=_submit, args=(url, w, share, go, out)) for w, share in enumerate(shares)
    ]
    for worker in submitters:
        worker.start()
    importer = context.Process(target=_import, args=(url, incidents, batch, out))
    importer.start()
    deadline = time.monotonic() + 600
    while not _writing(engine) and importer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    go.set()
    results = [out.get(timeout=900) for _ in range(processes + 1)]
    for worker in [*submitters, importer]:
        worker.join(60)
    timings = np.array([t for r in results if r[0] == "submit" for t in r[1]])
    starts, latencies = timings[:, 0], timings[:, 1]
    (imported,) = [r for r in results if r[0] == "import"]
    with engine.connect() as conn:
        keys = dict(
            conn.execute(
                sa.text("SELECT idempotency_key, COUNT(*) FROM responses GROUP BY idempotency_key")
            ).all()
        )
        window = conn.execute(sa.text("SELECT started_at, finished_at FROM imports")).first()
    engine.dispose()
    during = np.zeros(len(starts), dtype=bool)
    write_seconds = float("nan")
    if window is not None and window[1] is not None:
        begin, end = (pd.Timestamp(moment).tz_localize("UTC").timestamp() for moment in window)
        during = (starts >= begin) & (starts <= end)
        write_seconds = end - begin
    submit_seconds = float((starts + latencies).max() - starts.min())
    expected = {f"load-{w}-{i}" for w, share in enumerate(shares) for i in range(share)}
    return {
        "submissions": n,
        "processes": processes,
        "seconds": submit_seconds,
        "per_second": n / submit_seconds,
        **_percentiles(latencies),
        "busy_retries": sum(r[2] for r in results if r[0] == "submit"),
        "errors": [e for r in results if r[0] == "submit" for e in r[3]],
        "stored": sum(keys.get(k, 0) for k in expected),
        "duplicates": sum(1 for k in expected if keys.get(k, 0) > 1),
        "missing": sum(1 for k in expected if k not in keys),
        "incidents_added": imported[1],
        "import_seconds": imported[2],
        "write_seconds": write_seconds,
        "during": {"submissions": int(during.sum()), **_percentiles(latencies[during])},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--incidents", type=int, default=500_000)
    parser.add_argument("--postgres", help="URL of an empty PostgreSQL database to load as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        urls = {"sqlite": f"sqlite:///{Path(folder) / 'load.db'}"}
        if args.postgres:
            urls["postgresql"] = args.postgres
        for name, url in urls.items():
            figures = run(url, args.n, args.processes, args.incidents)
            errors = figures.pop("errors")
            during = figures["during"]
            print(
                f"{name}: {figures['submissions']} submissions from {figures['processes']} processes in "
                f"{figures['seconds']:.1f} s ({figures['per_second']:.0f}/s): latency p50 "
                f"{figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms, "
                f"max {figures['max_ms']:.0f} ms; "
                f"{during['submissions']} of them while the import of {args.incidents} incidents wrote "
                f"({figures['write_seconds']:.1f} s of its {figures['import_seconds']:.1f} s): p50 "
                f"{during['p50_ms']:.1f} ms, p95 {during['p95_ms']:.1f} ms, max {during['max_ms']:.0f} ms; "
                f"busy retries {figures['busy_retries']}, errors {len(errors)}, stored {figures['stored']}, "
                f"duplicates {figures['duplicates']}, missing {figures['missing']}, "
                f"incidents added {figures['incidents_added']}"
            )
            for error in errors[:5]:
                print("  error:", error)


if __name__ == "__main__":
    main()
