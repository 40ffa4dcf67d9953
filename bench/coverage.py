"""Monte Carlo coverage of every interval method (not a test; a few minutes at most).

Survey proportions, for n = 30, 100, 450, 2000 and p = 0.05, 0.36, 0.55:

* SRS: unweighted simple random samples; methods wilson, clopper-pearson, jeffreys (from the
  counts) and logit, beta, mean (design-based, as ``SurveyDesign(data).proportions`` with
  ``svydesign(ids = ~1)`` variance ``p(1-p)/(n-1)`` on ``n - 1`` df);
* weighted: unequal weights (log-normal, sd 0.7 on the log scale, independent of the answer;
  Kish design effect about 1.6), linearised variance ``n/(n-1) sum w^2 (y-p)^2 / W^2`` on
  ``n - 1`` df; methods logit, beta, wilson (effective n), mean.

The closed forms are exactly what ``SurveyDesign`` computes; the script checks that on one
sample of each kind before simulating. Coverage is the share of replicates whose 95% interval
contains p; its Monte Carlo standard error is about 0.0015 with the default 20,000 replicates.

Incident growth (``yoy_growth``): 24 monthly counts, 12 with mean 1000/12 then 12 with mean
1380/12 (the demo log's 1,000 and 1,380 incidents a year; true growth 38%), gamma-Poisson with
variance ``phi * mean`` for ``phi`` = 1 (Poisson), 1.5, 2 and 5 (the demo log's dispersion).
The coverage of the 95% interval for the growth is reported for the default
(``method="auto"``: the quasi-Poisson score interval when it is the wider, i.e. the Pearson
dispersion ``phi`` of the monthly counts exceeds ``(z / t_22) ** 2``, the Poisson score
interval otherwise), for the plain Poisson score interval (``method="score"``), and for the
rejected alternative rule: quasi-Poisson only when the dispersion test rejects at 5%. The
closed forms are checked against ``yoy_growth`` on one sample of each kind first.

    python bench/coverage.py [replicates] [proportions|growth]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

from surveykit import SurveyDesign, binomial_confint, survey_confint, yoy_growth

SIZES = (30, 100, 450, 2000)
PROPORTIONS = (0.05, 0.36, 0.55)
SRS_METHODS = ("wilson", "clopper-pearson", "jeffreys", "logit", "beta", "mean")
WEIGHTED_METHODS = ("logit", "beta", "wilson", "mean")
LEVEL = 0.95
MONTHLY_MEANS = (1000 / 12, 1380 / 12)
DISPERSIONS = (1.0, 1.5, 2.0, 5.0)
GROWTH_METHODS = ("auto", "score")
PRETEST = "test at 5%"  # the rejected alternative to "auto": quasi-Poisson if the dispersion test rejects


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


def monthly_counts(rng: np.random.Generator, phi: float, reps: int) -> np.ndarray:
    """``reps`` x 24 gamma-Poisson monthly counts with variance ``phi * mean``."""
    means = np.repeat(MONTHLY_MEANS, 12)
    if phi == 1:
        return rng.poisson(means, size=(reps, 24))
    rates = rng.gamma(means / (phi - 1), phi - 1, size=(reps, 24))
    return rng.poisson(rates)


def growth_intervals(counts: np.ndarray, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """The 95% growth interval from 24 monthly counts per row: ``yoy_growth(method=rule)``."""
    previous, current = counts[:, :12], counts[:, 12:]
    c0, c1 = previous.sum(axis=1).astype(float), current.sum(axis=1).astype(float)
    chi2 = sum((((part - part.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / part.mean(axis=1))
               for part in (previous, current))  # fmt: skip
    df = 22
    z = stats.norm.ppf(1 - (1 - LEVEL) / 2)
    quasi_critical = stats.t.ppf(1 - (1 - LEVEL) / 2, df) * np.sqrt(chi2 / df)
    if rule == "auto":
        critical = np.maximum(quasi_critical, z)
    elif rule == PRETEST:
        critical = np.where(stats.chi2.sf(chi2, df) < 0.05, quasi_critical, z)
    else:
        critical = np.full(len(counts), z)
    n = c1 + c0
    centre = (c1 + critical**2 / 2) / (n + critical**2)
    half = critical * np.sqrt(c1 * c0 / n + critical**2 / 4) / (n + critical**2)
    low, high = centre - half, centre + half
    return low / (1 - low) - 1, high / (1 - high) - 1


def check_against_yoy_growth(rng: np.random.Generator) -> None:
    """The closed forms equal yoy_growth's output on one sample of each dispersion."""
    for phi in DISPERSIONS:
        counts = monthly_counts(rng, phi, 1)
        months = np.tile(np.arange(1, 13), 2)
        years = np.repeat([2015, 2016], 12)
        log = pd.DataFrame(
            {
                "year": pd.array(np.repeat(years, counts[0]), dtype="Int64"),
                "month": pd.array(np.repeat(months, counts[0]), dtype="Int64"),
                "day": pd.array(np.ones(counts.sum(), dtype=int), dtype="Int64"),
            }
        )
        for method in GROWTH_METHODS:
            row = yoy_growth(log, method=method).iloc[0]
            low, high = growth_intervals(counts, method)
            np.testing.assert_allclose([row["ci_low"], row["ci_high"]], [low[0], high[0]], rtol=1e-10)


def growth_coverage(rng: np.random.Generator, reps: int) -> pd.DataFrame:
    check_against_yoy_growth(rng)
    truth = MONTHLY_MEANS[1] / MONTHLY_MEANS[0] - 1
    rows = []
    for phi in DISPERSIONS:
        counts = monthly_counts(rng, phi, reps)
        for rule in (*GROWTH_METHODS, PRETEST):
            low, high = growth_intervals(counts, rule)
            rows.append((phi, rule, np.mean((low <= truth) & (truth <= high)), np.mean(high - low)))
    table = pd.DataFrame(rows, columns=["dispersion", "method", "coverage", "mean_width"])
    wide = table.pivot_table(index="dispersion", columns="method", values=["coverage", "mean_width"])
    return wide.reindex(columns=[*GROWTH_METHODS, PRETEST], level=1)


def proportion_coverage(rng: np.random.Generator, reps: int) -> pd.DataFrame:
    check_against_design(rng)
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
    return coverage[[m for m in SRS_METHODS if m in coverage.columns]]


def main(reps: int = 20_000, part: str | None = None, seed: int = 2016) -> None:
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    mc_se = np.sqrt(0.95 * 0.05 / reps)
    header = f"Coverage of nominal 95% intervals, {reps:,} replicates per row (Monte Carlo s.e. ~{mc_se:.4f})"
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        if part in (None, "proportions"):
            print(f"Survey proportions. {header}")
            print(proportion_coverage(rng, reps).round(3).to_string(na_rep="-"))
        if part in (None, "growth"):
            print(f"\nIncident growth, 24 monthly counts (true growth 38%). {header}")
            print(growth_coverage(rng, reps).round(3).to_string())
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000, sys.argv[2] if len(sys.argv) > 2 else None)
