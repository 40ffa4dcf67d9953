"""How long ``surveykit report`` takes on the demo store, and where the time goes.

Every figure is a ratio to reading the store's responses and incidents in the same run (the
floor of any report), plus where the report's own time is spent: the estimators, drawing and
saving the charts, the PDF and the workbook (from a profile of one run).

    python bench/bench_report.py
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
import time
import warnings
from pathlib import Path

from surveykit import Store, load_demo
from surveykit.cli import main

PHASES = {
    "charts (draw + save PNG/SVG)": ("plotting.py",),
    "PDF (WeasyPrint)": ("weasyprint",),
    "workbook (openpyxl)": ("export.py", "_spreadsheet.py"),
    "estimators": ("survey/estimates.py", "survey/tables.py", "survey/comparisons.py", "incidents/"),
}


def best_of(runs: int, work) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main_bench() -> None:
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        db = f"sqlite:///{Path(folder) / 'demo.db'}"
        with Store(db) as store:
            load_demo(store)

            def read() -> None:
                store.responses()
                store.incidents()

            baseline = best_of(3, read)
        args = ["--db", db, "report", "--out", str(Path(folder) / "out"), "--compare-wave", "2015-12"]
        args += ["--weighted", "--margins", "demo"]
        report = best_of(3, lambda: main(args))
        profile = cProfile.Profile()
        profile.runcall(main, args)
        stats = pstats.Stats(profile).stats
    total = max(entry[3] for entry in stats.values())
    print(f"{'task':<44}{'seconds':>9}{'ratio':>9}")
    print(f"{'read responses + incidents [baseline]':<44}{baseline:>9.3f}{1:>9.2f}")
    print(f"{'surveykit report (best of 3)':<44}{report:>9.3f}{report / baseline:>9.2f}")
    for phase, markers in PHASES.items():
        # The largest cumulative time of a function in the phase's files: the phase's entry point.
        seconds = max(
            (entry[3] for (file, _, _), entry in stats.items() if any(m in file for m in markers)),
            default=0.0,
        )
        print(f"{'  of which ' + phase:<44}{seconds:>9.3f}{seconds / baseline:>9.2f}")
    print(f"(profiled run: {total:.2f} s; phases overlap where one calls another)")


if __name__ == "__main__":
    main_bench()
