"""Sync runs and their workers: a run is held under a lease that its import keeps renewing.

A worker can vanish mid-import (SIGKILL, a crash, a lost machine) without a word, and a run
left ``running`` would stay so for good. So a running run carries its worker (``owner``) and a
lease the import renews while it works; a run whose lease ran out has lost its worker, whatever
process finds it: it is closed as failed, with the reason, and its data source is due again,
so the days that run did not finish are imported once more (``complete_through`` only moves
when a batch commits, so nothing the dead worker half-wrote counts as imported).

A live worker's runs are never touched: their leases are renewed long before they run out.
A process can also tell, without waiting for a lease, that a worker of its own machine is dead:
its process id is gone, or is this very process under another life's nonce (a restarted
container keeps its host name and often its pid). So a restarted ``relink serve`` closes the
runs its previous life held in its first sweep, not two minutes later.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.kit.id_lists import id_in
from relink.models import DataSource, SyncOutcome, SyncRun
from relink.status import IMPORTABLE_STATUSES
from relink.worker.context import JobContext, WorkerId

log = structlog.get_logger(__name__)

# How long a run is vouched for without a word from its worker: four missed heartbeats, so a
# slow provider call or a busy event loop never passes for a dead worker.
RUN_LEASE = timedelta(minutes=2)
# How often an import renews its run's lease while it waits on the provider or writes.
HEARTBEAT_SECONDS = 30.0
# Runs written before runs had leases (or by an older worker) count as dead after this long.
UNLEASED_RUN_STALE_AFTER = timedelta(minutes=30)
ABANDONED_DETAIL = "the worker stopped before the import finished"
# Run ids per renewing UPDATE: under SQLite's bound-variable limit.
ID_CHUNK = 900


def lease_until(now: datetime) -> datetime:
    """When a run started or renewed at ``now`` stops being vouched for."""
    return now + RUN_LEASE


@contextlib.asynccontextmanager
async def heartbeat(
    ctx: JobContext, *, run_id: int | None = None, run_ids: Sequence[int] = ()
) -> AsyncIterator[None]:
    """Renew the leases of the run (or of a batch's runs, one UPDATE per beat) in the
    background for as long as the block runs."""
    ids = [*run_ids, *([run_id] if run_id is not None else [])]
    task = asyncio.create_task(_renew_forever(ctx, run_ids=ids), name=f"run-lease:{ids[:1]}")
    try:
        yield
    finally:
        task.cancel()
        # asyncio.wait, not ``await task`` under suppress(CancelledError): that would also
        # swallow a cancellation of the import itself, which then never stops.
        await asyncio.wait({task})


async def _renew_forever(ctx: JobContext, *, run_ids: Sequence[int]) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            async with ctx.database.transaction() as session:
                for start in range(0, len(run_ids), ID_CHUNK):
                    await session.execute(
                        update(SyncRun)
                        .where(
                            id_in(session, SyncRun.id, run_ids[start : start + ID_CHUNK]),
                            SyncRun.outcome == SyncOutcome.RUNNING,
                        )
                        .values(lease_expires_at=lease_until(ctx.now()))
                        .execution_options(synchronize_session=False)
                    )
        except Exception:
            # A missed beat is not fatal: the lease has room for several.
            log.warning("data_source.import.heartbeat_failed", runs=len(run_ids), exc_info=True)


def _abandoned(now: datetime) -> ColumnElement[bool]:
    return and_(
        SyncRun.outcome == SyncOutcome.RUNNING,
        or_(
            SyncRun.lease_expires_at < now,
            and_(
                SyncRun.lease_expires_at.is_(None),
                SyncRun.started_at < now - UNLEASED_RUN_STALE_AFTER,
            ),
        ),
    )


def _dead_on_this_host(owner: str | None, *, me: WorkerId) -> bool:
    """Whether ``owner`` is a worker of this machine that no longer runs: its pid is gone, or
    is ours under another nonce (our previous life)."""
    them = WorkerId.parse(owner) if owner is not None else None
    if them is None or them.host != me.host or them == me:
        return False
    if them.pid == me.pid:
        return True
    try:
        os.kill(them.pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False  # alive under another user, or not a pid: leave it to its lease
    return False


async def close_abandoned_runs(
    session: AsyncSession,
    *,
    now: datetime,
    data_source_id: int | None = None,
    data_source_ids: Sequence[int] | None = None,
    worker_id: str | None = None,
) -> int:
    """Close running runs whose worker is gone as failed; make their data sources due now.

    Gone: its lease ran out, or (given this process's ``worker_id``) it is a worker of this
    machine whose process has ended. Returns how many runs were closed. Safe from any number of
    processes at once: a run is closed by one conditional UPDATE.
    """
    query = select(SyncRun.id, SyncRun.data_source_id, SyncRun.owner)
    if data_source_id is not None:
        query = query.where(SyncRun.data_source_id == data_source_id)
    if data_source_ids is not None:
        # A batch's sources: the runs they hold, if any, through the index on data_source_id.
        query = query.where(id_in(session, SyncRun.data_source_id, data_source_ids))
    abandoned = query.where(_abandoned(now)).with_for_update(skip_locked=True)
    rows = list((await session.execute(abandoned)).all())
    me = WorkerId.parse(worker_id) if worker_id is not None else None
    if me is not None:
        # Running runs of this machine's workers (a handful), whatever their lease says.
        local = query.where(
            SyncRun.outcome == SyncOutcome.RUNNING, SyncRun.owner.startswith(f"{me.host}:")
        )
        found = {row.id for row in rows}
        rows += [
            row
            for row in (await session.execute(local.with_for_update(skip_locked=True))).all()
            if row.id not in found and _dead_on_this_host(row.owner, me=me)
        ]
    if not rows:
        return 0
    run_ids = [row.id for row in rows]
    await session.execute(
        update(SyncRun)
        .where(id_in(session, SyncRun.id, run_ids), SyncRun.outcome == SyncOutcome.RUNNING)
        .values(outcome=SyncOutcome.FAILED, finished_at=now, error_detail=ABANDONED_DETAIL)
        .execution_options(synchronize_session=False)
    )
    source_ids = sorted({row.data_source_id for row in rows})
    live_run = exists().where(
        SyncRun.data_source_id == DataSource.id,
        SyncRun.outcome == SyncOutcome.RUNNING,
        SyncRun.lease_expires_at >= now,
    )
    # Due now, unless another worker is importing it this minute (it carries on from the last
    # complete day anyway); the dead worker's claim or its last batch had pushed it ahead.
    await session.execute(
        update(DataSource)
        .where(
            id_in(session, DataSource.id, source_ids),
            DataSource.status.in_(IMPORTABLE_STATUSES),
            or_(DataSource.next_sync_at.is_(None), DataSource.next_sync_at > now),
            ~live_run,
        )
        .values(next_sync_at=now)
        .execution_options(synchronize_session=False)
    )
    log.warning(
        "data_source.import.abandoned",
        runs=len(run_ids),
        data_source_ids=source_ids,
        owners=sorted({row.owner or "unknown" for row in rows}),
    )
    return len(run_ids)
