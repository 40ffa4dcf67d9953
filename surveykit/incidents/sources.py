"""Where the incident statistics read a log: a DataFrame, a file or folder, or a lazy relation.

:func:`surveykit.incident_counts`, :func:`surveykit.yoy_growth`, :func:`surveykit.growth_trend`
and :func:`surveykit.time_to_resolve` take, besides a DataFrame, a CSV or Parquet file, a folder
of them, a DuckDB relation or a Spark DataFrame, and an ``engine`` to read it with:

- ``"pandas"``: the default for a DataFrame; a file is read into memory (only the columns used);
- ``"duckdb"``: the default for a path and a DuckDB relation; out of core over CSV and Parquet
  files or folders (memory limit
  :data:`surveykit.incidents.summary.DUCKDB_MEMORY_LIMIT`, spilling to the temporary folder);
- ``"spark"``: the default for a Spark DataFrame; a path is read by the active Spark session
  (or a local one).

The heavy step is one group-by, done in the engine: the counts of incidents by group and date
(``year, month, day``) for counts, growth and trends, and by group, duration and resolution
for time to resolve. The statistics then run in pandas on that small table, so every engine
returns the same frame, with the same warnings and errors.

A path or relation must hold a log in the canonical schema (column names as
:data:`surveykit.INCIDENT_COLUMNS`): a Parquet file written by ``surveykit export-incidents``
or ``read_incidents(...).to_parquet(...)``, or a CSV with those headers, ISO 8601 times
(``2016-03-31 14:05:00``) and empty cells for missing values. The values the statistic reads are
checked on every engine alike: ``year`` a whole number from :data:`MIN_YEAR` to :data:`MAX_YEAR`,
``month`` 1 to 12, ``day`` 1 to 31 and a real calendar date, no day without a month, and a
``by`` column that is canonical (``country``, ``region``, ``incident_type``,
``impersonated_role``, ``severity``) holding only its codes; a breach raises an
:class:`~surveykit.ImportValidationError` naming how many incidents and which values. Other
columns are not read, so not checked, and repeated ``incident_id`` values are not looked for
(the store and :func:`surveykit.read_incidents` never produce them): use
:func:`surveykit.validate_incidents` for the full check of a log from elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from surveykit._grouping import by_columns
from surveykit._options import check_option
from surveykit._validation import require_columns
from surveykit.exceptions import ImportValidationError, SurveykitError
from surveykit.incidents._parsing import MAX_YEAR, MIN_YEAR
from surveykit.incidents.schema import (
    COUNTRY_CODES,
    IMPERSONATED_ROLES,
    INCIDENT_TYPES,
    M49_REGIONS,
    SEVERITIES,
)
from surveykit.incidents.summary import (
    DATE_COLUMNS,
    DURATION,
    EVENT,
    INCIDENTS,
    Engine,
    IncidentSource,
    require_date_columns,
)

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "condensed_log",
    "date_summary",
    "duration_summary",
    "engine_for",
    "summarise_incidents",
]

_CODES: dict[str, frozenset[str]] = {
    "country": COUNTRY_CODES,
    "region": frozenset(M49_REGIONS),
    "incident_type": frozenset(INCIDENT_TYPES),
    "impersonated_role": frozenset(IMPERSONATED_ROLES),
    "severity": frozenset(SEVERITIES),
}
_EXAMPLES = 5


def engine_for(source: IncidentSource, engine: Engine | None) -> Engine:
    """The engine asked for, or the default for the kind of source (see the module notes)."""
    if engine is not None:
        return check_option("engine", engine, Engine)
    if isinstance(source, pd.DataFrame):
        return "pandas"
    if isinstance(source, str | os.PathLike):
        return "duckdb"
    module = type(source).__module__
    if module.startswith("duckdb"):
        return "duckdb"
    if module.startswith("pyspark"):
        return "spark"
    raise SurveykitError(
        "log must be a DataFrame, a path to a CSV or Parquet file or folder, a DuckDB relation or a "
        f"Spark DataFrame; got {type(source).__name__}"
    )


def _module(engine: Engine) -> Any:
    if engine == "pandas":
        from surveykit.incidents import engine_pandas as module
    elif engine == "duckdb":
        from surveykit.incidents import engine_duckdb as module
    else:
        try:
            from surveykit.incidents import engine_spark as module
        except ModuleNotFoundError as exc:
            raise SurveykitError(
                f"engine='spark' needs PySpark and Java ({exc.name} is missing): pip install pyspark"
            ) from None
    return module


def _groups(by: str | Sequence[str] | None, columns: Sequence[str]) -> list[str]:
    return by_columns(by, pd.DataFrame(columns=list(columns)))


def summarise_incidents(
    log: IncidentSource, by: str | Sequence[str] | None = None, *, engine: Engine | None = None
) -> pd.DataFrame:
    """The log reduced to its incidents by group and date, in one pass of the engine.

    The result is a small log that :func:`surveykit.incident_counts`, :func:`surveykit.yoy_growth`,
    :func:`surveykit.cagr`, :func:`surveykit.growth_trend` and :func:`surveykit.trend_line` read
    like the whole one (on pandas, or any engine), with the same results for any ``by`` among
    the columns kept: summarise a large file once, then run several statistics on it.

    Parameters
    ----------
    log : DataFrame, path or relation
        As for :func:`surveykit.incident_counts`.
    by : str or list of str, optional
        The columns to keep besides the date.
    engine : {"pandas", "duckdb", "spark"}, optional
        What reads the log; see the module notes.

    Returns
    -------
    DataFrame
        ``[by...], year, month, day, _incidents``: one row per distinct group and date, with the
        number of incidents on it, checked as the module notes say.

    Examples
    --------
    >>> summary = summarise_incidents("incidents.parquet", by="country")  # doctest: +SKIP
    >>> yoy_growth(summary, by="country")  # doctest: +SKIP
    """
    return date_summary(log, by, engine)[0]


def condensed_log(
    log: IncidentSource,
    by: str | Sequence[str] | None = None,
    *,
    whole: tuple[str, str] | None = None,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """A large log as a small one with the same counts, growth and trends, and whole rows where asked.

    The incidents are counted by ``by`` and date as in :func:`summarise_incidents`, except those
    whose column ``whole[0]`` equals ``whole[1]`` (``("incident_type", "email_outage")``),
    which are kept as rows with their ``detected_at`` and ``resolved_at``, so their time to
    resolve can be measured too. Every row carries its number of incidents (``_incidents``);
    :func:`surveykit.incidents.summary.tally` counts them.

    Returns
    -------
    DataFrame
        ``[by...], year, month, day, detected_at, resolved_at, _incidents``.
    """
    module = _module(engine_for(log, engine))
    summary, groups = date_summary(log, by, engine)
    times = ["detected_at", "resolved_at"]
    if whole is None:
        return summary.assign(**{t: pd.NaT for t in times})[[*groups, *DATE_COLUMNS, *times, INCIDENTS]]
    column, value = whole
    if column not in groups:
        raise SurveykitError(
            f"condensed_log keeps whole rows by a column of by; {column!r} is not in {groups}"
        )
    rows = module.rows_where(log, [*groups, *DATE_COLUMNS, *times], column, value).assign(**{INCIDENTS: 1})
    rows = _canonical(rows, groups)
    for name in times:
        values = rows[name]
        parsed = (
            values if values.dtype.kind == "M" else pd.to_datetime(values, format="ISO8601", errors="coerce")
        )
        rows[name] = parsed.astype("datetime64[ns]")
    rest = summary[~(summary[column] == value).fillna(False).to_numpy(bool)]
    rest = rest.assign(**{t: pd.Series(pd.NaT, index=rest.index, dtype="datetime64[ns]") for t in times})
    out = pd.concat([rest, rows], ignore_index=True)
    return out[[*groups, *DATE_COLUMNS, *times, INCIDENTS]].astype({INCIDENTS: "int64"})


def date_summary(
    source: IncidentSource, by: str | Sequence[str] | None, engine: Engine | None
) -> tuple[pd.DataFrame, list[str]]:
    """The log summarised to ``[by...], year, month, day, _incidents``, checked and canonical.

    One row per distinct group and date (missing values forming their own group), with the
    number of incidents on it; the groups as a list. The frame stands for the log in
    :func:`~surveykit.incidents.counts.count_table` and the estimators built on it.
    """
    module = _module(engine_for(source, engine))
    columns = module.columns(source)
    groups = _groups(by, columns)
    require_date_columns(columns)
    raw = module.date_groups(source, groups)
    summary = _canonical(raw, groups)
    keys = [*groups, *DATE_COLUMNS]
    summary = summary.groupby(keys, dropna=False, sort=True)[INCIDENTS].sum().reset_index()
    return summary.astype({INCIDENTS: "int64"}), groups


def duration_summary(
    source: IncidentSource,
    by: str | Sequence[str] | None,
    engine: Engine | None,
    as_of: str | datetime | pd.Timestamp | None,
) -> tuple[pd.DataFrame, list[str], pd.Timestamp, int]:
    """Durations summarised to ``[by...], _duration_ns, _event, _incidents``.

    Only incidents with a detection time count; unresolved ones are censored at ``as_of``
    (the latest detection or resolution time by default), and incidents detected after it are
    left out. Returns the summary, the groups, the cut-off and the number left out.

    Raises
    ------
    SurveykitError
        No detection time; ``as_of`` before a resolution; an incident resolved before it was
        detected; a time that cannot be read.
    """
    module = _module(engine_for(source, engine))
    columns = module.columns(source)
    groups = _groups(by, columns)
    require_columns(
        pd.DataFrame(columns=list(columns)), ["detected_at", "resolved_at"], "duration", SurveykitError
    )
    bounds = module.duration_bounds(source)
    if bounds.unreadable:
        raise ImportValidationError(
            f"{bounds.unreadable} incidents have a detected_at or resolved_at that is not a date and time "
            "(ISO 8601, such as 2016-03-31 14:05:00); list them with surveykit.validate_incidents."
        )
    if bounds.detected == 0:
        raise SurveykitError("No incident has a detected_at time, so durations cannot be measured.")
    latest = max(t for t in (bounds.latest_detected, bounds.latest_resolved) if pd.notna(t))
    cutoff = pd.Timestamp(as_of) if as_of is not None else latest
    if pd.notna(bounds.latest_resolved) and bounds.latest_resolved > cutoff:
        raise SurveykitError(
            f"as_of ({cutoff}) is before some resolutions (latest {bounds.latest_resolved})."
        )
    if bounds.backwards:
        raise SurveykitError(
            f"{bounds.backwards} incidents are resolved before they were detected; fix their detected_at "
            "or resolved_at (surveykit.validate_incidents lists the rows)."
        )
    raw = module.duration_groups(source, groups, cutoff)
    summary = _canonical(raw, groups, dates=False)
    keys = [*groups, DURATION, EVENT]
    summary = summary.astype({DURATION: "int64", EVENT: bool})
    summary = summary.groupby(keys, dropna=False, sort=True)[INCIDENTS].sum().reset_index()
    later = bounds.detected - int(summary[INCIDENTS].sum())
    return summary.astype({INCIDENTS: "int64"}), groups, cutoff, later


def _canonical(raw: pd.DataFrame, groups: list[str], *, dates: bool = True) -> pd.DataFrame:
    """The summary with canonical dtypes, raising on any value the canonical schema forbids.

    Text group columns become the ``string`` dtype whatever the engine returned.
    """
    out = raw.copy()
    counts = raw[INCIDENTS].to_numpy(dtype="int64")
    breaches: list[str] = []
    if dates:
        ranges = {"year": (MIN_YEAR, MAX_YEAR), "month": (1, 12), "day": (1, 31)}
        unreadable = {}
        for name, (low, high) in ranges.items():
            out[name], unreadable[name] = _whole_numbers(raw[name], low, high)
            what = f"a {name} that is not a whole number from {low} to {high}"
            breaches.append(_breach(counts, unreadable[name], raw[name], what))
        no_month = (out["month"].isna() & out["day"].notna()).to_numpy(bool) & ~unreadable["month"]
        breaches.append(_breach(counts, no_month, raw["day"], "a day without a month"))
        complete = out[DATE_COLUMNS].notna().all(axis=1).to_numpy(bool)
        if complete.any():
            parts = out.loc[complete, DATE_COLUMNS].astype("int64")
            invalid = np.zeros(len(out), dtype=bool)
            invalid[complete] = pd.to_datetime(parts, errors="coerce").isna().to_numpy()
            wrong = parts[invalid[complete]]  # written out for the message only
            shown = pd.Series(
                [f"{y}-{m:02d}-{d:02d}" for y, m, d in wrong.itertuples(index=False)], index=wrong.index
            ).reindex(out.index)
            breaches.append(_breach(counts, invalid, shown, "a day that is not in the calendar"))
    for name in groups:
        values = raw[name]
        if name in _CODES or values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            out[name] = values.astype("string")
        if name in _CODES:
            bad = (out[name].notna() & ~out[name].isin(_CODES[name])).to_numpy(bool)
            breaches.append(_breach(counts, bad, values, f"a {name} that is not one of its codes"))
    found = [b for b in breaches if b]
    if found:
        raise ImportValidationError("; ".join(found) + "; list every row with surveykit.validate_incidents.")
    return out


def _whole_numbers(values: pd.Series, low: int, high: int) -> tuple[pd.Series, np.ndarray]:
    """``values`` as Int64 and a mask of the present values that are not whole numbers in range."""
    missing = values.isna().to_numpy(bool).copy()
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        text = values.astype("string").str.strip()
        missing |= (text == "").fillna(True).to_numpy(bool)
        number = pd.to_numeric(text.where(~missing), errors="coerce")
    else:
        number = pd.to_numeric(values, errors="coerce")
    number = pd.Series(np.asarray(number, dtype=float), index=values.index)
    good = number.notna() & (number == np.floor(number)) & (number >= low) & (number <= high)
    bad = ~missing & ~good.to_numpy(bool)
    return pd.array(number.where(good), dtype="Int64"), bad


def _breach(counts: np.ndarray, bad: np.ndarray, values: pd.Series, what: str) -> str:
    """``"N incidents have <what> (v1, v2...)"``, or ``""`` when nothing is bad."""
    if not bad.any():
        return ""
    shown = sorted({_shown(v) for v in values[bad]})
    more = f" and {len(shown) - _EXAMPLES} more" if len(shown) > _EXAMPLES else ""
    return f"{int(counts[bad].sum())} incidents have {what} ({', '.join(shown[:_EXAMPLES])}{more})"


def _shown(value: object) -> str:
    """A value as the message shows it: a whole float without its ``.0``."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
