"""Growth in total reported losses, with a compound-Poisson bootstrap interval.

Only incidents with a known ``loss_amount`` count. Each replicate draws the number of
loss-bearing incidents in each period from a Poisson distribution with the observed count and
resamples that many losses with replacement, so the randomness of both the number and the
size of losses is carried; the interval is the percentile interval of the ratio of totals
minus one.

The ratio is only defined when the previous period's total is positive, as the observed one
is; replicates of the previous period are therefore drawn conditional on a positive total
(a replicate with no losses is drawn again). Without this, a previous period with few losses
(``exp(-2)``, 14% of replicates, with two) gives infinite or undefined ratios and no interval.

Edge cases, reported with NaN intervals and a ``method`` that says why:

- no losses in the previous period but some now: growth from zero is infinite
  (``estimate = inf``), ``method = "not estimable: no losses in the previous period"``;
- no losses in either period: ``estimate`` NaN, ``"not estimable: no losses in either
  period"``;
- no losses now but some before: ``estimate = -1`` (a fall of 100%), without an interval
  (the bootstrap would be degenerate at -1), ``"no interval: no losses in the current
  period"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from surveykit._disclosure import check_thresholds
from surveykit._grouping import by_columns, iter_groups
from surveykit._options import check_option
from surveykit._results import result_frame
from surveykit._validation import check_level, require_columns
from surveykit.exceptions import SurveykitError
from surveykit.incidents.counts import PERIODS_PER_YEAR, Period, dated, period_key, period_label

__all__ = ["loss_growth"]

BOOTSTRAP = "compound-poisson bootstrap percentile"
_EXTRAS = ["ratio", "total", "previous_total", "count", "previous_count"]
_REDRAWS = 1000


def loss_growth(
    log: pd.DataFrame,
    period: Period = "year",
    by: str | Sequence[str] | None = None,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 2016,
    min_n: int = 5,
    caution_n: int = 30,
) -> pd.DataFrame:
    """Year-over-year growth in total reported losses, with a bootstrap interval.

    Parameters
    ----------
    log : DataFrame
        An incident log in the canonical schema, with ``loss_amount``.
    period, by
        As for :func:`surveykit.incident_counts`.
    level : float
        Confidence level.
    n_boot : int
        Bootstrap replicates, at least 100.
    seed : int
        Random seed, so the interval is reproducible.
    min_n, caution_n : int
        Disclosure thresholds on ``n``, the loss-bearing incidents in both periods.

    Returns
    -------
    DataFrame
        One row per group and period from the second year of losses on (every period from the
        first to the last one with a loss anywhere in the log, a period without losses
        counting as a zero total): ``[by...], period, estimate, se, ci_low, ci_high, n,
        method, flag, ratio, total, previous_total, count, previous_count``. ``estimate`` is
        ``ratio - 1`` with ``ratio = total / previous_total``; ``se`` is the standard deviation
        of the bootstrap growths; ``count`` and ``previous_count`` are the loss-bearing
        incidents. See the module notes for periods without losses.
    """
    level = check_level(level)
    check_option("period", period, Period)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 100:
        raise SurveykitError(f"n_boot must be a whole number of at least 100; got {n_boot!r}")
    require_columns(log, ["loss_amount"], "loss", SurveykitError)
    groups = by_columns(by, log)
    frame = dated(log, period, None)
    frame = frame[frame["loss_amount"].notna()]
    if frame.empty:
        raise SurveykitError("No incidents with a loss_amount to compare.")
    frame = frame.assign(_key=period_key(frame, period))
    first, last = int(frame["_key"].min()), int(frame["_key"].max())
    lag = PERIODS_PER_YEAR[period]
    if last - first < lag:
        raise SurveykitError(
            f"Losses are recorded in {period_label(first, period)} to {period_label(last, period)} "
            f"only, so no {period} has the same {period} a year earlier to compare with."
        )
    rng = np.random.default_rng(seed)
    rows = []
    for key, part in iter_groups(frame, groups):
        losses = {int(k): g["loss_amount"].to_numpy(dtype=float) for k, g in part.groupby("_key")}
        for k in range(first + lag, last + 1):
            current = losses.get(k, np.array([]))
            previous = losses.get(k - lag, np.array([]))
            rows.append(
                {
                    **key,
                    "period": period_label(k, period),
                    **_growth(current, previous, level, n_boot, rng),
                    "total": current.sum(),
                    "previous_total": previous.sum(),
                    "count": len(current),
                    "previous_count": len(previous),
                }
            )
    return result_frame(
        rows,
        [*groups, "period"],
        _EXTRAS,
        min_n=min_n,
        caution_n=caution_n,
        blank=["ratio"],
        what="comparisons",
        units="incidents",
    )


def _growth(
    current: np.ndarray, previous: np.ndarray, level: float, n_boot: int, rng: np.random.Generator
) -> dict[str, object]:
    total, previous_total = current.sum(), previous.sum()
    row = {"se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": len(current) + len(previous)}
    if previous_total <= 0:
        ratio = np.inf if total > 0 else np.nan
        which = "the previous period" if total > 0 else "either period"
        method = f"not estimable: no losses in {which}"
    elif total <= 0:
        ratio, method = 0.0, "no interval: no losses in the current period"
    else:
        ratio, method = total / previous_total, BOOTSTRAP
        draws = _compound_totals(current, n_boot, rng) / _positive_totals(previous, n_boot, rng) - 1
        tail = (1 - level) / 2
        low, high = np.quantile(draws, [tail, 1 - tail])
        row.update(se=float(draws.std(ddof=1)), ci_low=float(low), ci_high=float(high))
    return {**row, "estimate": ratio - 1, "method": method, "ratio": ratio}


def _compound_totals(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Totals of ``Poisson(len(values))`` losses resampled from ``values``, ``n_boot`` times."""
    sizes = rng.poisson(len(values), size=n_boot)
    picks = rng.integers(0, len(values), size=int(sizes.sum()))
    owner = np.repeat(np.arange(n_boot), sizes)
    return np.bincount(owner, weights=values[picks], minlength=n_boot)


def _positive_totals(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`_compound_totals` conditional on a positive total (``values`` has a positive one)."""
    totals = _compound_totals(values, n_boot, rng)
    for _ in range(_REDRAWS):
        empty = totals <= 0
        if not empty.any():
            return totals
        totals[empty] = _compound_totals(values, int(empty.sum()), rng)
    raise SurveykitError("Could not draw bootstrap totals of previous losses above zero; are they all 0?")
