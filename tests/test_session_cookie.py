"""The sign-in cookie is set by the server, HttpOnly, and only for a token the store accepts.

``app_server.KeepSession`` is called here as the ASGI server calls it, with the messages of one
request; the browser test (``test_end_to_end``) signs in and reloads through the real server.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from app_server import KeepSession
from surveykit import Store
from surveykit.collection.sessions import issue_session


class _Next:
    """The app behind the middleware (Streamlit, in ``surveykit serve``): records what reaches it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})


def _request(
    middleware: KeepSession,
    *,
    body: object = None,
    raw: bytes | None = None,
    method: str = "POST",
    path: str = "/_surveykit/session",
    headers: dict[str, str] | None = None,
    scheme: str = "http",
) -> tuple[int, dict[str, str]]:
    """One request through the middleware: its status and response headers."""
    sent = {"content-type": "application/json", "host": "localhost:8501", "origin": "http://localhost:8501"}
    sent.update(headers or {})
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "scheme": scheme,
        "http_version": "1.1",
        "server": ("localhost", 8501),
        "client": ("127.0.0.1", 50000),
        "headers": [(k.encode(), v.encode()) for k, v in sent.items() if v is not None],
    }
    payload = raw if raw is not None else json.dumps(body).encode()
    messages = [{"type": "http.request", "body": payload, "more_body": False}]
    replies: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        replies.append(message)

    asyncio.run(middleware(scope, receive, send))
    start = replies[0]
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}


@pytest.fixture
def keeper(sqlite_url: str) -> tuple[KeepSession, str, _Next]:
    with Store(sqlite_url) as store:
        store.add_analyst("ana", "s3cret pass")
        token = issue_session(store, "ana", ttl=3600)
    behind = _Next()
    return KeepSession(behind, store_url=sqlite_url), token, behind


def test_a_token_the_store_accepts_is_set_httponly_and_strict(keeper):
    middleware, token, behind = keeper
    status, headers = _request(middleware, body={"token": token, "seconds": 7200})
    assert status == 204 and behind.paths == []
    assert headers["set-cookie"] == (
        f"surveykit_session={token}; Path=/; Max-Age=7200; HttpOnly; SameSite=Strict"
    )
    assert headers["cache-control"] == "no-store"
    # Over HTTPS, or behind a proxy that terminates it, the cookie is also Secure.
    for scheme, extra in (("https", {}), ("http", {"x-forwarded-proto": "https"})):
        _, headers = _request(middleware, body={"token": token, "seconds": 60}, scheme=scheme, headers=extra)
        assert headers["set-cookie"].endswith("; HttpOnly; SameSite=Strict; Secure")


def test_a_page_served_through_a_reverse_proxy_keeps_its_sign_in(keeper):
    # The proxy forwards to localhost:8501 and names the host the browser asked for.
    middleware, token, _behind = keeper
    proxied = {
        "host": "localhost:8501",
        "origin": "https://survey.example",
        "x-forwarded-host": "survey.example",
    }
    status, headers = _request(middleware, body={"token": token, "seconds": 60}, headers=proxied)
    assert status == 204 and "HttpOnly" in headers["set-cookie"]
    status, headers = _request(
        middleware, body={"token": token, "seconds": 60}, headers={**proxied, "x-forwarded-host": None}
    )
    assert status == 403 and "set-cookie" not in headers


def test_signing_out_clears_the_cookie(keeper):
    middleware, _token, _behind = keeper
    status, headers = _request(middleware, body={"token": "", "seconds": 0})
    assert status == 204
    assert headers["set-cookie"] == "surveykit_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"


def test_the_path_is_answered_under_any_base_path(keeper):
    middleware, token, behind = keeper
    status, _ = _request(middleware, body={"token": token, "seconds": 60}, path="/team/_surveykit/session")
    assert status == 204 and behind.paths == []
    status, _ = _request(middleware, method="GET", path="/team/dashboard")
    assert status == 200 and behind.paths == ["/team/dashboard"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"method": "GET"}, 405),
        ({"headers": {"content-type": "application/x-www-form-urlencoded"}}, 415),
        ({"headers": {"origin": "https://evil.example"}}, 403),
        ({"raw": b'{"token": "' + b"a" * 5000 + b'", "seconds": 60}'}, 413),
        ({"raw": b"not json"}, 400),
        ({"body": {"token": "x"}}, 400),
        ({"body": {"token": 7, "seconds": 60}}, 400),
        ({"body": {"token": "TOKEN", "seconds": -1}}, 400),
        ({"body": {"token": "TOKEN", "seconds": 10**9}}, 400),
        ({"body": {"token": "YW5h.9999999999.forged", "seconds": 60}}, 403),
        ({"body": {"token": "TOKEN-tampered", "seconds": 60}}, 403),
    ],
    ids=[
        "get", "form post", "other site", "too long", "not json", "no seconds", "token not text",
        "negative seconds", "past 90 days", "forged signature", "tampered token",
    ],
)  # fmt: skip
def test_anything_else_is_refused_and_sets_nothing(keeper, change, status):
    middleware, token, behind = keeper
    if "body" in change:
        change = {**change, "body": {k: (token if v == "TOKEN" else v) for k, v in change["body"].items()}}
        if change["body"].get("token") == "TOKEN-tampered":
            change["body"]["token"] = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif "raw" not in change:
        change = {**change, "body": {"token": token, "seconds": 60}}
    got, headers = _request(middleware, **change)
    assert got == status
    assert "set-cookie" not in headers
    assert behind.paths == []
