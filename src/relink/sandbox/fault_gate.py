"""Where faults meet requests: one gate every OAuth and data API endpoint passes through.

Transport-like faults (slow, rate_limit, server_error, drop_response, invalid_client) are decided
here, once the endpoint knows who is calling (identity) and about what (account). Domain faults
(revoke_grant, expire_refresh, remove_permission, unlink_account, malformed_data) are asked for by
the code they concern, through the same `FaultBook`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from relink.sandbox.errors import Surface, oauth_error_response
from relink.sandbox.faults import FaultKind
from relink.sandbox.state import SandboxState

# Key in the ASGI scope's state: the endpoint ran, but its answer must never reach the client.
DROP_FLAG = "sandbox_drop_response"
# How long to wait for uvicorn to notice the aborted connection (else it answers 500 for us).
DISCONNECT_WAIT_STEPS = 100
DISCONNECT_WAIT_STEP_SECONDS = 0.002


@dataclass(frozen=True)
class CallContext:
    surface: Surface
    subject: str | None = None
    account: str | None = None


class FaultAnswer(Exception):
    """A switched-on fault answers instead of the endpoint."""

    def __init__(self, surface: Surface, kind: FaultKind, status_code: int, retry_after: int = 0):
        super().__init__(kind.value)
        self.surface = surface
        self.kind = kind
        self.status_code = status_code
        self.retry_after = retry_after

    def to_response(self) -> Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
        if self.kind is FaultKind.INVALID_CLIENT:
            return oauth_error_response(
                "invalid_client", "The OAuth client was not found.", 401, headers
            )
        if self.kind is FaultKind.RATE_LIMIT:
            message = f"Too many requests; retry after {self.retry_after} seconds."
            code, oauth_code = "RATE_LIMITED", "rate_limited"
        else:
            message = "The service is unavailable; try again later."
            code = "INTERNAL"
            oauth_code = "temporarily_unavailable" if self.status_code == 503 else "server_error"
        if self.surface == "oauth":
            return oauth_error_response(oauth_code, message, self.status_code, headers)
        return JSONResponse(
            {"error": {"code": code, "message": message}},
            status_code=self.status_code,
            headers=headers,
        )


async def render_fault_answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FaultAnswer)
    return exc.to_response()


async def pass_fault_gate(request: Request, state: SandboxState, call: CallContext) -> None:
    """Apply the transport-like faults that match this call; raises FaultAnswer to answer."""
    now = state.now()
    target: dict[str, Any] = {
        "now": now,
        "subject": call.subject,
        "account": call.account,
        "surface": call.surface,
    }
    # A slow answer comes on top of whatever else this call meets.
    slow = state.faults.find(FaultKind.SLOW, **target)
    if slow is not None:
        state.stats.faults_triggered[FaultKind.SLOW] += 1
        await asyncio.sleep(slow.delay)
    # Of the faults that replace the answer, the one switched on first strikes first.
    kinds: tuple[FaultKind, ...] = (
        FaultKind.RATE_LIMIT,
        FaultKind.SERVER_ERROR,
        FaultKind.DROP_RESPONSE,
    )
    if call.surface == "oauth":
        kinds += (FaultKind.INVALID_CLIENT,)
    fault = state.faults.first_of(kinds, **target)
    if fault is None:
        return
    state.stats.faults_triggered[fault.kind] += 1
    if fault.kind is FaultKind.DROP_RESPONSE:
        # The endpoint still runs (a refresh still rotates the token); its answer is lost.
        request.scope.setdefault("state", {})[DROP_FLAG] = True
        return
    status = {FaultKind.RATE_LIMIT: 429, FaultKind.INVALID_CLIENT: 401}.get(
        fault.kind, fault.status
    )
    retry_after = fault.retry_after if fault.kind is FaultKind.RATE_LIMIT else 0
    raise FaultAnswer(call.surface, fault.kind, status, retry_after)


async def call_with_drops(
    app: Any, state: SandboxState, scope: Scope, receive: Receive, send: Send
) -> None:
    """Run the ASGI app; if the endpoint set DROP_FLAG, swallow its answer and cut the line."""
    scope_state: dict[str, Any] = scope.setdefault("state", {})
    dropped = False

    async def guarded_send(message: Message) -> None:
        nonlocal dropped
        if scope_state.get(DROP_FLAG):
            dropped = True
            return
        await send(message)

    await app(scope, receive, guarded_send)
    if dropped:
        state.stats.dropped_responses += 1
        await _cut_connection(receive, send)


class DroppedResponse(Exception):
    """Raised after a half-sent answer: uvicorn then closes the connection."""


async def _cut_connection(receive: Receive, send: Send) -> None:
    # uvicorn's receive is a bound method of its request cycle, which holds the transport.
    # Aborting it looks to the client exactly like a connection reset before any answer.
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        for _ in range(DISCONNECT_WAIT_STEPS):
            if getattr(cycle, "disconnected", False):
                return
            await asyncio.sleep(DISCONNECT_WAIT_STEP_SECONDS)
        return
    # Another server: promise a body, send none, and fail, which makes servers close the line.
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
    )
    raise DroppedResponse("answer dropped by the drop_response fault")
