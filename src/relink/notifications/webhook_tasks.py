"""Webhook delivery jobs: claim what is due, POST it signed, retry with backoff, then give up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from relink.errors import CredentialsUnreadable
from relink.kit.public_address import HostPolicy, TargetRefused
from relink.kit.retry import retry_wait
from relink.models import WebhookDelivery, WebhookEndpoint
from relink.notifications.webhook_deliveries import request_body
from relink.notifications.webhook_http import WebhookSender
from relink.notifications.webhook_signing import (
    EVENT_HEADER,
    ID_HEADER,
    signed_headers,
)
from relink.notifications.webhooks import CHAT_FORMATS, endpoint_config, in_scope
from relink.providers.http import NoAnswer
from relink.worker.context import JobContext
from relink.worker.registry import JobName, job

log = structlog.get_logger(__name__)

# A claimed delivery is not due again for this long even if its worker dies (> HTTP timeout).
CLAIM_TTL = timedelta(minutes=5)
# Rows claimed per statement: one round trip per batch, never one per row.
CLAIM_BATCH = 200
# Parallel POSTs from one process; the HTTP client also caps sockets per host.
CONCURRENCY = 20


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Send:
    delivery_id: int
    endpoint_id: int
    event: str
    attempts: int
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class _Outcome:
    send: _Send
    status_code: int | None
    error: str | None
    # The host is not one webhooks may reach: retrying cannot help, an admin must fix the URL.
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


async def _claim(session: AsyncSession, due: Select[int], until: datetime) -> list[int]:
    ids = list(await session.scalars(due.with_for_update(skip_locked=True)))
    if ids:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
    return ids


def _active_endpoints() -> Select[int]:
    return select(WebhookEndpoint.id).where(WebhookEndpoint.is_active.is_(True))


async def claim_due_deliveries(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Pending deliveries due by ``now`` to active endpoints, pushed ``CLAIM_TTL`` ahead."""
    due = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.endpoint_id.in_(_active_endpoints()),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    return await _claim(session, due, now + CLAIM_TTL)


async def _prepare(ctx: JobContext, ids: list[int]) -> tuple[list[_Send], list[int]]:
    """Bodies and signed headers for the claimed deliveries, read in one query; and the
    deliveries that concern none of their endpoint's clients, which are not sent at all."""
    async with ctx.database.transaction() as session:
        rows = await session.execute(
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id.in_(ids))
        )
        pairs = [(delivery, endpoint) for delivery, endpoint in rows]
    now = ctx.now()
    timestamp = int(now.timestamp())
    sends: list[_Send] = []
    out_of_scope: list[int] = []
    for delivery, endpoint in pairs:
        try:
            config = endpoint_config(ctx.box, endpoint)
        except CredentialsUnreadable:
            # Neither its keys nor its scope can be read: nothing is sent that might go to
            # the wrong channel. It stays claimed, retried after CLAIM_TTL once keys are fixed.
            log.error("webhook.secret.unreadable", endpoint_id=endpoint.id)
            continue
        payload = in_scope(config, delivery.payload)
        if payload is None:
            out_of_scope.append(delivery.id)
            continue
        body = request_body(endpoint.payload_format, payload)
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: delivery.event,
            ID_HEADER: delivery.event_id,
        }
        # Slack and Teams check nothing of ours (the URL is the secret); the rest is signed.
        if endpoint.payload_format not in CHAT_FORMATS:
            headers |= signed_headers(
                config.keys.signing(now),
                message_id=delivery.event_id,
                timestamp=timestamp,
                body=body,
            )
        sends.append(
            _Send(
                delivery_id=delivery.id,
                endpoint_id=endpoint.id,
                event=delivery.event,
                attempts=delivery.attempts,
                url=endpoint.url,
                body=body,
                headers=headers,
            )
        )
    return sends, out_of_scope


def sender_for(ctx: JobContext) -> WebhookSender:
    """A session for one delivery run that reaches only hosts the settings allow."""
    return WebhookSender(HostPolicy.allowing(ctx.settings.webhook_allowed_hosts))


async def _attempt(sender: WebhookSender, send: _Send) -> _Outcome:
    try:
        answer = await sender.post(send.url, send.body, send.headers)
    except TargetRefused as exc:
        return _Outcome(send, None, f"refused: {exc}", refused=True)
    except NoAnswer as exc:
        return _Outcome(send, None, f"no answer ({exc})")
    if answer.ok:
        return _Outcome(send, answer.status, None)
    return _Outcome(send, answer.status, f"HTTP {answer.status}")


