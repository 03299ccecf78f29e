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
# What a crash answers (the same words as Starlette's own error answer).
CRASH_START: Message = {
    "type": "http.response.start",
    "status": 500,
    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")],
}
CRASH_BODY: Message = {"type": "http.response.body", "body": b"Internal Server Error"}


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
    """Binds ``request_id`` for the request's log lines and sends it back in the answer.

    A crash is answered here (500, with the id) rather than by Starlette's outermost error
    middleware, which would answer without the id once the context has been left.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The crash's answer carries the id too, and the id stays bound: the server logs
            # the traceback after this returns, and that line must say which request it was.
            # (The server runs each request in a task of its own, so nothing leaks to the next.)
            if not started:
                await send_with_id(CRASH_START)
                await send_with_id(CRASH_BODY)
            raise
        structlog.contextvars.reset_contextvars(**bound)
