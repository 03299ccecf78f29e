"""Pushing the sandbox's revocation signals to registered receivers, in the background.

A revoked grant (the ``revoke_grant`` fault, or "remove access" on the account page) pushes
one signal per receiver for each identity concerned: a Security Event Token, or for an identity
whose provider works like Meta, a Deauthorize Callback ``signed_request`` signed with the app
secret. Delivery is best effort, a few tries, like a real transmitter's; it never blocks the
request that revoked.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import aiohttp
import structlog

from relink.sandbox.seed import Identity
from relink.sandbox.state import SandboxState

log = structlog.get_logger(__name__)

ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 1.0
TIMEOUT_SECONDS = 10.0
# Background deliveries, kept referenced until done.
_pending: set[asyncio.Task[None]] = set()


def push_revocations(state: SandboxState, identities: list[Identity]) -> int:
    """Start delivering a signal about each identity to every receiver; returns how many."""
    sender = state.transmitter
    deliveries: list[tuple[str, dict[str, str], str]] = []
    for identity in identities:
        if identity.signals == "meta_deauthorize":
            for url in sorted(sender.deauthorize_callbacks):
                signed = signed_request(identity.subject, state.client.client_secret)
                form = {"Content-Type": "application/x-www-form-urlencoded"}
                deliveries.append((url, form, f"signed_request={signed}"))
        else:
            for receiver in sender.streams.values():
                token = sender.security_event_token(
                    receiver, subject=identity.subject, audience=state.client.client_id
                )
                deliveries.append(
                    (receiver.url, {"Content-Type": "application/secevent+jwt"}, token)
                )
    for url, headers, payload in deliveries:
        task = asyncio.get_running_loop().create_task(_deliver(url, headers, payload))
        _pending.add(task)
        task.add_done_callback(_pending.discard)
    return len(deliveries)


def signed_request(user_id: str, secret: str) -> str:
    """Meta's format: base64url(HMAC-SHA256(payload)) "." base64url(JSON payload)."""
    payload = {"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), "user_id": user_id}
    encoded = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return f"{_b64(signature)}.{encoded}"


async def _deliver(url: str, headers: dict[str, str], body: str) -> None:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.post(url, data=body, headers=headers) as answer,
            ):
                await answer.read()
                log.info("sandbox.signal.pushed", url=url, status=answer.status)
                if answer.status < 500:
                    return
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.info("sandbox.signal.unreachable", url=url, error=type(exc).__name__)
        if attempt < ATTEMPTS:
            await asyncio.sleep(RETRY_PAUSE_SECONDS * attempt)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
