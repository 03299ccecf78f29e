"""E-mail composition: due notifications become one e-mail per person, a digest when several.

Rows are claimed per batch of users with a conditional UPDATE (``... WHERE emailed_at IS NULL``
RETURNING), so a notification is mailed at most once even with two composers at work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from sqlalchemy import ColumnElement, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.gaps import DataDays
from relink.models import EmailPreference, Notification, OutboxEmail, Role, User
from relink.notifications import kinds
from relink.notifications.email_days import days_of, days_text
from relink.notifications.fanout import EMAIL_BURST_WINDOW

log = structlog.get_logger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Users per keyset batch: two statements and one insert per batch, never a round trip per row.
COMPOSE_BATCH = 500
# One e-mail lists at most this many alerts; the rest are counted and wait in the app's inbox.
MAX_ITEMS_PER_EMAIL = 50
# The outbox column is 300 characters wide.
MAX_SUBJECT = 300

SINGLE = "single"
DIGEST = "digest"
REMINDER = "reminder"
ESCALATION = "escalation"

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class EmailItem:
    """One alert as an e-mail shows it."""

    notification_id: int
    title: str
    date: str
    provider_name: str
    clients_text: str
    reason: str
    hint: str
    action_label: str
    action_url: str
    # The kind's own template for one item (``.txt`` and ``.html`` are added).
    template: str = "email/_item"
    # "complete through ... · may be incomplete since ..." of its down data sources, as their
    # pages say it (email_days.py); empty when none is down.
    data_days: str = ""


@dataclass(frozen=True)
class Rendered:
    kind: str
    subject: str
    text_body: str
    html_body: str


@dataclass(frozen=True)
class Recipient:
    id: int
    agency_id: int
    email: str
    name: str
    preference: EmailPreference


@dataclass(frozen=True)
class ClaimedRow:
    notification_id: int
    user_id: int
    payload: dict[str, Any]
    resolved: bool


@dataclass
class ClaimedBatch:
    """The rows claimed for one batch of users, grouped per user (in user id order)."""

    recipients: list[Recipient]
    rows: dict[int, list[ClaimedRow]]

    @property
    def last_user_id(self) -> int | None:
        return self.recipients[-1].id if self.recipients else None

    def data_source_ids(self) -> set[int]:
        """Every data source the claimed notifications are about."""
        return {
            source_id
            for rows in self.rows.values()
            for row in rows
            for source_id in row.payload.get("data_source_ids") or ()
            if isinstance(source_id, int)
        }


def notification_url(base_url: str, notification_id: int) -> str:
    """The signed-in page of one notification, whose button takes the action (no token)."""
    return f"{base_url.rstrip('/')}/notifications/{notification_id}"


def email_item(
    row: ClaimedRow, *, base_url: str, days: Mapping[int, DataDays] | None = None
) -> EmailItem | None:
    """The e-mail view of a claimed notification; None (logged) when its payload is unreadable.

    ``days`` are its data sources' days (``email_days.days_of``), for the line about its data.
    """
    try:
        content = kinds.parse(row.payload)
    except ValidationError:
        log.error("email.payload.invalid", notification_id=row.notification_id)
        return None
    return EmailItem(
        notification_id=row.notification_id,
        title=content.title,
        date=f"{content.opened_at:%d %b %Y, %H:%M} UTC",
        provider_name=content.provider_name,
        clients_text=content.clients_text,
        reason=content.reason[:1].upper() + content.reason[1:],
        hint=content.hint,
        action_label=content.action.label,
        action_url=notification_url(base_url, row.notification_id),
        template=content.email_template,
        data_days=days_text(content.data_source_ids, days or {}),
    )


def _subject(kind: str, items: Sequence[EmailItem], total: int) -> str:
    if total == 1:
        first = items[0]
        about = f"{first.title} — {first.clients_text}" if first.clients_text else first.title
        prefix = {REMINDER: "Still open: ", ESCALATION: "Escalation: "}.get(kind, "")
        subject = prefix + about
    elif kind == REMINDER:
        subject = f"{total} data source alerts still open"
    elif kind == ESCALATION:
        subject = f"Escalation: {total} data source alerts still unresolved"
    else:
        subject = f"{total} data source alerts"
    # A header never carries a line break (it would end the header, or inject another).
    return " ".join(subject.split())[:MAX_SUBJECT]


def render_email(
    kind: str, *, items: Sequence[EmailItem], base_url: str, name: str, **extra: object
) -> Rendered:
    """Subject, text and HTML of an e-mail of ``kind`` listing ``items``."""
    total = len(items)
    shown = list(items[:MAX_ITEMS_PER_EMAIL])
    template = SINGLE if kind in (SINGLE, DIGEST) and total == 1 else kind
    subject = _subject(kind, shown, total)
    base = base_url.rstrip("/")
    context = {
        "subject": subject,
        "name": name,
        "items": shown,
        "total": total,
        "more": total - len(shown),
        "inbox_url": f"{base}/notifications",
        "settings_url": f"{base}/settings/notifications",
        **extra,
    }
    return Rendered(
        kind=kind,
        subject=subject,
        text_body=_templates.get_template(f"email/{template}.txt").render(context),
        html_body=_templates.get_template(f"email/{template}.html").render(context),
    )


def outbox_row(recipient: Recipient, rendered: Rendered, *, now: datetime) -> dict[str, object]:
    """The values of one OutboxEmail insert."""
    return {
        "agency_id": recipient.agency_id,
        "user_id": recipient.id,
        "to_address": recipient.email,
        "subject": rendered.subject,
        "text_body": rendered.text_body,
        "html_body": rendered.html_body,
        "kind": rendered.kind,
        "created_at": now,
        "attempts": 0,
    }


async def claim_for_users(
    session: AsyncSession,
    *,
    due: Sequence[ColumnElement[bool]],
    users: Sequence[ColumnElement[bool]],
    values: Mapping[str, object],
    after_user_id: int,
    limit: int,
    claim: Sequence[ColumnElement[bool]] | None = None,
) -> ClaimedBatch:
    """Claim the notifications of the next ``limit`` users with one ``due`` (keyset on user id).

    Of those users, the rows matching ``claim`` (default: ``due``) are claimed. It must hold the
    guard (``<column> IS NULL``) that ``values`` sets: the UPDATE re-checks it row by row, so
    what a concurrent claimer took first is skipped, not mailed twice.
    """
    has_due = exists().where(Notification.user_id == User.id, *due)
    recipients = [
        Recipient(row.id, row.agency_id, row.email, row.name, row.email_preference)
        for row in await session.execute(
            select(User.id, User.agency_id, User.email, User.name, User.email_preference)
            .where(User.id > after_user_id, *users, has_due)
            .order_by(User.id)
            .limit(limit)
        )
    ]
    if not recipients:
        return ClaimedBatch([], {})
    claimed = await session.execute(
        update(Notification)
        .where(Notification.user_id.in_([r.id for r in recipients]), *(claim or due))
        .values(**values)
        .returning(
            Notification.id, Notification.user_id, Notification.payload, Notification.resolved_at
        )
        .execution_options(synchronize_session=False)
    )
    rows: dict[int, list[ClaimedRow]] = defaultdict(list)
    for row in sorted(claimed, key=lambda r: (r.user_id, r.id)):
        rows[row.user_id].append(
            ClaimedRow(row.id, row.user_id, dict(row.payload), row.resolved_at is not None)
        )
    return ClaimedBatch(recipients, dict(rows))


@dataclass(frozen=True)
class ComposeBatch:
    emails: int
    last_user_id: int | None


async def compose_batch(
    session: AsyncSession,
    *,
    now: datetime,
    base_url: str,
    after_user_id: int = 0,
    limit: int = COMPOSE_BATCH,
) -> ComposeBatch:
    """One keyset batch of the ``email.compose_due`` job: claim, render, write the outbox; flush."""
    batch = await claim_for_users(
        session,
        due=[Notification.emailed_at.is_(None), Notification.email_due_at <= now],
        # The rest of the burst comes along: everything that would be due within the window.
        claim=[
            Notification.emailed_at.is_(None),
            Notification.email_due_at <= now + EMAIL_BURST_WINDOW,
        ],
        users=[
            User.is_active.is_(True),
            User.role.in_([Role.ADMIN, Role.STAFF]),
            User.email_preference != EmailPreference.OFF,
        ],
        values={"emailed_at": now},
        after_user_id=after_user_id,
        limit=limit,
    )
    outbox: list[dict[str, object]] = []
    dropped = 0
    days = await days_of(session, batch.data_source_ids())
    for recipient in batch.recipients:
        claimed = batch.rows.get(recipient.id, [])
        # Repaired before the mail went out: claimed (so never mailed later) but not listed.
        live = [row for row in claimed if not row.resolved]
        dropped += len(claimed) - len(live)
        items = [
            i for row in reversed(live) if (i := email_item(row, base_url=base_url, days=days))
        ]
        if not items:
            continue
        kind = SINGLE if len(items) == 1 else DIGEST
        rendered = render_email(kind, items=items, base_url=base_url, name=recipient.name)
        outbox.append(outbox_row(recipient, rendered, now=now))
    if outbox:
        await session.execute(insert(OutboxEmail), outbox)
    await session.flush()
    if batch.recipients:
        log.info(
            "email.composed",
            emails=len(outbox),
            users=len(batch.recipients),
            notifications=sum(len(rows) for rows in batch.rows.values()),
            dropped_resolved=dropped,
        )
    return ComposeBatch(emails=len(outbox), last_user_id=batch.last_user_id)
