"""Racing processes for the tests: many submitters released at the same moment."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable


def run_at_once(url: str, target: Callable[[str], str], processes: int = 8) -> list[str]:
    """``target(url)`` in ``processes`` forked processes released together; their outcomes.

    Each outcome is what ``target`` returned, or the exception it raised as ``"Type: message"``;
    a process that died instead reports its exit code.
    """
    context = multiprocessing.get_context("fork")
    barrier, outcomes = context.Barrier(processes), context.Queue()

    def run() -> None:
        barrier.wait()
        try:
            outcomes.put(target(url))
        except Exception as exc:  # reported to the parent, which fails the test
            outcomes.put(f"{type(exc).__name__}: {exc}")

    workers = [context.Process(target=run) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    found = [outcomes.get(timeout=5) for w in workers if w.exitcode == 0]
    return found + [f"exit code {w.exitcode}" for w in workers if w.exitcode != 0]
