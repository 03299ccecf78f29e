from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import DataSource, Grant, Incident
from relink.status import DataSourceStatus
from tests.conftest import TEST_HTTP_TIMEOUT  # noqa: F401  (re-exported for tests)


async def statuses(session: AsyncSession) -> dict[int, DataSourceStatus]:
    session.expire_all()
    rows = await session.execute(select(DataSource.id, DataSource.status))
    return {row.id: row.status for row in rows}


async def open_incidents(session: AsyncSession) -> list[Incident]:
    session.expire_all()
    return list(await session.scalars(select(Incident).where(Incident.resolved_at.is_(None))))


async def reload_grant(session: AsyncSession, grant_id: int) -> Grant:
    session.expire_all()
    grant = await session.get(Grant, grant_id)
    assert grant is not None
    return grant
