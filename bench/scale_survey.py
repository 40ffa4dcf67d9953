"""Survey side of the scale benchmark (issue 11): proportions by country and raking on 1M responses.

Two cases, each timed against a plain baseline in the same run:

* ``proportions by country``: a fresh ``SurveyDesign(frame, weight="weight")`` and
  ``design.proportions(q, by="country")`` for every categorical question of the demo
  instrument (estimates, linearised SEs, logit intervals, design effects, df and flags), against
  the plain pandas weighted group-by giving the same point estimates (``bench_proportions.
  pandas_weighted``: sums of weights by country and answer over the sum by country);
* ``rake to two margins``: ``surveykit.rake(frame, demo_margins())`` (country and org_size,
  from unit weights), against the floor of iterative proportional fitting: each margin column
  factorised, the rows counted into the table of cells, a plain numpy IPF on that table to the
  same tolerance, and each cell's factor mapped back to its rows.

Data: ``demo_responses(25_000, seed=7)`` (50,000 over two waves), tiled to the size asked with fresh
respondent ids (generating a million respondents directly takes longer than the whole
benchmark), then raked to the demo margins for the ``weight`` column; written once to a
temporary pickle that every measurement loads (delete it to generate afresh).

Each side of each case runs in a fresh Python process (this file with ``--child``), which
loads the data, times the work best of ``repeat`` and reports its seconds and its own peak
resident memory (``VmHWM``; it includes the imports and the loaded frame: surveykit's imports
add about 150 MB that a pandas baseline does not load). Short tasks are run more often, up to
half a second in all, and the best kept. The two sides take turns, ``rounds`` processes each
(3, or 1 with ``--quick``), and each side keeps its best time.

    python bench/scale_survey.py [--quick] [ROWS ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _sides import fastest, machine, peak_mb, run_fresh, table, table_row

AREA = "survey"
ENGINE = "pandas"
REPEAT = 3
ROUNDS = 3
QUICK_ROWS = 50_000
FULL_ROWS = 1_000_000
_TILE_ROWS = 50_000
_SEED = 7
_MIN_SECONDS = 0.5
_MAX_RUNS = 50
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    """One benchmark row: a surveykit task and its baseline on ``rows`` generated responses."""

    key: str
    case: str
    baseline: str
    rows: int
    repeat: int = REPEAT
    rounds: int = ROUNDS

    def run(self) -> dict[str, object]:
        """Run both sides, each in a fresh process; the row of the benchmark table.

        The sides take turns ``rounds`` times and each keeps its best, so a burst of load
        from other programs on the machine falls on both or is discarded.
        """
        data = _data_file(self.rows)
        runs = [
            (
                _child(self.key, "surveykit", data, self.repeat),
                _child(self.key, "baseline", data, self.repeat),
            )
            for _ in range(self.rounds)
        ]
        ours = fastest([mine for mine, _ in runs])
        theirs = fastest([other for _, other in runs])
        return table_row(AREA, self.case, self.rows, ENGINE, ours, self.baseline, theirs)


def cases(sizes: Sequence[int]) -> list[Case]:
    """The survey cases at each size (rows of generated responses)."""
    out = []
    for rows in sizes:
        out.append(
            Case("proportions", "all questions by country (weighted)", "pandas weighted group-by", rows)
        )
        out.append(Case("rake", "rake to two margins", "numpy IPF on the cell table", rows))
    return out


def rows(quick: bool = False) -> list[dict[str, object]]:
    """Run every case: 50,000 responses, one process per side, when ``quick``, else 1,000,000."""
    if quick:
        return [replace(case, rounds=1).run() for case in cases([QUICK_ROWS])]
    return [case.run() for case in cases([FULL_ROWS])]


# ---------------------------------------------------------------------------------- the data
def responses(n: int) -> pd.DataFrame:
    """``n`` demo responses with raked weights: 50,000 generated, tiled with fresh ids."""
    from surveykit import demo_margins, demo_responses, rake

    base = demo_responses(min(n, _TILE_ROWS) // 2, seed=_SEED)
    copies = -(-n // len(base))
    frame = pd.concat([base] * copies, ignore_index=True).iloc[:n]
    copy = np.repeat(np.arange(copies), len(base))[:n].astype(str)
    frame["respondent_id"] = (frame["respondent_id"].astype(str) + "-" + copy).astype("string")
    return frame.assign(weight=rake(frame, demo_margins()).to_numpy())


def _data_file(n: int) -> Path:
    """The generated responses (a pickle) and, beside them, what the baselines need to know
    of the instrument and the margins (JSON), so that they run without importing surveykit."""
    path = Path(tempfile.gettempdir()) / f"surveykit-bench-survey-{n}-{_SEED}.pkl"
    if not path.exists():
        sys.path.insert(0, str(_HERE))
        from bench_proportions import questions

        from surveykit import demo_margins

        frame = responses(n)
        single, multi = questions(frame)
        spec = {"margins": demo_margins(), "single": single, "multi": multi}
        path.with_suffix(".json").write_text(json.dumps(spec))
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        frame.to_pickle(partial)
        partial.replace(path)
    return path


def _child(key: str, side: str, data: Path, repeat: int) -> dict[str, float]:
    return run_fresh(
        [str(Path(__file__).resolve()), "--child", key, side, str(data), str(repeat)], f"{key} {side}"
    )


# ---------------------------------------------------------------------------------- the work
Spec = dict[str, Any]


def _proportions(frame: pd.DataFrame, spec: Spec) -> Callable[[], object]:
    from surveykit import SurveyDesign

    names = [*spec["single"], *spec["multi"]]

    def work() -> object:
        design = SurveyDesign(frame, weight="weight")
        return [design.proportions(name, by="country") for name in names]

    return work


def _proportions_baseline(frame: pd.DataFrame, spec: Spec) -> Callable[[], object]:
    sys.path.insert(0, str(_HERE))
    from bench_proportions import pandas_weighted

    return lambda: pandas_weighted(frame, spec["single"], spec["multi"])


def _rake(frame: pd.DataFrame, spec: Spec) -> Callable[[], object]:
    from surveykit import rake

    return lambda: rake(frame, spec["margins"])


def _rake_baseline(frame: pd.DataFrame, spec: Spec) -> Callable[[], object]:
    return lambda: cell_table_ipf(frame, spec["margins"])


def cell_table_ipf(
    frame: pd.DataFrame, margins: dict[str, dict[object, float]], *, tol: float = 1e-8, max_iter: int = 100
) -> np.ndarray:
    """Raking with no checks: count the rows into the table of cells, fit it, map back."""
    codes, targets, shape = [], [], []
    for column, margin in margins.items():
        code, levels = pd.factorize(frame[column])
        codes.append(code)
        targets.append(np.array([margin[level] for level in levels], dtype=float))
        shape.append(len(levels))
    cell = np.ravel_multi_index(codes, shape)
    table = np.bincount(cell, minlength=int(np.prod(shape))).reshape(shape).astype(float)
    fitted = table.copy()
    axes = range(len(shape))
    for _ in range(max_iter):
        for axis, target in zip(axes, targets, strict=True):
            others = tuple(a for a in axes if a != axis)
            current = fitted.sum(axis=others)
            fitted *= np.expand_dims(target / current, others)
        if all(
            np.max(np.abs(fitted.sum(axis=tuple(a for a in axes if a != axis)) - t) / t) <= tol
            for axis, t in zip(axes, targets, strict=True)
        ):
            break
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(table > 0, fitted / table, 0.0).ravel()
    return factor[cell]


_WORK = {
    ("proportions", "surveykit"): _proportions,
    ("proportions", "baseline"): _proportions_baseline,
    ("rake", "surveykit"): _rake,
    ("rake", "baseline"): _rake_baseline,
}


def _run_child(key: str, side: str, data: str, repeat: int) -> None:
    frame = pd.read_pickle(data)
    spec = json.loads(Path(data).with_suffix(".json").read_text())
    work = _WORK[key, side](frame, spec)
    best, spent, runs = np.inf, 0.0, 0
    # Best of ``repeat`` runs, more for short tasks (up to half a second in all) to steady them.
    while runs < repeat or (spent < _MIN_SECONDS and runs < _MAX_RUNS):
        started = time.perf_counter()
        work()
        seconds = time.perf_counter() - started
        best, spent, runs = min(best, seconds), spent + seconds, runs + 1
    print(json.dumps({"seconds": best, "peak_mb": peak_mb()}))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, help="rows of generated responses (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows: a smoke run")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="best of this many runs per process")
    parser.add_argument(
        "--rounds", type=int, help=f"processes per side, taking turns (default {ROUNDS}, 1 with --quick)"
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("CASE", "SIDE", "DATA", "REPEAT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        key, side, data, repeat = args.child
        _run_child(key, side, data, int(repeat))
        return
    sizes = args.sizes or [QUICK_ROWS if args.quick else FULL_ROWS]
    rounds = 1 if args.quick and args.rounds is None else args.rounds or ROUNDS
    results = [replace(case, repeat=args.repeat, rounds=rounds).run() for case in cases(sizes)]
    print(f"surveykit benchmarks on {machine()}")
    print(table(results, markdown=False))


if __name__ == "__main__":
    main()
