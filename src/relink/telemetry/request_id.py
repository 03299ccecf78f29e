"""A request id on every request: taken from a sane ``X-Request-ID`` or made here.

Bound in structlog's context variables for the request, so every line logged while it runs
(the app's events and uvicorn's access line alike) carries it, and echoed in the answer so a
user's report can be matched to the logs.
"""

from __future__ import annotations

import re
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
# An id from a proxy is kept only when it cannot smuggle anything into a log line or a header.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The incoming id when it is sane, else a new random one."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            candidate = value.decode("latin-1")
            if SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Binds ``request_id`` for the request's log lines and sends it back in the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)
