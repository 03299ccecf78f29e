"""The sandbox as a RISC transmitter: it pushes signed Security Event Tokens, as Google does.

Receivers register with ``POST /risc/stream:update`` (the shape of Google's RISC stream
configuration: ``{"delivery": {"delivery_method": PUSH, "url": ...}, "events_requested":
[...]}``), authenticated with the OAuth client's id and secret (HTTP Basic). The issuer of the
tokens is the sandbox's address as that receiver called it, so the receiver's catalog entry
(``issuer: "{sandbox_url}"``) matches. Tokens are ES256, signed with a key made at start-up
and published at ``/risc/jwks``; the discovery document is ``/.well-known/risc-configuration``.
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from relink.sandbox.deps import Sandbox
from relink.sandbox.errors import ApiError
from relink.sandbox.state import SandboxState
from relink.sandbox.transmitter import PUSH, SUPPORTED_EVENTS, Receiver

router = APIRouter()


class Delivery(BaseModel):
    delivery_method: str
    url: str


class StreamConfig(BaseModel):
    delivery: Delivery
    events_requested: list[str] = list(SUPPORTED_EVENTS)


class CallbackConfig(BaseModel):
    url: str


def _require_client(request: Request, state: SandboxState) -> None:
    """The registered OAuth client's id and secret, by HTTP Basic."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except ValueError:
        user = password = ""
    good = scheme.lower() == "basic" and hmac.compare_digest(
        f"{user}:{password}", f"{state.client.client_id}:{state.client.client_secret}"
    )
    if not good:
        raise ApiError(
            "UNAUTHENTICATED", "Stream configuration needs the client's credentials.", 401
        )


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/.well-known/risc-configuration")
async def discovery(request: Request) -> dict[str, Any]:
    base = _base(request)
    return {
        "issuer": base,
        "jwks_uri": f"{base}/risc/jwks",
        "delivery_methods_supported": [PUSH],
        "configuration_endpoint": f"{base}/risc/stream:update",
    }


@router.get("/risc/jwks")
async def jwks(state: Sandbox) -> dict[str, Any]:
    return {"keys": [state.transmitter.key.as_dict(private=False)]}


@router.post("/risc/stream:update")
async def update_stream(body: StreamConfig, request: Request, state: Sandbox) -> dict[str, Any]:
    _require_client(request, state)
    if body.delivery.delivery_method != PUSH:
        raise ApiError("INVALID_ARGUMENT", "Only push delivery is supported.", 400)
    events = tuple(e for e in body.events_requested if e in SUPPORTED_EVENTS) or SUPPORTED_EVENTS
    receiver = Receiver(url=body.delivery.url, issuer=_base(request), events=events)
    state.transmitter.streams[receiver.url] = receiver
    return {"delivery": {"delivery_method": PUSH, "url": receiver.url}, "events_delivered": events}


@router.post("/apps/deauthorize-callback")
async def set_deauthorize_callback(
    body: CallbackConfig, request: Request, state: Sandbox
) -> dict[str, str]:
    _require_client(request, state)
    state.transmitter.deauthorize_callbacks.add(body.url)
    return {"url": body.url}
