"""Nothing lives only in memory: a revocation queued, then lost or killed, is done exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.removal import disconnect
from relink.models import DataSource, PendingJob
from relink.status import GrantStatus
from relink.worker.context import JobContext
from relink.worker.enqueue import DISPATCH_HEAD_START, QueuedJob, set_dispatcher
from relink.worker.jobs import load_jobs
from relink.worker.pending import RUN_LEASE, resume_pending, retry_delay, run_queued
from relink.worker.registry import JOBS, JobName
from tests.fixtures.clock import Clock
from tests.fixtures.data_sources import key_source, recording_jobs, reload_grant
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer


@pytest.fixture
def revocations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The grant of every run of the revoke job, in order."""
    load_jobs()
    original = JOBS[JobName.REVOKE]
    runs: list[int] = []

    async def counted(ctx: JobContext, *, grant_id: int) -> Any:
        runs.append(grant_id)
        return await original.function(ctx, grant_id=grant_id)

    monkeypatch.setitem(JOBS, JobName.REVOKE, replace(original, function=counted))
    yield runs


async def _remove_last_source_of_its_grant(
    session: AsyncSession, ctx: JobContext, demo: Demo, clock: Clock
) -> DataSource:
    source = await key_source(session)
    await disconnect(
        session,
        ctx=ctx,
        user=demo.admin,
        data_source_id=source.id,
        confirm="Indigo Spa",
        now=clock(),
    )
    await session.commit()
    return source


async def _rows(session: AsyncSession) -> list[PendingJob]:
    await session.commit()  # a fresh snapshot
    return list(await session.scalars(select(PendingJob)))


async def test_a_queued_revocation_is_also_a_row_written_with_the_commit(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with recording_jobs() as jobs:
        source = await _remove_last_source_of_its_grant(session, ctx, demo, clock)

    (queued,) = jobs.jobs
    (row,) = await _rows(session)
    assert queued.name is JobName.REVOKE and queued.pending_id == row.id
    assert row.name == "grants.revoke" and row.kwargs == {"grant_id": source.grant_id}


async def test_the_queued_copy_revokes_once_and_a_redelivered_copy_does_nothing(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, revocations: list[int]
) -> None:
    with recording_jobs() as jobs:
        source = await _remove_last_source_of_its_grant(session, ctx, demo, clock)
    (queued,) = jobs.jobs

    await run_queued(ctx, queued)
    await run_queued(ctx, queued)  # Celery may deliver twice
    clock.advance(seconds=DISPATCH_HEAD_START.total_seconds() + 60)
    resumed = await resume_pending(ctx)

    assert revocations == [source.grant_id]
    assert resumed == 0
    assert await _rows(session) == []
    assert (await reload_grant(session, source.grant_id)).status is GrantStatus.REVOKED


async def test_a_revocation_whose_queued_copy_was_lost_is_done_by_the_resume_exactly_once(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, revocations: list[int]
) -> None:
    # given: the process dies after the commit, before its dispatcher ran anything
    set_dispatcher(None)
    source = await _remove_last_source_of_its_grant(session, ctx, demo, clock)
    assert await resume_pending(ctx) == 0, "the queued copy has a head start"
    assert (await reload_grant(session, source.grant_id)).status is GrantStatus.ACTIVE

    # when: the periodic resume runs after the head start, twice
    clock.advance(seconds=DISPATCH_HEAD_START.total_seconds() + 60)
    first, second = await resume_pending(ctx), await resume_pending(ctx)

    # then
    assert (first, second) == (1, 0)
    assert revocations == [source.grant_id]
    assert (await reload_grant(session, source.grant_id)).status is GrantStatus.REVOKED
    assert await _rows(session) == []


async def test_a_revocation_whose_runner_died_holding_it_is_done_once_its_lease_ends(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, revocations: list[int]
) -> None:
    with recording_jobs() as jobs:
        source = await _remove_last_source_of_its_grant(session, ctx, demo, clock)
    (queued,) = jobs.jobs
    # A runner took the row, then was killed before it finished.
    await session.execute(update(PendingJob).values(attempts=1, due_at=clock() + RUN_LEASE))
    await session.commit()

    await run_queued(ctx, queued)  # the message, put back by the dead worker, arrives again
    assert revocations == [], "the row is held: the redelivered copy leaves it"
    clock.advance(seconds=RUN_LEASE.total_seconds() + 1)
    assert await resume_pending(ctx) == 1

    assert revocations == [source.grant_id]
    assert (await reload_grant(session, source.grant_id)).status is GrantStatus.REVOKED
    assert await _rows(session) == []


async def test_a_revocation_the_provider_could_not_hear_stays_a_row_and_is_tried_again(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    sandbox: SandboxServer,
    revocations: list[int],
) -> None:
    grant_id = demo.second_grant_id
    sources = await data_sources_of(session, grant_id)
    with recording_jobs() as jobs:
        for source in sources:
            client = await session.get(type(demo.clients[0]), source.client_id)
            assert client is not None
            await disconnect(
                session,
                ctx=ctx,
                user=demo.admin,
                data_source_id=source.id,
                confirm=client.name,
                now=clock(),
            )
            await session.commit()
    (queued,) = jobs.jobs
    sandbox.add_fault("server_error", surface="oauth")

    await run_queued(ctx, queued)
    (row,) = await _rows(session)
    assert row.attempts == 1 and row.due_at == clock() + retry_delay(1)
    assert (await reload_grant(session, grant_id)).status is GrantStatus.ACTIVE

    sandbox.state.faults.clear()
    clock.advance(seconds=retry_delay(1).total_seconds())
    assert await resume_pending(ctx) == 1

    assert revocations == [grant_id, grant_id]
    assert (await reload_grant(session, grant_id)).status is GrantStatus.REVOKED
    assert any(f.revoked for f in sandbox.state.families.values())
    assert await _rows(session) == []


async def test_a_job_that_is_not_durable_carries_no_row(
    session: AsyncSession, demo: Demo, ctx: JobContext
) -> None:
    sent: list[QueuedJob] = []

    class Recorder:
        def dispatch(self, job: QueuedJob) -> None:
            sent.append(job)

    set_dispatcher(Recorder())
    try:
        from relink.worker.enqueue import enqueue

        enqueue(session, JobName.SWEEP)
        await session.commit()
    finally:
        set_dispatcher(None)

    assert sent == [QueuedJob(name=JobName.SWEEP)]
    assert await _rows(session) == []
