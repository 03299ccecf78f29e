"""A user's inbox: their own notifications and nobody else's."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.kit.pagination import clamp_limit
from relink.models import Notification, User


async def list_notifications(
    session: AsyncSession, *, user: User, limit: int | None = None
) -> list[Notification]:
    """Unread first, then newest first."""
    query = (
        select(Notification)
        .where(Notification.user_id == user.id, Notification.agency_id == user.agency_id)
        .order_by(Notification.read_at.is_not(None), Notification.id.desc())
        .limit(clamp_limit(limit))
    )
    return list(await session.scalars(query))


async def unread_count(session: AsyncSession, *, user: User) -> int:
    query = select(func.count()).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    return int(await session.scalar(query) or 0)
