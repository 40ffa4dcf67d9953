"""The data store: instruments, survey responses, incidents and analyst accounts.

One SQLAlchemy code path serves an embedded SQLite file (the default) and a shared PostgreSQL
server. The schema is created on first use and carries a schema version in the ``meta`` table.
Writes happen in a single transaction each, so a failed import leaves the store as it was.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError

from surveykit.collection.instrument import Instrument
from surveykit.exceptions import StoreError
from surveykit.incidents.schema import INCIDENT_COLUMNS, INCIDENT_DTYPES

__all__ = [
    "DEFAULT_DB_URL",
    "SCHEMA_VERSION",
    "Store",
    "SubmitResult",
    "resolve_db_url",
]

SCHEMA_VERSION = 1
DEFAULT_DB_URL = "sqlite:///surveykit.db"
_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "postgresql+psycopg2": "postgresql+psycopg2",
}

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
    sa.ForeignKeyConstraint(
        ["instrument_id", "instrument_version"],
        ["instruments.instrument_id", "instruments.version"],
    ),
    sa.Index("ix_responses_instrument_wave", "instrument_id", "wave"),
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
)

_analysts = sa.Table(
    "analysts",
    _metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

_RESPONSE_META = ["respondent_id", "wave", "submitted_at", "instrument_id", "instrument_version"]


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

    Raises
    ------
    StoreError
        If the URL is not understood, the server cannot be reached, or the store was made by a
        newer surveykit.

    Examples
    --------
    >>> store = Store("sqlite:///:memory:")
    >>> store.responses().empty
    True
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_db_url(url)
        try:
            self._engine = sa.create_engine(self.url, future=True)
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
        except (OperationalError, sa.exc.DBAPIError) as exc:
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

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    # --- schema ---------------------------------------------------------------------------

    def _create_schema(self) -> None:
        with self._engine.begin() as conn:
            _metadata.create_all(conn)
            stored = conn.execute(
                sa.select(_meta.c.value).where(_meta.c.key == "schema_version")
            ).scalar_one_or_none()
            if stored is None:
                conn.execute(_meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(stored) > SCHEMA_VERSION:
                raise StoreError(
                    f"The store has schema version {stored}, newer than this surveykit supports "
                    f"({SCHEMA_VERSION}); upgrade surveykit."
                )

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
        with self._engine.begin() as conn:
            self._save_instrument(conn, instrument, definition)

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
    ) -> SubmitResult:
        """Validate and store one response.

        Parameters
        ----------
        instrument : Instrument
            The instrument answered.
        answers : mapping
            Answers keyed by question id.
        wave : str
            Survey wave, for example ``"2016-12"``.
        idempotency_key : str, optional
            A key unique to this submission; submitting again with the same key stores nothing
            and returns the first response's id. A fresh key is made when omitted.
        submitted_at : datetime, optional
            Defaults to now (UTC).
        source : str
            Where the response came from (``"form"``, ``"import"``, ``"demo"``).

        Raises
        ------
        InstrumentError
            If the answers are invalid; nothing is stored.
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
        return self.add_responses(instrument, [row])[0]

    def add_responses(self, instrument: Instrument, rows: Iterable[Mapping[str, Any]]) -> list[SubmitResult]:
        """Store validated responses in one transaction.

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
        rows = [_response_row(instrument, r) for r in rows]
        keys = [r["idempotency_key"] for r in rows]
        if len(set(keys)) != len(keys):
            seen: set[str] = set()
            repeated = next(k for k in keys if k in seen or seen.add(k))
            raise StoreError(f"The idempotency key {repeated!r} appears more than once in one batch.")
        definition = json.dumps(instrument.to_dict(), sort_keys=True)
        results: list[SubmitResult] = []
        with self._engine.begin() as conn:
            self._save_instrument(conn, instrument, definition)
            existing: dict[str, tuple[str, str]] = {}
            for chunk in _chunks(keys, 500):
                query = sa.select(
                    _responses.c.idempotency_key, _responses.c.respondent_id, _responses.c.answers
                ).where(_responses.c.idempotency_key.in_(chunk))
                existing.update({k: (rid, a) for k, rid, a in conn.execute(query)})
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
            if new_rows:
                try:
                    conn.execute(_responses.insert(), new_rows)
                except IntegrityError as exc:
                    reason = _one_line(exc.orig)
                    raise StoreError(f"The responses conflict with stored ones: {reason}") from None
        return results

    def count_responses(self, wave: str | None = None) -> int:
        """Number of stored responses, optionally in one wave."""
        query = sa.select(sa.func.count()).select_from(_responses)
        if wave is not None:
            query = query.where(_responses.c.wave == wave)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def waves(self) -> list[str]:
        """Survey waves present, in order."""
        query = sa.select(_responses.c.wave).distinct().order_by(_responses.c.wave)
        with self._engine.connect() as conn:
            return [w for (w,) in conn.execute(query)]

    def responses(
        self, wave: str | Iterable[str] | None = None, instrument_id: str | None = None
    ) -> pd.DataFrame:
        """Stored responses as a tidy frame, one row per respondent.

        Columns are ``respondent_id, wave, submitted_at, instrument_id, instrument_version`` and
        then the instrument's answer columns, multi-select questions expanded to one nullable
        boolean column per choice (``question__choice``).

        Parameters
        ----------
        wave : str or list of str, optional
            Keep only these waves.
        instrument_id : str, optional
            Needed when the store holds several instruments.
        """
        query = sa.select(
            _responses.c.respondent_id,
            _responses.c.wave,
            _responses.c.submitted_at,
            _responses.c.instrument_id,
            _responses.c.instrument_version,
            _responses.c.answers,
        ).order_by(_responses.c.id)
        if isinstance(wave, str):
            query = query.where(_responses.c.wave == wave)
        elif wave is not None:
            query = query.where(_responses.c.wave.in_(list(wave)))
        with self._engine.connect() as conn:
            has_instrument = conn.execute(sa.select(sa.func.count()).select_from(_instruments)).scalar_one()
        if not has_instrument:
            return pd.DataFrame(columns=_RESPONSE_META)
        instrument = self.instrument(instrument_id)
        query = query.where(_responses.c.instrument_id == instrument.id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        meta = pd.DataFrame([r[:5] for r in rows], columns=_RESPONSE_META).astype(
            {"respondent_id": "string", "wave": "string", "instrument_id": "string"}
        )
        meta["submitted_at"] = pd.to_datetime(meta["submitted_at"]).astype("datetime64[ns]")
        meta["instrument_version"] = meta["instrument_version"].astype("Int64")
        answers = instrument.tidy([json.loads(r.answers) for r in rows])
        return pd.concat([meta, answers], axis=1)

    # --- incidents ------------------------------------------------------------------------

    def add_incidents(self, frame: pd.DataFrame) -> int:
        """Insert incidents in the canonical schema in one transaction, skipping stored ids.

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
            If a canonical column is missing or an incident id is blank.
        """
        missing = [c for c in INCIDENT_COLUMNS if c not in frame.columns]
        if missing:
            raise StoreError(f"Incident frame lacks canonical columns {missing}.")
        ids = frame["incident_id"]
        if ids.isna().any() or (ids.astype(str).str.strip() == "").any():
            raise StoreError("Every incident needs a non-blank incident_id.")
        frame = frame.drop_duplicates("incident_id")
        records = _incident_records(frame[INCIDENT_COLUMNS])
        imported_at = _now()
        with self._engine.begin() as conn:
            stored: set[str] = set()
            for chunk in _chunks([r["incident_id"] for r in records], 500):
                query = sa.select(_incidents.c.incident_id).where(_incidents.c.incident_id.in_(chunk))
                stored.update(conn.scalars(query))
            new = [dict(r, imported_at=imported_at) for r in records if r["incident_id"] not in stored]
            for chunk in _chunks(new, 5000):
                conn.execute(_incidents.insert(), chunk)
        return len(new)

    def incidents(self) -> pd.DataFrame:
        """Stored incidents in the canonical schema, ordered by id."""
        query = sa.select(*[_incidents.c[c] for c in INCIDENT_COLUMNS]).order_by(_incidents.c.incident_id)
        with self._engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).all(), columns=INCIDENT_COLUMNS)
        return _incident_dtypes(frame)

    def count_incidents(self) -> int:
        """Number of stored incidents."""
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_incidents)).scalar_one())

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
        with self._engine.begin() as conn:
            conn.execute(_analysts.delete().where(_analysts.c.username == row["username"]))
            conn.execute(_analysts.insert().values(**row))

    def check_login(self, username: str, password: str) -> bool:
        """Whether the username and password match a stored analyst."""
        query = sa.select(_analysts.c.password_hash).where(_analysts.c.username == username.strip())
        with self._engine.connect() as conn:
            stored = conn.execute(query).scalar_one_or_none()
        return stored is not None and _verify_password(password, stored)

    def has_analysts(self) -> bool:
        """Whether any analyst login exists."""
        with self._engine.connect() as conn:
            return bool(conn.execute(sa.select(sa.func.count()).select_from(_analysts)).scalar_one())


def _response_row(instrument: Instrument, row: Mapping[str, Any]) -> dict[str, Any]:
    wave = row.get("wave")
    if not isinstance(wave, str) or not wave.strip():
        raise StoreError(f"A survey wave is required (for example '2016-12'), got {wave!r}")
    return {
        "respondent_id": uuid.uuid4().hex,
        "instrument_id": instrument.id,
        "instrument_version": instrument.version,
        "wave": wave.strip(),
        "submitted_at": _naive_utc(row.get("submitted_at") or _now()),
        "idempotency_key": row.get("idempotency_key") or uuid.uuid4().hex,
        "source": row.get("source") or "form",
        "answers": json.dumps(dict(row["answers"]), sort_keys=True),
    }


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
    out = frame.astype(object).where(frame.notna(), None)
    records = out.to_dict("records")
    for record in records:
        for key in ("detected_at", "resolved_at"):
            if isinstance(record[key], pd.Timestamp):
                record[key] = _naive_utc(record[key].to_pydatetime())
        if isinstance(record["occurred_on"], pd.Timestamp | datetime):
            record["occurred_on"] = record["occurred_on"].date()
        for key in ("year", "month", "day"):
            if record[key] is not None:
                record[key] = int(record[key])
        if record["loss_amount"] is not None:
            record["loss_amount"] = float(record["loss_amount"])
    return records


def _incident_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column, dtype in INCIDENT_DTYPES.items():
        if dtype.startswith("datetime64"):
            out[column] = pd.to_datetime(out[column]).astype(dtype)
        else:
            out[column] = pd.array(out[column], dtype=dtype)
    return out


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
