"""Design-based proportions on a million weighted responses against pandas group-by counting.

Generates demo responses (two waves of N/2), rakes them to the demo population margins, then
estimates every categorical question of the demo instrument by country:

* surveykit: ``SurveyDesign(frame, weight="weight").proportions(q, by="country")`` for each
  question - estimates, linearised SEs, logit intervals, design effects, df and flags;
* baseline: pandas group-by sums of weights giving the same point estimates (no SEs), and,
  for reference, unweighted ``groupby(...).value_counts(normalize=True)``.

Prints best-of-three seconds and the ratio surveykit / baseline, and checks that the point
estimates agree.

    python bench/bench_proportions.py [N]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from surveykit import SurveyDesign

# surveykit is imported where it is used, so that scale_survey.py can time the pandas baseline
# in a process that never loads it (its peak memory is then the baseline's own).


def best_of(runs: int, work: Callable[[], object]) -> tuple[float, object]:
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def questions(frame: pd.DataFrame) -> tuple[list[str], dict[str, list[str]]]:
    from surveykit import default_instrument

    instrument = default_instrument()
    single = [q.id for q in instrument.questions if q.type == "select_one" and q.id != "country"]
    multi = {
        q.id: [c for c in frame.columns if c.startswith(q.id + "__")]
        for q in instrument.questions
        if q.type == "select_multiple"
    }
    return single, multi


def pandas_weighted(
    frame: pd.DataFrame, single: list[str], multi: dict[str, list[str]]
) -> dict[str, pd.Series]:
    out = {}
    for q in single:
        answered = frame[frame[q].notna()]
        totals = answered.groupby(["country", q], observed=True)["weight"].sum()
        out[q] = totals / totals.groupby(level="country").transform("sum")
    for q, columns in multi.items():
        answered = frame[frame[columns].notna().any(axis=1)]
        ticked = answered[columns].fillna(False).astype(float).mul(answered["weight"], axis=0)
        shares = (
            ticked.groupby(answered["country"])
            .sum()
            .div(answered["weight"].groupby(answered["country"]).sum(), axis=0)
        )
        shares.columns = [c[len(q) + 2 :] for c in columns]
        out[q] = shares.stack()
    return out


def pandas_unweighted(
    frame: pd.DataFrame, single: list[str], multi: dict[str, list[str]]
) -> dict[str, object]:
    out: dict[str, object] = {q: frame.groupby("country")[q].value_counts(normalize=True) for q in single}
    for q, columns in multi.items():
        out[q] = frame.groupby("country")[columns].mean()
    return out


def surveykit_all(
    design: SurveyDesign, single: list[str], multi: dict[str, list[str]]
) -> dict[str, pd.DataFrame]:
    return {q: design.proportions(q, by="country") for q in [*single, *multi]}


def main(n: int = 1_000_000) -> None:
    from surveykit import SurveyDesign, demo_margins, demo_responses, rake

    started = time.perf_counter()
    frame = demo_responses(n // 2, seed=7)
    generate = time.perf_counter() - started
    rake_seconds, weights = best_of(1, lambda: rake(frame, demo_margins()))
    frame = frame.assign(weight=weights)
    single, multi = questions(frame)
    counts = f"{len(single)} select-one + {len(multi)} select-multiple questions"
    print(f"{len(frame):,} responses, {counts}, by country")
    print(f"(generating {generate:.1f} s, raking to demo margins {rake_seconds:.2f} s)")

    design_seconds, design = best_of(3, lambda: SurveyDesign(frame, weight="weight"))
    ours, results = best_of(3, lambda: surveykit_all(design, single, multi))
    weighted, baseline = best_of(3, lambda: pandas_weighted(frame, single, multi))
    unweighted, _ = best_of(3, lambda: pandas_unweighted(frame, single, multi))
    strat_design = SurveyDesign(frame, weight="weight", strata="org_size")
    stratified, _ = best_of(3, lambda: surveykit_all(strat_design, single, multi))
    # The same weights carried as a raking of the design: standard errors credit the calibration.
    raked_design = SurveyDesign(frame.drop(columns="weight")).rake(demo_margins())
    raked, _ = best_of(1, lambda: surveykit_all(raked_design, single, multi))

    worst = 0.0
    for q, result in results.items():
        expected = baseline[q]
        got = result.set_index(["country", "category"])["estimate"].reindex(expected.index)
        worst = max(worst, float(np.nanmax(np.abs(got.to_numpy() - expected.to_numpy()))))

    rows = [
        ("pandas weighted group-by sums (estimates only) [baseline]", weighted),
        ("pandas unweighted value_counts (reference)", unweighted),
        ("SurveyDesign(weight=...) construction", design_seconds),
        ("surveykit proportions (estimates, SE, CI, deff, df, flag)", ours),
        ("surveykit proportions, stratified by org_size", stratified),
        ("surveykit proportions, raked design (calibration-aware SE)", raked),
    ]
    print(f"{'task':<62}{'seconds':>9}{'ratio':>8}")
    for task, seconds in rows:
        print(f"{task:<62}{seconds:>9.3f}{seconds / weighted:>8.2f}")
    print(f"largest difference between surveykit and pandas point estimates: {worst:.2e}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
