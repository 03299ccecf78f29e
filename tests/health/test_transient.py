"""Outages never cry wolf: 5xx, 429 and timeouts for an hour disconnect nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relink.providers.taxonomy import DATA_SOURCE_LEVEL, GRANT_LEVEL, ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.health.conftest import TEST_HTTP_TIMEOUT, open_incidents, reload_grant, statuses

# Each five simulated minutes, the provider misbehaves in a different way.
FAULTS = [
    {"kind": "server_error", "status": 500},
    {"kind": "rate_limit", "retry_after": 60},
    {"kind": "slow", "delay": TEST_HTTP_TIMEOUT * 2},
    {"kind": "server_error", "status": 503},
]


async def test_an_hour_of_outages_disconnects_nothing_and_alarms_no_one(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    grant_ids = [demo.shared_grant_id, demo.second_grant_id]

    for minute in range(0, 60, 5):
        sandbox.reset()
        sandbox.add_fault(**FAULTS[(minute // 5) % len(FAULTS)])
        await sweep(ctx)
        clock.advance(minutes=5)

    assert DataSourceStatus.DISCONNECTED not in set((await statuses(session)).values())
    for grant_id in grant_ids:
        assert (await reload_grant(session, grant_id)).status is GrantStatus.ACTIVE
    classes = {i.error_class for i in await open_incidents(session)}
    assert not classes & (GRANT_LEVEL | DATA_SOURCE_LEVEL)
    assert classes <= {ErrorClass.PROVIDER_UNAVAILABLE}


async def test_repeated_failures_mark_sources_failing_with_a_data_delayed_incident(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    sandbox.add_fault("server_error", status=500)

    for _ in range(6):
        await sweep(ctx)
        clock.advance(hours=1)

    assert set((await statuses(session)).values()) == {DataSourceStatus.FAILING}
    incidents = await open_incidents(session)
    assert incidents and {i.error_class for i in incidents} == {ErrorClass.PROVIDER_UNAVAILABLE}


async def test_when_the_provider_recovers_failing_sources_reconnect_and_incidents_resolve(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    sandbox.add_fault("server_error", status=502)
    for _ in range(6):
        await sweep(ctx)
        clock.advance(hours=1)

    sandbox.reset()
    clock.advance(hours=2)
    await sweep(ctx)

    assert set((await statuses(session)).values()) == {DataSourceStatus.CONNECTED}
    assert await open_incidents(session) == []


async def test_a_rate_limit_waits_for_retry_after(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer, clock: Clock
) -> None:
    from sqlalchemy import select

    from relink.models import DataSource

    sandbox.add_fault("rate_limit", retry_after=900)

    await sweep(ctx)

    session.expire_all()
    key_sources = list(
        await session.scalars(select(DataSource).where(DataSource.provider == "sandbox_api"))
    )
    assert key_sources
    for source in key_sources:
        assert source.next_sync_at is not None
        assert abs((source.next_sync_at - clock()).total_seconds() - 900) < 5
        assert source.consecutive_failures == 0
