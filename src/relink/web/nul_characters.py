"""Text with a NUL character is refused at the door, with a 422 that says so.

No field of Relink can hold U+0000: PostgreSQL refuses it in any text, SQLite in a statement's
text. Left to the database it would be a 500 deep inside a query; here it is the client's
error, named, before any handler or transaction runs. Checked: the query string, and form and
JSON bodies (a multipart upload may carry binary files, so it is left to its handler).
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MESSAGE = "text may not contain NUL (U+0000) characters: remove them from the {where}"
# A NUL as it arrives: raw, percent-encoded (query strings, forms) or JSON-escaped.
_NUL = re.compile(rb"\x00|%00|\\u0000", re.IGNORECASE)
_CHECKED_BODIES = (b"application/x-www-form-urlencoded", b"application/json")
# Forms and JSON bodies of Relink are small; past this the rest streams on unchecked (the
# handler's own limits answer a body that large).
SCANNED_BYTES = 1 << 20


def _content_type(scope: Scope) -> bytes:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower()
    return b""


class RefuseNulMiddleware:
    """Answers 422 to a request whose query string or form/JSON body holds a NUL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _NUL.search(scope.get("query_string", b"")):
            await _refuse(send, "address's query")
            return
        if _content_type(scope) not in _CHECKED_BODIES:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False) or len(body) > SCANNED_BYTES:
                break
        if _NUL.search(body):
            await _refuse(send, "form or JSON body")
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, where: str) -> None:
    body = json.dumps({"detail": MESSAGE.format(where=where)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
