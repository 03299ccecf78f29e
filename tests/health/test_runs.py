"""A sync run is held under its worker's lease: closed when the worker is gone, never before."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources import runs
from relink.data_sources.runs import ABANDONED_DETAIL, RUN_LEASE, close_abandoned_runs, heartbeat
from relink.models import DailyMetric, DataSource, SyncOutcome, SyncRun
from relink.sandbox import seed
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo

GAP_DAYS = 5
# Polls for a background heartbeat; a heartbeat here comes every few milliseconds.
HEARTBEAT_WAIT_SECONDS = 30


async def _source_with_a_gap(session: AsyncSession, clock: Clock) -> DataSource:
    """A data source whose last GAP_DAYS days are missing, its next import an hour away."""
    source = await session.scalar(
        select(DataSource).where(DataSource.external_account_id == seed.SECOND_ACCOUNTS[0].id)
    )
    assert source is not None
    source.complete_through = clock().date() - timedelta(days=GAP_DAYS)
    # As the dead worker's last committed batch left it: not due for an hour.
    source.next_sync_at = clock() + timedelta(hours=1)
    await session.commit()
    return source


async def _running_run(
    session: AsyncSession, source: DataSource, *, owner: str, lease_left: timedelta, clock: Clock
) -> int:
    run = SyncRun(
        agency_id=source.agency_id,
        data_source_id=source.id,
        trigger="schedule",
        date_from=source.complete_through or date.today(),
        date_to=clock().date(),
        started_at=clock() - timedelta(minutes=5),
        owner=owner,
        lease_expires_at=clock() + lease_left,
    )
    session.add(run)
    await session.commit()
    return run.id


async def test_a_run_whose_worker_is_gone_is_closed_by_the_sweep_and_its_days_imported_again(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    # given: a worker died mid-import; its lease ran out a second ago
    source = await _source_with_a_gap(session, clock)
    source_id, gap_start = source.id, clock().date() - timedelta(days=GAP_DAYS - 1)
    run_id = await _running_run(
        session, source, owner="gone:4242:dead", clock=clock, lease_left=timedelta(seconds=-1)
    )

    # when
    report = await sweep(ctx)

    # then: the run is closed with the reason, and the missing days are imported now
    session.expire_all()
    run = await session.get(SyncRun, run_id)
    assert run is not None and run.outcome is SyncOutcome.FAILED
    assert run.error_detail == ABANDONED_DETAIL and run.finished_at == clock()
    assert report.interrupted_runs == 1
    days = set(
        await session.scalars(
            select(DailyMetric.day).where(
                DailyMetric.data_source_id == source_id, DailyMetric.day >= gap_start
            )
        )
    )
    assert days == {gap_start + timedelta(days=n) for n in range(GAP_DAYS)}
    refreshed = await session.get(DataSource, source_id)
    assert refreshed is not None
    # Today is imported as far as it goes, but it is not complete before it is over.
    assert refreshed.complete_through == clock().date() - timedelta(days=1)


async def test_a_run_whose_worker_still_holds_its_lease_is_left_running(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    # given: another process is importing this source right now
    source = await _source_with_a_gap(session, clock)
    source_id = source.id
    run_id = await _running_run(
        session, source, owner="other:1:alive", clock=clock, lease_left=timedelta(seconds=30)
    )

    async with ctx.database.transaction() as tx:
        closed = await close_abandoned_runs(tx, now=clock())

    session.expire_all()
    run = await session.get(SyncRun, run_id)
    assert closed == 0 and run is not None and run.outcome is SyncOutcome.RUNNING
    untouched = await session.get(DataSource, source_id)
    assert untouched is not None and untouched.next_sync_at == clock() + timedelta(hours=1)


async def test_a_running_import_keeps_renewing_its_lease(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runs, "HEARTBEAT_SECONDS", 0.01)
    source = await _source_with_a_gap(session, clock)
    run_id = await _running_run(
        session, source, owner=ctx.worker_id, clock=clock, lease_left=RUN_LEASE
    )

    async with heartbeat(ctx, run_id=run_id):
        # Time passes while the import waits on a slow provider.
        clock.advance(minutes=10)
        renewed_until = clock() + RUN_LEASE
        deadline = asyncio.get_running_loop().time() + HEARTBEAT_WAIT_SECONDS
        while await _lease(session, run_id) != renewed_until:
            assert asyncio.get_running_loop().time() < deadline, "the lease was never renewed"
            await asyncio.sleep(0.01)

    async with ctx.database.transaction() as tx:
        assert await close_abandoned_runs(tx, now=clock()) == 0


async def _lease(session: AsyncSession, run_id: int) -> object:
    await session.commit()  # a fresh snapshot
    return await session.scalar(select(SyncRun.lease_expires_at).where(SyncRun.id == run_id))


async def test_an_import_holds_its_run_under_this_workers_lease(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await _source_with_a_gap(session, clock)
    await session.execute(update(DataSource).values(next_sync_at=None))
    await session.commit()

    await sweep(ctx)

    owners = set(
        await session.scalars(select(SyncRun.owner).where(SyncRun.data_source_id == source.id))
    )
    assert owners == {ctx.worker_id}
    running = await session.scalar(
        select(func.count()).where(SyncRun.outcome == SyncOutcome.RUNNING)
    )
    assert running == 0
