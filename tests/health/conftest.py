from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.config import get_settings
from relink.db import Database
from relink.grants import refresh
from relink.kit.crypto import SecretBox
from relink.models import DataSource, Grant, Incident
from relink.providers.catalog import load_catalog
from relink.providers.http import HttpClient
from relink.status import DataSourceStatus
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.sandbox import SandboxServer

# Short enough that a "slow" sandbox answer is a timeout without making the suite slow.
TEST_HTTP_TIMEOUT = 0.5


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def ctx(
    database: Database,
    box: SecretBox,
    sandbox: SandboxServer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[JobContext]:
    monkeypatch.setattr(refresh, "LOST_ANSWER_PAUSE_SECONDS", 0.01)
    monkeypatch.setattr(refresh, "LEASE_POLL_SECONDS", 0.02)
    context = JobContext(
        database=database,
        box=box,
        catalog=load_catalog(base_urls={"sandbox_url": sandbox.url}),
        http=HttpClient(timeout=TEST_HTTP_TIMEOUT),
        settings=get_settings(),
        clock=clock,
        rng=random.Random(7),
    )
    yield context
    await context.close()


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
