"""A restarted process closes the runs its previous life held at once, not after their lease
(issue 23, 8): a worker of this machine whose process has ended holds nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.runs import ABANDONED_DETAIL, RUN_LEASE, close_abandoned_runs
from relink.models import DataSource, SyncOutcome, SyncRun
from relink.sandbox import seed
from relink.worker.context import JobContext, WorkerId, new_worker_id
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo, seeded_demo
from tests.fixtures.processes import a_long_slow_gap, kill_once, relink_env, start
from tests.fixtures.sandbox import SandboxServer


def _host() -> str:
    me = WorkerId.parse(new_worker_id())
    assert me is not None
    return me.host


def _ended_pid() -> int:
    """The pid of a process that has just ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def _run_held_by(session: AsyncSession, owner: str, clock: Clock) -> int:
    source = await session.scalar(
        select(DataSource).where(DataSource.external_account_id == seed.SECOND_ACCOUNTS[0].id)
    )
    assert source is not None
    run = SyncRun(
        agency_id=source.agency_id,
        data_source_id=source.id,
        trigger="schedule",
        date_from=clock().date() - timedelta(days=3),
        date_to=clock().date(),
        started_at=clock() - timedelta(seconds=20),
        owner=owner,
        # Renewed a moment ago: by its lease, the run is still vouched for.
        lease_expires_at=clock() + RUN_LEASE,
    )
    session.add(run)
    await session.commit()
    return run.id


async def _outcome(session: AsyncSession, run_id: int) -> SyncOutcome:
    session.expire_all()
    run = await session.get(SyncRun, run_id)
    assert run is not None
    return run.outcome


async def _close_as_this_process(ctx: JobContext, clock: Clock) -> int:
    async with ctx.database.transaction() as tx:
        return await close_abandoned_runs(tx, now=clock(), worker_id=ctx.worker_id)


async def test_a_run_of_an_ended_process_of_this_machine_is_closed_at_once(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    run_id = await _run_held_by(session, f"{_host()}:{_ended_pid()}:0badf00d", clock)

    closed = await _close_as_this_process(ctx, clock)

    assert closed == 1
    assert await _outcome(session, run_id) is SyncOutcome.FAILED


async def test_a_run_of_this_pids_previous_life_is_closed_at_once(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    # given: a restarted container keeps its host name and its pid, under a new nonce
    me = WorkerId.parse(ctx.worker_id)
    assert me is not None
    run_id = await _run_held_by(session, f"{me.host}:{me.pid}:previous", clock)

    closed = await _close_as_this_process(ctx, clock)

    assert closed == 1
    assert await _outcome(session, run_id) is SyncOutcome.FAILED


async def test_a_run_of_a_live_process_of_this_machine_keeps_running(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    alive = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(60)"
    )
    try:
        run_id = await _run_held_by(session, f"{_host()}:{alive.pid}:alive", clock)

        closed = await _close_as_this_process(ctx, clock)
    finally:
        alive.kill()
        await alive.wait()

    assert closed == 0
    assert await _outcome(session, run_id) is SyncOutcome.RUNNING


async def test_a_run_of_another_machine_waits_for_its_lease(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    # Its pid means nothing here: only its lease can say it is gone.
    run_id = await _run_held_by(session, f"elsewhere-{_host()}:{_ended_pid()}:x", clock)

    closed = await _close_as_this_process(ctx, clock)

    assert closed == 0
    assert await _outcome(session, run_id) is SyncOutcome.RUNNING


async def test_the_first_sweep_after_a_killed_process_closes_its_run_without_waiting(
    session: AsyncSession,
    database_url: str,
    secret_key: str,
    sandbox: SandboxServer,
    ctx: JobContext,
    clock: Clock,
    tmp_path: Path,
) -> None:
    # given: a real `relink` process killed in the middle of a long, slowed-down import
    await seeded_demo(session, box=ctx.box)
    source_id = await a_long_slow_gap(session, sandbox, since=date.today() - timedelta(days=200))
    env = relink_env(
        database_url=database_url, secret_key=secret_key, sandbox_url=sandbox.url, var_dir=tmp_path
    )
    worker = start("check", env=env)
    await kill_once(worker, when=lambda: _running(session, source_id))
    sandbox.state.faults.clear()

    held = await session.scalar(select(func.count()).where(SyncRun.outcome == SyncOutcome.RUNNING))

    # when: this machine's next process sweeps, the dead runs' leases still minutes away
    report = await sweep(ctx)

    # then: every run the dead process held (its whole batch) is closed
    assert held and report.interrupted_runs == held
    assert not await _running(session, source_id)
    detail = await session.scalar(
        select(SyncRun.error_detail)
        .where(SyncRun.data_source_id == source_id, SyncRun.outcome == SyncOutcome.FAILED)
        .limit(1)
    )
    assert detail == ABANDONED_DETAIL


async def _running(session: AsyncSession, source_id: int) -> bool:
    await session.commit()  # a fresh snapshot: see what the other process committed
    running = await session.scalar(
        select(func.count()).where(
            SyncRun.data_source_id == source_id, SyncRun.outcome == SyncOutcome.RUNNING
        )
    )
    return bool(running)
