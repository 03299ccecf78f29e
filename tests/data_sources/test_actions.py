"""Pause, resume and "Try again" on one data source; the purge job."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.actions import pause, resume, sync_now
from relink.data_sources.removal import disconnect
from relink.errors import Forbidden, IllegalTransition
from relink.incidents import service as incidents
from relink.models import DataSource
from relink.providers.taxonomy import ErrorClass
from relink.status import DataSourceStatus
from relink.worker.context import JobContext
from relink.worker.jobs import run_job
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.data_sources import count_metrics, recording_jobs, reload
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer


async def _golden_gym(session: AsyncSession, demo: Demo) -> DataSource:
    sources = await data_sources_of(session, demo.shared_grant_id)
    return next(s for s in sources if s.client_id == demo.client_named("Golden Gym").id)


async def test_a_paused_source_is_not_imported(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    source = await _golden_gym(session, demo)
    await pause(session, user=demo.staff, data_source_id=source.id, now=clock())
    await session.commit()

    await sweep(ctx)

    assert sandbox.state.stats.api_requests_by_account[source.external_account_id] == 0
    paused = await reload(session, source.id)
    assert paused is not None and paused.status is DataSourceStatus.PAUSED


async def test_resume_reconnects_when_the_grant_works(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    source = await _golden_gym(session, demo)
    await pause(session, user=demo.staff, data_source_id=source.id, now=clock())

    with recording_jobs() as jobs:
        await resume(session, user=demo.staff, data_source_id=source.id, now=clock())
        await session.commit()

    assert source.status is DataSourceStatus.CONNECTED
    assert jobs.names() == ["data_sources.import"]


async def test_only_a_connected_or_failing_source_can_be_paused(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    source = await _golden_gym(session, demo)
    await pause(session, user=demo.staff, data_source_id=source.id, now=clock())

    with pytest.raises(IllegalTransition):
        await pause(session, user=demo.staff, data_source_id=source.id, now=clock())


async def test_a_client_user_cannot_pause(session: AsyncSession, demo: Demo, clock: Clock) -> None:
    source = await _golden_gym(session, demo)

    with pytest.raises(Forbidden):
        await pause(session, user=demo.client_user, data_source_id=source.id, now=clock())


async def test_try_again_queues_a_manual_import_and_resolves_nothing_yet(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    source = await _golden_gym(session, demo)
    key = incidents.data_source_key(source.id, ErrorClass.DATA_ERROR)
    await incidents.open_or_extend(
        session,
        agency_id=source.agency_id,
        key=key,
        error_class=ErrorClass.DATA_ERROR,
        provider=source.provider,
        now=clock(),
        data_source_id=source.id,
    )

    with recording_jobs() as jobs:
        await sync_now(session, user=demo.staff, data_source_id=source.id, now=clock())
        await session.commit()

    assert [(j.name, j.kwargs) for j in jobs.jobs] == [
        ("data_sources.import", {"data_source_id": source.id, "trigger": "manual"})
    ]
    assert await incidents.open_incident(session, agency_id=source.agency_id, key=key)


async def test_the_purge_job_empties_the_trash_after_the_window(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _golden_gym(session, demo)
    source_id = source.id
    await disconnect(
        session,
        ctx=ctx,
        user=demo.admin,
        data_source_id=source_id,
        confirm="Golden Gym",
        now=clock(),
    )
    await session.commit()

    clock.advance(days=ctx.settings.trash_retention_days, hours=1)
    report = await run_job(ctx, "data_sources.purge_trash", {})

    assert report.data_sources == 1 and report.daily_metrics == 90
    assert await reload(session, source_id) is None
    assert await count_metrics(session, source_id) == 0
