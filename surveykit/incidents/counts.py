"""Incidents per period: counting, dating, exposure, with an exact Poisson interval.

A count of incidents in a period is treated as Poisson. :func:`incident_counts` reports the
rate per unit of exposure (the count itself when no exposure is given) with the exact
(Garwood) interval ``chi2(a/2; 2x) / 2`` to ``chi2(1 - a/2; 2x + 2) / 2`` divided by the
exposure, as R ``poisson.test(x, T)$conf.int``.

The private helpers here (which incidents can be placed in a period, period labels, exposure)
are shared by the growth, trend and loss estimators.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from surveykit._disclosure import check_thresholds
from surveykit._options import check_option
from surveykit._results import result_frame
from surveykit._validation import check_level
from surveykit.exceptions import IncompleteDataWarning, SurveykitError
from surveykit.incidents.sources import date_summary
from surveykit.incidents.summary import Engine, require_date_columns, tally

__all__ = [
    "PERIODS_PER_YEAR",
    "AsOf",
    "ExposureArg",
    "Period",
    "count_table",
    "dated",
    "incident_counts",
    "last_month",
    "period_key",
    "period_label",
    "rows_of",
    "warn_if_partial",
]

Period = Literal["year", "quarter", "month"]
ExposureArg = None | Literal["days"] | Mapping[object, float] | pd.DataFrame
AsOf = str | date | pd.Timestamp | None

#: Periods in a year: the lag of a year-over-year comparison.
PERIODS_PER_YEAR = {"year": 1, "quarter": 4, "month": 12}
_MONTHS = {"year": 12, "quarter": 3, "month": 1}


def incident_counts(
    log: pd.DataFrame,
    period: Period = "year",
    by: str | Sequence[str] | None = None,
    exposure: ExposureArg = None,
    *,
    as_of: AsOf = None,
    level: float = 0.95,
    min_n: int = 5,
    caution_n: int = 30,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """Incidents per period (and group) with an exact Poisson interval.

    Every period from the first to the last one in the log appears, with zero counts where a
    group had no incidents.

    Parameters
    ----------
    log : DataFrame, path or relation
        An incident log in the canonical schema (:func:`surveykit.read_incidents`,
        ``Store.incidents()``), or a CSV or Parquet file or folder of them, a DuckDB relation or
        a Spark DataFrame holding one (see :mod:`surveykit.incidents.sources`).
    period : {"year", "quarter", "month"}
        Quarters and months need a known month; incidents without one are left out with an
        :class:`~surveykit.IncompleteDataWarning`.
    by : str or list of str, optional
        Columns to break the counts down by (``country``, ``incident_type``...). Missing values
        form their own group.
    exposure : None, "days", mapping or DataFrame
        ``None``: each period counts as one unit, so the estimate is the count. ``"days"``:
        days observed in the period (or the window), so the estimate is incidents per day. A
        mapping ``{period: exposure}`` (keys such as ``2015`` or ``"2015-03"``) or a frame with
        ``period``, the ``by`` columns and ``exposure`` gives organisations, mailboxes or other
        measures.
    as_of : date, optional
        Year periods only: count each year from 1 January to the day and month of ``as_of``
        (year to date vs the same dates in earlier years), ending in ``as_of``'s year.
        Incidents whose date is too vague to place are left out with a warning.
    level : float
        Confidence level.
    min_n, caution_n : int
        Disclosure thresholds on the count: below ``min_n`` (default 5) the estimate and its
        interval are blanked (``flag = "suppressed"``), below ``caution_n`` (default 30)
        flagged ``"caution"``; a :class:`~surveykit.SmallSampleWarning` says how many. ``n``
        and ``count`` stay: an incident count is not a respondent's answer, but a rate on
        fewer than 5 incidents is too imprecise to publish.
    engine : {"pandas", "duckdb", "spark"}, optional
        What counts the incidents: pandas for a DataFrame, DuckDB for a path or a DuckDB
        relation and Spark for a Spark DataFrame by default. Every engine returns the same
        frame; see :mod:`surveykit.incidents.sources` for what a path must hold and what is
        checked.

    Returns
    -------
    DataFrame
        ``[by...], period, estimate, se, ci_low, ci_high, n, method, flag, count, exposure,
        period_start``. ``estimate`` is ``count / exposure``; ``se`` is the Poisson standard
        error ``sqrt(count) / exposure`` (the interval is exact, not ``estimate +- z se``);
        ``n`` is the count; ``method`` is ``"exact poisson (garwood)"``. ``period`` is a label
        such as ``"2015"``, ``"2015-Q1"`` or ``"2015-03"``.

    Examples
    --------
    >>> import surveykit as sk
    >>> sk.incident_counts(sk.demo_incidents())[["period", "estimate", "ci_low", "ci_high"]].round(1)
      period  estimate  ci_low  ci_high
    0   2014    1000.0   939.0   1064.0
    1   2015    1380.0  1308.1   1454.8
    2   2016    1560.0  1483.5   1639.4
    """
    level = check_level(level)
    min_n, caution_n = check_thresholds(min_n, caution_n)
    summary, groups = date_summary(log, by, engine)
    table = count_table(summary, period, groups, exposure, as_of)
    count = table["count"].to_numpy()
    exposure_values = table["exposure"].to_numpy(dtype=float)
    tail = (1 - level) / 2
    low = np.where(count > 0, stats.chi2.ppf(tail, 2 * np.maximum(count, 1)) / 2, 0.0)
    high = stats.chi2.ppf(1 - tail, 2 * count + 2) / 2
    table = table.assign(
        estimate=count / exposure_values,
        se=np.sqrt(count) / exposure_values,
        ci_low=low / exposure_values,
        ci_high=high / exposure_values,
        n=count,
        method="exact poisson (garwood)",
    )
    return result_frame(
        table,
        [*groups, "period"],
        ["count", "exposure", "period_start"],
        min_n=min_n,
        caution_n=caution_n,
        what="period counts",
        units="incidents",
    )


def count_table(
    log: pd.DataFrame,
    period: str,
    groups: list[str],
    exposure: ExposureArg = None,
    as_of: AsOf = None,
    *,
    warn: bool = True,
) -> pd.DataFrame:
    """``[groups...], period, period_start, count, exposure, key`` on the full period grid.

    ``key`` numbers the periods consecutively (years; year * 4 + quarter; year * 12 + month).
    With ``warn=False`` incidents that cannot be placed are left out silently (for a
    secondary table such as the monthly counts behind a yearly comparison).
    """
    check_option("period", period, Period)
    frame = dated(log, period, as_of, warn=warn)
    frame = frame.assign(_key=period_key(frame, period))
    if frame.empty:
        raise SurveykitError(
            f"No incidents to count by {period} (the log is empty after dropping those without a "
            f"{'year' if period == 'year' else 'month'})."
        )
    first = int(frame["_key"].min())
    last = int(frame["_key"].max())
    if as_of is not None:
        last = pd.Timestamp(as_of).year
    keys = np.arange(first, last + 1)
    counted = (
        frame.assign(_one=tally(frame))
        .groupby([*groups, "_key"], dropna=False)["_one"]
        .sum()
        .rename("count")
        .reset_index()
    )
    if groups:
        combos = frame[groups].drop_duplicates().reset_index(drop=True)
        grid = combos.merge(pd.DataFrame({"_key": keys}), how="cross")
    else:
        grid = pd.DataFrame({"_key": keys})
    out = grid.merge(counted, on=[*groups, "_key"], how="left")
    out["count"] = out["count"].fillna(0).astype("int64")
    out.insert(len(groups), "period", [period_label(k, period) for k in out["_key"]])
    out.insert(len(groups) + 1, "period_start", [_period_start(k, period) for k in out["_key"]])
    out["exposure"] = _exposure(out, period, groups, exposure, as_of)
    out = out.sort_values([*groups, "_key"], na_position="last").rename(columns={"_key": "key"})
    return out.reset_index(drop=True)


def dated(log: pd.DataFrame, period: str, as_of: AsOf, *, warn: bool = True) -> pd.DataFrame:
    """Incidents whose date is precise enough for the period (and window), with a warning."""
    require_date_columns(log.columns)
    frame = log[log["year"].notna()]
    reason = ""
    if period != "year":
        keep = frame["month"].notna()
        reason = f"no month, so they cannot be placed in a {period}"
    else:
        keep = pd.Series(True, index=frame.index)
    if as_of is not None:
        if period != "year":
            raise SurveykitError(
                f"as_of (year-to-date comparison) works with period='year' only; got period={period!r}."
            )
        cut = pd.Timestamp(as_of)
        month = frame["month"].astype("Float64")
        day = frame["day"].astype("Float64")
        before = (month < cut.month) | ((month == cut.month) & (day <= cut.day))
        vague = before.isna()
        keep = keep & before.fillna(False).astype(bool) & (frame["year"] <= cut.year)
        if warn and vague.any():
            _warn_dropped(
                int(tally(frame)[(vague & (frame["year"] <= cut.year)).to_numpy(dtype=bool)].sum()),
                f"a date too vague to tell whether it falls before {cut:%d %B}",
            )
        reason = ""
    dropped = int(tally(frame)[~keep.to_numpy(dtype=bool)].sum()) if reason else 0
    if warn and dropped:
        _warn_dropped(dropped, reason)
    return frame[keep.astype(bool)]


def _warn_dropped(count: int, reason: str) -> None:
    if count:
        warnings.warn(f"{count} incidents left out: {reason}.", IncompleteDataWarning, stacklevel=5)


def period_key(frame: pd.DataFrame, period: str) -> pd.Series:
    """Consecutive period numbers: years, ``year * 4 + quarter``, ``year * 12 + month``."""
    year = frame["year"].astype("int64")
    if period == "year":
        return year
    month = frame["month"].astype("int64")
    if period == "quarter":
        return year * 4 + (month - 1) // 3
    return year * 12 + (month - 1)


def period_label(key: int, period: str) -> str:
    """``"2015"``, ``"2015-Q1"`` or ``"2015-03"``."""
    if period == "year":
        return str(key)
    if period == "quarter":
        return f"{key // 4}-Q{key % 4 + 1}"
    return f"{key // 12}-{key % 12 + 1:02d}"


def _period_start(key: int, period: str) -> pd.Timestamp:
    """The first day of the period."""
    if period == "year":
        return pd.Timestamp(year=key, month=1, day=1)
    if period == "quarter":
        return pd.Timestamp(year=key // 4, month=3 * (key % 4) + 1, day=1)
    return pd.Timestamp(year=key // 12, month=key % 12 + 1, day=1)


def last_month(key: int, period: str, as_of: AsOf = None) -> int:
    """Month number (``year * 12 + month - 1``) of the period's last complete month.

    With ``as_of`` (year periods), the last month of the window that is complete: ``as_of``'s
    month if it is the month's last day, else the month before.
    """
    if as_of is not None:
        cut = pd.Timestamp(as_of)
        month = key * 12 + cut.month - 1
        return month if cut.day == cut.days_in_month else month - 1
    return (key + 1) * _MONTHS[period] - 1


def _period_days(start: pd.Timestamp, period: str, as_of: AsOf) -> float:
    if as_of is not None:
        cut = pd.Timestamp(as_of)
        day = min(cut.day, pd.Timestamp(year=start.year, month=cut.month, day=1).days_in_month)
        end = pd.Timestamp(year=start.year, month=cut.month, day=day)
        return float((end - start).days + 1)
    return float((start + pd.DateOffset(months=_MONTHS[period]) - start).days)


def _exposure(
    out: pd.DataFrame, period: str, groups: list[str], exposure: ExposureArg, as_of: AsOf
) -> np.ndarray:
    if exposure is None:
        return np.ones(len(out))
    if isinstance(exposure, str):
        if exposure != "days":
            raise SurveykitError(f"exposure must be None, 'days', a mapping or a DataFrame; got {exposure!r}")
        return np.array([_period_days(s, period, as_of) for s in out["period_start"]])
    if isinstance(exposure, pd.DataFrame):
        needed = [*groups, "period", "exposure"]
        missing = [c for c in needed if c not in exposure.columns]
        if missing:
            raise SurveykitError(f"The exposure frame needs columns {needed}; it lacks {missing}.")
        table = exposure[needed].assign(period=exposure["period"].astype(str))
        merged = out[[*groups, "period"]].merge(table, on=[*groups, "period"], how="left")
        values = merged["exposure"].to_numpy(dtype=float)
    else:
        table = {str(k): float(v) for k, v in exposure.items()}
        values = np.array([table.get(p, np.nan) for p in out["period"]], dtype=float)
    lacking = sorted(set(out.loc[~(values > 0), "period"]))
    if lacking:
        raise SurveykitError(f"Exposure is missing or not positive for period(s) {lacking}.")
    return values


def warn_if_partial(log: pd.DataFrame) -> None:
    """Warn when the log's latest year stops more than a month before 31 December."""
    dated_log = log[log["year"].notna() & log["month"].notna()]
    if dated_log.empty:
        return
    last_year = int(dated_log["year"].max())
    latest = dated_log[dated_log["year"] == last_year]
    month = int(latest["month"].max())
    day = latest.loc[latest["month"] == month, "day"].max()
    day = int(day) if pd.notna(day) else pd.Timestamp(year=last_year, month=month, day=1).days_in_month
    last = pd.Timestamp(year=last_year, month=month, day=day)
    if (pd.Timestamp(year=last_year, month=12, day=31) - last).days > 31:
        warnings.warn(
            f"The log's latest incident is on {last:%Y-%m-%d}, so {last_year} looks incomplete; "
            f"compare the same calendar window with as_of='{last:%Y-%m-%d}'.",
            IncompleteDataWarning,
            stacklevel=3,
        )


def rows_of(frame: pd.DataFrame, key: Mapping[str, object]) -> pd.DataFrame:
    """The rows of ``frame`` in the group ``key`` (a missing value matches missing values)."""
    mask = np.ones(len(frame), dtype=bool)
    for name, value in key.items():
        column = frame[name]
        mask &= (column.isna() if pd.isna(value) else (column == value).fillna(False)).to_numpy(dtype=bool)
    return frame[mask]