def _record(
    ctx: JobContext, outcome: _Outcome, now: datetime, report: DeliveryReport
) -> dict[str, object]:
    """The row update for one attempt, logged; never the body, the URL or the secret."""
    send = outcome.send
    attempts = send.attempts + 1
    row: dict[str, object] = {
        "id": send.delivery_id,
        "attempts": attempts,
        "last_attempt_at": now,
        "last_status_code": outcome.status_code,
        "last_error": outcome.error,
    }
    fields = {
        "delivery_id": send.delivery_id,
        "endpoint_id": send.endpoint_id,
        "webhook_event": send.event,
        "attempt": attempts,
        "status_code": outcome.status_code,
    }
    if outcome.ok:
        report.delivered += 1
        log.info("webhook.delivery.delivered", **fields)
        return row | {"status": "delivered", "next_attempt_at": None}
    if outcome.refused:
        report.failed += 1
        log.warning("webhook.delivery.refused", error=outcome.error, **fields)
        return row | {"status": "failed", "next_attempt_at": None}
    wait = retry_wait(attempts, rng=ctx.rng)
    if wait is None:
        report.failed += 1
        log.warning("webhook.delivery.failed", error=outcome.error, **fields)
        return row | {"status": "failed", "next_attempt_at": None}
    report.retrying += 1
    log.warning(
        "webhook.delivery.retrying",
        error=outcome.error,
        wait_s=int(wait.total_seconds()),
        **fields,
    )
    return row | {"status": "pending", "next_attempt_at": now + wait}


async def deliver_claimed(
    ctx: JobContext,
    ids: list[int],
    limiter: asyncio.Semaphore | None = None,
    sender: WebhookSender | None = None,
) -> DeliveryReport:
    """POST the claimed deliveries concurrently and record every outcome in one statement."""
    if sender is None:
        async with sender_for(ctx) as own:
            return await deliver_claimed(ctx, ids, limiter, own)
    limiter = limiter or asyncio.Semaphore(CONCURRENCY)
    sends, out_of_scope = await _prepare(ctx, ids)

    async def bounded(send: _Send) -> _Outcome:
        async with limiter:
            return await _attempt(sender, send)

    outcomes = await asyncio.gather(*(bounded(send) for send in sends))
    report = DeliveryReport()
    now = ctx.now()
    rows = [_record(ctx, outcome, now, report) for outcome in outcomes]
    if rows or out_of_scope:
        async with ctx.database.transaction() as session:
            if rows:
                # ORM bulk UPDATE by primary key: one executemany, not a round trip per row.
                await session.execute(update(WebhookDelivery), rows)
            if out_of_scope:
                # Not the channel's business: no attempt, and no line in its delivery log.
                await session.execute(
                    delete(WebhookDelivery).where(WebhookDelivery.id.in_(out_of_scope))
                )
                log.info("webhook.delivery.out_of_scope", deliveries=len(out_of_scope))
    return report


@job(JobName.WEBHOOKS_DELIVER_DUE)
async def deliver_due(ctx: JobContext) -> DeliveryReport:
    """Deliver everything due now, batch by batch; failures are rescheduled, not re-tried here."""
    total = DeliveryReport()
    limiter = asyncio.Semaphore(CONCURRENCY)
    async with sender_for(ctx) as sender:
        while True:
            async with ctx.database.transaction() as session:
                ids = await claim_due_deliveries(session, now=ctx.now(), limit=CLAIM_BATCH)
            if not ids:
                return total
            report = await deliver_claimed(ctx, ids, limiter, sender)
            total.delivered += report.delivered
            total.retrying += report.retrying
            total.failed += report.failed


@job(JobName.WEBHOOKS_DELIVER)
async def deliver_one(ctx: JobContext, *, delivery_id: int) -> DeliveryReport:
    """Attempt one pending delivery now, due or not (a "send now" button); idempotent."""
    due = select(WebhookDelivery.id).where(
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.status == "pending",
        WebhookDelivery.endpoint_id.in_(_active_endpoints()),
    )
    async with ctx.database.transaction() as session:
        ids = await _claim(session, due, ctx.now() + CLAIM_TTL)
    if not ids:
        return DeliveryReport()
    return await deliver_claimed(ctx, ids)
