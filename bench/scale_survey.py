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

Data: ``demo_responses(n_base // 2, seed=7)`` (two waves), tiled to the size asked with fresh
respondent ids (generating a million respondents directly takes longer than the whole
benchmark), then raked to the demo margins for the ``weight`` column; written once to a
temporary pickle that every measurement loads.

Each side of each case runs in a fresh Python process (this file with ``--child``), which
loads the data, times the work best of ``repeat`` and reports its seconds and its own peak
resident memory (``ru_maxrss``; it includes the imports and the loaded frame, the same for
both sides). Short tasks are run more often, up to half a second in all, and the best kept.

    python bench/scale_survey.py [--quick] [ROWS ...]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

AREA = "survey"
ENGINE = "pandas"
REPEAT = 3
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

    def run(self) -> dict[str, object]:
        """Run both sides, each in a fresh process; the row of the benchmark table."""
        data = _data_file(self.rows)
        ours = _child(self.key, "surveykit", data, self.repeat)
        theirs = _child(self.key, "baseline", data, self.repeat)
        return {
            "area": AREA,
            "case": self.case,
            "rows": self.rows,
            "engine": ENGINE,
            "surveykit_s": ours["seconds"],
            "baseline": self.baseline,
            "baseline_s": theirs["seconds"],
            "ratio": ours["seconds"] / theirs["seconds"],
            "surveykit_peak_mb": ours["peak_mb"],
            "baseline_peak_mb": theirs["peak_mb"],
        }


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
    """Run every case: 50,000 responses when ``quick``, else 1,000,000."""
    return [case.run() for case in cases([QUICK_ROWS if quick else FULL_ROWS])]


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
    path = Path(tempfile.gettempdir()) / f"surveykit-bench-survey-{n}-{_SEED}.pkl"
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        responses(n).to_pickle(partial)
        partial.replace(path)
    return path


def _child(key: str, side: str, data: Path, repeat: int) -> dict[str, float]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", key, side, str(data), str(repeat)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{key} {side} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------- the work
def _proportions(frame: pd.DataFrame) -> Callable[[], object]:
    from surveykit import SurveyDesign, default_instrument

    names = [q.id for q in default_instrument().questions if q.type in ("select_one", "select_multiple")]
    names = [name for name in names if name != "country"]

    def work() -> object:
        design = SurveyDesign(frame, weight="weight")
        return [design.proportions(name, by="country") for name in names]

    return work


def _proportions_baseline(frame: pd.DataFrame) -> Callable[[], object]:
    sys.path.insert(0, str(_HERE))
    from bench_proportions import pandas_weighted, questions

    single, multi = questions(frame)
    return lambda: pandas_weighted(frame, single, multi)


def _rake(frame: pd.DataFrame) -> Callable[[], object]:
    from surveykit import demo_margins, rake

    margins = demo_margins()
    return lambda: rake(frame, margins)


def _rake_baseline(frame: pd.DataFrame) -> Callable[[], object]:
    from surveykit import demo_margins

    margins = demo_margins()
    return lambda: cell_table_ipf(frame, margins)


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
    work = _WORK[key, side](frame)
    best, spent, runs = np.inf, 0.0, 0
    # Best of ``repeat`` runs, more for short tasks (up to half a second in all) to steady them.
    while runs < repeat or (spent < _MIN_SECONDS and runs < _MAX_RUNS):
        started = time.perf_counter()
        work()
        seconds = time.perf_counter() - started
        best, spent, runs = min(best, seconds), spent + seconds, runs + 1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(json.dumps({"seconds": best, "peak_mb": peak_mb}))


def _table(results: list[dict[str, object]]) -> str:
    header = (
        f"{'case':<40}{'rows':>11}{'surveykit s':>13}{'baseline s':>12}{'ratio':>8}{'peak MB':>16}  baseline"
    )
    lines = [header]
    for r in results:
        peaks = f"{r['surveykit_peak_mb']:.0f}/{r['baseline_peak_mb']:.0f}"
        lines.append(
            f"{r['case']:<40}{r['rows']:>11,}{r['surveykit_s']:>13.3f}{r['baseline_s']:>12.3f}"
            f"{r['ratio']:>8.2f}{peaks:>16}  {r['baseline']}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, help="rows of generated responses (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows: a smoke run")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="best of this many runs")
    parser.add_argument(
        "--child", nargs=4, metavar=("CASE", "SIDE", "DATA", "REPEAT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        key, side, data, repeat = args.child
        _run_child(key, side, data, int(repeat))
        return
    sizes = args.sizes or [QUICK_ROWS if args.quick else FULL_ROWS]
    results = [Case(c.key, c.case, c.baseline, c.rows, args.repeat).run() for c in cases(sizes)]
    print(f"{os.cpu_count()} cores; peak MB is surveykit/baseline, each process's own")
    print(_table(results))


if __name__ == "__main__":
    main()
