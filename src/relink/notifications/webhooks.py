"""Webhook endpoints and the events fanned out to them; delivery itself is in webhook_tasks."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.config import get_settings
from relink.errors import InvalidInput, NotFound
from relink.kit.crypto import SecretBox
from relink.kit.pagination import clamp_limit
from relink.kit.public_address import HostPolicy, literal_ip, resolve
from relink.models import WebhookDelivery, WebhookEndpoint
from relink.notifications.chat_messages import slack_message, teams_message
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName

EVENTS = (
    "data_source.disconnected",
    "data_source.reconnected",
    "import.failed",
    "grant.expires_soon",
)
# Chat formats are unsigned: the chat product checks nothing of ours (its URL is the secret).
CHAT_FORMATS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "slack": slack_message,
    "teams": teams_message,
}
PAYLOAD_FORMATS = ("json", *CHAT_FORMATS)
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix that marks secrets, not a secret)
# 24 random bytes are 32 url-safe characters: 192 bits, beyond any guessing.
SECRET_BYTES = 24
# After a rotation the previous secret still signs for this long, so receivers can switch over.
ROTATION_GRACE = timedelta(hours=24)
MAX_URL_LENGTH = 2000
# Saving looks the host up to refuse internal targets at once; a slow resolver must not hold
# the form for long (the send-time check stands behind this one anyway).
SAVE_RESOLVE_TIMEOUT_SECONDS = 3.0


def host_policy(allowed_hosts: Iterable[str] | None = None) -> HostPolicy:
    """The hosts webhooks may reach besides public ones (``RELINK_WEBHOOK_ALLOWED_HOSTS``)."""
    if allowed_hosts is None:
        allowed_hosts = get_settings().webhook_allowed_hosts
    return HostPolicy.allowing(allowed_hosts)


async def validate_url(url: str, *, policy: HostPolicy) -> str:
    """The trimmed URL if Relink may send to it; else ``InvalidInput`` saying what to fix.

    A host that does not resolve yet is accepted: every send resolves and checks again.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InvalidInput(f"webhook URL is not a valid URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"webhook URL must be an http(s) URL with a host, not {url!r}")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"webhook URL is longer than {MAX_URL_LENGTH} characters")
    host = parts.hostname
    addresses = [host]
    if literal_ip(host) is None and not policy.allows(host):
        try:
            async with asyncio.timeout(SAVE_RESOLVE_TIMEOUT_SECONDS):
                addresses = await resolve(host, port)
        except (OSError, TimeoutError):
            addresses = []  # not resolvable now: the name-based checks still apply
    refusal = policy.refusal(host, addresses)
    if refusal is not None:
        raise InvalidInput(
            f"webhook URL refused: {refusal}. Relink sends webhooks only to public internet "
            "addresses; use your receiver's public URL (an operator can allow a test host "
            "with RELINK_WEBHOOK_ALLOWED_HOSTS)"
        )
    return url


def _validate_events(events: Sequence[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidInput(f"unknown webhook event {unknown[0]!r}: choose from {', '.join(EVENTS)}")
    return list(dict.fromkeys(events))


def _new_secret() -> str:
    # Standard Webhooks: the part after the prefix is the HMAC key in (standard) base64.
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def create_endpoint(
    session: AsyncSession,
    *,
    box: SecretBox,
    agency_id: int,
    url: str,
    events: Sequence[str],
    payload_format: str = "json",
    description: str | None = None,
    policy: HostPolicy | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its plaintext secret, which is shown this once and never again.

    ``policy`` says which non-public hosts are allowed; the settings' by default.
    """
    if payload_format not in PAYLOAD_FORMATS:
        raise InvalidInput(f"payload format must be one of {', '.join(PAYLOAD_FORMATS)}")
    checked_url = await validate_url(url, policy=policy or host_policy())
    secret = _new_secret()
    endpoint = WebhookEndpoint(
        agency_id=agency_id,
        url=checked_url,
        secret=box.seal({"secret": secret}),
        events=_validate_events(events),
        payload_format=payload_format,
        is_active=True,
        description=description,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def list_endpoints(session: AsyncSession, *, agency_id: int) -> list[WebhookEndpoint]:
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.agency_id == agency_id)
        .order_by(WebhookEndpoint.id)
    )
    return list(await session.scalars(query))


async def get_endpoint(
    session: AsyncSession, *, agency_id: int, endpoint_id: int
) -> WebhookEndpoint:
    """The agency's endpoint, or ``NotFound`` (another agency's endpoint does not exist here)."""
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.agency_id != agency_id:
        raise NotFound("webhook endpoint")
    return endpoint


async def delete_endpoint(session: AsyncSession, *, agency_id: int, endpoint_id: int) -> None:
    """Remove the endpoint; its delivery log goes with it (ON DELETE CASCADE)."""
    endpoint = await get_endpoint(session, agency_id=agency_id, endpoint_id=endpoint_id)
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, *, box: SecretBox, agency_id: int, endpoint_id: int, now: datetime
) -> str:
    """A new plaintext secret; the old one keeps signing alongside it for ``ROTATION_GRACE``."""
    endpoint = await get_endpoint(session, agency_id=agency_id, endpoint_id=endpoint_id)
    previous = box.open(endpoint.secret)["secret"]
    secret = _new_secret()
    endpoint.secret = box.seal(
        {
            "secret": secret,
            "previous": previous,
            "previous_until": (now + ROTATION_GRACE).isoformat(),
        }
    )
    await session.flush()
    return secret


def signing_secrets(box: SecretBox, sealed: str, *, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous during its grace period."""
    opened = box.open(sealed)
    found = [str(opened["secret"])]
    until = opened.get("previous_until")
    if opened.get("previous") and until and datetime.fromisoformat(until) > now:
        found.append(str(opened["previous"]))
    return found


def subscribes(endpoint: WebhookEndpoint, event: str) -> bool:
    return endpoint.is_active and (not endpoint.events or event in endpoint.events)


async def emit(
    session: AsyncSession,
    *,
    agency_id: int,
    event: str,
    items: list[dict[str, Any]],
    now: datetime,
) -> int:
    """Queue ``event`` for every item to every subscribed endpoint; returns the deliveries made.

    Each item is one event (one ``event_id``, shared by all endpoints so receivers can drop
    duplicates). All rows go in one executemany insert: this runs for 100k data sources.
    """
    if event not in EVENTS:
        raise InvalidInput(f"unknown webhook event {event!r}: choose from {', '.join(EVENTS)}")
    endpoint_ids = [
        endpoint.id
        for endpoint in await list_endpoints(session, agency_id=agency_id)
        if subscribes(endpoint, event)
    ]
    if not endpoint_ids or not items:
        return 0
    created = now.isoformat()
    rows: list[dict[str, Any]] = []
    for item in items:
        event_id = uuid.uuid4().hex
        # Standard Webhooks names the time "timestamp"; "created" is kept for earlier receivers.
        payload = {
            "id": event_id,
            "type": event,
            "timestamp": created,
            "created": created,
            "data": item,
        }
        rows.extend(
            {
                "agency_id": agency_id,
                "endpoint_id": endpoint_id,
                "event": event,
                "event_id": event_id,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint_id in endpoint_ids
        )
    await session.execute(insert(WebhookDelivery), rows)
    enqueue(session, JobName.WEBHOOKS_DELIVER_DUE)
    return len(rows)


async def list_deliveries(
    session: AsyncSession,
    *,
    agency_id: int,
    endpoint_id: int,
    limit: int | None = None,
    before_id: int | None = None,
) -> list[WebhookDelivery]:
    """The endpoint's delivery log, newest first; pass the last id seen as ``before_id``."""
    await get_endpoint(session, agency_id=agency_id, endpoint_id=endpoint_id)
    query = select(WebhookDelivery).where(
        WebhookDelivery.agency_id == agency_id, WebhookDelivery.endpoint_id == endpoint_id
    )
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    query = query.order_by(WebhookDelivery.id.desc()).limit(clamp_limit(limit))
    return list(await session.scalars(query))


def request_body(payload_format: str, payload: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): the Relink payload, or a chat message."""
    chat = CHAT_FORMATS.get(payload_format)
    message = chat(payload) if chat is not None else payload
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
