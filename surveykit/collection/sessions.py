"""Signed, expiring sign-in tokens, so an analyst's sign-in survives a browser reload.

A token is ``username.expiry.signature``: the username (URL-safe base64), the expiry in Unix
seconds and an HMAC-SHA256 over both, keyed by :meth:`Store.session_signing_key`: derived from
``SURVEYKIT_SECRET`` when set, else from a random secret the store makes once and keeps in its
``meta`` table, and from the analyst's password hash, so changing the password or removing the
analyst ends their sessions.
Nothing is stored per session; the token is the session. The browser keeps it in the cookie
:func:`session_cookie` words, which the server sets (``HttpOnly``: no script on the page reads it).

:func:`demo_login_present` tells whether the demo analyst login (``analyst`` / ``demo``, which
anyone who has read the README knows) still signs in, so the app can warn while it does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from surveykit.collection.store import Store
from surveykit.exceptions import StoreError

__all__ = ["SESSION_COOKIE", "demo_login_present", "issue_session", "session_cookie", "verify_session"]

SESSION_COOKIE = "surveykit_session"
"""The browser cookie holding the signed, expiring sign-in token (:func:`issue_session`)."""

_demo_checked: dict[bytes, bool] = {}
"""Whether the demo password signs in, by a fingerprint of the analyst's session key: that key
changes with every password set (a fresh salt), so an answer never goes stale."""


def issue_session(
    store: Store, username: str, ttl: timedelta | float = timedelta(hours=12), now: datetime | None = None
) -> str:
    """A signed token saying ``username`` is signed in until ``now + ttl``.

    Parameters
    ----------
    store : Store
        The store holding the analyst (and, unless ``SURVEYKIT_SECRET`` is set, the secret).
    username : str
        An analyst who just passed :meth:`Store.check_login`.
    ttl : timedelta or float
        How long the token is accepted; a number means seconds.
    now : datetime, optional
        The moment of issue; defaults to now.

    Raises
    ------
    StoreError
        If ``ttl`` is not positive or there is no such analyst.
    """
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
    if not seconds > 0:
        raise StoreError(f"ttl must be a positive duration (a timedelta or seconds), got {ttl!r}")
    username = username.strip()
    key = store.session_signing_key(username)
    if key is None:
        raise StoreError(f"There is no analyst {username!r}; add one with add_analyst before signing in.")
    expiry = int(_timestamp(now) + seconds)
    name = base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")
    return f"{name}.{expiry}.{_signature(key, username, expiry)}"


def verify_session(store: Store, token: str | None, now: datetime | None = None) -> str | None:
    """The username a token from :func:`issue_session` signs in, or None when the token is
    missing, malformed, tampered with, expired, or its analyst was removed or changed password."""
    if not token or token.count(".") != 2:
        return None
    name, expiry_text, signature = token.split(".")
    try:
        username = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
        expiry = int(expiry_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    key = store.session_signing_key(username)
    if key is None or not hmac.compare_digest(signature, _signature(key, username, expiry)):
        return None
    return username if _timestamp(now) < expiry else None


def demo_login_present(store: Store) -> bool:
    """Whether the demo analyst login (``DEMO_ANALYST``: ``analyst`` / ``demo``) signs in to ``store``.

    Checked with :meth:`Store.password_matches`, which records no failed sign-in, once per
    password set and server process (scrypt is slow on purpose).
    """
    from surveykit.datasets import DEMO_ANALYST

    username, password = DEMO_ANALYST
    key = store.session_signing_key(username)
    if key is None:
        return False
    fingerprint = hashlib.sha256(store.url.encode() + b"\n" + key).digest()
    if fingerprint not in _demo_checked:
        _demo_checked[fingerprint] = store.password_matches(username, password)
    return _demo_checked[fingerprint]


def _signature(key: bytes, username: str, expiry: int) -> str:
    return hmac.new(key, f"{username}\n{expiry}".encode(), hashlib.sha256).hexdigest()


def _timestamp(now: datetime | None) -> float:
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def session_cookie(token: str, seconds: int, *, secure: bool) -> str:
    """The ``Set-Cookie`` value that keeps ``token`` for ``seconds`` (an empty token and 0 forget it).

    ``HttpOnly``, so no script on the page can read the token; ``SameSite=Strict``, so no other
    site's page sends it; ``Secure`` when the app is served over HTTPS.
    """
    cookie = f"{SESSION_COOKIE}={token}; Path=/; Max-Age={max(int(seconds), 0)}; HttpOnly; SameSite=Strict"
    return cookie + ("; Secure" if secure else "")
