"""Jobs someone asked for and may follow: a ``job_state`` row per request, answered by a run.

An admin's "sweep now" is answered at once with a job id, whose row then reads queued,
running, done or failed. The row is the request, not the message that carries it: every run
of the job takes the requests queued before it starts and finishes them when it ends. So one
sweep answers every request that waited for it; a request whose message was lost is answered
by the next scheduled sweep; a message whose request another run already answered does
nothing (one pending sweep is enough); and a second request while one still waits gets the
waiting one's id instead of queueing another.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

import structlog
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import NotFound
from relink.models import JobState, JobStateName
from relink.worker.context import JobContext
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName

T = TypeVar("T")

log = structlog.get_logger(__name__)

# A finished request stays readable this long: enough for a script to come back for it.
KEPT_AFTER_FINISH = timedelta(days=1)
FINISHED = (JobStateName.DONE, JobStateName.FAILED)


async def request_job(
    session: AsyncSession, name: JobName, *, agency_id: int, now: datetime
) -> JobState:
    """Ask for ``name`` on behalf of an agency: queued once ``session`` commits.

    While a request of the agency for the same job still waits, that one is the answer: the
    run that takes it will answer this one too.
    """
    waiting = await session.scalar(
        select(JobState)
        .where(
            JobState.agency_id == agency_id,
            JobState.name == name.value,
            JobState.state == JobStateName.QUEUED,
        )
        .order_by(JobState.queued_at)
        .limit(1)
    )
    if waiting is not None:
        return waiting
    request = JobState(
        id=uuid.uuid4().hex,
        agency_id=agency_id,
        name=name.value,
        state=JobStateName.QUEUED,
        queued_at=now,
    )
    session.add(request)
    await session.flush()
    enqueue(session, name, job_id=request.id)
    return request


async def read_job(session: AsyncSession, job_id: str, *, agency_id: int) -> JobState:
    """The agency's request ``job_id``; another agency's, or a forgotten one, is not found."""
    found = await session.scalar(
        select(JobState).where(JobState.id == job_id, JobState.agency_id == agency_id)
    )
    if found is None:
        raise NotFound("job")
    return found


async def run_answering(ctx: JobContext, name: JobName, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` (a run of ``name``), answering every request queued before it starts.

    A request still running after the task visibility timeout (longer than any job runs) lost
    its run, a process that died without its message being handed out again: this run takes
    it over.
    """
    token, taken = await _take_waiting(ctx, name, job_id=None)
    return await _run_taken(ctx, work, token=token, taken=taken)


async def run_requested(
    ctx: JobContext, name: JobName, work: Callable[[], Awaitable[T]], *, job_id: str
) -> T | None:
    """Run ``work`` for the request ``job_id`` (and every other one waiting), or nothing if a
    run that began after the request already answered it."""
    token, taken = await _take_waiting(ctx, name, job_id=job_id)
    if job_id not in taken:
        log.info("worker.job.already_answered", job=name.value, job_id=job_id)
        return None
    return await _run_taken(ctx, work, token=token, taken=taken)


async def _take_waiting(
    ctx: JobContext, name: JobName, *, job_id: str | None
) -> tuple[str, list[str]]:
    token = uuid.uuid4().hex
    now = ctx.now()
    stale_after = timedelta(seconds=ctx.settings.task_visibility_timeout_seconds)
    async with ctx.database.transaction() as session:
        taken = await _take(
            session, name, token=token, now=now, stale_before=now - stale_after, job_id=job_id
        )
    return token, taken


async def _run_taken(
    ctx: JobContext, work: Callable[[], Awaitable[T]], *, token: str, taken: list[str]
) -> T:
    try:
        result = await work()
    except Exception as exc:
        if taken:
            await _finish(ctx, token=token, state=JobStateName.FAILED, error=type(exc).__name__)
        raise
    if taken:
        await _finish(ctx, token=token, state=JobStateName.DONE)
    return result


async def _take(
    session: AsyncSession,
    name: JobName,
    *,
    token: str,
    now: datetime,
    stale_before: datetime,
    job_id: str | None,
) -> list[str]:
    free = or_(
        JobState.state == JobStateName.QUEUED,
        and_(JobState.state == JobStateName.RUNNING, JobState.started_at < stale_before),
    )
    if job_id is not None:
        # Its own message handed out again after its run died: it takes its request back.
        free = or_(free, and_(JobState.id == job_id, JobState.state == JobStateName.RUNNING))
    taken = await session.execute(
        update(JobState)
        .where(JobState.name == name.value, free)
        .values(state=JobStateName.RUNNING, started_at=now, taken_by=token)
        .returning(JobState.id)
        .execution_options(synchronize_session=False)
    )
    return list(taken.scalars())


async def _finish(
    ctx: JobContext, *, token: str, state: JobStateName, error: str | None = None
) -> None:
    now = ctx.now()
    async with ctx.database.transaction() as session:
        # Only what this run took and still holds: a request another run took over since (its
        # message handed out again) is that run's to finish.
        await session.execute(
            update(JobState)
            .where(JobState.taken_by == token, JobState.state == JobStateName.RUNNING)
            .values(state=state, finished_at=now, error=error)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(JobState).where(
                JobState.state.in_(FINISHED), JobState.finished_at < now - KEPT_AFTER_FINISH
            )
        )
