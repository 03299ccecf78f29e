"""Webhook endpoints and the events fanned out to them; delivery itself is in webhook_tasks."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.config import get_settings
from relink.errors import InvalidInput, NotFound, RelinkError
from relink.kit.crypto import SecretBox
from relink.kit.pagination import clamp_limit
from relink.kit.public_address import HostPolicy
from relink.models import Client, WebhookDelivery, WebhookEndpoint
from relink.notifications.chat_messages import chat_items, slack_message, teams_message
from relink.notifications.webhook_events import SUBSCRIBABLE, TEST_EVENT
from relink.notifications.webhook_http import host_policy, validate_url
from relink.notifications.webhook_signing import SigningKeys, new_secret
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName

EVENTS = SUBSCRIBABLE
# Chat formats are unsigned: the chat product checks nothing of ours (its URL is the secret).
CHAT_FORMATS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "slack": slack_message,
    "teams": teams_message,
}
PAYLOAD_FORMATS = ("json", *CHAT_FORMATS)
# After a rotation the previous secret still signs for this long, so receivers can switch over.
ROTATION_GRACE = timedelta(hours=24)
# A channel scoped to more clients than this is better left unscoped (and the form says so).
MAX_SCOPED_CLIENTS = 1000


def _validate_events(events: Sequence[str]) -> list[str]:
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise InvalidInput(f"unknown webhook event {unknown[0]!r}: choose from {', '.join(EVENTS)}")
    return list(dict.fromkeys(events))


class NotSigned(RelinkError):
    """Slack and Teams endpoints are not signed: they have no secret to rotate."""

    status_code = 409


@dataclass(frozen=True)
class EndpointConfig:
    """What the endpoint's sealed column holds: its signing keys and the clients it is for.

    ``client_ids`` empty means every client. The scope is sealed beside the keys so that it
    needs no column of its own; it is applied when a delivery is sent (see ``in_scope``).
    """

    keys: SigningKeys
    client_ids: list[int] = field(default_factory=list)

    def sealed(self, box: SecretBox, *, now: datetime | None = None) -> str:
        fields = self.keys.as_sealed(now)
        if self.client_ids:
            fields["client_ids"] = self.client_ids
        return box.seal(fields)


def endpoint_config(box: SecretBox, endpoint: WebhookEndpoint) -> EndpointConfig:
    """The endpoint's keys and scope; ``CredentialsUnreadable`` when the keys are wrong."""
    opened = box.open(endpoint.secret)
    return EndpointConfig(
        keys=SigningKeys.of_sealed(opened),
        client_ids=[int(c) for c in opened.get("client_ids") or []],
    )


async def _validate_clients(
    session: AsyncSession, *, agency_id: int, client_ids: Sequence[int]
) -> list[int]:
    chosen = list(dict.fromkeys(client_ids))
    if len(chosen) > MAX_SCOPED_CLIENTS:
        raise InvalidInput(
            f"a channel can be scoped to at most {MAX_SCOPED_CLIENTS} clients: "
            "choose fewer, or none for every client"
        )
    if not chosen:
        return []
    found = set(
        await session.scalars(
            select(Client.id).where(Client.agency_id == agency_id, Client.id.in_(chosen))
        )
    )
    missing = [c for c in chosen if c not in found]
    if missing:
        raise InvalidInput(f"client {missing[0]} not found: choose clients of this agency")
    return sorted(chosen)


