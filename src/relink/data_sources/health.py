"""Health at a glance: data sources counted by status, per provider and per client."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import visible_client_ids
from relink.models import Client, DataSource, User
from relink.status import DataSourceStatus


@dataclass
class HealthRow:
    name: str
    counts: dict[DataSourceStatus, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def health_by_provider(session: AsyncSession, *, user: User | None = None) -> list[HealthRow]:
    """Status counts per provider (everything when no user is given: the operator's view)."""
    query = select(DataSource.provider, DataSource.status, func.count()).group_by(
        DataSource.provider, DataSource.status
    )
    if user is not None:
        query = query.where(DataSource.client_id.in_(visible_client_ids(user)))
    return _rows((await session.execute(query)).all())


async def health_by_client(session: AsyncSession, *, user: User | None = None) -> list[HealthRow]:
    """Status counts per client."""
    query = (
        select(Client.name, DataSource.status, func.count())
        .join(Client, Client.id == DataSource.client_id)
        .group_by(Client.name, DataSource.status)
    )
    if user is not None:
        query = query.where(DataSource.client_id.in_(visible_client_ids(user)))
    return _rows((await session.execute(query)).all())


def _rows(results: object) -> list[HealthRow]:
    grouped: dict[str, HealthRow] = defaultdict(lambda: HealthRow(name=""))
    for name, status, count in results:  # type: ignore[attr-defined]
        row = grouped[name]
        row.name = name
        row.counts[status] = count
    return sorted(grouped.values(), key=lambda r: r.name)
