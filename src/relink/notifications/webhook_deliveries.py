"""The delivery log of an endpoint: reading it, sending a delivery again, and the bytes sent."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import NotFound
from relink.kit.pagination import clamp_limit
from relink.models import WebhookDelivery
from relink.notifications.webhooks import CHAT_FORMATS, get_endpoint
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName


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


async def get_delivery(
    session: AsyncSession, *, agency_id: int, endpoint_id: int, delivery_id: int
) -> WebhookDelivery:
    """One delivery of the agency's endpoint, or ``NotFound``."""
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.agency_id != agency_id or delivery.endpoint_id != endpoint_id:
        raise NotFound("webhook delivery")
    return delivery


async def resend_delivery(
    session: AsyncSession, *, agency_id: int, endpoint_id: int, delivery_id: int, now: datetime
) -> WebhookDelivery:
    """Send a delivery again as soon as this commits, with the same event id (a receiver
    that handled it drops the repeat). A delivered or failed one starts over with the whole
    retry schedule; a pending one is just due now."""
    delivery = await get_delivery(
        session, agency_id=agency_id, endpoint_id=endpoint_id, delivery_id=delivery_id
    )
    # One row update, as the sender writes its outcomes (webhook_tasks); a delivery's status
    # is its own word, not a data source's, which only relink.status_writer sets.
    attempts = delivery.attempts if delivery.status == "pending" else 0
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id)
        .values({"status": "pending", "attempts": attempts, "next_attempt_at": now})
        .execution_options(synchronize_session="fetch")
    )
    await session.flush()
    enqueue(session, JobName.WEBHOOKS_DELIVER, delivery_id=delivery.id)
    return delivery


def request_body(payload_format: str, payload: Mapping[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): the Relink payload, or a chat message."""
    chat = CHAT_FORMATS.get(payload_format)
    message = chat(payload) if chat is not None else payload
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
