"""The pandas engine of the incident summaries (see :mod:`surveykit.incidents.sources`).

A DataFrame is grouped as it is; a CSV or Parquet file or folder is read into memory first,
only the columns the summary needs, CSV cells as text with empty cells missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from surveykit.incidents.summary import (
    DATE_COLUMNS,
    DURATION,
    EVENT,
    INCIDENTS,
    DurationBounds,
    IncidentSource,
    source_files,
    tally,
)

__all__ = ["columns", "date_groups", "duration_bounds", "duration_groups", "rows_where"]


def columns(source: IncidentSource) -> list[str]:
    """The source's column names."""
    if isinstance(source, pd.DataFrame):
        return [str(c) for c in source.columns]
    files, kind = source_files(source)
    if kind == "parquet":
        return list(pq.read_schema(files[0]).names)
    return [str(c) for c in pd.read_csv(files[0], nrows=0).columns]


def _load(source: IncidentSource, names: Sequence[str]) -> pd.DataFrame:
    """The columns ``names`` of the source, with :data:`INCIDENTS` when it is a summarised log."""
    if INCIDENTS in columns(source):
        names = [*names, INCIDENTS]
    if isinstance(source, pd.DataFrame):
        return source[list(names)]
    files, kind = source_files(source)
    if kind == "parquet":
        parts = [pd.read_parquet(f, columns=list(names)) for f in files]
    else:
        parts = [
            pd.read_csv(f, usecols=list(names), dtype=str, keep_default_na=False, na_values=[""])
            for f in files
        ]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def date_groups(source: IncidentSource, groups: list[str]) -> pd.DataFrame:
    """``[groups...], year, month, day, _incidents``: incidents per distinct group and date."""
    keys = [*groups, *DATE_COLUMNS]
    return _count(_load(source, keys), keys)


def _count(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Incidents per distinct ``keys``: rows, or the sum of :data:`INCIDENTS` of a summarised log.

    Rows are counted with one ``bincount`` over the keys' codes packed into one number when
    there are few enough combinations (a log's groups, years, months and days), else by pandas.
    """
    if INCIDENTS not in frame.columns:
        packed = _packed_counts(frame, keys)
        if packed is not None:
            return packed
    grouped = frame.groupby(keys, dropna=False, sort=False, observed=True)
    counted = grouped[INCIDENTS].sum() if INCIDENTS in frame.columns else grouped.size()
    return counted.rename(INCIDENTS).reset_index()


_MOST_CELLS = 1 << 24  # combinations of the keys counted by one bincount (128 MB of counts at most)


def _packed_counts(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame | None:
    """Rows per distinct ``keys`` (missing values their own group), or None past :data:`_MOST_CELLS`."""
    coded = [_codes(frame[key]) for key in keys]
    sizes = [len(uniques) for _, uniques in coded]
    if not sizes or int(np.prod(sizes, dtype=float)) > _MOST_CELLS:
        return None
    cell = np.ravel_multi_index(tuple(codes for codes, _ in coded), sizes)
    counts = np.bincount(cell, minlength=int(np.prod(sizes)))
    used = np.flatnonzero(counts)
    positions = np.unravel_index(used, sizes)
    out = {key: uniques.take(at) for key, (_, uniques), at in zip(keys, coded, positions, strict=True)}
    out[INCIDENTS] = counts[used]
    return pd.DataFrame(out)


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray | np.ndarray]:
    """Each value's code and the distinct values, a missing value being one of them.

    Small whole numbers (years, months, days) are coded by their offset from the least; other
    values by :func:`pandas.factorize`.
    """
    array = values.array
    if isinstance(array, pd.arrays.IntegerArray) and len(array):
        missing = np.asarray(array.isna())
        numbers = array.to_numpy(dtype=np.int64, na_value=0)
        present = ~missing
        low = int(np.min(numbers, where=present, initial=np.iinfo(np.int64).max))
        high = int(np.max(numbers, where=present, initial=np.iinfo(np.int64).min))
        if not present.any():
            low, high = 0, -1
        if high - low < len(array):
            codes = numbers - low  # a new array: to_numpy may hand back the column's own numbers
            codes[missing] = high + 1 - low
            uniques = pd.array([*range(low, high + 1), None], dtype=values.dtype)
            return codes, uniques if missing.any() else uniques[:-1]
    codes, uniques = pd.factorize(array, use_na_sentinel=False)
    return codes, uniques


def _times(values: pd.Series) -> tuple[pd.Series, int]:
    """Times as datetime64[ns] and how many present values could not be read as times."""
    if values.dtype.kind == "M":
        return values.astype("datetime64[ns]"), 0
    parsed = pd.to_datetime(values, format="ISO8601", errors="coerce").astype("datetime64[ns]")
    return parsed, int((values.notna() & parsed.isna()).sum())


def _durations(
    source: IncidentSource, extra: Sequence[str]
) -> tuple[pd.DataFrame, pd.Series, pd.Series, int]:
    frame = _load(source, [*extra, "detected_at", "resolved_at"])
    detected, bad_detected = _times(frame["detected_at"])
    resolved, bad_resolved = _times(frame["resolved_at"])
    return frame, detected, resolved, bad_detected + bad_resolved


def duration_bounds(source: IncidentSource) -> DurationBounds:
    """Counts and latest times of the incidents with a detection time."""
    frame, detected, resolved, unreadable = _durations(source, [])
    known = detected.notna()
    detected, resolved = detected[known], resolved[known]
    return DurationBounds(
        detected=int(tally(frame)[known.to_numpy(bool)].sum()),
        latest_detected=pd.Timestamp(detected.max()),
        latest_resolved=pd.Timestamp(resolved.max()),
        backwards=int(tally(frame)[known.to_numpy(bool)][(resolved < detected).to_numpy(bool)].sum()),
        unreadable=unreadable,
    )


def duration_groups(source: IncidentSource, groups: list[str], cutoff: pd.Timestamp) -> pd.DataFrame:
    """``[groups...], _duration_ns, _event, _incidents`` of incidents detected by ``cutoff``."""
    frame, detected, resolved, _ = _durations(source, groups)
    keep = (detected.notna() & (detected <= cutoff)).to_numpy(bool)
    detected, resolved = detected[keep], resolved[keep]
    wait = (resolved.fillna(cutoff) - detected).to_numpy().astype("int64")
    summary = frame.loc[keep, [c for c in frame.columns if c in {*groups, INCIDENTS}]].assign(
        **{DURATION: wait, EVENT: resolved.notna().to_numpy(dtype=np.bool_)}
    )
    return _count(summary, [*groups, DURATION, EVENT])


def rows_where(source: IncidentSource, names: list[str], column: str, value: str) -> pd.DataFrame:
    """The columns ``names`` of the rows whose ``column`` equals ``value``."""
    frame = _load(source, sorted({*names, column}))
    return frame.loc[(frame[column] == value).fillna(False).to_numpy(bool), names].reset_index(drop=True)
