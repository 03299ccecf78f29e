"""The clients an incident touches, read from the database a page at a time.

A notification names only a few clients (``notifications/fanout.py``); its page lists every
one the reader may see from here, however many thousands share the incident.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import Scope, client_visible
from relink.models import Client, DataSource, IncidentDataSource

# Clients per page of the list.
PAGE_SIZE = 100


@dataclass(frozen=True)
class AffectedClient:
    client_id: int
    name: str
    data_sources: int


@dataclass(frozen=True)
class AffectedPage:
    clients: list[AffectedClient]
    total: int
    page: int
    pages: int


async def affected_clients(
    session: AsyncSession, *, incident_id: int, scope: Scope, page: int = 1
) -> AffectedPage:
    """Page ``page`` (1-based) of the clients of ``incident_id`` that ``scope`` may see, by
    name, with how many of their data sources the incident touches."""
    visible = (
        select(DataSource.client_id.label("client_id"), func.count().label("sources"))
        .join(IncidentDataSource, IncidentDataSource.data_source_id == DataSource.id)
        .where(
            IncidentDataSource.incident_id == incident_id,
            client_visible(scope, DataSource.client_id),
        )
        .group_by(DataSource.client_id)
        .subquery()
    )
    total = int(await session.scalar(select(func.count()).select_from(visible)) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = await session.execute(
        select(Client.id, Client.name, visible.c.sources)
        .join(visible, visible.c.client_id == Client.id)
        .order_by(Client.name, Client.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    clients = [AffectedClient(client_id, name, sources) for client_id, name, sources in rows]
    return AffectedPage(clients=clients, total=total, page=page, pages=pages)
