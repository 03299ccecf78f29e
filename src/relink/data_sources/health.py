"""Health at a glance: data sources counted by status, per provider and per client."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import Scope, client_visible
from relink.models import Client, DataSource
from relink.status import DataSourceStatus


@dataclass
class HealthRow:
    name: str
    counts: dict[DataSourceStatus, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def health_by_provider(session: AsyncSession, *, scope: Scope) -> list[HealthRow]:
    """Status counts per provider, of the data sources ``scope`` may see."""
    query = (
        select(DataSource.provider, DataSource.status, func.count())
        .where(client_visible(scope, DataSource.client_id))
        .group_by(DataSource.provider, DataSource.status)
    )
    return _rows((await session.execute(query)).all())


async def health_by_client(session: AsyncSession, *, scope: Scope) -> list[HealthRow]:
    """Status counts per client, of the clients ``scope`` may see."""
    query = (
        select(Client.name, DataSource.status, func.count())
        .join(Client, Client.id == DataSource.client_id)
        .where(client_visible(scope, DataSource.client_id))
        .group_by(Client.name, DataSource.status)
    )
    return _rows((await session.execute(query)).all())


def _rows(results: object) -> list[HealthRow]:
    grouped: dict[str, HealthRow] = defaultdict(lambda: HealthRow(name=""))
    for name, status, count in results:  # type: ignore[attr-defined]
        row = grouped[name]
        row.name = name
        row.counts[status] = count
    return sorted(grouped.values(), key=lambda r: r.name)
