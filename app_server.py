"""What ``surveykit serve`` runs: the app (``app.py``) as a Streamlit ASGI app that answers
``/_stcore/metrics`` with 404.

Streamlit serves its metrics (sessions, cache sizes, per-page counts) to anyone who asks and has
no option to turn them off, so a middleware answers that path before Streamlit sees it.
"""

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

HIDDEN_PATHS = ("/_stcore/metrics",)
"""Paths answered with 404, under any ``server.baseUrlPath``."""


class HidePaths:
    """ASGI middleware answering ``HIDDEN_PATHS`` with 404 Not Found."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith(HIDDEN_PATHS):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


app = st.App(Path(__file__).resolve().parent / "app.py", middleware=[Middleware(HidePaths)])
