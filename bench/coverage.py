"""Monte Carlo coverage of every interval method (not a test; a few minutes at most).

For n = 30, 100, 450, 2000 and p = 0.05, 0.36, 0.55:

* SRS: unweighted simple random samples; methods wilson, clopper-pearson, jeffreys (from the
  counts) and logit, beta, mean (design-based, as ``SurveyDesign(data).proportions`` with
  ``svydesign(ids = ~1)`` variance ``p(1-p)/(n-1)`` on ``n - 1`` df);
* weighted: unequal weights (log-normal, sd 0.7 on the log scale, independent of the answer;
  Kish design effect about 1.6), linearised variance ``n/(n-1) sum w^2 (y-p)^2 / W^2`` on
  ``n - 1`` df; methods logit, beta, wilson (effective n), mean.

The closed forms are exactly what ``SurveyDesign`` computes; the script checks that on one
sample of each kind before simulating. Coverage is the share of replicates whose 95% interval
contains p; its Monte Carlo standard error is about 0.0015 with the default 20,000 replicates.

    python bench/coverage.py [replicates]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from surveykit import SurveyDesign, binomial_confint, survey_confint

SIZES = (30, 100, 450, 2000)
PROPORTIONS = (0.05, 0.36, 0.55)
SRS_METHODS = ("wilson", "clopper-pearson", "jeffreys", "logit", "beta", "mean")
WEIGHTED_METHODS = ("logit", "beta", "wilson", "mean")
LEVEL = 0.95


def weighted_sample(rng: np.random.Generator, n: int, p: float, reps: int) -> tuple[np.ndarray, np.ndarray]:
    weights = rng.lognormal(0.0, 0.7, size=(reps, n))
    answers = (rng.random((reps, n)) < p).astype(float)
    return weights, answers


def weighted_estimates(weights: np.ndarray, answers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = weights.shape[1]
    total = weights.sum(axis=1)
    estimate = (weights * answers).sum(axis=1) / total
    influence = weights * (answers - estimate[:, None]) / total[:, None]
    variance = n / (n - 1) * (influence**2).sum(axis=1)
    return estimate, variance


def check_against_design(rng: np.random.Generator) -> None:
    """The closed forms equal SurveyDesign's output on one sample of each kind."""
    weights, answers = weighted_sample(rng, 200, 0.36, 1)
    frame = pd.DataFrame({"weight": weights[0], "answer": np.where(answers[0] == 1, "yes", "no")})
    estimate, variance = weighted_estimates(weights, answers)
    for method in WEIGHTED_METHODS:
        row = (
            SurveyDesign(frame, weight="weight")
            .proportions("answer", method=method, categories=["yes"])
            .iloc[0]
        )
        low, high = survey_confint(estimate, variance, 200, 199, level=LEVEL, method=method)
        np.testing.assert_allclose([row["ci_low"], row["ci_high"]], [low[0], high[0]], rtol=1e-10)
    srs = frame.drop(columns="weight")
    x = float((srs["answer"] == "yes").sum())
    for method in SRS_METHODS:
        row = SurveyDesign(srs).proportions("answer", method=method, categories=["yes"]).iloc[0]
        low, high = srs_interval(np.array([x]), 200, method)
        np.testing.assert_allclose([row["ci_low"], row["ci_high"]], [low[0], high[0]], rtol=1e-10)


def srs_interval(x: np.ndarray, n: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    if method in ("wilson", "clopper-pearson", "jeffreys"):
        return binomial_confint(x, n, level=LEVEL, method=method)
    estimate = x / n
    return survey_confint(estimate, estimate * (1 - estimate) / (n - 1), n, n - 1, level=LEVEL, method=method)


def main(reps: int = 20_000, seed: int = 2016) -> None:
    rng = np.random.default_rng(seed)
    check_against_design(rng)
    started = time.perf_counter()
    rows = []
    for n in SIZES:
        for p in PROPORTIONS:
            x = rng.binomial(n, p, size=reps).astype(float)
            for method in SRS_METHODS:
                low, high = srs_interval(x, n, method)
                rows.append(("SRS", n, p, method, np.mean((low <= p) & (p <= high)), np.mean(high - low)))
            weights, answers = weighted_sample(rng, n, p, reps)
            estimate, variance = weighted_estimates(weights, answers)
            for method in WEIGHTED_METHODS:
                low, high = survey_confint(estimate, variance, n, n - 1, level=LEVEL, method=method)
                rows.append(
                    ("weighted", n, p, method, np.mean((low <= p) & (p <= high)), np.mean(high - low))
                )
    table = pd.DataFrame(rows, columns=["design", "n", "p", "method", "coverage", "mean_width"])
    coverage = table.pivot_table(index=["design", "n", "p"], columns="method", values="coverage", sort=False)
    order = [m for m in SRS_METHODS if m in coverage.columns]
    mc_se = np.sqrt(0.95 * 0.05 / reps)
    print(f"Coverage of nominal 95% intervals, {reps:,} replicates per row (Monte Carlo s.e. ~{mc_se:.4f})")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(coverage[order].round(3).to_string(na_rep="-"))
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
