"""The event log: every status transition, who or what made it, and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import Event, User

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
