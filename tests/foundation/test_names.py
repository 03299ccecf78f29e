"""Names instead of strings: every job has a JobName, every import a SyncTrigger."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from relink.incidents import service as incidents
from relink.models import DataSource, SyncRun, SyncTrigger
from relink.providers.taxonomy import ErrorClass
from relink.worker.context import JobContext
from relink.worker.jobs import load_jobs, run_job
from relink.worker.registry import JOBS, JobName
from relink.worker.scheduler import PERIODIC_JOBS
from tests.fixtures.demo import Demo


def test_every_job_name_is_registered_and_every_registration_is_named() -> None:
    load_jobs()

    assert set(JOBS) == set(JobName)
    assert all(isinstance(name, JobName) for name in JOBS)
    assert all(isinstance(name, JobName) for name in PERIODIC_JOBS)


async def test_a_job_name_nobody_registered_is_refused(ctx: JobContext) -> None:
    with pytest.raises(LookupError, match="no job named"):
        await run_job(ctx, "data_sources.imports", {})


async def test_a_sync_run_trigger_outside_the_enum_is_refused(
    session: AsyncSession, demo: Demo
) -> None:
    source = await session.scalar(select(DataSource).limit(1))
    assert source is not None
    run = SyncRun(
        agency_id=source.agency_id,
        data_source_id=source.id,
        trigger="whenever",
        date_from=source.created_at.date(),
        date_to=source.created_at.date(),
    )
    session.add(run)

    with pytest.raises((StatementError, LookupError)):
        await session.flush()


def test_incident_keys_come_from_their_builders() -> None:
    assert incidents.expires_soon_key(5) == "grant:5:expires_soon"
    # Revoked and expired are one cause: one incident, whichever came first.
    assert incidents.grant_key(5, ErrorClass.AUTH_REVOKED) == incidents.grant_key(
        5, ErrorClass.AUTH_EXPIRED
    )
    assert incidents.expires_soon_key(5) != incidents.grant_key(5, ErrorClass.AUTH_EXPIRED)
    assert SyncTrigger("backfill") is SyncTrigger.BACKFILL
