"""Typed answer tables: one instrument version's answers, one database column per tidy column.

The store keeps every response's answers as JSON (the canonical record) and, written in the same
transaction, as one row of a typed table: text for single-choice and text questions, a 64-bit
integer or a double for numbers, 0/1 for each choice of a multi-select question, NULL for an
unanswered or skipped question. Reading the tidy frame is then one joined query whose columns
go through Apache Arrow straight into pandas' nullable dtypes, with no per-answer Python work.

This module knows the layout (table and column names, which database type each tidy column
takes), turns answer dictionaries into typed rows through :meth:`Instrument.tidy` (so both
representations agree by construction) and reads a query's rows back into a frame.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from surveykit.collection.instrument import Instrument

__all__ = [
    "KEY_COLUMN",
    "ColumnKind",
    "answer_kinds",
    "answer_rows",
    "answer_table",
    "answer_table_name",
    "conform",
    "keyed_rows",
    "read_frame",
    "same_layout",
]

ColumnKind = Literal["string", "Int64", "Float64", "boolean", "datetime", "int64"]
"""How a fetched column becomes a pandas column: the tidy dtypes, naive timestamps, plain ids."""

KEY_COLUMN = "response_id"
"""The typed table's key: ``responses.id`` of the response the row belongs to."""

_MAX_NAME = 63  # PostgreSQL truncates longer identifiers
_UNSAFE = re.compile(r"[^a-z0-9_]+")
_FETCH_ROWS = 50_000
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SQL_TYPES: dict[str, Any] = {
    "string": sa.Text,
    "Int64": sa.BigInteger,
    "Float64": sa.Float,
    "boolean": sa.SmallInteger,
}
_PANDAS_TYPES = {
    "string": pd.StringDtype(),
    "Int64": pd.Int64Dtype(),
    "Float64": pd.Float64Dtype(),
    "boolean": pd.BooleanDtype(),
}


def answer_kinds(instrument: Instrument) -> dict[str, ColumnKind]:
    """The tidy answer columns of ``instrument``, in order, with their pandas dtype names."""
    return {column: _kind(question.type) for question in instrument.questions for column in question.columns}


def _kind(question_type: str) -> ColumnKind:
    """The tidy dtype of a question type's columns."""
    if question_type == "select_multiple":
        return "boolean"
    return {"integer": "Int64", "decimal": "Float64"}.get(question_type, "string")  # type: ignore[return-value]


def answer_table_name(instrument_id: str, version: int) -> str:
    """A short, safe table name for one instrument version: readable prefix plus a hash.

    Instrument ids may hold any character and be of any length; the name keeps lower-case
    letters, digits and underscores of the id, cut so the whole stays under PostgreSQL's
    63-character limit, and a hash of the full id and version keeps distinct versions apart.
    """
    digest = hashlib.sha256(f"{instrument_id}\0{version}".encode()).hexdigest()[:12]
    readable = _UNSAFE.sub("_", instrument_id.lower()).strip("_")[:30]
    return f"answers_{readable}_v{version}_{digest}"[:_MAX_NAME]


def _column_names(instrument: Instrument) -> list[str]:
    """Database column names of the tidy answer columns, in order.

    The tidy name where it is short enough and distinct ignoring case (SQLite compares column
    names without case); otherwise a cut name with a hash of the full one.
    """
    taken = {KEY_COLUMN}
    names = []
    for column in instrument.columns:
        name = column
        if len(name) > _MAX_NAME or name.lower() in taken:
            name = f"{column[:40]}_{hashlib.sha256(column.encode()).hexdigest()[:12]}"
        taken.add(name.lower())
        names.append(name)
    return names


def answer_table(name: str, instrument: Instrument, responses: sa.Table) -> sa.Table:
    """The typed answer table of ``instrument`` (one version), keyed by ``responses.id``.

    Deleting a response deletes its typed row where the database enforces foreign keys
    (PostgreSQL); elsewhere the row stays behind, unreachable from the response, until its id is
    used again (see ``Store``). The same name and layout give the same table object, so
    SQLAlchemy compiles its statements once, not at every submission.
    """
    kinds = answer_kinds(instrument)
    layout = tuple(zip(_column_names(instrument), kinds, kinds.values(), strict=True))
    return _table(name, layout, responses)


@functools.lru_cache(maxsize=256)
def _table(name: str, layout: tuple[tuple[str, str, ColumnKind], ...], responses: sa.Table) -> sa.Table:
    columns = [sa.Column(db_name, _SQL_TYPES[kind], key=tidy_name) for db_name, tidy_name, kind in layout]
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column(KEY_COLUMN, sa.BigInteger, primary_key=True, autoincrement=False),
        *columns,
        sa.ForeignKeyConstraint([KEY_COLUMN], [responses.c.id], ondelete="CASCADE"),
    )


def answer_rows(instrument: Instrument, records: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]] | None:
    """Typed values for answer dictionaries, one tuple per record in the order of
    :func:`answer_kinds`, or None when the tidy frame cannot be made from them (answers that
    bypassed :meth:`Instrument.clean_answers`); such responses keep only their JSON and are
    read from it.

    Answers as :meth:`Instrument.clean_answers` leaves them (text, whole numbers, finite
    numbers, lists of choice names) are converted directly, a value at a time; anything else goes
    through :meth:`Instrument.tidy`, whose values the direct conversion equals.
    """
    direct = _direct_rows(instrument, records)
    if direct is not None:
        return direct
    try:
        frame = instrument.tidy(list(records))
    except (TypeError, ValueError):
        return None
    columns = []
    for name, kind in answer_kinds(instrument).items():
        values = pa.array(frame[name].array)
        if kind == "boolean":
            values = values.cast(pa.int8())
        columns.append(values.to_pylist())
    return list(zip(*columns, strict=True)) if columns else [() for _ in records]