async def create_endpoint(
    session: AsyncSession,
    *,
    box: SecretBox,
    agency_id: int,
    url: str,
    events: Sequence[str],
    payload_format: str = "json",
    description: str | None = None,
    client_ids: Sequence[int] = (),
    policy: HostPolicy | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its plaintext secret, which is shown this once and never again.

    ``client_ids`` scopes it to those clients' events (none: every client). ``policy``
    says which non-public hosts are allowed; the settings' by default.
    """
    if payload_format not in PAYLOAD_FORMATS:
        raise InvalidInput(f"payload format must be one of {', '.join(PAYLOAD_FORMATS)}")
    checked_url = await validate_url(url, policy=policy or host_policy())
    chosen_events = _validate_events(events)
    scope = await _validate_clients(session, agency_id=agency_id, client_ids=client_ids)
    secret = new_secret()
    config = EndpointConfig(keys=SigningKeys(current=secret), client_ids=scope)
    endpoint = WebhookEndpoint(
        agency_id=agency_id,
        url=checked_url,
        secret=config.sealed(box),
        events=chosen_events,
        payload_format=payload_format,
        is_active=True,
        description=description,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def list_endpoints(
    session: AsyncSession,
    *,
    agency_id: int,
    after_id: int | None = None,
    limit: int | None = None,
) -> list[WebhookEndpoint]:
    """The agency's endpoints, oldest first; a page of ``limit`` after ``after_id`` if asked."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.agency_id == agency_id)
    if after_id is not None:
        query = query.where(WebhookEndpoint.id > after_id)
    query = query.order_by(WebhookEndpoint.id)
    if limit is not None:
        query = query.limit(clamp_limit(limit))
    return list(await session.scalars(query))


def shown_url(endpoint: WebhookEndpoint) -> str:
    """The URL as pages and the API show it: a Slack or Teams URL is a secret, so only its
    scheme and host are shown; a signed endpoint's URL in full."""
    if endpoint.payload_format not in CHAT_FORMATS:
        return endpoint.url
    parts = urlsplit(endpoint.url)
    return f"{parts.scheme}://{parts.hostname}/…"


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
    """A new plaintext secret, shown this once; the old one keeps signing beside it for
    ``ROTATION_GRACE`` (two signatures per delivery), then signs nothing.

    Raises ``NotSigned`` for a Slack or Teams endpoint, whose deliveries carry no signature.
    """
    endpoint = await get_endpoint(session, agency_id=agency_id, endpoint_id=endpoint_id)
    if endpoint.payload_format in CHAT_FORMATS:
        raise NotSigned(
            f"a {endpoint.payload_format} endpoint is not signed, so it has no secret to "
            "rotate: its URL is the secret (delete it and add the new URL to change it)"
        )
    config = endpoint_config(box, endpoint)
    secret = new_secret()
    keys = config.keys.rotated(secret, now=now, overlap=ROTATION_GRACE)
    endpoint.secret = replace(config, keys=keys).sealed(box, now=now)
    await session.flush()
    return secret


def signing_secrets(box: SecretBox, sealed: str, *, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous during its overlap."""
    return SigningKeys.of_sealed(box.open(sealed)).signing(now)


def subscribes(endpoint: WebhookEndpoint, event: str) -> bool:
    return endpoint.is_active and (not endpoint.events or event in endpoint.events)


def in_scope(config: EndpointConfig, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """``payload`` as an endpoint scoped by ``config`` may see it, or None when it concerns
    none of its clients. A chat message keeps only the clients in scope; an event about no
    client (the test) goes wherever it was sent."""
    if not config.client_ids:
        return dict(payload)
    scope = set(config.client_ids)
    data: Mapping[str, Any] = payload.get("data") or {}
    if "clients" in data:
        clients = [c for c in data["clients"] if c.get("id") in scope]
        if not clients:
            return None
        names = [str(c["name"]) for c in clients]
        return {**payload, "data": {**data, "clients": clients, "client_names": names}}
    if "client_id" in data and data["client_id"] not in scope:
        return None
    return dict(payload)


def _payload(event: str, data: Mapping[str, Any], created: str) -> tuple[str, dict[str, Any]]:
    event_id = uuid.uuid4().hex
    # Standard Webhooks names the time "timestamp"; "created" is kept for earlier receivers.
    payload = {"id": event_id, "type": event, "timestamp": created, "created": created}
    return event_id, payload | {"data": dict(data)}


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
    duplicates); Slack and Teams get one message per cause instead (``chat_items``). All rows
    go in one executemany insert: this runs for 100k data sources.
    """
    if event not in EVENTS:
        raise InvalidInput(f"unknown webhook event {event!r}: choose from {', '.join(EVENTS)}")
    subscribed = [
        endpoint
        for endpoint in await list_endpoints(session, agency_id=agency_id)
        if subscribes(endpoint, event)
    ]
    if not subscribed or not items:
        return 0
    signed_ids = [e.id for e in subscribed if e.payload_format not in CHAT_FORMATS]
    chat_ids = [e.id for e in subscribed if e.payload_format in CHAT_FORMATS]
    created = now.isoformat()
    rows: list[dict[str, Any]] = []
    for endpoint_ids, datas in (
        (signed_ids, items),
        (chat_ids, chat_items(items) if chat_ids else []),
    ):
        for data in datas:
            event_id, payload = _payload(event, data, created)
            rows.extend(
                _delivery_row(agency_id, endpoint_id, event, event_id, payload, now)
                for endpoint_id in endpoint_ids
            )
    await session.execute(insert(WebhookDelivery), rows)
    enqueue(session, JobName.WEBHOOKS_DELIVER_DUE)
    return len(rows)


def _delivery_row(
    agency_id: int,
    endpoint_id: int,
    event: str,
    event_id: str,
    payload: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    return {
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


async def send_test(
    session: AsyncSession, *, agency_id: int, endpoint_id: int, now: datetime
) -> WebhookDelivery:
    """A ``webhook.test`` event to this endpoint alone, sent as soon as this commits."""
    endpoint = await get_endpoint(session, agency_id=agency_id, endpoint_id=endpoint_id)
    base_url = get_settings().effective_base_url
    _, payload = _payload(
        TEST_EVENT,
        {
            "endpoint_id": endpoint.id,
            "provider_name": "Relink",
            "reason": "a test sent from Relink; no data source is affected",
            "action_url": f"{base_url}/settings/webhooks/{endpoint.id}",
        },
        now.isoformat(),
    )
    delivery = WebhookDelivery(
        **_delivery_row(agency_id, endpoint.id, TEST_EVENT, payload["id"], payload, now)
    )
    session.add(delivery)
    await session.flush()
    enqueue(session, JobName.WEBHOOKS_DELIVER, delivery_id=delivery.id)
    return delivery
