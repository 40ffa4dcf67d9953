"""Shared fixtures: real SQLite files, a real throwaway PostgreSQL server, the repository root."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench._postgres import postgres_bin, throwaway_postgres

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the app's pages import app_pages._shared


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Outside CI, skip tests whose Debian packages are missing (scripts/test installs them).

    Under CI (``CI`` set) nothing is skipped: a missing package makes those tests fail.
    """
    if os.environ.get("CI"):
        return
    missing = {
        "postgres": postgres_bin() is None and "PostgreSQL server binaries (initdb, pg_ctl)",
        "browser": _chromium() is None and "Chromium",
    }
    for item in items:
        for mark, what in missing.items():
            if what and item.get_closest_marker(mark):
                item.add_marker(pytest.mark.skip(reason=f"{what} not installed; run scripts/test"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'surveykit.db'}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Start a real PostgreSQL server on a free loopback port; yields its base URL.

    Missing PostgreSQL binaries skip the tests locally but fail under CI (``CI=true``),
    where ``scripts/test`` installs them.
    """
    bindir = postgres_bin()
    if bindir is None:  # only under CI: elsewhere the tests are marked skipped at collection
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed; scripts/test installs them"
        )
    with throwaway_postgres(bindir) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A URL of a fresh, empty PostgreSQL database on the test server."""
    import psycopg

    name = f"sk_{time.time_ns()}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> str:
    """The URL of a fresh store, once on a SQLite file and once on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url):
    """A fresh store on SQLite and on PostgreSQL, through the same code."""
    from surveykit import Store

    with Store(store_url) as opened:
        yield opened


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite store the app under test uses (``SURVEYKIT_DB_URL``)."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SURVEYKIT_DB_URL", url)
    return url
