"""Several processes at once, and a worker killed mid-import: real `relink` processes."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.runs import ABANDONED_DETAIL, RUN_LEASE
from relink.kit.crypto import SecretBox
from relink.models import DailyMetric, DataSource, SyncOutcome, SyncRun
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import seeded_demo
from tests.fixtures.processes import (
    PROCESS_TIMEOUT,
    a_long_slow_gap,
    kill_once,
    relink_env,
    seeded_env,
    start,
)
from tests.fixtures.sandbox import SandboxServer


async def test_two_sweeps_in_two_processes_never_refresh_a_grant_twice(
    pg_database_url: str, secret_key: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = await seeded_env(
        database_url=pg_database_url,
        secret_key=secret_key,
        sandbox_url=sandbox.url,
        var_dir=tmp_path,
    )

    # Sweeps as the schedule runs them: only what is due (a plain check refreshes every grant).
    workers = [start("check", "--due-only", env=env) for _ in range(2)]
    outputs = [w.communicate(timeout=PROCESS_TIMEOUT) for w in workers]

    assert [w.returncode for w in workers] == [0, 0], outputs
    refreshes = sandbox.state.stats.token_requests_by_subject
    assert refreshes == Counter({"sbx-user-1001": 1, "sbx-user-1002": 1})


async def test_a_worker_killed_mid_import_has_its_run_closed_and_its_days_imported_again(
    session: AsyncSession,
    database_url: str,
    secret_key: str,
    box: SecretBox,
    sandbox: SandboxServer,
    ctx: JobContext,
    clock: Clock,
    tmp_path: Path,
) -> None:
    await seeded_demo(session, box=box)
    gap_start = clock().date() - timedelta(days=200)
    source_id = await a_long_slow_gap(session, sandbox, since=gap_start)
    env = relink_env(
        database_url=database_url, secret_key=secret_key, sandbox_url=sandbox.url, var_dir=tmp_path
    )

    worker = start("check", env=env)
    # Kill it once it has committed at least one batch and is fetching the next one.
    await kill_once(worker, when=lambda: _imported_a_batch(session, source_id))
    sandbox.state.faults.clear()
    session.expire_all()
    interrupted = list(
        await session.scalars(
            select(SyncRun.id).where(
                SyncRun.data_source_id == source_id, SyncRun.outcome == SyncOutcome.RUNNING
            )
        )
    )
    # The dead worker's lease runs out; the next sweep (any process's) finds the run.
    clock.advance(seconds=RUN_LEASE.total_seconds() + 60)
    report = await sweep(ctx)

    session.expire_all()
    days = list(
        await session.scalars(
            select(DailyMetric.day).where(DailyMetric.data_source_id == source_id)
        )
    )
    assert len(days) == len(set(days)), "no day twice"
    expected = {
        gap_start + timedelta(days=n) for n in range(1, (clock().date() - gap_start).days + 1)
    }
    assert expected <= set(days), "no day missing"
    refreshed = await session.get(DataSource, source_id, populate_existing=True)
    assert refreshed is not None
    # Today is imported as far as it goes, but it is not complete before it is over.
    assert refreshed.complete_through == clock().date() - timedelta(days=1)
    assert len(interrupted) == 1, "the kill landed while an import was running"
    assert report.interrupted_runs == 1
    closed = await session.get(SyncRun, interrupted[0], populate_existing=True)
    assert closed is not None and closed.outcome is SyncOutcome.FAILED
    assert closed.error_detail == ABANDONED_DETAIL and closed.finished_at is not None
    still_running = await session.scalar(
        select(func.count()).where(
            SyncRun.data_source_id == source_id, SyncRun.outcome == SyncOutcome.RUNNING
        )
    )
    assert still_running == 0


async def _imported_a_batch(session: AsyncSession, source_id: int) -> bool:
    await session.commit()  # a fresh snapshot: see what the other process committed
    done = await session.scalar(
        select(func.count()).where(
            SyncRun.data_source_id == source_id, SyncRun.outcome == SyncOutcome.OK
        )
    )
    running = await session.scalar(
        select(func.count()).where(
            SyncRun.data_source_id == source_id, SyncRun.outcome == SyncOutcome.RUNNING
        )
    )
    return bool(done) and bool(running)
