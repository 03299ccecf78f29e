"""Durable jobs: a ``pending_job`` row runs once, whoever takes it first; lost ones resume.

A durable job reaches a runner twice over: its queued copy (embedded or Celery) and its row.
Whoever runs it first takes the row with one conditional UPDATE (a lease); the queued copy may
take a row nobody has tried yet, the periodic resume only a row whose time has come (the
queued copy's head start, a dead runner's lease, or the wait before a retry). The row is
deleted when the job is done, so a copy that arrives late, or twice, finds nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import PendingJob
from relink.worker.context import JobContext
from relink.worker.enqueue import QueuedJob
from relink.worker.jobs import registered, run_job
from relink.worker.registry import JobName, job

log = structlog.get_logger(__name__)

# A runner holds a row this long; a runner that died holding it is replaced after this.
RUN_LEASE = timedelta(minutes=10)
# Retries wait longer each time, up to a ceiling, so a provider down for a day is not hammered.
RETRY_FIRST = timedelta(minutes=1)
RETRY_CEILING = timedelta(hours=6)
# About a week of tries at the ceiling; then the row is dropped with an error in the log.
MAX_ATTEMPTS = 40
RESUME_BATCH = 100


@dataclass(frozen=True)
class Taken:
    id: str
    name: str
    kwargs: dict[str, Any]
    attempts: int


async def run_queued(ctx: JobContext, queued: QueuedJob) -> Any:
    """Run a job a dispatcher carried; a durable one only if its row is still to be done."""
    if queued.pending_id is None:
        return await run_job(ctx, queued.name, queued.kwargs)
    async with ctx.database.transaction() as session:
        taken = await _take(session, queued.pending_id, now=ctx.now(), untried_too=True)
    if taken is None:
        log.info("worker.pending.skipped", job=queued.name, pending_id=queued.pending_id)
        return None
    return await _run(ctx, taken)


async def _take(
    session: AsyncSession, pending_id: str, *, now: datetime, untried_too: bool
) -> Taken | None:
    free = PendingJob.due_at <= now
    if untried_too:
        free = or_(PendingJob.attempts == 0, free)
    taken = await session.execute(
        update(PendingJob)
        .where(PendingJob.id == pending_id, free)
        .values(due_at=now + RUN_LEASE, attempts=PendingJob.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = (
        await session.execute(
            select(PendingJob.name, PendingJob.kwargs, PendingJob.attempts).where(
                PendingJob.id == pending_id
            )
        )
    ).one()
    return Taken(pending_id, row.name, dict(row.kwargs), row.attempts)


async def _take_due(session: AsyncSession, *, now: datetime, limit: int) -> list[Taken]:
    due = (
        select(PendingJob.id)
        .where(PendingJob.due_at <= now)
        .order_by(PendingJob.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    taken = []
    for pending_id in list(await session.scalars(due)):
        row = await _take(session, pending_id, now=now, untried_too=False)
        if row is not None:
            taken.append(row)
    return taken


async def _run(ctx: JobContext, taken: Taken) -> Any:
    try:
        definition = registered(taken.name)
        result = await definition.function(ctx, **taken.kwargs)
    except Exception as exc:
        await _later(ctx, taken, error=type(exc).__name__)
        raise
    if definition.retry_if is not None and definition.retry_if(result):
        await _later(ctx, taken, error="not done; tried again later")
        return result
    async with ctx.database.transaction() as session:
        await session.execute(delete(PendingJob).where(PendingJob.id == taken.id))
    return result


def retry_delay(attempts: int) -> timedelta:
    """How long a durable job waits after its ``attempts``-th failed try."""
    delay: timedelta = RETRY_FIRST * (2 ** max(attempts - 1, 0))
    return min(delay, RETRY_CEILING)


async def _later(ctx: JobContext, taken: Taken, *, error: str) -> None:
    async with ctx.database.transaction() as session:
        if taken.attempts >= MAX_ATTEMPTS:
            await session.execute(delete(PendingJob).where(PendingJob.id == taken.id))
            log.error("worker.pending.given_up", job=taken.name, attempts=taken.attempts)
            return
        await session.execute(
            update(PendingJob)
            .where(PendingJob.id == taken.id)
            .values(due_at=ctx.now() + retry_delay(taken.attempts), last_error=error[:200])
        )
    log.warning("worker.pending.retry", job=taken.name, attempts=taken.attempts, error=error)


@job(JobName.RESUME_PENDING)
async def resume_pending(ctx: JobContext) -> int:
    """Run every durable job whose queued copy was lost, died, or asked to be tried later."""
    ran = 0
    seen: set[str] = set()
    while True:
        async with ctx.database.transaction() as session:
            batch = [
                t
                for t in await _take_due(session, now=ctx.now(), limit=RESUME_BATCH)
                if t.id not in seen
            ]
        if not batch:
            return ran
        for taken in batch:
            seen.add(taken.id)
            ran += 1
            try:
                await _run(ctx, taken)
            except Exception:
                log.exception("worker.pending.failed", job=taken.name, attempts=taken.attempts)
