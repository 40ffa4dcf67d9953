"""The DuckDB engine of the incident summaries (see :mod:`surveykit.incidents.sources`).

CSV and Parquet files or folders are scanned out of core: DuckDB streams the group-by and
spills to the temporary folder beyond :data:`~surveykit.incidents.sources.DUCKDB_MEMORY_LIMIT`.
CSV cells are read as text (empty cells missing) and checked like the other engines' text.
A DuckDB relation is queried on its own connection.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from surveykit.exceptions import SurveykitError
from surveykit.incidents.summary import (
    DATE_COLUMNS,
    DUCKDB_MEMORY_LIMIT,
    DURATION,
    EVENT,
    INCIDENTS,
    DurationBounds,
    IncidentSource,
    source_files,
)

__all__ = [
    "columns",
    "connect",
    "date_groups",
    "duration_bounds",
    "duration_groups",
    "relation",
    "rows_where",
]


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with surveykit's memory limit, spilling to the temp folder."""
    spill = Path(tempfile.gettempdir()) / "surveykit-duckdb"
    return duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": str(spill)})


def relation(con: duckdb.DuckDBPyConnection, source: IncidentSource) -> Any:
    """The source as a DuckDB relation (a relation is returned as it is)."""
    if isinstance(source, duckdb.DuckDBPyRelation):
        return source
    if isinstance(source, pd.DataFrame):
        return con.from_df(source)
    files, kind = source_files(source)
    names = [str(f) for f in files]
    try:
        if kind == "parquet":
            return con.read_parquet(names, union_by_name=True)
        return con.read_csv(names, header=True, all_varchar=True, union_by_name=True)
    except duckdb.Error as exc:
        raise SurveykitError(f"Cannot read {Path(source).name!r} as {kind}: {_first_line(exc)}") from None


@contextmanager
def _relation(source: IncidentSource) -> Iterator[Any]:
    con = connect()
    try:
        yield relation(con, source)
    except duckdb.Error as exc:
        raise SurveykitError(f"DuckDB could not summarise the log: {_first_line(exc)}") from None
    finally:
        con.close()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def columns(source: IncidentSource) -> list[str]:
    """The source's column names."""
    with _relation(source) as rel:
        return list(rel.columns)


def date_groups(source: IncidentSource, groups: list[str]) -> pd.DataFrame:
    """``[groups...], year, month, day, _incidents``: incidents per distinct group and date."""
    with _relation(source) as rel:
        # A summarised log counts its rows' incidents.
        count = f"CAST(sum({INCIDENTS}) AS BIGINT)" if INCIDENTS in rel.columns else "count(*)"
        kinds = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))
        if all(kinds[c] in _INTEGERS for c in DATE_COLUMNS):
            return _packed_date_groups(rel, groups, count)
        keys = ", ".join(_quote(c) for c in [*groups, *DATE_COLUMNS])
        return rel.query("log", f"SELECT {keys}, {count} AS {INCIDENTS} FROM log GROUP BY ALL").df()


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
# A plausible date packed into one integer, (year * 13 + month) * 32 + day with 0 for a missing
# month or day: grouping by one key instead of three halves the time of the group-by.
_PLAUSIBLE = (
    "(year BETWEEN 0 AND 99999 AND (month IS NULL OR month BETWEEN 1 AND 12) "
    "AND (day IS NULL OR day BETWEEN 1 AND 31))"
)
_PACKED = "(year::BIGINT * 13 + coalesce(month, 0)) * 32 + coalesce(day, 0)"


