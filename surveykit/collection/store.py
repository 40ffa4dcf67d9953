"""The data store: instruments, survey responses, waves, invitations, population margins,
incidents and analyst accounts.

One SQLAlchemy code path serves an embedded SQLite file (the default) and a shared PostgreSQL
server. The schema is created on first use and carries a schema version in the ``meta`` table;
opening a store made by an older surveykit upgrades it in place, keeping every row; processes
opening a store at once take turns (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
PostgreSQL). Every write is all or nothing: a failed import leaves the store as it was.

Under contention: SQLite runs in WAL mode, so reading never waits for a writer; a writer waits
for the write lock, trying every few milliseconds, up to ``busy_timeout`` seconds and then raises
:class:`~surveykit.exceptions.StoreBusyError`, having stored nothing. A large import is a *bulk
import*: its rows are committed in batches (50,000 incidents or 5,000 responses, each well under
a second of holding the lock), tagged with the import's id in the ``imports`` table and hidden
from every read until one short last transaction marks the import finished. A failed import
deletes its rows; one whose process died is taken for dead after ``import_stale_after`` seconds
without progress, and the next import deletes its rows. One bulk import runs at a time. Two
writers racing on the same idempotency key or instrument version both succeed: the loser runs
again and finds the winner's row.

Waves are managed when they have a row in the ``waves`` table (see :meth:`Store.open_wave`):
:meth:`Store.submit` then refuses answers outside the wave's opening window. A wave without a
row (demo data, imported or legacy responses) is *unmanaged* and accepts answers as before.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import random
import re
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError

from surveykit._limits import shorten
from surveykit._spreadsheet import FORMULA_TRIGGERS
from surveykit.collection.answer_table import (
    KEY_COLUMN,
    ColumnKind,
    answer_kinds,
    answer_rows,
    answer_table,
    answer_table_name,
    conform,
    keyed_rows,
    read_frame,
    same_layout,
)
from surveykit.collection.instrument import Instrument
from surveykit.exceptions import (
    InstrumentError,
    InvitationError,
    InvitationUsedError,
    LoginThrottledError,
    StoreBusyError,
    StoreError,
    WaveClosedError,
)
from surveykit.incidents.schema import INCIDENT_COLUMNS, INCIDENT_DTYPES

__all__ = [
    "BUSY_MESSAGE",
    "DEFAULT_BUSY_TIMEOUT",
    "DEFAULT_DB_URL",
    "LOGIN_WINDOW",
    "MAX_FAILED_LOGINS",
    "SCHEMA_VERSION",
    "InvitationStatus",
    "Store",
    "SubmitResult",
    "WaveStatus",
    "resolve_db_url",
]

SCHEMA_VERSION = 4
DEFAULT_DB_URL = "sqlite:///surveykit.db"
_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql+psycopg2": "postgresql+psycopg2",
}

_log = logging.getLogger(__name__)
_metadata = sa.MetaData()

_meta = sa.Table(
    "meta",
    _metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

_instruments = sa.Table(
    "instruments",
    _metadata,
    sa.Column("instrument_id", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

_responses = sa.Table(
    "responses",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("respondent_id", sa.String(64), nullable=False, unique=True),
    sa.Column("instrument_id", sa.String(128), nullable=False),
    sa.Column("instrument_version", sa.Integer, nullable=False),
    sa.Column("wave", sa.String(32), nullable=False),
    sa.Column("submitted_at", sa.DateTime, nullable=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("answers", sa.Text, nullable=False),
    sa.Column("import_id", sa.Integer, nullable=True),
    sa.ForeignKeyConstraint(
        ["instrument_id", "instrument_version"],
        ["instruments.instrument_id", "instruments.version"],
    ),
    sa.Index("ix_responses_instrument_wave", "instrument_id", "wave"),
    sa.Index("ix_responses_import", "import_id"),
)

_SQL_TYPES: dict[str, Any] = {
    "string": sa.Text,
    "Int64": sa.Integer,
    "Float64": sa.Float,
    "datetime64[ns]": sa.DateTime,
}
_incidents = sa.Table(
    "incidents",
    _metadata,
    # One column per canonical incident column; surveykit.incidents.schema owns the list and dtypes.
    *(
        sa.Column(name, sa.String(128), primary_key=True)
        if name == "incident_id"
        else sa.Column(name, sa.Date if name == "occurred_on" else _SQL_TYPES[INCIDENT_DTYPES[name]])
        for name in INCIDENT_COLUMNS
    ),
    sa.Column("imported_at", sa.DateTime, nullable=False),
    sa.Column("import_id", sa.Integer, nullable=True),
    sa.Index("ix_incidents_import", "import_id"),
)

_analysts = sa.Table(
    "analysts",
    _metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

# --- schema version 2 ------------------------------------------------------------------------

_waves = sa.Table(
    "waves",
    _metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("opens_at", sa.DateTime, nullable=False),
    sa.Column("closes_at", sa.DateTime, nullable=True),
    sa.Column("open_to_anyone", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

_invitations = sa.Table(
    "invitations",
    _metadata,
    # Only the SHA-256 of a token is stored: a copy of the database yields no usable link.
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("wave", sa.String(32), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("used_at", sa.DateTime, nullable=True),
    sa.Column("respondent_id", sa.String(64), nullable=True),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)

_margins = sa.Table(
    "margins",
    _metadata,
    sa.Column("variable", sa.String(128), primary_key=True),
    sa.Column("level", sa.String(128), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("count", sa.Float, nullable=False),
)

_login_failures = sa.Table(
    "login_attempts",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("client", sa.String(128), nullable=True, index=True),
    sa.Column("attempted_at", sa.DateTime, nullable=False),
)

_V2_TABLES = [_waves, _invitations, _margins, _login_failures]

# --- schema version 3 ------------------------------------------------------------------------

_imports = sa.Table(
    "imports",
    _metadata,
    # A bulk import commits its rows in batches, each tagged with the import's id; they stay
    # invisible to every read until ``finished_at`` is set in one short last transaction.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("heartbeat_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    sa.Column("abandoned_at", sa.DateTime, nullable=True),
    sa.Column("rows", sa.Integer, nullable=True),
)

# --- schema version 4: typed answers ---------------------------------------------------------

_answer_tables = sa.Table(
    "answer_tables",
    _metadata,
    # One typed answer table per instrument version (surveykit.collection.answer_table); its
    # name is derived from the instrument id, cut short and hash-suffixed, and recorded here.
    sa.Column("instrument_id", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("table_name", sa.String(63), nullable=False, unique=True),
    sa.ForeignKeyConstraint(
        ["instrument_id", "version"], ["instruments.instrument_id", "instruments.version"]
    ),
)

WaveStatus = Literal["scheduled", "open", "closed", "unmanaged"]
InvitationStatus = Literal["unknown", "used", "revoked", "valid"]

MAX_FAILED_LOGINS = 5
LOGIN_WINDOW = timedelta(minutes=15)
_FIRST_LOCKOUT = timedelta(seconds=30)

DEFAULT_BUSY_TIMEOUT = 30.0
DEFAULT_IMPORT_STALE_AFTER = 120.0
BUSY_MESSAGE = (
    "The survey store is busy; your answers were not saved yet. Please press Submit again in a moment."
)
_RACE_ATTEMPTS = 4
_STAGING_BATCH = 5000
# Rows per write transaction of a bulk import: each holds the write lock for well under a second.
_INCIDENT_BATCH = 50_000
_RESPONSE_BATCH = 5_000
_DELETE_BATCH = 50_000
_BATCH_PAUSE = 0.12
_LOCK_POLL_MS = 2  # how often a writer waiting for SQLite's write lock tries again
_RETRY_STATES = {"40001", "40P01"}  # PostgreSQL serialization_failure, deadlock_detected
_T = TypeVar("_T")

_EDITS_KEY = "response_edits"  # meta row counting deletions and wave renames
_SCHEMA_LOCK_KEY = 0x5375727665794B  # "SurveyK": any constant shared by every surveykit process


def _migrate_1_to_2(conn: sa.Connection) -> None:
    """Version 2 adds waves, invitations, population margins and failed logins; no v1 table changes."""
    for table in _V2_TABLES:
        table.create(conn, checkfirst=True)


def _migrate_2_to_3(conn: sa.Connection) -> None:
    """Version 3 adds the imports table and tags responses and incidents with their import."""
    _imports.create(conn, checkfirst=True)
    for table in (_responses, _incidents):
        if "import_id" not in {c["name"] for c in sa.inspect(conn).get_columns(table.name)}:
            conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN import_id INTEGER"))
        for index in table.indexes:
            if index.name and index.name.endswith("_import"):
                index.create(conn, checkfirst=True)


def _migrate_3_to_4(conn: sa.Connection) -> None:
    """Version 4 keeps every response's answers also in a typed table per instrument version,
    filled here from the stored JSON, which stays the canonical record."""
    _answer_tables.create(conn, checkfirst=True)
    for definition in list(conn.scalars(sa.select(_instruments.c.definition))):
        instrument = _stored_instrument(definition)
        if instrument is not None:
            _fill_answer_table(conn, instrument, _answer_table_for(conn, instrument))


_MIGRATIONS = {1: _migrate_1_to_2, 2: _migrate_2_to_3, 3: _migrate_3_to_4}

_RESPONSE_META = ["respondent_id", "wave", "submitted_at", "instrument_id", "instrument_version"]
_COUNT_META = ["wave", "source", "instrument_id"]
_ANSWER_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ANSWER_TABLE_LOCK_KEY = 0x5375727665794C  # serialises creating typed answer tables on PostgreSQL
_FILL_BATCH = 5000


@dataclass(frozen=True)
class SubmitResult:
    """What :meth:`Store.submit` did.

    Attributes
    ----------
    respondent_id : str
        The stored response's anonymous id.
    created : bool
        False when a response with the same idempotency key was already stored.
    """

    respondent_id: str
    created: bool


def resolve_db_url(url: str | None = None) -> str:
    """Turn a ``--db`` value (or ``SURVEYKIT_DB_URL``, or the default) into a SQLAlchemy URL.

    A bare file path means a SQLite file; ``postgresql://`` uses the psycopg 3 driver.

    Raises
    ------
    StoreError
        If the URL's scheme is not SQLite or PostgreSQL.
    """
    url = url or os.environ.get("SURVEYKIT_DB_URL") or DEFAULT_DB_URL
    if "://" not in url:
        url = f"sqlite:///{url}"
    scheme, rest = url.split("://", 1)
    if scheme.lower() == "sqlite" and rest not in {"", "/", "/:memory:"}:
        # Absolute, so the app started in another process opens the same file.
        return f"sqlite:///{Path(rest[1:]).expanduser().resolve()}"
    driver = _SCHEMES.get(scheme.lower())
    if driver is None:
        raise StoreError(
            f"Unknown database URL scheme {scheme!r} in {_redact(url)!r}; use sqlite:///path/to/file.db "
            "or postgresql://user:password@host/dbname"
        )
    return f"{driver}://{rest}"


def _seconds(seconds: float | None, variable: str, default: float, name: str) -> float:
    """A bound in seconds: the argument, else the environment ``variable``, else ``default``."""
    if seconds is None:
        text = os.environ.get(variable, "").strip()
        try:
            seconds = float(text) if text else default
        except ValueError:
            raise StoreError(f"{variable} must be a number of seconds, got {text!r}") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise StoreError(f"{name} must be a non-negative number of seconds, got {seconds!r}")
    return float(seconds)


def _sqlite_settings(busy_timeout: float) -> Callable[[Any, Any], None]:
    """Settings for every new SQLite connection: a busy timeout, the write-ahead log (readers are
    never blocked by a writer, and a writer by readers) and ``synchronous=NORMAL``, which WAL keeps
    safe against corruption."""

    def configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError:
                pass  # locked by another process; the file keeps WAL once any connection set it
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    return configure


def _is_busy(error: OperationalError) -> bool:
    """Whether SQLite gave up waiting for a lock ("database is locked" or "... busy")."""
    return isinstance(error.orig, sqlite3.OperationalError) and (
        "locked" in str(error.orig) or "busy" in str(error.orig)
    )


def _sqlstate(error: sa.exc.DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)


def _one_line(error: BaseException | None) -> str:
    """A database driver's message on one line: PostgreSQL adds DETAIL and HINT lines, psycopg an
    "Is the server running" line, and the command line prints every error as a single line."""
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip())


def _redact(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class Store:
    """A surveykit data store.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL or SQLite file path; defaults to ``SURVEYKIT_DB_URL`` or
        ``sqlite:///surveykit.db``.
    busy_timeout : float, optional
        Seconds a write waits for another writer's lock on SQLite before giving up with
        :class:`~surveykit.exceptions.StoreBusyError`; defaults to ``SURVEYKIT_BUSY_TIMEOUT`` or
        30.
    import_stale_after : float, optional
        Seconds without progress after which a bulk import is taken for dead (its process was
        killed, say) and the rows it committed are removed by the next import; defaults to
        ``SURVEYKIT_IMPORT_STALE_AFTER`` or 120.
    import_batch : int, optional
        Rows per write transaction of a bulk import (by default 50,000 incidents or 5,000
        responses, each well under a second of holding the write lock); smaller for a slow disk.

    Raises
    ------
    StoreBusyError
        If the schema had to be created or upgraded and another writer held the lock too long.
    StoreError
        If the URL is not understood, the server cannot be reached, the store was made by a
        newer surveykit, or ``busy_timeout`` is not a non-negative number.

    Examples
    --------
    >>> store = Store("sqlite:///:memory:")
    >>> store.responses().empty
    True
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        busy_timeout: float | None = None,
        import_stale_after: float | None = None,
        import_batch: int | None = None,
    ) -> None:
        self.url = resolve_db_url(url)
        self.busy_timeout = _seconds(
            busy_timeout, "SURVEYKIT_BUSY_TIMEOUT", DEFAULT_BUSY_TIMEOUT, "busy_timeout"
        )
        if import_batch is not None and (
            isinstance(import_batch, bool) or not isinstance(import_batch, int) or import_batch < 1
        ):
            raise StoreError(f"import_batch must be a positive whole number of rows, got {import_batch!r}")
        self._incident_batch = import_batch or _INCIDENT_BATCH
        self._response_batch = import_batch or _RESPONSE_BATCH
        self.import_stale_after = _seconds(
            import_stale_after,
            "SURVEYKIT_IMPORT_STALE_AFTER",
            DEFAULT_IMPORT_STALE_AFTER,
            "import_stale_after",
        )
        try:
            self._engine = sa.create_engine(self.url, future=True)
            if self._engine.dialect.name == "sqlite":
                sa.event.listen(self._engine, "connect", _sqlite_settings(self.busy_timeout))
            if self._engine.dialect.name == "sqlite" and ":memory:" not in self.url:
                database = self._engine.url.database
                if database and not Path(database).parent.exists():
                    raise StoreError(f"The folder for the SQLite file {database!r} does not exist.")
            self._create_schema()
        except NoSuchModuleError as exc:
            raise StoreError(f"No database driver for {_redact(self.url)!r}: {_one_line(exc)}") from None
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"The driver for {_redact(self.url)!r} is not installed ({exc.name}); "
                "install it with: pip install 'surveykit[postgres]'"
            ) from None
        except OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusyError(BUSY_MESSAGE) from None
            raise StoreError(
                f"Cannot open the store at {_redact(self.url)!r}: {_one_line(exc.orig or exc)}"
            ) from None
        except sa.exc.DBAPIError as exc:
            raise StoreError(
                f"Cannot open the store at {_redact(self.url)!r}: {_one_line(exc.orig or exc)}"
            ) from None

    def __repr__(self) -> str:
        return f"Store({_redact(self.url)!r})"

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        """A write transaction. On SQLite it takes the write lock at once (``BEGIN IMMEDIATE``,
        tried every few milliseconds for up to ``busy_timeout`` seconds), instead of failing
        when its read snapshot goes stale under WAL.

        Raises
        ------
        StoreBusyError
            If another writer kept the store locked for longer than ``busy_timeout``.
        """
        with self._engine.connect() as conn, self._locked(conn):
            yield conn

    @contextmanager
    def _locked(self, conn: sa.Connection) -> Iterator[None]:
        """A write transaction on ``conn``, as :meth:`_begin` makes."""
        try:
            with conn.begin():
                if self.dialect == "sqlite":
                    self._take_write_lock(conn)
                yield
        except OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusyError(BUSY_MESSAGE) from None
            raise

    def _take_write_lock(self, conn: sa.Connection) -> None:
        """``BEGIN IMMEDIATE`` on SQLite, tried every few milliseconds for up to ``busy_timeout``.

        SQLite's own busy handler sleeps longer and longer between tries (up to 0.1 s), so under
        a steady stream of writers one waiter can lose the lock for seconds; trying often, at
        random moments, takes turns more fairly.
        """
        deadline = time.monotonic() + self.busy_timeout
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {_LOCK_POLL_MS}")
        try:
            while True:
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    return
                except OperationalError as exc:
                    if not _is_busy(exc) or time.monotonic() >= deadline:
                        raise
                time.sleep(random.uniform(0, _LOCK_POLL_MS / 1000))
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {round(self.busy_timeout * 1000)}")

    def _write(self, body: Callable[[sa.Connection], _T], conflict: str) -> _T:
        """Run ``body`` in a write transaction, again from the start after losing a race.

        Two processes can both find a key (an idempotency key, an instrument version) missing and
        both insert it; the loser's unique-constraint error, or a PostgreSQL deadlock or
        serialisation failure, rolls its transaction back, and running it again finds the
        winner's row. ``conflict`` starts the message when the constraint still fails.
        """
        for attempt in range(_RACE_ATTEMPTS):
            try:
                with self._begin() as conn:
                    return body(conn)
            except IntegrityError as exc:
                if attempt == _RACE_ATTEMPTS - 1:
                    raise StoreError(f"{conflict}: {_one_line(exc.orig)}") from None
            except OperationalError as exc:
                if _sqlstate(exc) not in _RETRY_STATES or attempt == _RACE_ATTEMPTS - 1:
                    raise
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    # --- schema ---------------------------------------------------------------------------

    def _create_schema(self) -> None:
        with self._engine.connect() as conn:
            if self._schema_is_current(conn):
                return  # the usual case: no write lock, so opening never waits for a long import
        with self._engine.begin() as conn:
            self._lock_schema(conn)
            if not sa.inspect(conn).has_table(_meta.name):
                _metadata.create_all(conn)
                conn.execute(_meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            stored = conn.execute(
                sa.select(_meta.c.value).where(_meta.c.key == "schema_version")
            ).scalar_one_or_none()
            version = SCHEMA_VERSION if stored is None else int(stored)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"The store has schema version {stored}, newer than this surveykit supports "
                    f"({SCHEMA_VERSION}); upgrade surveykit."
                )
            _metadata.create_all(conn)  # tables of version 1 (a store interrupted while first created)
            for step in range(version, SCHEMA_VERSION):
                _MIGRATIONS[step](conn)
            values = {"key": "schema_version", "value": str(SCHEMA_VERSION)}
            if stored is None:
                conn.execute(_meta.insert().values(**values))
            elif version < SCHEMA_VERSION:
                conn.execute(
                    _meta.update().where(_meta.c.key == "schema_version").values(value=values["value"])
                )

    def _schema_is_current(self, conn: sa.Connection) -> bool:
        """Whether every table exists and the recorded version is this surveykit's (read only)."""
        if not set(_metadata.tables) <= set(sa.inspect(conn).get_table_names()):
            return False
        query = sa.select(_meta.c.value).where(_meta.c.key == "schema_version")
        return conn.execute(query).scalar_one_or_none() == str(SCHEMA_VERSION)

    def _lock_schema(self, conn: sa.Connection) -> None:
        """Serialise schema creation and upgrades between processes opening the store at once."""
        if self.dialect == "sqlite":
            # pysqlite starts transactions lazily, only before data changes; take the write lock now
            # so a second opener waits here and then finds the schema made (or upgraded).
            self._take_write_lock(conn)
        elif self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})

    @property
    def schema_version(self) -> int:
        """The schema version recorded in the store."""
        with self._engine.connect() as conn:
            value = conn.execute(sa.select(_meta.c.value).where(_meta.c.key == "schema_version"))
            return int(value.scalar_one())

    # --- instruments ----------------------------------------------------------------------

    def save_instrument(self, instrument: Instrument) -> None:
        """Store an instrument version; storing the same version again is a no-op.

        Raises
        ------
        StoreError
            If a different definition is already stored under the same id and version.
        """
        definition = json.dumps(instrument.to_dict(), sort_keys=True)
        self._write(
            lambda conn: self._save_instrument(conn, instrument, definition),
            conflict=f"Instrument {instrument.id!r} version {instrument.version} could not be stored",
        )

    def _save_instrument(self, conn: sa.Connection, instrument: Instrument, definition: str) -> None:
        existing = conn.execute(
            sa.select(_instruments.c.definition).where(
                _instruments.c.instrument_id == instrument.id,
                _instruments.c.version == instrument.version,
            )
        ).scalar_one_or_none()
        if existing is None:
            conn.execute(
                _instruments.insert().values(
                    instrument_id=instrument.id,
                    version=instrument.version,
                    title=instrument.title,
                    definition=definition,
                    created_at=_now(),
                )
            )
        elif existing != definition:
            raise StoreError(
                f"Instrument {instrument.id!r} version {instrument.version} is already stored with a "
                "different definition; give the changed instrument a new version number."
            )

    def instrument(self, instrument_id: str | None = None, version: int | None = None) -> Instrument:
        """Load a stored instrument (the latest version unless ``version`` is given).

        Raises
        ------
        StoreError
            If no such instrument is stored, or several are and none was named.
        """
        query = sa.select(_instruments.c.instrument_id, _instruments.c.version, _instruments.c.definition)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        if instrument_id is None:
            ids = sorted({r.instrument_id for r in rows})
            if len(ids) != 1:
                raise StoreError(
                    "No instrument is stored yet; run 'surveykit demo' or import responses first."
                    if not ids
                    else f"Several instruments are stored ({ids}); name one."
                )
            instrument_id = ids[0]
        rows = [r for r in rows if r.instrument_id == instrument_id]
        if version is not None:
            rows = [r for r in rows if r.version == version]
        if not rows:
            raise StoreError(f"Instrument {instrument_id!r} version {version or 'any'} is not stored.")
        row = max(rows, key=lambda r: r.version)
        return Instrument.from_dict(json.loads(row.definition), source=f"stored {instrument_id}")

    def latest_instrument(self, default: Instrument | None = None) -> Instrument:
        """The stored instrument (its latest version), or ``default`` when none is stored.

        Raises
        ------
        StoreError
            If none is stored and no default is given, or several instruments are stored.
        """
        with self._engine.connect() as conn:
            ids = list(conn.scalars(sa.select(_instruments.c.instrument_id).distinct()))
        if not ids and default is not None:
            return default
        return self.instrument()

    # --- responses ------------------------------------------------------------------------

    def submit(
        self,
        instrument: Instrument,
        answers: Mapping[str, Any],
        *,
        wave: str,
        idempotency_key: str | None = None,
        submitted_at: datetime | None = None,
        source: str = "form",
        invitation: str | None = None,
    ) -> SubmitResult:
        """Validate and store one response.

        Parameters
        ----------
        instrument : Instrument
            The instrument answered.
        answers : mapping
            Answers keyed by question id.
        wave : str
            Survey wave, for example ``"2016-12"``. A managed wave (one opened with
            :meth:`open_wave`) must be open now; an unmanaged wave accepts answers at any time.
        idempotency_key : str, optional
            A key unique to this submission; submitting again with the same key stores nothing
            and returns the first response's id. A fresh key is made when omitted.
        submitted_at : datetime, optional
            Defaults to now (UTC).
        source : str
            Where the response came from (``"form"``, ``"import"``, ``"demo"``).
        invitation : str, optional
            An invitation token from :meth:`create_invitations` for this wave; it is used up in
            the same transaction that stores the response. Required when the wave is not open to
            anyone.

        Raises
        ------
        InstrumentError
            If the answers are invalid; nothing is stored.
        WaveClosedError
            If the wave is managed and closed or not open yet.
        InvitationUsedError
            If the invitation was already used for another response.
        InvitationError
            If the invitation is unknown, revoked, for another wave, or missing where required.
        StoreBusyError
            If another writer (a long import) held the store longer than ``busy_timeout``;
            nothing was stored and submitting again with the same key is safe.
        StoreError
            If the key was used before for different answers.
        """
        cleaned = instrument.clean_answers(answers)
        row = {
            "answers": cleaned,
            "wave": wave,
            "idempotency_key": idempotency_key,
            "submitted_at": submitted_at,
            "source": source,
        }
        return self._store_responses(instrument, [row], form=True, invitation=invitation)[0]

    def add_responses(self, instrument: Instrument, rows: Iterable[Mapping[str, Any]]) -> list[SubmitResult]:
        """Store validated responses in one transaction.

        Unlike :meth:`submit`, this is an administrator's bulk write (imports, demo data): it
        does not check whether a wave is open and needs no invitations.

        Parameters
        ----------
        instrument : Instrument
            The instrument answered; stored alongside if new.
        rows : iterable of mapping
            Each with ``answers`` (answers already passed through
            :meth:`Instrument.clean_answers`), ``wave`` and optionally ``idempotency_key``,
            ``submitted_at`` and ``source``.

        Returns
        -------
        list of SubmitResult
            One per row, in order. A row whose key is already stored with the same answers is
            skipped (``created=False``); a key reused for different answers aborts the batch.

        Raises
        ------
        StoreError
            If a wave is blank, a key repeats within the batch or clashes with a stored response.
        """
        return self._store_responses(instrument, rows, form=False, invitation=None)

    def _store_responses(
        self,
        instrument: Instrument,
        rows: Iterable[Mapping[str, Any]],
        *,
        form: bool,
        invitation: str | None,
    ) -> list[SubmitResult]:
        given = list(rows)
        rows = [_response_row(instrument, r) for r in given]
        typed = _typed_answers(instrument, rows, [r["answers"] for r in given])
        keys = [r["idempotency_key"] for r in rows]
        if len(set(keys)) != len(keys):
            seen: set[str] = set()
            repeated = next(k for k in keys if k in seen or seen.add(k))
            raise StoreError(f"The idempotency key {repeated!r} appears more than once in one batch.")
        definition = json.dumps(instrument.to_dict(), sort_keys=True)

        if not form and len(rows) > self._response_batch:
            return self._bulk_responses(instrument, rows, typed, definition)

        def store(conn: sa.Connection) -> list[SubmitResult]:
            results, new_rows = _classify(conn, rows)
            if form and new_rows:
                (row,) = new_rows
                already = self._admit(conn, row, invitation)
                if already is not None:
                    return [already]
            # On SQLite the transaction holds the write lock from its start (see _begin), so a
            # competing submission with the same key or invitation waits and then finds this one.
            self._save_instrument(conn, instrument, definition)
            if new_rows:
                _insert_responses(conn, instrument, new_rows, typed)
            return results

        # A submission racing another with the same key loses at the unique index; run again, it
        # finds the winner's response and answers "already recorded" (created=False).
        return self._write(store, conflict="The responses conflict with stored ones")

    def _bulk_responses(
        self,
        instrument: Instrument,
        rows: list[dict[str, Any]],
        typed: Mapping[str, Mapping[str, Any]],
        definition: str,
    ) -> list[SubmitResult]:
        """Store many responses as one bulk import: batches invisible until the last commits."""
        with self._bulk_import("responses") as import_id, self._engine.connect() as conn:
            with conn.begin():
                results, new_rows = _classify(conn, rows)
            with self._import_batch(conn, import_id):
                self._save_instrument(conn, instrument, definition)
            try:
                for chunk in _chunks(new_rows, self._response_batch):
                    with self._import_batch(conn, import_id):
                        tagged = [{**row, "import_id": import_id} for row in chunk]
                        _insert_responses(conn, instrument, tagged, typed)
            except IntegrityError as exc:
                raise StoreError(f"The responses conflict with stored ones: {_one_line(exc.orig)}") from None
            self._finish_import(conn, import_id, _responses)
        return results

    def _admit(self, conn: sa.Connection, row: dict[str, Any], token: str | None) -> SubmitResult | None:
        """Check a form submission against its wave and use up its invitation.

        Returns the earlier response when this very submission (same idempotency key) already
        used the invitation, so a retried submission is not an error.
        """
        now = _now()
        wave = conn.execute(sa.select(_waves).where(_waves.c.name == row["wave"])).one_or_none()
        if wave is not None:
            status = _wave_status(wave, now)
            if status != "open":
                raise WaveClosedError(_closed_message(wave, status))
            if token is None and not wave.open_to_anyone:
                raise InvitationError(
                    f"Wave {wave.name!r} is by invitation only; open the invitation link you were sent."
                )
        if token is None:
            return None
        token_hash = _token_hash(token)
        used = conn.execute(
            _invitations.update()
            .where(
                _invitations.c.token_hash == token_hash,
                _invitations.c.wave == row["wave"],
                _invitations.c.used_at.is_(None),
                _invitations.c.revoked_at.is_(None),
            )
            .values(used_at=now, respondent_id=row["respondent_id"])
        )
        if used.rowcount == 1:
            return None
        stored = conn.execute(
            sa.select(_invitations).where(_invitations.c.token_hash == token_hash)
        ).one_or_none()
        if stored is None:
            raise InvitationError("This invitation link is not known; check that the whole link was copied.")
        if stored.wave != row["wave"]:
            raise InvitationError(
                f"This invitation is for wave {stored.wave!r}, not {row['wave']!r}; "
                f"submit to wave {stored.wave!r}."
            )
        if stored.revoked_at is not None:
            raise InvitationError("This invitation link was withdrawn; ask the survey team for a new one.")
        earlier = conn.execute(
            sa.select(_responses.c.respondent_id).where(
                _responses.c.respondent_id == stored.respondent_id,
                _responses.c.idempotency_key == row["idempotency_key"],
            )
        ).scalar_one_or_none()
        if earlier is not None:
            return SubmitResult(earlier, created=False)
        raise InvitationUsedError(
            "This invitation link was already used to answer the survey; each link allows one response."
        )

    def count_responses(self, wave: str | None = None) -> int:
        """Number of stored responses, optionally in one wave."""
        query = sa.select(sa.func.count()).select_from(_responses).where(_visible(_responses))
        if wave is not None:
            query = query.where(_responses.c.wave == wave)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def responses_version(self) -> str:
        """A marker that changes whenever the stored responses change, for cache keys.

        It is the number of responses and the largest id (new submissions and finished imports
        change them) and a count of edits kept in the store (deleting responses and renaming a
        wave add one), read in one cheap query: a cache keyed on it is never stale, and a page
        need not read every response to know.
        """
        responses = sa.select(sa.func.count(), sa.func.max(_responses.c.id)).where(_visible(_responses))
        edits = sa.select(_meta.c.value).where(_meta.c.key == _EDITS_KEY)
        with self._engine.connect() as conn:
            count, largest = conn.execute(responses).one()
            edited = conn.execute(edits).scalar_one_or_none()
        return f"{count}:{largest or 0}:{edited or 0}"

    def _count_edit(self, conn: sa.Connection) -> None:
        """Add one to the store's count of response edits (see :meth:`responses_version`)."""
        changed = conn.execute(
            _meta.update()
            .where(_meta.c.key == _EDITS_KEY)
            .values(value=sa.cast(sa.cast(_meta.c.value, sa.Integer) + 1, sa.Text))
        )
        if changed.rowcount == 0:
            conn.execute(_meta.insert().values(key=_EDITS_KEY, value="1"))

    def waves(self) -> list[str]:
        """Survey waves present, in order."""
        query = (
            sa.select(_responses.c.wave).distinct().where(_visible(_responses)).order_by(_responses.c.wave)
        )
        with self._engine.connect() as conn:
            return [w for (w,) in conn.execute(query)]

    def responses(
        self, wave: str | Iterable[str] | None = None, instrument_id: str | None = None
    ) -> pd.DataFrame:
        """Stored responses as a tidy frame, one row per respondent.

        Columns are ``respondent_id, wave, submitted_at, instrument_id, instrument_version`` and
        then the instrument's answer columns, multi-select questions expanded to one nullable
        boolean column per choice (``question__choice``). Responses to older versions of the
        instrument appear under its latest version's columns.

        The answers are read from the typed answer tables (one joined query per instrument
        version, no per-answer Python work); responses without a typed row, and versions whose
        questions changed type, are read from their JSON record.

        Parameters
        ----------
        wave : str or list of str, optional
            Keep only these waves.
        instrument_id : str, optional
            Needed when the store holds several instruments.
        """
        with self._engine.connect() as conn:
            has_instrument = conn.execute(sa.select(sa.func.count()).select_from(_instruments)).scalar_one()
        if not has_instrument:
            return pd.DataFrame(columns=_RESPONSE_META)
        instrument = self.instrument(instrument_id)
        conditions = [_responses.c.instrument_id == instrument.id, _visible(_responses)]
        if isinstance(wave, str):
            conditions.append(_responses.c.wave == wave)
        elif wave is not None:
            conditions.append(_responses.c.wave.in_(list(wave)))
        with self._engine.connect() as conn:
            return _read_responses(conn, instrument, conditions)

    def response_counts(
        self,
        by: Sequence[str] = ("wave", "country"),
        *,
        wave: str | None = None,
        source: str | None = None,
    ) -> pd.DataFrame:
        """Number of stored responses per group, counted by the database without reading answers
        into Python.

        Parameters
        ----------
        by : sequence of str
            Grouping columns: ``"wave"``, ``"source"``, ``"instrument_id"``, or the id of a
            stored question with a single answer (``"country"``, ``"org_size"``...), read from
            the stored answers by the database's JSON functions.
        wave, source : str, optional
            Count only this wave, or only responses from this source (``"form"``, ``"import"``,
            ``"demo"``).

        Returns
        -------
        DataFrame
            The ``by`` columns (text; missing where a respondent did not answer), then
            ``responses``, one row per combination present, ordered by the ``by`` columns.

        Raises
        ------
        StoreError
            If a ``by`` column is neither a response field nor a single-answer question of a
            stored instrument.

        Examples
        --------
        >>> Store("sqlite:///:memory:").response_counts(by=("wave", "country")).columns.tolist()
        ['wave', 'country', 'responses']
        """
        by = [by] if isinstance(by, str) else list(by)
        if len(set(by)) != len(by):
            raise StoreError(f"by names a column twice: {by}")
        with self._engine.connect() as conn:
            definitions = list(conn.scalars(sa.select(_instruments.c.definition)))
        questions: dict[str, str] = {}
        for definition in definitions:
            for question in json.loads(definition).get("questions", []):
                questions.setdefault(question["id"], question["type"])
        columns = []
        for name in by:
            if name in _COUNT_META:
                columns.append(_responses.c[name].label(name))
            elif questions.get(name) not in (None, "select_multiple") and _ANSWER_KEY.match(name):
                columns.append(self._answer_text(name).label(name))
            else:
                single = sorted(q for q, kind in questions.items() if kind != "select_multiple")
                reason = (
                    "has several answers per respondent"
                    if questions.get(name) == "select_multiple"
                    else "is not a response field or a stored question"
                )
                raise StoreError(
                    f"Cannot count responses by {name!r}: it {reason}; choose from {_COUNT_META} "
                    f"or the single-answer questions {single}."
                )
        query = (
            sa.select(*columns, sa.func.count().label("responses"))
            .select_from(_responses)
            .where(_visible(_responses))
        )
        if wave is not None:
            query = query.where(_responses.c.wave == wave)
        if source is not None:
            query = query.where(_responses.c.source == source)
        if columns:
            query = query.group_by(*columns)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=[*by, "responses"])
        frame = frame.astype({name: "string" for name in by})
        frame["responses"] = frame["responses"].astype("Int64")
        if by:
            frame = frame.sort_values(by, na_position="last", ignore_index=True)
        return frame

    def _answer_text(self, key: str) -> sa.ColumnElement[str]:
        """One answer read from the stored JSON by the database, as text."""
        if self.dialect == "postgresql":
            return sa.func.json_extract_path_text(sa.cast(_responses.c.answers, postgresql.JSON), key)
        return sa.cast(sa.func.json_extract(_responses.c.answers, f'$."{key}"'), sa.Text)

    def response_index(self, wave: str | None = None, source: str | None = None) -> pd.DataFrame:
        """Stored responses without their answers: who, when, where from, newest first.

        Columns are ``respondent_id, wave, source, submitted_at, instrument_id,
        instrument_version``; use it to pick responses for :meth:`delete_responses`.

        Parameters
        ----------
        wave, source : str, optional
            Keep only this wave, or only responses from this source.
        """
        columns = ["respondent_id", "wave", "source", "submitted_at", "instrument_id", "instrument_version"]
        query = (
            sa.select(*[_responses.c[c] for c in columns])
            .where(_visible(_responses))
            .order_by(_responses.c.submitted_at.desc(), _responses.c.id.desc())
        )
        if wave is not None:
            query = query.where(_responses.c.wave == wave)
        if source is not None:
            query = query.where(_responses.c.source == source)
        with self._engine.connect() as conn:
            frame = pd.DataFrame([tuple(r) for r in conn.execute(query)], columns=columns)
        frame = frame.astype({c: "string" for c in ("respondent_id", "wave", "source", "instrument_id")})
        frame["submitted_at"] = pd.to_datetime(frame["submitted_at"]).astype("datetime64[ns]")
        frame["instrument_version"] = frame["instrument_version"].astype("Int64")
        return frame

    def delete_responses(
        self,
        *,
        wave: str | None = None,
        source: str | None = None,
        respondent_ids: Iterable[str] | None = None,
        everything: bool = False,
    ) -> int:
        """Delete stored responses, for example the test responses of a wave, in one transaction.

        The filters combine: ``delete_responses(wave="2017-06", source="form")`` deletes the
        responses submitted through the form in wave 2017-06 and nothing else. Invitations used
        by deleted responses stay used.

        Parameters
        ----------
        wave : str, optional
            Only responses in this wave.
        source : str, optional
            Only responses from this source (``"form"``, ``"import"``, ``"demo"``).
        respondent_ids : iterable of str, optional
            Only these responses (an empty list deletes nothing).
        everything : bool
            Must be True to delete every stored response, when no filter is given.

        Returns
        -------
        int
            Number of responses deleted.

        Raises
        ------
        StoreError
            If no filter is given and ``everything`` is not True; nothing is deleted.
        """
        if wave is None and source is None and respondent_ids is None and not everything:
            raise StoreError(
                "delete_responses needs wave=, source= or respondent_ids= to say which responses to "
                "delete; to delete every stored response, pass everything=True."
            )
        conditions = [_visible(_responses)]
        if wave is not None:
            conditions.append(_responses.c.wave == wave)
        if source is not None:
            conditions.append(_responses.c.source == source)
        ids = None if respondent_ids is None else sorted({str(r) for r in respondent_ids})
        deleted = 0
        with self._begin() as conn:
            self._count_edit(conn)
            if ids is None:
                _drop_typed_rows(conn, sa.select(_responses.c.id).where(*conditions))
                return int(conn.execute(_responses.delete().where(*conditions)).rowcount)
            for chunk in _chunks(ids, 500):
                chosen = [_responses.c.respondent_id.in_(chunk), *conditions]
                _drop_typed_rows(conn, sa.select(_responses.c.id).where(*chosen))
                deleted += conn.execute(_responses.delete().where(*chosen)).rowcount
        return deleted

    # --- waves ----------------------------------------------------------------------------

    def open_wave(
        self,
        name: str,
        opens: datetime | None = None,
        closes: datetime | None = None,
        open_to_anyone: bool = True,
    ) -> None:
        """Open a wave (or reschedule one), making it managed: :meth:`submit` then accepts
        answers for it only from ``opens`` until ``closes``.

        Parameters
        ----------
        name : str
            The wave, for example ``"2017-06"``.
        opens : datetime, optional
            When it opens; now when omitted. Naive datetimes are taken as UTC.
        closes : datetime, optional
            When it closes; open until :meth:`close_wave` when omitted.
        open_to_anyone : bool
            When False, every response needs an invitation from :meth:`create_invitations`.

        Raises
        ------
        StoreError
            If the name is blank or too long, or ``closes`` is not after ``opens``.
        """
        name = _wave_name(name)
        opens_at = _naive_utc(opens) if opens is not None else _now()
        closes_at = _naive_utc(closes) if closes is not None else None
        if closes_at is not None and closes_at <= opens_at:
            raise StoreError(
                f"Wave {name!r} would close ({closes_at:%Y-%m-%d %H:%M}) before it opens "
                f"({opens_at:%Y-%m-%d %H:%M}); give a closing time after the opening time."
            )
        values = {"opens_at": opens_at, "closes_at": closes_at, "open_to_anyone": bool(open_to_anyone)}
        with self._begin() as conn:
            changed = conn.execute(_waves.update().where(_waves.c.name == name).values(**values))
            if changed.rowcount == 0:
                conn.execute(_waves.insert().values(name=name, created_at=_now(), **values))

    def close_wave(self, name: str, at: datetime | None = None) -> None:
        """Close a managed wave now (or at ``at``); later submissions get :class:`WaveClosedError`.

        Raises
        ------
        StoreError
            If the wave was never opened with :meth:`open_wave`, or ``at`` is before it opens.
        """
        closes_at = _naive_utc(at) if at is not None else _now()
        with self._begin() as conn:
            wave = self._managed_wave(conn, name)
            if closes_at < wave.opens_at:
                raise StoreError(
                    f"Wave {wave.name!r} opens at {wave.opens_at:%Y-%m-%d %H:%M}; "
                    "close it at or after that time."
                )
            conn.execute(_waves.update().where(_waves.c.name == wave.name).values(closes_at=closes_at))

    def rename_wave(self, old: str, new: str) -> int:
        """Rename a wave, with its stored responses and invitations, in one transaction.

        Works for unmanaged waves too (those that only have responses).

        Returns
        -------
        int
            Number of responses renamed.

        Raises
        ------
        StoreError
            If ``old`` is not a wave, or ``new`` is blank, too long or already a wave.
        """
        old, new = old.rstrip(), _wave_name(new)
        with self._begin() as conn:
            if self._wave_exists(conn, new):
                raise StoreError(f"Wave {new!r} already exists; pick another name or rename that wave first.")
            if not self._wave_exists(conn, old):
                raise StoreError(f"There is no wave {old!r}; the waves are {self._wave_names(conn)}.")
            conn.execute(_waves.update().where(_waves.c.name == old).values(name=new))
            conn.execute(_invitations.update().where(_invitations.c.wave == old).values(wave=new))
            renamed = conn.execute(_responses.update().where(_responses.c.wave == old).values(wave=new))
            self._count_edit(conn)
            return int(renamed.rowcount)

    def wave_status(self, name: str, now: datetime | None = None) -> WaveStatus:
        """``"scheduled"`` (not open yet), ``"open"``, ``"closed"``, or ``"unmanaged"`` for a wave
        never opened with :meth:`open_wave`, which accepts answers at any time."""
        moment = _naive_utc(now) if now is not None else _now()
        with self._engine.connect() as conn:
            wave = conn.execute(sa.select(_waves).where(_waves.c.name == name.strip())).one_or_none()
        return "unmanaged" if wave is None else _wave_status(wave, moment)

    def current_wave(self, now: datetime | None = None) -> str | None:
        """The managed wave open at ``now`` (default: now), or None.

        When several overlap, the one that opened last.
        """
        moment = _naive_utc(now) if now is not None else _now()
        query = (
            sa.select(_waves.c.name)
            .where(
                _waves.c.opens_at <= moment,
                sa.or_(_waves.c.closes_at.is_(None), _waves.c.closes_at > moment),
            )
            .order_by(_waves.c.opens_at.desc(), _waves.c.name.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def list_waves(self, now: datetime | None = None) -> pd.DataFrame:
        """Every wave, managed or with responses, one row each, ordered by name.

        Columns are ``wave, status, opens_at, closes_at, open_to_anyone, responses,
        invitations, invitations_used``; times are naive UTC, missing for unmanaged waves.
        """
        moment = _naive_utc(now) if now is not None else _now()
        counts = (
            sa.select(_responses.c.wave, sa.func.count())
            .where(_visible(_responses))
            .group_by(_responses.c.wave)
        )
        invited = sa.select(
            _invitations.c.wave,
            sa.func.count(),
            sa.func.count(_invitations.c.used_at),
        ).group_by(_invitations.c.wave)
        with self._engine.connect() as conn:
            managed = {w.name: w for w in conn.execute(sa.select(_waves))}
            responses = dict(conn.execute(counts).all())
            invitations = {w: (n, used) for w, n, used in conn.execute(invited)}
        rows = []
        for name in sorted(set(managed) | set(responses)):
            wave = managed.get(name)
            n_invited, n_used = invitations.get(name, (0, 0))
            rows.append(
                {
                    "wave": name,
                    "status": "unmanaged" if wave is None else _wave_status(wave, moment),
                    "opens_at": None if wave is None else wave.opens_at,
                    "closes_at": None if wave is None else wave.closes_at,
                    "open_to_anyone": True if wave is None else bool(wave.open_to_anyone),
                    "responses": responses.get(name, 0),
                    "invitations": n_invited,
                    "invitations_used": n_used,
                }
            )
        frame = pd.DataFrame(rows, columns=_WAVE_COLUMNS)
        frame = frame.astype({"wave": "string", "status": "string", "open_to_anyone": "boolean"})
        for column in ("opens_at", "closes_at"):
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
        for column in ("responses", "invitations", "invitations_used"):
            frame[column] = frame[column].astype("Int64")
        return frame

    def _managed_wave(self, conn: sa.Connection, name: str) -> sa.Row:
        wave = conn.execute(sa.select(_waves).where(_waves.c.name == name.strip())).one_or_none()
        if wave is None:
            opened = list(conn.scalars(sa.select(_waves.c.name).order_by(_waves.c.name)))
            raise StoreError(
                f"Wave {name!r} was never opened; open it first with open_wave (opened waves: {opened})."
            )
        return wave

    def _wave_exists(self, conn: sa.Connection, name: str) -> bool:
        in_waves = sa.select(_waves.c.name).where(_waves.c.name == name)
        in_responses = (
            sa.select(_responses.c.wave).where(_responses.c.wave == name, _visible(_responses)).limit(1)
        )
        return conn.execute(in_waves).first() is not None or conn.execute(in_responses).first() is not None

    def _wave_names(self, conn: sa.Connection) -> list[str]:
        managed = set(conn.scalars(sa.select(_waves.c.name)))
        stored = sa.select(_responses.c.wave).distinct().where(_visible(_responses))
        return sorted(managed | set(conn.scalars(stored)))

    # --- invitations ----------------------------------------------------------------------

    def create_invitations(self, wave: str, count: int) -> list[str]:
        """Make ``count`` single-use invitation tokens for a managed wave.

        The tokens are returned once and only their SHA-256 is stored, so keep them (e.g. in
        the links ``?invite=TOKEN`` sent out); a copy of the database reveals no usable link.

        Raises
        ------
        StoreError
            If the wave was never opened with :meth:`open_wave`, or ``count`` is not a positive
            whole number.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise StoreError(f"count must be a positive whole number of invitations, got {count!r}")
        tokens = [_invitation_token() for _ in range(count)]
        created = _now()
        with self._begin() as conn:
            name = self._managed_wave(conn, wave).name
            rows = [{"token_hash": _token_hash(t), "wave": name, "created_at": created} for t in tokens]
            for chunk in _chunks(rows, 5000):
                conn.execute(_invitations.insert(), chunk)
        return tokens

    def revoke_invitation(self, token: str) -> None:
        """Withdraw an unused invitation so it can no longer be used.

        Raises
        ------
        InvitationUsedError
            If a response was already stored with it (delete the response instead).
        InvitationError
            If the token is not known.
        """
        token_hash = _token_hash(token)
        with self._begin() as conn:
            revoked = conn.execute(
                _invitations.update()
                .where(_invitations.c.token_hash == token_hash, _invitations.c.used_at.is_(None))
                .values(revoked_at=sa.func.coalesce(_invitations.c.revoked_at, _now()))
            )
            if revoked.rowcount == 0:
                if conn.execute(
                    sa.select(_invitations.c.token_hash).where(_invitations.c.token_hash == token_hash)
                ).first():
                    raise InvitationUsedError(
                        "This invitation was already used for a response; it cannot be withdrawn."
                    )
                raise InvitationError("This invitation is not known; check that the whole token was copied.")

    def invitation_status(self, token: str) -> InvitationStatus:
        """``"valid"``, ``"used"``, ``"revoked"`` or ``"unknown"``."""
        query = sa.select(_invitations.c.used_at, _invitations.c.revoked_at).where(
            _invitations.c.token_hash == _token_hash(token)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return "unknown"
        if row.used_at is not None:
            return "used"
        return "revoked" if row.revoked_at is not None else "valid"

    def invitation_wave(self, token: str) -> str | None:
        """The wave an invitation is for, or None if the token is not known."""
        query = sa.select(_invitations.c.wave).where(_invitations.c.token_hash == _token_hash(token))
        with self._engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def invitation_counts(self) -> pd.DataFrame:
        """Invitations per wave: how many were made, and how many are still valid, used or revoked.

        Returns
        -------
        DataFrame
            ``wave, invitations, valid, used, revoked``, one row per wave with invitations,
            ordered by wave.
        """
        query = (
            sa.select(
                _invitations.c.wave,
                sa.func.count(),
                sa.func.count(_invitations.c.used_at),
                sa.func.sum(
                    sa.case(
                        (sa.and_(_invitations.c.used_at.is_(None), _invitations.c.revoked_at.isnot(None)), 1),
                        else_=0,
                    )
                ),
            )
            .group_by(_invitations.c.wave)
            .order_by(_invitations.c.wave)
        )
        with self._engine.connect() as conn:
            rows = [(w, n, used, int(revoked)) for w, n, used, revoked in conn.execute(query)]
        frame = pd.DataFrame(rows, columns=["wave", "invitations", "used", "revoked"])
        frame.insert(2, "valid", frame["invitations"] - frame["used"] - frame["revoked"])
        frame = frame.astype({"wave": "string"})
        for column in ("invitations", "valid", "used", "revoked"):
            frame[column] = frame[column].astype("Int64")
        return frame

    # --- population margins ---------------------------------------------------------------

    def set_margins(self, margins: Mapping[str, Mapping[str, float]]) -> None:
        """Replace the stored population margins used for weighting.

        Parameters
        ----------
        margins : mapping
            ``{variable: {level: count}}``, for example ``{"country": {"US": 120, "GB": 80}}``.
            Counts are non-negative and every variable sums to the same population total.

        Raises
        ------
        StoreError
            If a count is negative or not a number, a variable has no levels or a zero total,
            or the variables' totals differ; nothing is stored.
        """
        rows = _margin_rows(margins)
        with self._begin() as conn:
            conn.execute(_margins.delete())
            if rows:
                conn.execute(_margins.insert(), rows)

    def margins(self) -> dict[str, dict[str, float]]:
        """The stored population margins, ``{variable: {level: count}}`` ({} when none are set).

        Levels come back in the order they were given; whole counts come back as ``int``.
        """
        query = sa.select(_margins).order_by(_margins.c.variable, _margins.c.position)
        out: dict[str, dict[str, float]] = {}
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                count = int(row.count) if float(row.count).is_integer() else row.count
                out.setdefault(row.variable, {})[row.level] = count
        return out

    def margins_table(self) -> pd.DataFrame:
        """The stored population margins as a table: ``variable, level, count``, one row per level,
        in the stored order (empty when none are set)."""
        rows = [
            (variable, level, count)
            for variable, levels in self.margins().items()
            for level, count in levels.items()
        ]
        frame = pd.DataFrame(rows, columns=["variable", "level", "count"])
        return frame.astype({"variable": "string", "level": "string", "count": "Float64"})

    def set_margins_table(self, table: pd.DataFrame) -> None:
        """Replace the stored population margins from a table with columns ``variable, level, count``
        (as edited in the app or read from a CSV file), keeping the rows' order.

        Rows blank in every column are ignored.

        Raises
        ------
        StoreError
            If a column is missing, a row lacks its variable, level or count, a count is not a
            number, a level repeats within a variable, or :meth:`set_margins` refuses the counts;
            nothing is stored.
        """
        missing = [c for c in ("variable", "level", "count") if c not in table.columns]
        if missing:
            raise StoreError(
                f"The margins table needs the columns variable, level and count; it lacks {missing} "
                f"(it has {[str(c) for c in table.columns]})."
            )
        margins: dict[str, dict[str, float]] = {}
        for number, (variable, level, count) in enumerate(
            table[["variable", "level", "count"]].itertuples(index=False), start=1
        ):
            cells = [None if pd.isna(v) or str(v).strip() == "" else v for v in (variable, level, count)]
            if all(cell is None for cell in cells):
                continue
            if any(cell is None for cell in cells):
                blank = [
                    n for n, cell in zip(("variable", "level", "count"), cells, strict=True) if cell is None
                ]
                raise StoreError(
                    f"Margins row {number} has no {' or '.join(blank)}; fill it in or remove the row."
                )
            variable, level = str(variable).strip(), str(level).strip()
            try:
                value = float(count)
            except (TypeError, ValueError):
                raise StoreError(
                    f"Margins row {number} ({variable} = {level}) has count {count!r}, which is not a number."
                ) from None
            levels = margins.setdefault(variable, {})
            if level in levels:
                raise StoreError(
                    f"Margins row {number} repeats level {level!r} of {variable!r}; give each level once."
                )
            levels[level] = value
        self.set_margins(margins)

    # --- bulk imports ---------------------------------------------------------------------

    @contextmanager
    def _bulk_import(self, kind: str) -> Iterator[int]:
        """Start a bulk import and yield its id; abandon it (and remove its rows) on any error.

        One bulk import runs at a time: a second waits up to ``busy_timeout`` for the first to
        end. An import without progress for ``import_stale_after`` seconds (its process was
        killed) is abandoned, and its rows removed, by the next one.
        """
        import_id = self._start_import(kind)
        try:
            yield import_id
        except BaseException:
            self._abandon_import(import_id)
            raise

    def _start_import(self, kind: str) -> int:
        deadline = time.monotonic() + self.busy_timeout
        while True:
            self._clear_abandoned_imports()
            with self._begin() as conn:
                now = _now()
                pending = conn.execute(sa.select(_imports).where(_imports.c.finished_at.is_(None))).all()
                stalled = now - timedelta(seconds=self.import_stale_after)
                stale = [r.id for r in pending if r.abandoned_at is None and r.heartbeat_at < stalled]
                if stale:
                    conn.execute(_imports.update().where(_imports.c.id.in_(stale)).values(abandoned_at=now))
                    continue  # remove their rows first
                if not pending:
                    started = conn.execute(
                        _imports.insert().values(kind=kind, started_at=now, heartbeat_at=now)
                    )
                    return int(started.inserted_primary_key[0])
            running = [r for r in pending if r.abandoned_at is None]
            if running and time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"Another import, started at {running[0].started_at:%Y-%m-%d %H:%M:%S} UTC, is still "
                    "being stored; nothing was imported. Try again when it has finished."
                )
            time.sleep(0.25 if running else 0)

    @contextmanager
    def _import_batch(self, conn: sa.Connection, import_id: int) -> Iterator[None]:
        """One write transaction of a bulk import on ``conn``, after checking it is still alive."""
        with self._locked(conn):
            alive = conn.execute(
                _imports.update()
                .where(
                    _imports.c.id == import_id,
                    _imports.c.finished_at.is_(None),
                    _imports.c.abandoned_at.is_(None),
                )
                .values(heartbeat_at=_now())
            )
            if alive.rowcount != 1:
                raise StoreError(
                    f"This import made no progress for over {self.import_stale_after:g} s and was "
                    "abandoned; nothing from it is stored. Run it again."
                )
            yield
        if self.dialect == "sqlite":
            # SQLite's lock is not fair: a waiting writer polls, sleeping up to 0.1 s between
            # tries, and would lose the lock to the next batch every time. Let it in.
            time.sleep(_BATCH_PAUSE)

    def _finish_import(self, conn: sa.Connection, import_id: int, table: sa.Table) -> int:
        """Make every row of the import visible at once; return how many it stored."""
        with self._import_batch(conn, import_id):
            rows = conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.import_id == import_id)
            ).scalar_one()
            conn.execute(
                _imports.update().where(_imports.c.id == import_id).values(finished_at=_now(), rows=rows)
            )
        return int(rows)

    def _abandon_import(self, import_id: int) -> None:
        """Mark an unfinished import abandoned and remove its rows, or leave that to the next import."""
        try:
            with self._begin() as conn:
                conn.execute(
                    _imports.update()
                    .where(_imports.c.id == import_id, _imports.c.finished_at.is_(None))
                    .values(abandoned_at=_now())
                )
            self._clear_abandoned_imports()
        except (StoreError, sa.exc.SQLAlchemyError) as exc:
            _log.warning("Import %s failed; the next import removes its rows (%s)", import_id, _one_line(exc))

    def _clear_abandoned_imports(self) -> None:
        """Delete the rows of abandoned imports in batches, then the imports themselves."""
        with self._engine.connect() as conn:
            abandoned = list(
                conn.scalars(sa.select(_imports.c.id).where(_imports.c.abandoned_at.is_not(None)))
            )
        for import_id in abandoned:
            for table, key in ((_incidents, _incidents.c.incident_id), (_responses, _responses.c.id)):
                while True:
                    with self._begin() as conn:
                        doomed = (
                            sa.select(key)
                            .where(table.c.import_id == import_id)
                            .order_by(key)
                            .limit(_DELETE_BATCH)
                        )
                        if table is _responses:
                            _drop_typed_rows(conn, doomed)
                        deleted = conn.execute(table.delete().where(key.in_(doomed))).rowcount
                    if deleted < _DELETE_BATCH:
                        break
            with self._begin() as conn:
                conn.execute(_imports.delete().where(_imports.c.id == import_id))

    # --- incidents ------------------------------------------------------------------------

    def add_incidents(self, frame: pd.DataFrame) -> int:
        """Insert incidents in the canonical schema, all or none, skipping stored ids.

        The rows are first written to a temporary staging table private to this connection,
        which takes no lock on the store. A small import is then copied in by one transaction; a
        large one is a bulk import (see :meth:`imports`): batches of 50,000 rows, each a short
        write transaction, invisible to every read until the last transaction makes the whole
        import visible at once. So a long import never keeps a submission waiting for more than
        one batch, and an import that fails or is killed part-way leaves the store as it was.

        Parameters
        ----------
        frame : DataFrame
            Columns as returned by :func:`surveykit.read_incidents`.

        Returns
        -------
        int
            Number of incidents added (ids already stored, or repeated in ``frame``, are skipped).

        Raises
        ------
        StoreError
            If a canonical column is missing or an incident id is blank, or another import is
            storing the same ids at the same moment.
        StoreBusyError
            If another bulk import was still running after ``busy_timeout``; nothing was stored.
        """
        missing = [c for c in INCIDENT_COLUMNS if c not in frame.columns]
        if missing:
            raise StoreError(f"Incident frame lacks canonical columns {missing}.")
        ids = frame["incident_id"]
        if ids.isna().any() or (ids.astype(str).str.strip() == "").any():
            raise StoreError("Every incident needs a non-blank incident_id.")
        # In key order, the primary-key index grows at its end: the copies are several times faster.
        frame = frame.drop_duplicates("incident_id").sort_values("incident_id", kind="stable")
        records = _incident_records(frame[INCIDENT_COLUMNS])
        imported_at = _now()
        for record in records:
            record["imported_at"] = imported_at
        columns = [*INCIDENT_COLUMNS, "imported_at"]
        staging = sa.Table(
            "incident_staging",
            sa.MetaData(),
            sa.Column("position", sa.Integer, primary_key=True),
            *(sa.Column(c, _incidents.c[c].type) for c in columns),
            prefixes=["TEMPORARY"],
        )
        for position, record in enumerate(records):
            record["position"] = position
        count = sa.select(sa.func.count()).select_from(_incidents)  # rowcount is -1 on psycopg here

        def copy(conn: sa.Connection, first: int, last: int, import_id: int | None) -> None:
            new = sa.select(*[staging.c[c] for c in columns], sa.literal(import_id, sa.Integer)).where(
                staging.c.position.between(first, last),
                ~sa.exists().where(_incidents.c.incident_id == staging.c.incident_id, _visible(_incidents)),
            )
            try:
                conn.execute(_incidents.insert().from_select([*columns, "import_id"], new))
            except IntegrityError as exc:
                # An id missing a moment ago can only be held now by an import still running.
                raise StoreError(
                    f"The store refused the incidents ({_one_line(exc.orig)}); nothing was imported. "
                    "If another import is running, import them again when it has finished."
                ) from None

        with self._engine.connect() as conn:
            try:
                with conn.begin():
                    staging.create(conn)
                for chunk in _chunks(records, _STAGING_BATCH):
                    with conn.begin():
                        conn.execute(staging.insert(), chunk)
                if len(records) <= self._incident_batch:
                    with self._locked(conn):
                        before = conn.execute(count).scalar_one()
                        copy(conn, 0, len(records), None)
                        return int(conn.execute(count).scalar_one() - before)
                with self._bulk_import("incidents") as import_id:
                    for first in range(0, len(records), self._incident_batch):
                        with self._import_batch(conn, import_id):
                            copy(conn, first, first + self._incident_batch - 1, import_id)
                    return self._finish_import(conn, import_id, _incidents)
            finally:
                with conn.begin():
                    staging.drop(conn, checkfirst=True)

    def incidents(self) -> pd.DataFrame:
        """Stored incidents in the canonical schema, ordered by id."""
        query = (
            sa.select(*[_incidents.c[c] for c in INCIDENT_COLUMNS])
            .where(_visible(_incidents))
            .order_by(_incidents.c.incident_id)
        )
        with self._engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).all(), columns=INCIDENT_COLUMNS)
        return _incident_dtypes(frame)

    def count_incidents(self) -> int:
        """Number of stored incidents."""
        with self._engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(_incidents).where(_visible(_incidents))
            return int(conn.execute(query).scalar_one())

    # --- analysts -------------------------------------------------------------------------

    def add_analyst(self, username: str, password: str) -> None:
        """Create or update an analyst login; the password is stored as a salted scrypt hash.

        Raises
        ------
        StoreError
            If the username is blank or the password shorter than 4 characters.
        """
        if not username or not username.strip():
            raise StoreError("An analyst needs a username.")
        if len(password) < 4:
            raise StoreError("An analyst's password needs at least 4 characters.")
        row = {"username": username.strip(), "password_hash": _hash_password(password), "created_at": _now()}
        with self._begin() as conn:
            conn.execute(_analysts.delete().where(_analysts.c.username == row["username"]))
            conn.execute(_analysts.insert().values(**row))

    def remove_analyst(self, username: str) -> bool:
        """Delete an analyst login; their signed sessions stop being accepted.

        Returns
        -------
        bool
            Whether such an analyst existed.
        """
        with self._begin() as conn:
            removed = conn.execute(_analysts.delete().where(_analysts.c.username == username.strip()))
            return removed.rowcount > 0

    def password_matches(self, username: str, password: str) -> bool:
        """Whether ``password`` is ``username``'s, without recording or slowing anything down.

        For surveykit's own checks (is the well-known demo password still set?), never for what
        someone types: a sign-in goes through :meth:`check_login`, which slows guessing down.
        """
        query = sa.select(_analysts.c.password_hash).where(_analysts.c.username == username.strip())
        with self._engine.connect() as conn:
            stored = conn.execute(query).scalar_one_or_none()
        return stored is not None and _verify_password(password, stored)

    def check_login(
        self, username: str, password: str, client: str | None = None, now: datetime | None = None
    ) -> bool:
        """Whether the username and password match a stored analyst, slowing down guessing.

        Every failure is recorded. After ``MAX_FAILED_LOGINS`` (5) failures within
        ``LOGIN_WINDOW`` (15 minutes) for the same username, or from the same ``client``,
        further attempts are refused without checking the password, for 30 seconds after the
        latest failure, doubling with each further failure up to the window. A success clears
        the username's failures (not the client's, so one known account cannot unlock guessing
        at others).

        Parameters
        ----------
        username, password : str
            What was typed.
        client : str, optional
            Who is trying, for example the client's IP address or a browser id.
        now : datetime, optional
            The moment of the attempt; defaults to now (UTC).

        Raises
        ------
        LoginThrottledError
            If too many attempts failed recently; its ``retry_after`` says how many seconds to wait.
        """
        username = username.strip()
        moment = _naive_utc(now) if now is not None else _now()
        since = moment - LOGIN_WINDOW
        recent = _login_failures.c.attempted_at > since
        by_user = sa.select(_login_failures.c.attempted_at).where(
            recent, _login_failures.c.username == username
        )
        with self._engine.connect() as conn:
            failures = [list(conn.scalars(by_user))]
            if client is not None:
                by_client = sa.select(_login_failures.c.attempted_at).where(
                    recent, _login_failures.c.client == client
                )
                failures.append(list(conn.scalars(by_client)))
            stored = conn.execute(
                sa.select(_analysts.c.password_hash).where(_analysts.c.username == username)
            ).scalar_one_or_none()
        wait = max(_lockout_left(times, moment) for times in failures)
        if wait > 0:
            who = "this username" if _lockout_left(failures[0], moment) == wait else "this client"
            raise LoginThrottledError(
                f"Too many failed sign-ins for {who}; wait {wait} seconds before trying again.",
                retry_after=wait,
            )
        ok = stored is not None and _verify_password(password, stored)
        with self._begin() as conn:
            if ok:
                conn.execute(_login_failures.delete().where(_login_failures.c.username == username))
            else:
                conn.execute(_login_failures.delete().where(_login_failures.c.attempted_at <= since))
                conn.execute(
                    _login_failures.insert().values(
                        username=username[:64], client=client, attempted_at=moment
                    )
                )
        return ok

    def session_signing_key(self, username: str) -> bytes | None:
        """The key that signs ``username``'s sign-in tokens (see :mod:`surveykit.collection.sessions`),
        or None when there is no such analyst.

        It is derived from the store's secret (``SURVEYKIT_SECRET`` when set, else a random one
        made once and kept in the ``meta`` table) and the analyst's password hash, so changing the
        password or removing the analyst ends their sessions. Keep it private.
        """
        with self._engine.begin() as conn:  # nearly always only a read: no write lock
            environment = os.environ.get("SURVEYKIT_SECRET")
            secret = environment.encode() if environment else _session_secret(conn)
            query = sa.select(_analysts.c.password_hash).where(_analysts.c.username == username.strip())
            password_hash = conn.execute(query).scalar_one_or_none()
        if password_hash is None:
            return None
        return hmac.new(secret, password_hash.encode(), hashlib.sha256).digest()

    def list_analysts(self) -> pd.DataFrame:
        """The analyst logins, ordered by username: ``username, created_at`` (naive UTC; the time
        the login was made or its password last set). Password hashes are never returned.

        Sign-in times are not stored, so none are listed.
        """
        query = sa.select(_analysts.c.username, _analysts.c.created_at).order_by(_analysts.c.username)
        with self._engine.connect() as conn:
            frame = pd.DataFrame([tuple(r) for r in conn.execute(query)], columns=["username", "created_at"])
        frame["username"] = frame["username"].astype("string")
        frame["created_at"] = pd.to_datetime(frame["created_at"]).astype("datetime64[ns]")
        return frame

    def has_analysts(self) -> bool:
        """Whether any analyst login exists."""
        with self._engine.connect() as conn:
            return bool(conn.execute(sa.select(sa.func.count()).select_from(_analysts)).scalar_one())


_WAVE_COLUMNS = [
    "wave",
    "status",
    "opens_at",
    "closes_at",
    "open_to_anyone",
    "responses",
    "invitations",
    "invitations_used",
]


def _visible(table: sa.Table) -> sa.ColumnElement[bool]:
    """Rows of ``table`` that reads may see: stored singly, or by a bulk import that finished."""
    finished = sa.select(_imports.c.id).where(_imports.c.finished_at.is_not(None))
    return sa.or_(table.c.import_id.is_(None), table.c.import_id.in_(finished))


def _wave_name(name: str) -> str:
    """A wave name as stored: trailing white space dropped, leading white space refused.

    Stripping leading white space could turn ``"\t=1+1"`` into a formula, so it is an error.
    """
    if not isinstance(name, str) or not name.strip():
        raise StoreError(f"A survey wave needs a name (for example '2017-06'), got {shorten(repr(name))}")
    name = name.rstrip()
    if name != name.lstrip():
        raise StoreError(f"The wave name {shorten(repr(name))} starts with white space; remove it.")
    if len(name) > 32:
        raise StoreError(f"Wave names have at most 32 characters; {shorten(repr(name))} has {len(name)}.")
    return name


def _wave_status(wave: sa.Row, now: datetime) -> WaveStatus:
    if now < wave.opens_at:
        return "scheduled"
    if wave.closes_at is not None and now >= wave.closes_at:
        return "closed"
    return "open"


def _closed_message(wave: sa.Row, status: WaveStatus) -> str:
    if status == "scheduled":
        return (
            f"Wave {wave.name!r} opens at {wave.opens_at:%Y-%m-%d %H:%M} UTC; answers are accepted from then."
        )
    return (
        f"Wave {wave.name!r} closed at {wave.closes_at:%Y-%m-%d %H:%M} UTC and accepts no more answers; "
        "an administrator can reopen it with open_wave."
    )


def _invitation_token() -> str:
    """A fresh random invitation token (24 bytes, URL-safe) that a spreadsheet keeps as written.

    One in 64 URL-safe tokens starts with ``-``, which the exports mark as text with an
    apostrophe (:func:`surveykit._spreadsheet.neutralise`), so the token in a download would no
    longer be the one in its link; such a draw is made again.
    """
    while (token := secrets.token_urlsafe(24)).startswith(FORMULA_TRIGGERS):
        pass
    return token


def _token_hash(token: str) -> str:
    return hashlib.sha256(str(token).strip().encode()).hexdigest()


def _margin_rows(margins: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    if not isinstance(margins, Mapping):
        raise StoreError(
            f"margins must be a mapping {{variable: {{level: count}}}}, got {type(margins).__name__}"
        )
    rows: list[dict[str, Any]] = []
    totals: dict[str, float] = {}
    for variable, levels in margins.items():
        if not isinstance(levels, Mapping) or not levels:
            raise StoreError(f"Margin {variable!r} needs a mapping of levels to counts, got {levels!r}")
        for position, (level, count) in enumerate(levels.items()):
            if (
                isinstance(count, bool)
                or not isinstance(count, int | float)
                or not math.isfinite(count)
                or count < 0
            ):
                raise StoreError(
                    f"Margin {variable!r} level {level!r} has count {count!r}; "
                    "counts must be non-negative numbers."
                )
            rows.append(
                {"variable": str(variable), "level": str(level), "position": position, "count": float(count)}
            )
        totals[str(variable)] = float(sum(levels.values()))
        if totals[str(variable)] == 0:
            raise StoreError(f"Margin {variable!r} sums to zero; give the population count of each level.")
    if totals and not all(
        math.isclose(t, next(iter(totals.values())), rel_tol=1e-9) for t in totals.values()
    ):
        listed = ", ".join(f"{v}: {t:g}" for v, t in totals.items())
        raise StoreError(
            f"Every margin must sum to the same population total, but the totals differ ({listed}); "
            "fix the counts so they describe the same population."
        )
    return rows


def _response_row(instrument: Instrument, row: Mapping[str, Any]) -> dict[str, Any]:
    wave = _wave_name(row.get("wave"))
    return {
        "respondent_id": uuid.uuid4().hex,
        "instrument_id": instrument.id,
        "instrument_version": instrument.version,
        "wave": wave,
        "submitted_at": _naive_utc(row.get("submitted_at") or _now()),
        "idempotency_key": row.get("idempotency_key") or uuid.uuid4().hex,
        "source": row.get("source") or "form",
        "answers": json.dumps(dict(row["answers"]), sort_keys=True),
    }


def _classify(
    conn: sa.Connection, rows: list[dict[str, Any]]
) -> tuple[list[SubmitResult], list[dict[str, Any]]]:
    """Each row's result, and the rows not stored yet; a key stored with other answers is an error."""
    existing: dict[str, tuple[str, str]] = {}
    for chunk in _chunks([r["idempotency_key"] for r in rows], 500):
        query = sa.select(
            _responses.c.idempotency_key, _responses.c.respondent_id, _responses.c.answers
        ).where(_responses.c.idempotency_key.in_(chunk), _visible(_responses))
        existing.update({k: (rid, a) for k, rid, a in conn.execute(query)})
    results: list[SubmitResult] = []
    new_rows = []
    for row in rows:
        found = existing.get(row["idempotency_key"])
        if found is None:
            new_rows.append(row)
            results.append(SubmitResult(row["respondent_id"], created=True))
        elif found[1] == row["answers"]:
            results.append(SubmitResult(found[0], created=False))
        else:
            raise StoreError(
                f"The idempotency key {row['idempotency_key']!r} was already used for a "
                "different response; nothing was stored."
            )
    return results, new_rows


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _incident_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for the database, converted a column at a time: times naive UTC, days as dates."""
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        column = frame[name]
        if name in ("detected_at", "resolved_at", "occurred_on"):
            moments = pd.to_datetime(column)
            if moments.dt.tz is not None:
                moments = moments.dt.tz_convert(UTC).dt.tz_localize(None)
            values = moments.dt.date if name == "occurred_on" else pd.Series(moments.dt.to_pydatetime())
            missing = moments.isna()
            columns[name] = [None if gap else v for v, gap in zip(values, missing, strict=True)]
        elif name in ("year", "month", "day"):
            columns[name] = [None if pd.isna(v) else int(v) for v in column]
        elif name == "loss_amount":
            columns[name] = [None if pd.isna(v) else float(v) for v in column]
        else:
            columns[name] = column.astype(object).where(column.notna(), None).tolist()
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _incident_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column, dtype in INCIDENT_DTYPES.items():
        if dtype.startswith("datetime64"):
            out[column] = pd.to_datetime(out[column]).astype(dtype)
        else:
            out[column] = pd.array(out[column], dtype=dtype)
    return out


def _lockout_left(failures: list[datetime], now: datetime) -> int:
    """Whole seconds still to wait after these recent failures (0 when attempts are allowed)."""
    if len(failures) < MAX_FAILED_LOGINS:
        return 0
    lockout = min(_FIRST_LOCKOUT * 2 ** (len(failures) - MAX_FAILED_LOGINS), LOGIN_WINDOW)
    left = (max(failures) + lockout - now).total_seconds()
    return max(0, math.ceil(left))


def _session_secret(conn: sa.Connection) -> bytes:
    """The store's session-signing key, made once with ``secrets.token_bytes``."""
    query = sa.select(_meta.c.value).where(_meta.c.key == "session_secret")
    stored = conn.execute(query).scalar_one_or_none()
    if stored is None:
        try:
            with conn.begin_nested():
                conn.execute(_meta.insert().values(key="session_secret", value=secrets.token_bytes(32).hex()))
        except IntegrityError:  # another process made it first: use theirs
            pass
        stored = conn.execute(query).scalar_one()
    return bytes.fromhex(stored)


