"""Incident logs as Parquet files: reading cells within the input limits, writing the canonical log.

Reading keeps to :func:`surveykit._limits.current_limits` as the CSV and XLSX readers do: the
file size, rows and columns (from the file's footer, before any data is read) and the length
of each text cell; a file that is not Parquet, or is damaged, is one short
:class:`~surveykit.SurveykitError`. Cells come back typed (numbers, times, text) with missing
values as ``None``, for :func:`surveykit.read_incidents` to check like an XLSX sheet's cells.

Writing stores the canonical columns with their types and times in microseconds, which every
Parquet reader (DuckDB, Spark, pandas) takes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from surveykit._limits import current_limits, shorten
from surveykit.exceptions import SurveykitError
from surveykit.incidents.schema import INCIDENT_COLUMNS, INCIDENT_DTYPES

__all__ = ["read_parquet_cells", "write_incidents_parquet"]


def read_parquet_cells(path: Path) -> pd.DataFrame:
    """A Parquet file's cells as an object frame, missing values as ``None``.

    Raises
    ------
    SurveykitError
        If the file is not a readable Parquet file or breaks a limit (size, rows, columns,
        characters in a cell).
    """
    limits = current_limits()
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise SurveykitError(
            f"{path.name}: the file has {size:,} bytes, more than the {limits.max_file_bytes:,} allowed; "
            "split it into smaller files."
        )
    try:
        parquet = pq.ParquetFile(path)
        meta = parquet.metadata
        if meta.num_columns > limits.max_columns:
            raise SurveykitError(
                f"{path.name}: {meta.num_columns:,} columns, more than the {limits.max_columns:,} allowed."
            )
        if meta.num_rows + 1 > limits.max_rows:
            raise SurveykitError(
                f"{path.name}: {meta.num_rows:,} rows, more than the {limits.max_rows - 1:,} allowed; "
                "split the file, or analyse it in place with engine='duckdb'."
            )
        table = parquet.read()
    except (pa.ArrowException, OSError, ValueError, IndexError) as exc:
        raise SurveykitError(f"{path.name}: not a readable Parquet file ({_first_line(exc)}).") from None
    _check_cells(path.name, table, limits.max_cell_chars)
    try:
        frame = table.to_pandas(timestamp_as_object=False, date_as_object=False)
    except (pa.ArrowException, ValueError, OverflowError) as exc:
        raise SurveykitError(f"{path.name}: the values cannot be read ({_first_line(exc)}).") from None
    frame.columns = [str(c) for c in frame.columns]
    return frame.astype(object).where(frame.notna(), None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return shorten(text.splitlines()[0] if text else type(exc).__name__, 160)


def _check_cells(name: str, table: pa.Table, most: int) -> None:
    long = [h for h in table.column_names if len(str(h)) > most]
    if long:
        raise SurveykitError(f"{name}: a header is longer than {most:,} characters ({shorten(long[0])!r}).")
    for column_name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind)):
            if pa.types.is_nested(kind):
                raise SurveykitError(
                    f"{name}: column {shorten(column_name, 40)!r} holds lists or records ({kind}); an "
                    "incident log has one value per cell."
                )
            continue
        lengths = pc.binary_length(column) if pa.types.is_binary(kind) else pc.utf8_length(column)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > most:
            position = pc.index(lengths, longest).as_py()
            raise SurveykitError(
                f"{name}: row {position + 1:,}, column {shorten(column_name, 40)!r}: the value has "
                f"{longest:,} characters, more than the {most:,} allowed."
            )


def write_incidents_parquet(log: pd.DataFrame, path: str | Path) -> None:
    """Write a canonical incident log as Parquet (times in microseconds).

    Raises
    ------
    SurveykitError
        If the file cannot be written.
    """
    frame = log[INCIDENT_COLUMNS].astype(INCIDENT_DTYPES)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    try:
        pq.write_table(table, path, coerce_timestamps="us", allow_truncated_timestamps=True)
    except OSError as exc:
        raise SurveykitError(f"Cannot write the incidents to {str(path)!r}: {exc.strerror or exc}") from None
