"""Incidents as the API reads them: who may see which, their affected clients and data sources.

The rule is DESIGN.md's "who is told what", as a condition on ``Incident`` rows: an admin sees
every incident of the agency; staff the incidents touching at least one data source of a client
they may see (never an operations alert, which is about Relink's own registration at a
provider); a client login none. Every client and data source an incident is shown with is one
the reader may see (``auth/access.py``); the others are not counted either.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import UserScope, data_source_visible, ensure_staff_or_admin
from relink.errors import NotFound
from relink.models import DataSource, Incident, IncidentDataSource, Role
from relink.notifications.kinds import OPERATIONS_ALERT
from relink.status import DataSourceStatus

# Clients named with each incident of a list (by name); every one is counted, and the incident's
# data sources list (``affected_data_sources``) pages through all of them.
NAMED_CLIENTS = 10


class IncidentState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class IncidentFilters:
    """What a list of incidents is narrowed to; each id is matched among visible rows only."""

    state: IncidentState | None = None
    data_source_id: int | None = None
    grant_id: int | None = None
    client_id: int | None = None
    provider: str | None = None


@dataclass(frozen=True)
class AffectedClient:
    client_id: int
    name: str
    data_sources: int


@dataclass(frozen=True)
class Affected:
    """What of an incident the reader may see: counts, and the first clients by name."""

    data_sources: int = 0
    clients: int = 0
    first_clients: list[AffectedClient] = field(default_factory=list)


@dataclass(frozen=True)
class AffectedSource:
    id: int
    client_id: int
    client_name: str
    provider: str
    external_account_name: str
    status: DataSourceStatus


def _touches(scope: UserScope, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """The incident links a data source the scope may see (and that meets ``conditions``)."""
    return exists(
        select(IncidentDataSource.data_source_id)
        .join(DataSource, DataSource.id == IncidentDataSource.data_source_id)
        .where(
            IncidentDataSource.incident_id == Incident.id,
            data_source_visible(scope),
            *conditions,
        )
    )


def incident_visible(scope: UserScope) -> ColumnElement[bool]:
    """A WHERE condition on ``Incident`` rows: an incident the scope's user is told about."""
    user = scope.user
    in_agency = Incident.agency_id == user.agency_id
    if not user.is_active or user.role is Role.CLIENT:
        return false()
    if user.role is Role.ADMIN:
        return and_(in_agency)
    return and_(in_agency, Incident.kind != OPERATIONS_ALERT, _touches(scope))


def _narrowed(scope: UserScope, filters: IncidentFilters) -> list[ColumnElement[bool]]:
    conditions = [incident_visible(scope)]
    if filters.state is IncidentState.OPEN:
        conditions.append(Incident.resolved_at.is_(None))
    elif filters.state is IncidentState.RESOLVED:
        conditions.append(Incident.resolved_at.is_not(None))
    if filters.data_source_id is not None:
        conditions.append(_touches(scope, DataSource.id == filters.data_source_id))
    if filters.client_id is not None:
        conditions.append(_touches(scope, DataSource.client_id == filters.client_id))
    if filters.grant_id is not None:
        conditions.append(
            or_(
                Incident.grant_id == filters.grant_id,
                _touches(scope, DataSource.grant_id == filters.grant_id),
            )
        )
    if filters.provider is not None:
        conditions.append(Incident.provider == filters.provider)
    return conditions


async def list_incidents(
    session: AsyncSession,
    *,
    scope: UserScope,
    filters: IncidentFilters,
    limit: int,
    before_id: int | None,
) -> list[Incident]:
    """Up to ``limit + 1`` visible incidents, newest first, older than ``before_id`` if given."""
    ensure_staff_or_admin(scope.user, what="incident")
    query = select(Incident).where(*_narrowed(scope, filters))
    if before_id is not None:
        query = query.where(Incident.id < before_id)
    return list(await session.scalars(query.order_by(Incident.id.desc()).limit(limit + 1)))


async def get_incident(session: AsyncSession, *, scope: UserScope, incident_id: int) -> Incident:
    """One incident the scope's user is told about, or ``NotFound`` (existence must not leak)."""
    ensure_staff_or_admin(scope.user, what="incident")
    incident = await session.scalar(
        select(Incident).where(Incident.id == incident_id, incident_visible(scope))
    )
    if incident is None:
        raise NotFound("incident")
    return incident


async def affected(
    session: AsyncSession, *, scope: UserScope, incident_ids: Collection[int]
) -> dict[int, Affected]:
    """For each incident, its visible data sources and clients counted, and the first
    ``NAMED_CLIENTS`` of those clients by name: two grouped queries for a whole page."""
    if not incident_ids:
        return {}
    per_client = (
        select(
            IncidentDataSource.incident_id.label("incident_id"),
            DataSource.client_id.label("client_id"),
            DataSource.client_name.label("client_name"),
            func.count().label("sources"),
            func.row_number()
            .over(
                partition_by=IncidentDataSource.incident_id,
                order_by=(DataSource.client_name, DataSource.client_id),
            )
            .label("place"),
        )
        .join(DataSource, DataSource.id == IncidentDataSource.data_source_id)
        .where(IncidentDataSource.incident_id.in_(sorted(incident_ids)), data_source_visible(scope))
        .group_by(IncidentDataSource.incident_id, DataSource.client_id, DataSource.client_name)
        .subquery()
    )
    totals = await session.execute(
        select(per_client.c.incident_id, func.count(), func.sum(per_client.c.sources)).group_by(
            per_client.c.incident_id
        )
    )
    named = await session.execute(
        select(
            per_client.c.incident_id,
            per_client.c.client_id,
            per_client.c.client_name,
            per_client.c.sources,
        )
        .where(per_client.c.place <= NAMED_CLIENTS)
        .order_by(per_client.c.incident_id, per_client.c.place)
    )
    first: dict[int, list[AffectedClient]] = defaultdict(list)
    for incident_id, client_id, name, sources in named:
        first[incident_id].append(AffectedClient(client_id, name, int(sources)))
    return {
        incident_id: Affected(int(sources or 0), int(clients), first[incident_id])
        for incident_id, clients, sources in totals
    }


async def affected_data_sources(
    session: AsyncSession, *, scope: UserScope, incident_id: int, limit: int, after_id: int | None
) -> list[AffectedSource]:
    """Up to ``limit + 1`` of the incident's data sources the scope may see, by id; the
    incident itself must be visible (else ``NotFound``)."""
    await get_incident(session, scope=scope, incident_id=incident_id)
    query = (
        select(
            DataSource.id,
            DataSource.client_id,
            DataSource.client_name,
            DataSource.provider,
            DataSource.external_account_name,
            DataSource.status,
        )
        .join(IncidentDataSource, IncidentDataSource.data_source_id == DataSource.id)
        .where(IncidentDataSource.incident_id == incident_id, data_source_visible(scope))
    )
    if after_id is not None:
        query = query.where(DataSource.id > after_id)
    rows = await session.execute(query.order_by(DataSource.id).limit(limit + 1))
    return [AffectedSource(*row) for row in rows]