_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def _hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _verify_password(password: str, stored: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
    except ValueError:
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(candidate.hex(), digest)


# --- typed answers ---------------------------------------------------------------------------


def _typed_answers(
    instrument: Instrument, rows: Sequence[Mapping[str, Any]], answers: Sequence[Mapping[str, Any]]
) -> dict[str, tuple[Any, ...]]:
    """Typed answer rows keyed by respondent id (none when the answers cannot be typed)."""
    typed = answer_rows(instrument, answers)
    if typed is None:
        return {}
    return {row["respondent_id"]: values for row, values in zip(rows, typed, strict=True)}


def _insert_responses(
    conn: sa.Connection,
    instrument: Instrument,
    rows: Sequence[Mapping[str, Any]],
    typed: Mapping[str, tuple[Any, ...]],
) -> None:
    """Insert response rows and, in the same transaction, their typed answers."""
    # The table first: on PostgreSQL, creating it locks ``responses`` against inserts (for its
    # foreign key), which must not wait on this transaction's own insert lock held meanwhile.
    table = _answer_table_for(conn, instrument)
    insert = _responses.insert().returning(_responses.c.id, sort_by_parameter_order=True)
    ids = conn.execute(insert, list(rows)).scalars().all()
    if conn.dialect.name == "sqlite":
        # SQLite gives a new row the largest id plus one, so the ids of deleted responses come
        # back; typed rows they left (SQLite does not cascade deletes here) go first. Under the
        # write lock every id from the smallest new one up is this insert's.
        conn.execute(table.delete().where(table.c[KEY_COLUMN] >= min(ids)))
    if typed:  # all or none: answer_rows types a whole batch or nothing
        values = [typed[row["respondent_id"]] for row in rows]
        conn.execute(table.insert(), keyed_rows(instrument, ids, values))


def _drop_typed_rows(conn: sa.Connection, doomed: sa.Select) -> None:
    """Delete the typed answers of the responses whose ids ``doomed`` selects, before the responses.

    PostgreSQL's foreign keys cascade the delete; SQLite's are not enforced (no ``PRAGMA
    foreign_keys``), so the rows are deleted here from every registered answer table.
    """
    if conn.dialect.name != "sqlite":
        return
    for name in conn.scalars(sa.select(_answer_tables.c.table_name)).all():
        table = sa.table(name, sa.column(KEY_COLUMN))
        conn.execute(table.delete().where(table.c[KEY_COLUMN].in_(doomed)))


def _answer_table_for(conn: sa.Connection, instrument: Instrument) -> sa.Table:
    """The typed answer table of this instrument version, created and registered when missing."""
    query = sa.select(_answer_tables.c.table_name).where(
        _answer_tables.c.instrument_id == instrument.id, _answer_tables.c.version == instrument.version
    )
    name = conn.execute(query).scalar_one_or_none()
    if name is None and conn.dialect.name == "postgresql":
        # Two first submissions to a new version would both create the table; the second waits
        # here and then finds the first's.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ANSWER_TABLE_LOCK_KEY})
        name = conn.execute(query).scalar_one_or_none()
    if name is not None:
        return answer_table(name, instrument, _responses)
    name = answer_table_name(instrument.id, instrument.version)
    table = answer_table(name, instrument, _responses)
    table.create(conn, checkfirst=True)
    conn.execute(
        _answer_tables.insert().values(
            instrument_id=instrument.id, version=instrument.version, table_name=name
        )
    )
    return table


def _stored_instrument(definition: str) -> Instrument | None:
    """A stored instrument version, or None when today's rules reject a definition older ones
    accepted (its responses are then read from their JSON records)."""
    try:
        return Instrument.from_dict(json.loads(definition), source="stored instrument")
    except InstrumentError:
        return None


def _fill_answer_table(conn: sa.Connection, instrument: Instrument, table: sa.Table) -> None:
    """Type the stored JSON answers of this instrument version that have no typed row yet."""
    after = 0
    while True:
        query = (
            sa.select(_responses.c.id, _responses.c.answers)
            .outerjoin(table, table.c[KEY_COLUMN] == _responses.c.id)
            .where(
                _responses.c.instrument_id == instrument.id,
                _responses.c.instrument_version == instrument.version,
                _responses.c.id > after,
                table.c[KEY_COLUMN].is_(None),
            )
            .order_by(_responses.c.id)
            .limit(_FILL_BATCH)
        )
        batch = conn.execute(query).all()
        if not batch:
            return
        typed = answer_rows(instrument, [json.loads(answers) for _, answers in batch])
        if typed is not None:
            conn.execute(table.insert(), keyed_rows(instrument, [key for key, _ in batch], typed))
        after = batch[-1].id


_META_KINDS: dict[str, ColumnKind] = {
    "respondent_id": "string",
    "wave": "string",
    "submitted_at": "datetime",
    "instrument_id": "string",
    "instrument_version": "Int64",
}


def _read_responses(
    conn: sa.Connection, instrument: Instrument, conditions: list[sa.ColumnElement[bool]]
) -> pd.DataFrame:
    """The tidy frame of ``instrument``'s responses that meet ``conditions``, ordered by id."""
    stored = conn.execute(
        sa.select(_instruments.c.version, _instruments.c.definition, _answer_tables.c.table_name)
        .outerjoin(
            _answer_tables,
            sa.and_(
                _answer_tables.c.instrument_id == _instruments.c.instrument_id,
                _answer_tables.c.version == _instruments.c.version,
            ),
        )
        .where(_instruments.c.instrument_id == instrument.id)
        .order_by(_instruments.c.version)
    ).all()
    parts: list[pd.DataFrame] = []
    typed_versions: list[int] = []
    untyped_ids: list[int] = []
    for version, definition, table_name in stored:
        old = instrument if version == instrument.version else _stored_instrument(definition)
        if old is None or table_name is None or not same_layout(old, instrument):
            continue
        typed_versions.append(version)
        table = answer_table(table_name, old, _responses)
        kinds: dict[str, ColumnKind] = {"_id": "int64", "_key": "Int64", **_META_KINDS, **answer_kinds(old)}
        query = (
            sa.select(
                _responses.c.id,
                table.c[KEY_COLUMN],
                *[_responses.c[name] for name in _META_KINDS],
                *[table.c[name] for name in answer_kinds(old)],
            )
            .outerjoin(table, table.c[KEY_COLUMN] == _responses.c.id)
            .where(*conditions, _responses.c.instrument_version == version)
            .order_by(_responses.c.id)
        )
        part = read_frame(conn, query, kinds)
        untyped = part["_key"].isna().to_numpy()
        if untyped.any():  # written by an older surveykit after the upgrade, say
            untyped_ids += part.loc[untyped, "_id"].tolist()
            part = part.loc[~untyped].reset_index(drop=True)
        part = part.drop(columns="_key")
        if old is not instrument:
            part = pd.concat([part[["_id", *_META_KINDS]], conform(part, old, instrument)], axis=1)
        parts.append(part)
    untyped_rows = [_responses.c.instrument_version.not_in(typed_versions)]
    parts.append(_read_json(conn, instrument, [*conditions, *untyped_rows]))
    for chunk in _chunks(untyped_ids, 500):
        parts.append(_read_json(conn, instrument, [_responses.c.id.in_(chunk)]))  # ids read above
    parts = [part for part in parts if len(part)] or parts[-1:]
    if len(parts) == 1:
        return parts[0].drop(columns="_id")
    frame = pd.concat(parts, ignore_index=True).sort_values("_id", kind="stable", ignore_index=True)
    return frame.drop(columns="_id")


def _read_json(
    conn: sa.Connection, instrument: Instrument, conditions: list[sa.ColumnElement[bool]]
) -> pd.DataFrame:
    """Responses read from their JSON record and tidied by ``instrument``, with their ``_id``."""
    query = (
        sa.select(_responses.c.id, *[_responses.c[name] for name in _META_KINDS], _responses.c.answers)
        .where(*conditions)
        .order_by(_responses.c.id)
    )
    rows = conn.execute(query).all()
    meta = pd.DataFrame([r[:6] for r in rows], columns=["_id", *_RESPONSE_META]).astype(
        {"respondent_id": "string", "wave": "string", "instrument_id": "string"}
    )
    meta["submitted_at"] = pd.to_datetime(meta["submitted_at"]).astype("datetime64[ns]")
    meta["instrument_version"] = meta["instrument_version"].astype("Int64")
    answers = instrument.tidy([json.loads(r.answers) for r in rows])
    return pd.concat([meta, answers], axis=1)
