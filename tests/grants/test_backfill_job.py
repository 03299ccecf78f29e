"""A reconnect queues one backfill for the grant, which still fills every missed day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources import tasks
from relink.grants.reconnect import repair_grant
from relink.models import DailyMetric, DataSource, Grant
from relink.providers.http import HttpClient
from relink.providers.results import ExternalIdentity, TokenSet
from relink.sandbox import seed
from relink.status import DataSourceStatus
from relink.worker import sweep as sweep_module
from relink.worker.context import JobContext
from relink.worker.registry import JobName
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.data_sources import recording_jobs
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.many_sources import add_shared_clients
from tests.fixtures.sandbox import SandboxServer

MANAGER = "manager@sandbox.test"
GAP_DAYS = 6
EXTRA_CLIENTS = 12
CALLS_AT_ONCE = 5
PATIENT_SECONDS = 10.0
# A client that gives up sooner, and a provider slower than that for a backfill's first calls.
IMPATIENT_SECONDS = 2.0
SLOWER_SECONDS = IMPATIENT_SECONDS + 1.0


@pytest.fixture
async def patient(ctx: JobContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Imports a few at a time, each given time enough, and no pause before a retry.

    The in-process test sandbox answers a few calls at a time; these tests are about filling
    every day, not about a slow machine (on a loaded CI runner the tests' short timeout failed
    a backfill's first batch now and then; a backfill retries such a source once, since).
    """
    monkeypatch.setattr(tasks, "BACKFILL_CONCURRENCY", CALLS_AT_ONCE)
    monkeypatch.setattr(sweep_module, "CONCURRENCY", CALLS_AT_ONCE)
    monkeypatch.setattr(tasks, "BACKFILL_RETRY_PAUSE_SECONDS", 0.0)
    await ctx.http.close()
    ctx.http = HttpClient(timeout=PATIENT_SECONDS, token_timeout=PATIENT_SECONDS)


async def _revoked_with_a_gap(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> list[int]:
    shared = await add_shared_clients(session, demo, EXTRA_CLIENTS)
    await sweep(ctx)
    gap_start = clock().date() - timedelta(days=GAP_DAYS)
    await session.execute(
        update(DataSource)
        .where(DataSource.id.in_(shared))
        .values(complete_through=gap_start - timedelta(days=1))
    )
    await session.execute(
        delete(DailyMetric).where(
            DailyMetric.data_source_id.in_(shared), DailyMetric.day >= gap_start
        )
    )
    await session.commit()
    clock.advance(minutes=1)
    sandbox.add_fault("revoke_grant", grant=MANAGER)
    await sweep(ctx, check_every_grant=True)
    sandbox.reset()
    return shared


async def _reconnect(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    tokens = sandbox.connect(MANAGER)
    grant = await session.get(Grant, demo.shared_grant_id)
    assert grant is not None
    await repair_grant(
        session,
        ctx=ctx,
        grant=grant,
        tokens=TokenSet(tokens["access_token"], tokens["refresh_token"], None),
        identity=ExternalIdentity(seed.IDENTITIES[0].subject, email=MANAGER),
        reachable_account_ids={a.id for a in seed.MANAGER_SUB_ACCOUNTS},
        now=clock(),
        actor=f"user:{demo.admin.id}",
    )
    await session.commit()


async def _days_of_the_gap(
    session: AsyncSession, shared: list[int], clock: Clock
) -> dict[int, int]:
    """Days imported since the gap opened, by data source (a source with none is missing)."""
    session.expire_all()
    since = clock().date() - timedelta(days=GAP_DAYS)
    found = await session.execute(
        select(DailyMetric.data_source_id, func.count())
        .where(DailyMetric.data_source_id.in_(shared), DailyMetric.day >= since)
        .group_by(DailyMetric.data_source_id)
    )
    return {source_id: days for source_id, days in found}


async def test_a_reconnect_queues_one_backfill_for_the_grant(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    shared = await _revoked_with_a_gap(session, demo, ctx, clock, sandbox)
    assert {s.status for s in await data_sources_of(session, demo.shared_grant_id)} == {
        DataSourceStatus.DISCONNECTED
    }

    with recording_jobs() as jobs:
        await _reconnect(session, demo, ctx, clock, sandbox)

    assert len(shared) > 1
    assert jobs.jobs == [
        type(jobs.jobs[0])(JobName.BACKFILL_GRANT, {"grant_id": demo.shared_grant_id})
    ]


async def test_the_one_backfill_fills_every_missed_day_of_every_source(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    sandbox: SandboxServer,
    patient: None,
) -> None:
    shared = await _revoked_with_a_gap(session, demo, ctx, clock, sandbox)
    with recording_jobs() as jobs:
        await _reconnect(session, demo, ctx, clock, sandbox)

        await jobs.run_all(ctx)

    assert await _days_of_the_gap(session, shared, clock) == {s: GAP_DAYS + 1 for s in shared}
    today = clock().date()
    sources = await data_sources_of(session, demo.shared_grant_id)
    assert {s.status for s in sources} == {DataSourceStatus.CONNECTED}
    # Today is imported as far as it goes, but it is not complete before it is over.
    assert {s.complete_through for s in sources} == {today - timedelta(days=1)}
    assert {s.backfill_from for s in sources} == {None}


async def test_a_source_whose_first_call_timed_out_is_filled_by_the_same_backfill(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    sandbox: SandboxServer,
    patient: None,
) -> None:
    # given: a client that waits less than the provider takes for the backfill's first calls
    shared = await _revoked_with_a_gap(session, demo, ctx, clock, sandbox)
    await ctx.http.close()
    ctx.http = HttpClient(timeout=IMPATIENT_SECONDS, token_timeout=PATIENT_SECONDS)
    with recording_jobs() as jobs:
        await _reconnect(session, demo, ctx, clock, sandbox)
        sandbox.add_fault(
            "slow", grant=MANAGER, surface="api", times=CALLS_AT_ONCE, delay=SLOWER_SECONDS
        )

        # when
        await jobs.run_all(ctx)

    # then: the sources whose first call timed out were imported again, by the same job
    assert sandbox.state.stats.faults_triggered["slow"] == CALLS_AT_ONCE
    assert await _days_of_the_gap(session, shared, clock) == {s: GAP_DAYS + 1 for s in shared}
    sources = await data_sources_of(session, demo.shared_grant_id)
    assert {s.backfill_from for s in sources} == {None}


async def test_sources_that_fail_their_backfill_do_not_stop_the_ones_after_them(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    patient: None,
) -> None:
    shared = await _revoked_with_a_gap(session, demo, ctx, clock, sandbox)
    # Batches of two, and the first batch's account answers garbage.
    monkeypatch.setattr(tasks, "BACKFILL_BATCH", 2)
    first = await session.get_one(DataSource, min(shared))
    broken = first.external_account_id
    with recording_jobs() as jobs:
        await _reconnect(session, demo, ctx, clock, sandbox)
        sandbox.add_fault("malformed_data", account=broken)

        await jobs.run_all(ctx)

    session.expire_all()
    today = clock().date()
    healthy = list(
        await session.scalars(
            select(DataSource.id).where(
                DataSource.id.in_(shared), DataSource.external_account_id != broken
            )
        )
    )
    filled = await session.scalar(
        select(func.count())
        .select_from(DailyMetric)
        .where(
            DailyMetric.data_source_id.in_(healthy),
            DailyMetric.day >= today - timedelta(days=GAP_DAYS),
        )
    )
    assert healthy
    assert filled == len(healthy) * (GAP_DAYS + 1)
