"""A throwaway PostgreSQL server, for the benchmarks and the tests that claim PostgreSQL.

The server runs from Debian's binaries (``scripts/test`` installs them), as the ``postgres``
user when started by root, on a free loopback port, in a temporary folder removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["postgres_bin", "throwaway_postgres"]


def postgres_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``, or None when PostgreSQL's server is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


@contextmanager
def throwaway_postgres(bindir: Path) -> Iterator[str]:
    """Start a server from the binaries in ``bindir``; yields its base URL (``postgresql://surveykit@host:port``).

    ``fsync`` is off: the data is thrown away, and durability is not what is measured.
    """
    # Not under pytest's temporary folder: that is private to root, and the server runs as postgres.
    base = Path(tempfile.mkdtemp(prefix="surveykit-pg-"))
    data = base / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "surveykit", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log")]
    subprocess.run([*start, "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://surveykit@127.0.0.1:{port}"
    finally:
        stop = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(stop, capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
