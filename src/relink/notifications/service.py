"""A user's inbox: their own notifications and nobody else's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ScalarSelect, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from relink.auth.sessions import live_session_holder
from relink.data_sources import actions as data_source_actions
from relink.errors import InvalidInput, NotFound
from relink.kit.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from relink.models import Notification, Role, User
from relink.notifications import kinds
from relink.notifications.live import queue_live_update

Show = Literal["all", "unread", "resolved", "open"]


@dataclass(frozen=True)
class InboxItem:
    """A notification with its typed view (title, text, action)."""

    id: int
    created_at: datetime
    read: bool
    resolved: bool
    content: kinds.NotificationKind


def item(notification: Notification) -> InboxItem:
    return InboxItem(
        id=notification.id,
        created_at=notification.created_at,
        read=notification.read_at is not None,
        resolved=notification.resolved_at is not None,
        content=kinds.parse(notification.payload),
    )


async def list_notifications(
    session: AsyncSession,
    *,
    user: User,
    show: Show = "all",
    kind: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[InboxItem]:
    """Unread first, then newest first; one keyset page at a time."""
    size = clamp_limit(limit)
    is_read = Notification.read_at.is_not(None)
    query = (
        select(Notification)
        .where(Notification.user_id == user.id, Notification.agency_id == user.agency_id)
        .order_by(is_read, Notification.id.desc())
        .limit(size + 1)
    )
    if show == "unread":
        query = query.where(Notification.read_at.is_(None))
    elif show == "resolved":
        query = query.where(Notification.resolved_at.is_not(None))
    elif show == "open":
        query = query.where(Notification.resolved_at.is_(None))
    if kind is not None:
        if kind not in _KIND_NAMES:
            raise InvalidInput(f"unknown kind {kind!r}; use one of {', '.join(_KIND_NAMES)}")
        query = query.where(Notification.kind == kind)
    if cursor:
        read_flag, last_id = decode_cursor(cursor, length=2)
        if not isinstance(read_flag, bool) or not isinstance(last_id, int):
            raise InvalidInput("the page cursor is malformed: start again from the first page")
        if read_flag:
            query = query.where(is_read, Notification.id < last_id)
        else:
            query = query.where(
                or_(is_read, and_(Notification.read_at.is_(None), Notification.id < last_id))
            )
    rows = list(await session.scalars(query))
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = encode_cursor([rows[-1].read_at is not None, rows[-1].id]) if more else None
    return Page(items=[item(n) for n in rows], next_cursor=next_cursor)


async def unread_count(session: AsyncSession, *, user: User) -> int:
    query = select(func.count()).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    return int(await session.scalar(query) or 0)


def unread_count_of(user_id: Any) -> ScalarSelect[int]:
    """The unread count of ``user_id`` (a column or a value) as a scalar subquery: an
    index-only count on the partial index of unread notifications."""
    return (
        select(func.count())
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


@dataclass(frozen=True, slots=True)
class BellSeat:
    """A live session as the bell sees it: whose it is, until when, and their unread count."""

    user_id: int
    role: Role
    expires_at: datetime
    unread: int


async def bell_seat_for_token(
    connection: AsyncConnection, *, token: str, now: datetime
) -> BellSeat | None:
    """The bell's poll in one statement: the session of ``token`` checked (revoked, expired
    or deactivated: None) and its user's unread count, without loading the user."""
    holder = live_session_holder(token, now)
    found = (await connection.execute(holder.add_columns(unread_count_of(User.id)))).first()
    if found is None:
        return None
    user_id, role, expires_at, count = found
    return BellSeat(user_id=user_id, role=role, expires_at=expires_at, unread=int(count or 0))


async def get_notification(
    session: AsyncSession, *, user: User, notification_id: int
) -> Notification:
    """One of the user's own notifications, or ``NotFound``."""
    found = await session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == user.id
        )
    )
    if found is None:
        raise NotFound("notification")
    return found


async def mark_read(
    session: AsyncSession, *, user: User, notification_id: int, now: datetime
) -> None:
    notification = await get_notification(session, user=user, notification_id=notification_id)
    if notification.read_at is None:
        notification.read_at = now
        queue_live_update(session, user_ids=[user.id])
    await session.flush()


async def mark_all_read(session: AsyncSession, *, user: User, now: datetime) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    queue_live_update(session, user_ids=[user.id])
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def take_action(
    session: AsyncSession, *, user: User, notification_id: int, now: datetime
) -> str:
    """Taking a notification's action marks it read and does what it says ("Try again" starts
    the import); returns the page where it leads."""
    notification = await get_notification(session, user=user, notification_id=notification_id)
    await mark_read(session, user=user, notification_id=notification.id, now=now)
    action = kinds.parse(notification.payload).action
    if action.starts_import is None:
        return action.path
    try:
        await data_source_actions.sync_now(
            session, user=user, data_source_id=action.starts_import, now=now
        )
    except NotFound:
        return kinds.FALLBACK_PATH  # gone from the trash, or no longer the user's to see
    except InvalidInput:
        # Paused, disconnected or in the trash: its page says what has to happen first.
        return f"{action.path}?done=not_started"
    return f"{action.path}?done=synced"


_KIND_NAMES = tuple(kinds.MODELS)
