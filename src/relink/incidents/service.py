"""Incidents: what a user may see of them (opening and resolving come with the health engine)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import visible_client_ids
from relink.errors import NotFound
from relink.kit.pagination import clamp_limit
from relink.models import DataSource, Incident, IncidentDataSource, Role, User


def _scoped(user: User) -> Select[Incident]:
    query = select(Incident).where(Incident.agency_id == user.agency_id)
    if user.role is Role.ADMIN:
        return query
    touching_visible = (
        select(IncidentDataSource.incident_id)
        .join(DataSource, DataSource.id == IncidentDataSource.data_source_id)
        .where(DataSource.client_id.in_(visible_client_ids(user)))
    )
    return query.where(Incident.id.in_(touching_visible))


async def list_incidents(
    session: AsyncSession, *, user: User, open_only: bool = False, limit: int | None = None
) -> list[Incident]:
    """Incidents touching a client the user may see (admins: all), newest first."""
    query = _scoped(user).order_by(Incident.id.desc()).limit(clamp_limit(limit))
    if open_only:
        query = query.where(Incident.resolved_at.is_(None))
    return list(await session.scalars(query))


async def get_incident(session: AsyncSession, *, user: User, incident_id: int) -> Incident:
    incident = await session.scalar(_scoped(user).where(Incident.id == incident_id))
    if incident is None:
        raise NotFound("incident")
    return incident
