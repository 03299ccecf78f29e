"""Reminders and escalation: an incident nobody fixed is raised again, once, then to admins.

After ``REMIND_AFTER`` each recipient's bell item turns unread again and one reminder e-mail
goes out (several of one person in one e-mail); after ``ESCALATE_AFTER`` admins get one
escalation e-mail. The ``reminded_at`` / ``escalated_at`` columns are claimed with a conditional
UPDATE, so neither is ever sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import EmailPreference, Incident, Notification, OutboxEmail, Role, User
from relink.notifications import kinds
from relink.notifications.email import (
    COMPOSE_BATCH,
    ESCALATION,
    REMINDER,
    ClaimedBatch,
    claim_for_users,
    email_item,
    outbox_row,
    render_email,
)
from relink.notifications.email_days import days_of
from relink.notifications.live import queue_live_update

log = structlog.get_logger(__name__)

# A day unanswered: the alert was missed or forgotten, so it is raised once more.
REMIND_AFTER = timedelta(hours=24)
# Three days open: whoever was told has not fixed it; the admins should know.
ESCALATE_AFTER = timedelta(days=3)
# "Data delayed" asks nobody to act (Relink retries by itself): no reminder, but escalation.
NOT_REMINDED = (kinds.DATA_DELAYED,)


@dataclass
class ReminderReport:
    reminded: int = 0
    escalated: int = 0
    emails: int = 0

    def add(self, other: ReminderReport) -> None:
        self.reminded += other.reminded
        self.escalated += other.escalated
        self.emails += other.emails


def _open_since(cutoff: datetime) -> ColumnElement[bool]:
    return Notification.incident_id.in_(
        select(Incident.id).where(Incident.resolved_at.is_(None), Incident.opened_at <= cutoff)
    )


def _duration(delta: timedelta) -> str:
    if delta % timedelta(days=1) == timedelta(0):
        days = delta // timedelta(days=1)
        return "a day" if days == 1 else f"{days} days"
    hours = max(1, round(delta / timedelta(hours=1)))
    return "an hour" if hours == 1 else f"{hours} hours"


async def _mail(
    session: AsyncSession,
    batch: ClaimedBatch,
    *,
    kind: str,
    now: datetime,
    base_url: str,
    open_for: str,
) -> int:
    """One e-mail per recipient of the batch (unless their e-mail is off); the count written."""
    outbox: list[dict[str, object]] = []
    days = await days_of(session, batch.data_source_ids())
    for recipient in batch.recipients:
        if recipient.preference is EmailPreference.OFF:
            continue
        rows = reversed(batch.rows.get(recipient.id, []))
        items = [i for row in rows if (i := email_item(row, base_url=base_url, days=days))]
        if items:
            rendered = render_email(
                kind, items=items, base_url=base_url, name=recipient.name, open_for=open_for
            )
            outbox.append(outbox_row(recipient, rendered, now=now))
    if outbox:
        await session.execute(insert(OutboxEmail), outbox)
    touched = [user_id for user_id, rows in batch.rows.items() if rows]
    queue_live_update(session, user_ids=touched)
    await session.flush()
    return len(outbox)


async def escalate_batch(
    session: AsyncSession,
    *,
    now: datetime,
    base_url: str,
    after_user_id: int = 0,
    escalate_after: timedelta = ESCALATE_AFTER,
    limit: int = COMPOSE_BATCH,
) -> tuple[ReminderReport, int | None]:
    """One keyset batch of admins with incidents open longer than ``escalate_after``."""
    batch = await claim_for_users(
        session,
        due=[
            Notification.escalated_at.is_(None),
            Notification.resolved_at.is_(None),
            _open_since(now - escalate_after),
        ],
        users=[User.is_active.is_(True), User.role == Role.ADMIN],
        # The escalation stands in for a reminder not sent yet: one e-mail, not two.
        values={
            "escalated_at": now,
            "reminded_at": func.coalesce(
                Notification.reminded_at, literal(now, Notification.reminded_at.type)
            ),
            "read_at": None,
            "updated_at": now,
        },
        after_user_id=after_user_id,
        limit=limit,
    )
    emails = await _mail(
        session,
        batch,
        kind=ESCALATION,
        now=now,
        base_url=base_url,
        open_for=_duration(escalate_after),
    )
    escalated = sum(len(rows) for rows in batch.rows.values())
    return ReminderReport(escalated=escalated, emails=emails), batch.last_user_id


async def remind_batch(
    session: AsyncSession,
    *,
    now: datetime,
    base_url: str,
    after_user_id: int = 0,
    remind_after: timedelta = REMIND_AFTER,
    limit: int = COMPOSE_BATCH,
) -> tuple[ReminderReport, int | None]:
    """One keyset batch of recipients with incidents open longer than ``remind_after``."""
    batch = await claim_for_users(
        session,
        due=[
            Notification.reminded_at.is_(None),
            Notification.resolved_at.is_(None),
            Notification.kind.not_in(NOT_REMINDED),
            _open_since(now - remind_after),
        ],
        users=[User.is_active.is_(True), User.role.in_([Role.ADMIN, Role.STAFF])],
        values={"reminded_at": now, "read_at": None, "updated_at": now},
        after_user_id=after_user_id,
        limit=limit,
    )
    emails = await _mail(
        session,
        batch,
        kind=REMINDER,
        now=now,
        base_url=base_url,
        open_for=_duration(remind_after),
    )
    reminded = sum(len(rows) for rows in batch.rows.values())
    return ReminderReport(reminded=reminded, emails=emails), batch.last_user_id


async def send_reminders(
    session: AsyncSession,
    *,
    now: datetime,
    base_url: str,
    remind_after: timedelta = REMIND_AFTER,
    escalate_after: timedelta = ESCALATE_AFTER,
    limit: int = COMPOSE_BATCH,
) -> ReminderReport:
    """Escalate, then remind, everything due by ``now``; writes outbox rows and flushes."""
    total = ReminderReport()
    # Escalations first: an admin whose reminder is also due gets the escalation alone.
    after: int | None = 0
    while after is not None:
        report, after = await escalate_batch(
            session,
            now=now,
            base_url=base_url,
            after_user_id=after,
            escalate_after=escalate_after,
            limit=limit,
        )
        total.add(report)
    after = 0
    while after is not None:
        report, after = await remind_batch(
            session,
            now=now,
            base_url=base_url,
            after_user_id=after,
            remind_after=remind_after,
            limit=limit,
        )
        total.add(report)
    if total.reminded or total.escalated:
        log.info(
            "email.reminders.sent",
            reminded=total.reminded,
            escalated=total.escalated,
            emails=total.emails,
        )
    return total
