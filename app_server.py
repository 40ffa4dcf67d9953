"""What ``surveykit serve`` runs: the app (``app.py``) as a Streamlit ASGI app, with two middlewares.

- ``/_stcore/metrics`` is answered with 404. Streamlit serves its metrics (sessions, cache sizes,
  per-page counts) to anyone who asks and has no option to turn them off, so a middleware
  answers that path before Streamlit sees it.
- ``POST /_surveykit/session`` sets the sign-in cookie from the server, ``HttpOnly``, so that no
  script on the page can read the token. The page posts the token it was just given (or an
  empty one, to sign out); the server checks it before setting anything.
"""

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from surveykit import Store
from surveykit.collection.sessions import session_cookie, verify_session
from surveykit.collection.store import resolve_db_url

HIDDEN_PATHS = ("/_stcore/metrics",)
"""Paths answered with 404, under any ``server.baseUrlPath``."""

SESSION_PATH = "/_surveykit/session"
"""Where the page posts a sign-in token to keep, under any ``server.baseUrlPath``."""

_MOST_BODY = 4096  # bytes: a token and a number of seconds
_MOST_SECONDS = 90 * 24 * 3600  # the longest sign-in the app allows


class HidePaths:
    """ASGI middleware answering ``HIDDEN_PATHS`` with 404 Not Found."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith(HIDDEN_PATHS):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class KeepSession:
    """ASGI middleware answering ``POST .../_surveykit/session`` with the sign-in cookie.

    The body is JSON ``{"token": ..., "seconds": ...}``. A token the store accepts
    (:func:`~surveykit.collection.sessions.verify_session`) is set as an ``HttpOnly`` cookie for
    that many seconds; an empty token clears the cookie. Anything else is refused and sets
    nothing: another method (405), a body that is not JSON (415), too long (413) or malformed
    (400), a request from another site's page (403), a token the store does not accept (403).
    """

    def __init__(self, app: ASGIApp, store_url: str | None = None) -> None:
        self.app = app
        self.store_url = store_url
        self._store: Store | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].rstrip("/").endswith(SESSION_PATH):
            await self.app(scope, receive, send)
            return
        response = await self._answer(scope, receive)
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Response:
        headers = Headers(scope=scope)
        if scope["method"] != "POST":
            return PlainTextResponse("Method Not Allowed", status_code=405, headers={"Allow": "POST"})
        if not headers.get("content-type", "").startswith("application/json"):
            return PlainTextResponse("Send the token as JSON.", status_code=415)
        # This site: the Host asked for, or the one a reverse proxy says it forwarded (a page on
        # another site can set neither: a cross-site fetch may not send custom headers unasked).
        here = {headers.get("host"), headers.get("x-forwarded-host")} - {None}
        origin = headers.get("origin")
        if origin is not None and urlsplit(origin).netloc not in here:
            return PlainTextResponse("A sign-in is kept only for this site's own pages.", status_code=403)
        body = await _read_body(receive, _MOST_BODY)
        if body is None:
            return PlainTextResponse("The request is too long.", status_code=413)
        try:
            sent = json.loads(body)
            token, seconds = sent["token"], sent["seconds"]
        except (ValueError, TypeError, KeyError):
            return PlainTextResponse('Send {"token": ..., "seconds": ...}.', status_code=400)
        if not isinstance(token, str) or not isinstance(seconds, int) or not 0 <= seconds <= _MOST_SECONDS:
            return PlainTextResponse('Send {"token": ..., "seconds": ...}.', status_code=400)
        if token and await run_in_threadpool(verify_session, self._opened_store(), token) is None:
            return PlainTextResponse("Not a sign-in this store accepts.", status_code=403)
        secure = scope.get("scheme") == "https" or headers.get("x-forwarded-proto") == "https"
        cookie = session_cookie(token, seconds if token else 0, secure=secure)
        return Response(status_code=204, headers={"Set-Cookie": cookie, "Cache-Control": "no-store"})

    def _opened_store(self) -> Store:
        if self._store is None:
            self._store = Store(resolve_db_url(self.store_url or os.environ.get("SURVEYKIT_DB_URL")))
        return self._store


async def _read_body(receive: Receive, most: int) -> bytes | None:
    """The request body, or None once it passes ``most`` bytes."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > most:
            return None
        if not message.get("more_body", False):
            return body


app = st.App(
    Path(__file__).resolve().parent / "app.py",
    middleware=[Middleware(HidePaths), Middleware(KeepSession)],
)
