"""The event log: every status transition, who or what made it, and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import visible_client_ids
from relink.kit.pagination import clamp_limit
from relink.models import DataSource, Event, User

SYSTEM_SWEEP = "system:sweep"


def user_actor(user: User) -> str:
    return f"user:{user.id}"


async def record(
    session: AsyncSession,
    *,
    agency_id: int,
    actor: str,
    subject_type: str,
    subject_id: int,
    action: str,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> Event:
    """Append one entry; flushed with the change it describes, committed by the caller."""
    event = Event(
        agency_id=agency_id,
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        details=details or {},
    )
    session.add(event)
    await session.flush()
    return event


async def list_events(
    session: AsyncSession, *, user: User, limit: int | None = None, before_id: int | None = None
) -> list[Event]:
    """Newest first: events of data sources and clients the user may see."""
    visible = visible_client_ids(user)
    visible_sources = select(DataSource.id).where(DataSource.client_id.in_(visible))
    query = (
        select(Event)
        .where(
            Event.agency_id == user.agency_id,
            or_(
                (Event.subject_type == "data_source") & Event.subject_id.in_(visible_sources),
                (Event.subject_type == "client") & Event.subject_id.in_(visible),
            ),
        )
        .order_by(Event.id.desc())
        .limit(clamp_limit(limit))
    )
    if before_id is not None:
        query = query.where(Event.id < before_id)
    return list(await session.scalars(query))
