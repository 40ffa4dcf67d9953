"""The summary contract between the incident statistics and the engines that read a log.

An engine (:mod:`~surveykit.incidents.engine_pandas`, :mod:`~surveykit.incidents.engine_duckdb`,
:mod:`~surveykit.incidents.engine_spark`) implements four functions over a source:

- ``columns(source)``: the column names;
- ``date_groups(source, groups)``: ``[groups...], year, month, day, _incidents``, the number
  of incidents per distinct group and date, missing values forming their own group, values
  as stored (text for CSV);
- ``duration_bounds(source)``: a :class:`DurationBounds`;
- ``duration_groups(source, groups, cutoff)``: ``[groups...], _duration_ns, _event,
  _incidents`` for the incidents detected by ``cutoff``, unresolved ones censored there.

:mod:`surveykit.incidents.sources` checks and canonicalises what they return; the statistics
read the result as a log whose rows stand for :data:`INCIDENTS` incidents each.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from surveykit.exceptions import SurveykitError

__all__ = [
    "DATE_COLUMNS",
    "DUCKDB_MEMORY_LIMIT",
    "DURATION",
    "EVENT",
    "INCIDENTS",
    "DurationBounds",
    "Engine",
    "IncidentSource",
    "require_date_columns",
    "source_files",
    "tally",
]

Engine = Literal["pandas", "duckdb", "spark"]
IncidentSource = pd.DataFrame | str | os.PathLike | Any
"""A DataFrame, a path to a CSV or Parquet file or folder, a DuckDB relation or a Spark DataFrame."""

#: DuckDB's memory limit when surveykit opens the connection; beyond it, DuckDB spills to disk.
DUCKDB_MEMORY_LIMIT = "1GB"
#: In a duration summary: nanoseconds from detection to resolution (or to ``as_of``).
DURATION = "_duration_ns"
#: In a duration summary: whether the incident was resolved (else censored).
EVENT = "_event"

#: The columns that date an incident, which every count reads.
DATE_COLUMNS = ["year", "month", "day"]
#: In a summarised log (one row per distinct group and date), the number of incidents on the row.
INCIDENTS = "_incidents"


@dataclass(frozen=True)
class DurationBounds:
    """What durations need from the whole log before grouping: counts and the latest times.

    Attributes
    ----------
    detected : int
        Incidents with a detection time.
    latest_detected, latest_resolved : Timestamp or NaT
        The latest detection and resolution times among them.
    backwards : int
        Incidents resolved before they were detected.
    unreadable : int
        Incidents whose ``detected_at`` or ``resolved_at`` is not a date and time.
    """

    detected: int
    latest_detected: pd.Timestamp
    latest_resolved: pd.Timestamp
    backwards: int
    unreadable: int


def require_date_columns(columns: Sequence[str] | pd.Index) -> None:
    """Raise unless the log has the ``year``, ``month`` and ``day`` columns every count reads."""
    for name in DATE_COLUMNS:
        if name not in columns:
            raise SurveykitError(
                f"The log has no {name!r} column; read it with surveykit.read_incidents so it has "
                "the canonical columns."
            )


def tally(frame: pd.DataFrame) -> np.ndarray:
    """The number of incidents on each row: 1, or the :data:`INCIDENTS` column of a summarised log."""
    if INCIDENTS in frame.columns:
        return frame[INCIDENTS].to_numpy(dtype="int64")
    return np.ones(len(frame), dtype="int64")


def source_files(path: str | os.PathLike) -> tuple[list[Path], Literal["csv", "parquet"]]:
    """The files a path names (a file, or every CSV or Parquet file in a folder) and their format.

    Raises
    ------
    SurveykitError
        If nothing is there, the folder holds no CSV or Parquet file, or mixes the two.
    """
    path = Path(path)
    if not path.exists():
        raise SurveykitError(f"No incident log at {str(path)!r}.")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _file_kind(p))
    else:
        files = [path] if _file_kind(path) else []
    kinds = {_file_kind(p) for p in files}
    if len(kinds) != 1:
        found = "holds both CSV and Parquet files" if kinds else "is not a CSV or Parquet file"
        if path.is_dir() and not kinds:
            found = "holds no CSV or Parquet file"
        raise SurveykitError(
            f"{path.name!r} {found}; the engines read .csv or .parquet files, or a folder of one kind."
        )
    return files, kinds.pop()


def _file_kind(path: Path) -> Literal["csv", "parquet"] | None:
    suffix = path.suffix.lower()
    if suffix in {".csv", ".txt"}:
        return "csv"
    if suffix in {".parquet", ".pq"}:
        return "parquet"
    return None
