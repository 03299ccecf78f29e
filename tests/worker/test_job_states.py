"""A requested job is a row its agency can read: taken by the first run that begins after it,
finished when that run ends, and never run twice for one wait."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import NotFound
from relink.models import Agency, JobState, JobStateName
from relink.worker.context import JobContext
from relink.worker.job_states import (
    KEPT_AFTER_FINISH,
    read_job,
    request_job,
    run_answering,
    run_requested,
)
from relink.worker.registry import JobName
from tests.fixtures.clock import Clock
from tests.fixtures.data_sources import recording_jobs
from tests.fixtures.demo import Demo

SWEEP = JobName.SWEEP


class Runs:
    """A stand-in for the sweep that counts its runs."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> str:
        self.count += 1
        return "swept"


async def _request(session: AsyncSession, agency_id: int, clock: Clock) -> str:
    """The id of a request made and committed now."""
    request = await request_job(session, SWEEP, agency_id=agency_id, now=clock())
    job_id = request.id
    await session.commit()
    return job_id


async def _state(session: AsyncSession, job_id: str) -> JobState:
    session.expire_all()
    row = await session.get(JobState, job_id)
    assert row is not None
    return row


async def _other_agency(session: AsyncSession) -> int:
    agency = Agency(name="Other Agency", slug="other-agency")
    session.add(agency)
    await session.flush()
    return agency.id


async def test_a_request_is_queued_with_its_id_once_the_request_commits(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    with recording_jobs() as jobs:
        job_id = await _request(session, demo.agency.id, clock)

    (queued,) = jobs.jobs
    assert queued.name is SWEEP and queued.kwargs == {"job_id": job_id}
    assert (await _state(session, job_id)).state is JobStateName.QUEUED


async def test_a_second_request_while_one_waits_gets_the_waiting_ones_id_and_queues_nothing(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    with recording_jobs() as jobs:
        first = await _request(session, demo.agency.id, clock)
        second = await _request(session, demo.agency.id, clock)

    assert second == first
    assert len(jobs.jobs) == 1


async def test_one_run_answers_every_request_queued_before_it_began(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    other = await _other_agency(session)
    with recording_jobs():
        mine = await _request(session, demo.agency.id, clock)
        theirs = await _request(session, other, clock)
    runs = Runs()

    assert await run_answering(ctx, SWEEP, runs) == "swept"

    for job_id in (mine, theirs):
        row = await _state(session, job_id)
        assert row.state is JobStateName.DONE
        assert row.started_at is not None and row.finished_at is not None
    assert runs.count == 1


async def test_a_requests_own_message_does_nothing_once_another_run_answered_it(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with recording_jobs():
        job_id = await _request(session, demo.agency.id, clock)
    await run_answering(ctx, SWEEP, Runs())
    late = Runs()

    assert await run_requested(ctx, SWEEP, late, job_id=job_id) is None

    assert late.count == 0, "one pending sweep is enough"


async def test_a_request_whose_run_raised_reads_failed_with_the_kind_of_error(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with recording_jobs():
        job_id = await _request(session, demo.agency.id, clock)

    async def broken() -> None:
        raise ConnectionResetError("the provider said something long")

    with pytest.raises(ConnectionResetError):
        await run_requested(ctx, SWEEP, broken, job_id=job_id)

    row = await _state(session, job_id)
    assert row.state is JobStateName.FAILED
    assert row.error == "ConnectionResetError"


async def _taken_by_a_run_that_died(session: AsyncSession, job_id: str, clock: Clock) -> None:
    await session.execute(
        update(JobState)
        .where(JobState.id == job_id)
        .values(state=JobStateName.RUNNING, started_at=clock(), taken_by="dead-run")
    )
    await session.commit()


async def test_a_requests_message_handed_out_again_after_its_run_died_runs_it(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with recording_jobs():
        job_id = await _request(session, demo.agency.id, clock)
    # A first delivery took it and died without a word.
    await _taken_by_a_run_that_died(session, job_id, clock)
    again = Runs()

    assert await run_requested(ctx, SWEEP, again, job_id=job_id) == "swept"

    assert again.count == 1
    assert (await _state(session, job_id)).state is JobStateName.DONE


async def test_a_request_whose_run_died_is_answered_by_a_run_after_the_visibility_timeout(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with recording_jobs():
        job_id = await _request(session, demo.agency.id, clock)
    await _taken_by_a_run_that_died(session, job_id, clock)
    visibility = timedelta(seconds=ctx.settings.task_visibility_timeout_seconds)

    await run_answering(ctx, SWEEP, Runs())
    assert (await _state(session, job_id)).state is JobStateName.RUNNING, "maybe still runs"
    clock.advance(seconds=visibility.total_seconds() + 1)
    await run_answering(ctx, SWEEP, Runs())

    assert (await _state(session, job_id)).state is JobStateName.DONE


async def test_a_finished_request_is_forgotten_a_day_later(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with recording_jobs():
        old = await _request(session, demo.agency.id, clock)
    await run_answering(ctx, SWEEP, Runs())
    clock.advance(seconds=KEPT_AFTER_FINISH.total_seconds() + 1)
    with recording_jobs():
        new = await _request(session, demo.agency.id, clock)

    await run_answering(ctx, SWEEP, Runs())

    session.expire_all()
    kept = set(await session.scalars(select(JobState.id)))
    assert kept == {new}
    assert old not in kept


async def test_another_agencys_request_is_not_found(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    other = await _other_agency(session)
    with recording_jobs():
        theirs = await _request(session, other, clock)

    with pytest.raises(NotFound):
        await read_job(session, theirs, agency_id=demo.agency.id)
    assert (await read_job(session, theirs, agency_id=other)).id == theirs
