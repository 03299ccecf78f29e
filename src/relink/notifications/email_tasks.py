"""E-mail jobs: compose what is due, remind about what stays open, send the outbox over SMTP.

Without RELINK_SMTP_URL (the embedded default) nothing is sent: the e-mails stay in the outbox,
where an admin reads them in the app.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.kit.retry import MAX_ATTEMPTS, retry_wait
from relink.models import OutboxEmail
from relink.notifications.email import compose_batch
from relink.notifications.reminders import send_reminders
from relink.notifications.smtp import SendFailed, SmtpUrlInvalid, parse_smtp_url, send
from relink.worker.context import JobContext
from relink.worker.registry import JobName, job

log = structlog.get_logger(__name__)

# A claimed e-mail is not due again for this long even if its worker dies (> a slow SMTP send).
CLAIM_TTL = timedelta(minutes=5)
# Rows claimed per statement.
DELIVER_BATCH = 100
# Parallel SMTP connections: mail servers throttle clients that open many at once.
CONCURRENCY = 4

_kept_logged = False


@dataclass
class OutboxReport:
    composed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    kept: int = 0


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        OutboxEmail.sent_at.is_(None),
        OutboxEmail.attempts < MAX_ATTEMPTS,
        or_(OutboxEmail.next_attempt_at.is_(None), OutboxEmail.next_attempt_at <= now),
    ]


async def claim_due_outbox(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Unsent e-mails due by ``now``, pushed ``CLAIM_TTL`` ahead so no other worker takes them."""
    ids = list(
        await session.scalars(
            select(OutboxEmail.id)
            .where(*_due(now))
            .order_by(OutboxEmail.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        await session.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id.in_(ids))
            .values(next_attempt_at=now + CLAIM_TTL)
            .execution_options(synchronize_session=False)
        )
    return ids


async def _keep(ctx: JobContext, report: OutboxReport) -> OutboxReport:
    global _kept_logged
    async with ctx.database.transaction() as session:
        report.kept = (
            await session.scalar(
                select(func.count()).select_from(OutboxEmail).where(OutboxEmail.sent_at.is_(None))
            )
            or 0
        )
    if report.kept and not _kept_logged:
        # Once per process: the sweep runs this every few seconds.
        _kept_logged = True
        log.info("email.outbox.kept", unsent=report.kept, reason="no RELINK_SMTP_URL set")
    return report


def _outcome(
    ctx: JobContext, message: OutboxEmail, error: str | None, now: datetime, report: OutboxReport
) -> dict[str, object]:
    """The row update of one attempt, logged; never the body, the address's password or URL."""
    attempts = message.attempts + 1
    fields = {"outbox_email_id": message.id, "email_kind": message.kind, "attempt": attempts}
    row: dict[str, object] = {"id": message.id, "attempts": attempts, "last_error": error}
    if error is None:
        report.sent += 1
        log.info("email.outbox.sent", **fields)
        return row | {"sent_at": now, "next_attempt_at": None}
    wait = retry_wait(attempts, rng=ctx.rng)
    if wait is None:
        report.failed += 1
        log.warning("email.outbox.failed", error=error, **fields)
        return row | {"next_attempt_at": None}
    report.retrying += 1
    log.warning("email.outbox.retrying", error=error, wait_s=int(wait.total_seconds()), **fields)
    return row | {"next_attempt_at": now + wait}


async def _send_claimed(
    ctx: JobContext, ids: list[int], smtp_url: str, report: OutboxReport
) -> None:
    async with ctx.database.transaction() as session:
        messages = list(await session.scalars(select(OutboxEmail).where(OutboxEmail.id.in_(ids))))
    limiter = asyncio.Semaphore(CONCURRENCY)

    async def attempt(message: OutboxEmail) -> str | None:
        async with limiter:
            try:
                await send(message, smtp_url=smtp_url, mail_from=ctx.settings.mail_from)
            except SendFailed as exc:
                return str(exc)
            return None

    errors = await asyncio.gather(*(attempt(message) for message in messages))
    now = ctx.now()
    rows = [_outcome(ctx, m, e, now, report) for m, e in zip(messages, errors, strict=True)]
    if rows:
        async with ctx.database.transaction() as session:
            # ORM bulk UPDATE by primary key: one executemany, not a round trip per row.
            await session.execute(update(OutboxEmail), rows)


@job(JobName.EMAIL_DELIVER_OUTBOX)
async def deliver_outbox(ctx: JobContext) -> OutboxReport:
    """Send every due e-mail of the outbox when SMTP is configured; keep them otherwise."""
    return await _deliver(ctx, OutboxReport())


async def _deliver(ctx: JobContext, report: OutboxReport) -> OutboxReport:
    secret = ctx.settings.smtp_url
    smtp_url = secret.get_secret_value() if secret is not None else ""
    if not smtp_url:
        return await _keep(ctx, report)
    try:
        parse_smtp_url(smtp_url)
    except SmtpUrlInvalid as exc:
        # A configuration error: attempts are not spent on it; the e-mails wait for the fix.
        log.error("email.smtp_url.invalid", error=str(exc))
        return report
    while True:
        async with ctx.database.transaction() as session:
            ids = await claim_due_outbox(session, now=ctx.now(), limit=DELIVER_BATCH)
        if not ids:
            return report
        await _send_claimed(ctx, ids, smtp_url, report)


@job(JobName.EMAIL_COMPOSE_DUE)
async def compose_due(ctx: JobContext) -> OutboxReport:
    """Compose every e-mail due now (a transaction per batch of users), then deliver."""
    report = OutboxReport()
    now, after = ctx.now(), 0
    while True:
        async with ctx.database.transaction() as session:
            batch = await compose_batch(
                session, now=now, base_url=ctx.settings.effective_base_url, after_user_id=after
            )
        if batch.last_user_id is None:
            break
        report.composed += batch.emails
        after = batch.last_user_id
    return await _deliver(ctx, report)


@job(JobName.EMAIL_REMINDERS)
async def remind_and_escalate(ctx: JobContext) -> OutboxReport:
    """Remind about incidents still open, escalate old ones to admins, then deliver."""
    report = OutboxReport()
    async with ctx.database.transaction() as session:
        result = await send_reminders(
            session,
            now=ctx.now(),
            base_url=ctx.settings.effective_base_url,
        )
    report.composed = result.emails
    return await _deliver(ctx, report)