def _direct_rows(
    instrument: Instrument, records: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]] | None:
    """:func:`answer_rows` for clean answers without pandas (a submission is one record), or None
    at the first value of another type."""
    rows = []
    for record in records:
        row: list[Any] = []
        for question in instrument.questions:
            value = record.get(question.id)
            if question.type == "select_multiple":
                if value is None:
                    row += [None] * len(question.choices)
                    continue
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    return None
                row += [int(choice.name in value) for choice in question.choices]
            elif value is None:
                row.append(None)
            elif question.type == "integer":
                if type(value) is not int or not _INT64_MIN <= value <= _INT64_MAX:
                    return None
                row.append(value)
            elif question.type == "decimal":
                if type(value) not in (int, float) or not math.isfinite(value):
                    return None
                row.append(float(value))
            elif isinstance(value, str):
                row.append(value)
            else:
                return None
        rows.append(tuple(row))
    return rows


def keyed_rows(
    instrument: Instrument, keys: Sequence[int], values: Sequence[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Rows to insert into the typed table: each response's id with its :func:`answer_rows` values."""
    names = [KEY_COLUMN, *answer_kinds(instrument)]
    return [dict(zip(names, (key, *row), strict=True)) for key, row in zip(keys, values, strict=True)]


def same_layout(old: Instrument, new: Instrument) -> bool:
    """Whether ``old``'s typed columns can be read as ``new``'s tidy columns without the JSON.

    True when every question the two share keeps its kind (single choice and text are both
    text), so a shared column keeps its dtype; questions added in ``new`` are missing in
    ``old``'s rows and choices added to a multi-select are unticked where it was answered.
    """
    old_kinds = {q.id: _kind(q.type) for q in old.questions}
    return all(old_kinds[q.id] == _kind(q.type) for q in new.questions if q.id in old_kinds)


def conform(frame: pd.DataFrame, old: Instrument, new: Instrument) -> pd.DataFrame:
    """``old``'s tidy answer columns in ``frame`` rearranged as ``new``'s, as
    :meth:`Instrument.tidy` makes them from ``old``'s answers: questions ``new`` lacks are
    dropped, questions ``old`` lacked are missing, and a multi-select choice ``old`` lacked is
    False where the question was answered. Requires :func:`same_layout`."""
    old_questions = {q.id: q for q in old.questions}
    out: dict[str, pd.Series] = {}
    n = len(frame)
    for question in new.questions:
        before = old_questions.get(question.id)
        for column in question.columns:
            if column in frame.columns and before is not None:
                out[column] = frame[column]
            elif before is not None and question.type == "select_multiple":
                answered = frame[before.columns[0]].notna().to_numpy()
                unticked = pd.arrays.BooleanArray(np.zeros(n, dtype=bool), ~answered)
                out[column] = pd.Series(unticked, index=frame.index)
            else:
                out[column] = pd.Series(
                    pd.array([None] * n, dtype=_PANDAS_TYPES[_kind(question.type)]), index=frame.index
                )
    return pd.DataFrame(out, index=frame.index)


def read_frame(conn: sa.Connection, query: sa.Select, kinds: Mapping[str, ColumnKind]) -> pd.DataFrame:
    """Run ``query`` and return its rows as a frame with the given column names and dtypes.

    Rows are fetched from the driver's own cursor in blocks and converted per block by Arrow
    (one C++ pass, no per-value Python objects kept), so memory stays near the frame's own. On
    PostgreSQL this needs the open transaction ``conn`` is in (any earlier statement began it).
    """
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    arguments: Any = (
        params if compiled.positiontup is None else tuple(params[name] for name in compiled.positiontup)
    )
    sqlite = conn.dialect.name == "sqlite"
    fields = [(name, _arrow_type(kind, sqlite)) for name, kind in kinds.items()]
    row_type = pa.struct(fields)
    blocks = []
    dbapi = conn.connection.dbapi_connection
    # On PostgreSQL a named (server-side) cursor: the server sends one block at a time instead of
    # the client library holding the whole result as text.
    cursor = dbapi.cursor() if sqlite else dbapi.cursor(name="surveykit_read_frame")  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.string, arguments)
        while rows := cursor.fetchmany(_FETCH_ROWS):
            blocks.append(pa.array(rows, type=row_type))
    finally:
        cursor.close()
    data = {}
    for position, (name, kind) in enumerate(kinds.items()):
        column = pa.chunked_array([block.field(position) for block in blocks], type=fields[position][1])
        data[name] = _to_pandas(column, kind)
    return pd.DataFrame(data, index=pd.RangeIndex(sum(len(b) for b in blocks)), copy=False)


def _arrow_type(kind: ColumnKind, sqlite: bool) -> pa.DataType:
    if kind == "datetime":
        return pa.string() if sqlite else pa.timestamp("us")  # SQLite keeps ISO text
    return {
        "string": pa.string(),
        "Int64": pa.int64(),
        "int64": pa.int64(),
        "Float64": pa.float64(),
        "boolean": pa.int8(),
    }[kind]


def _to_pandas(column: pa.ChunkedArray, kind: ColumnKind) -> pd.Series:
    if kind == "datetime":
        if column.type != pa.timestamp("us"):
            column = pc.cast(column, pa.timestamp("us"))
        return column.to_pandas().astype("datetime64[ns]")
    if kind == "int64":
        return column.to_pandas()
    if kind == "boolean":
        column = pc.cast(column, pa.bool_())
    dtype = _PANDAS_TYPES[kind]
    return column.to_pandas(types_mapper=lambda _: dtype)