def _packed_date_groups(rel: Any, groups: list[str], count: str) -> pd.DataFrame:
    """:func:`date_groups` of integer dates through one packed key; implausible dates (and missing
    years) come back from a second query as they are stored, to be checked like the others."""
    keys = "".join(f"{_quote(c)}, " for c in groups)
    query = f"""
        SELECT {keys}CASE WHEN {_PLAUSIBLE} THEN {_PACKED} ELSE -1 END AS _date, {count} AS {INCIDENTS}
        FROM log GROUP BY ALL"""
    packed = rel.query("log", query).df()
    plausible = packed[packed["_date"] >= 0]
    date = plausible["_date"].to_numpy(dtype="int64")
    day, month, year = date % 32, (date // 32) % 13, date // (32 * 13)
    index = plausible.index
    decoded = plausible[groups].assign(
        year=pd.Series(year, index=index, dtype="Int64"),
        month=pd.Series(month, index=index, dtype="Int64").where(month > 0),
        day=pd.Series(day, index=index, dtype="Int64").where(day > 0),
        **{INCIDENTS: plausible[INCIDENTS].to_numpy(dtype="int64")},
    )
    if not (packed["_date"] < 0).any():
        return decoded.reset_index(drop=True)
    columns = ", ".join(_quote(c) for c in [*groups, *DATE_COLUMNS])
    implausible = f"NOT coalesce({_PLAUSIBLE}, false)"
    query = f"SELECT {columns}, {count} AS {INCIDENTS} FROM log WHERE {implausible} GROUP BY ALL"
    rest = rel.query("log", query).df()
    return pd.concat([decoded, rest], ignore_index=True)


def _time(rel: Any, name: str) -> str:
    """SQL for column ``name`` as nanoseconds since the epoch (NULL when missing or unreadable)."""
    kind = dict(zip(rel.columns, (str(t) for t in rel.types), strict=True))[name]
    column = _quote(name)
    if kind.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"epoch_ns(timezone('UTC', {column}))"
    if kind.startswith("TIMESTAMP") or kind == "DATE":
        return f"epoch_ns({column})"
    return f"epoch_ns(TRY_CAST({column} AS TIMESTAMP_NS))"


def duration_bounds(source: IncidentSource) -> DurationBounds:
    """Counts and latest times of the incidents with a detection time."""
    with _relation(source) as rel:
        d, r = _time(rel, "detected_at"), _time(rel, "resolved_at")
        query = f"""
            WITH t AS (SELECT {d} AS d, {r} AS r, detected_at IS NOT NULL AS has_d,
                              resolved_at IS NOT NULL AS has_r FROM log)
            SELECT count(d), max(d), max(r) FILTER (d IS NOT NULL), count(*) FILTER (r < d),
                   count(*) FILTER ((has_d AND d IS NULL) OR (has_r AND r IS NULL))
            FROM t"""
        detected, latest_d, latest_r, backwards, unreadable = rel.query("log", query).fetchall()[0]
    return DurationBounds(
        detected=int(detected),
        latest_detected=pd.Timestamp(latest_d) if latest_d is not None else pd.NaT,
        latest_resolved=pd.Timestamp(latest_r) if latest_r is not None else pd.NaT,
        backwards=int(backwards),
        unreadable=int(unreadable),
    )


def duration_groups(source: IncidentSource, groups: list[str], cutoff: pd.Timestamp) -> pd.DataFrame:
    """``[groups...], _duration_ns, _event, _incidents`` of incidents detected by ``cutoff``."""
    keys = "".join(f"{_quote(c)}, " for c in groups)
    limit = int(pd.Timestamp(cutoff).as_unit("ns").value)
    with _relation(source) as rel:
        d, r = _time(rel, "detected_at"), _time(rel, "resolved_at")
        query = f"""
            WITH t AS (SELECT {keys}{d} AS d, {r} AS r FROM log)
            SELECT {keys}coalesce(r, {limit}) - d AS {DURATION}, r IS NOT NULL AS {EVENT},
                   count(*) AS {INCIDENTS}
            FROM t WHERE d IS NOT NULL AND d <= {limit} GROUP BY ALL"""
        return rel.query("log", query).df()


def rows_where(source: IncidentSource, names: list[str], column: str, value: str) -> pd.DataFrame:
    """The columns ``names`` of the rows whose ``column`` equals ``value``."""
    keys = ", ".join(_quote(c) for c in names)
    literal = "'" + value.replace("'", "''") + "'"
    with _relation(source) as rel:
        return rel.query("log", f"SELECT {keys} FROM log WHERE {_quote(column)} = {literal}").df()
