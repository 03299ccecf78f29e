"""The agency's e-mail outbox as admins read it: every message Relink wrote, newest first."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import NotFound
from relink.kit.pagination import clamp_limit
from relink.models import OutboxEmail


async def list_outbox(
    session: AsyncSession, *, agency_id: int, limit: int | None = None, before_id: int | None = None
) -> list[OutboxEmail]:
    """Newest first; pass the last id seen as ``before_id`` for the next page."""
    query = select(OutboxEmail).where(OutboxEmail.agency_id == agency_id)
    if before_id is not None:
        query = query.where(OutboxEmail.id < before_id)
    query = query.order_by(OutboxEmail.id.desc()).limit(clamp_limit(limit))
    return list(await session.scalars(query))


async def get_message(session: AsyncSession, *, agency_id: int, message_id: int) -> OutboxEmail:
    """One of the agency's messages, or ``NotFound``."""
    message = await session.get(OutboxEmail, message_id)
    if message is None or message.agency_id != agency_id:
        raise NotFound("message")
    return message
