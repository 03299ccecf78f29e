"""Operator actions over HTTP: queue a sweep now, and read whether it has finished.

A sweep talks to providers, and a provider may hang for minutes; no web request waits on one.
The sweep is queued as a job (sent once the request commits) and the answer comes at once,
with the job's id: ``GET /api/v1/jobs/{id}`` says queued, running, done or failed.

Served under ``/api/v1`` (documented) and ``/api`` (hidden, as it always was:
kit/versioned_routes.py); each answer points at the job's state under the prefix it was asked
on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path, Request, Response, status
from pydantic import BaseModel

from relink.dependencies import AdminUser, DbSession, Jobs, Now
from relink.kit.problems import problem_responses
from relink.kit.versioned_routes import LEGACY_PREFIX, V1_PREFIX, VersionedRouter
from relink.models import JobState, JobStateName
from relink.worker.job_states import read_job, request_job
from relink.worker.registry import JobName
from relink.worker.sweep import count_due

routes = VersionedRouter()

JobId = Annotated[
    str,
    Path(pattern=r"^[0-9a-f]{32}$", description="The id a queued job's answer gave (32 hex)"),
]


class SweepQueued(BaseModel):
    status: Literal["queued"] = "queued"
    job: str = JobName.SWEEP
    # Where to read whether it finished (also the answer's Location): queued, running, done
    # or failed. A request made while another one still waits is answered by that one.
    job_id: str
    status_url: str
    # What the sweep will take for this agency, as of now: grants whose token refresh is due
    # and data sources whose import is due. Results show on the data sources and in the bell.
    due_grants: int
    due_data_sources: int


class JobOut(BaseModel):
    id: str
    job: str
    state: JobStateName
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    # The kind of error when failed (its class name, never a provider's words).
    error: str | None

    @classmethod
    def of(cls, row: JobState) -> JobOut:
        return cls(
            id=row.id,
            job=row.name,
            state=row.state,
            queued_at=row.queued_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            error=row.error,
        )


def status_url(job_id: str, *, prefix: str = LEGACY_PREFIX) -> str:
    """Where a job's state is read, under ``prefix`` (``/api`` or ``/api/v1``)."""
    return f"{prefix}/jobs/{job_id}"


@routes.post(
    "/health/sweep",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="start_health_sweep",
    summary="Queue a sweep now",
    tags=["health"],
    responses=problem_responses(401, 403, 503),
)
async def sweep_now(
    request: Request,
    admin: AdminUser,
    session: DbSession,
    now: Now,
    jobs: Jobs,
    response: Response,
) -> SweepQueued:
    """Queue a sweep (refresh due grants, import due data sources) and answer at once (admins)."""
    due = await count_due(session, now=now, catalog=jobs.catalog, agency_id=admin.agency_id)
    job = await request_job(session, JobName.SWEEP, agency_id=admin.agency_id, now=now)
    is_v1 = request.url.path.startswith(V1_PREFIX + "/")
    url = status_url(job.id, prefix=V1_PREFIX if is_v1 else LEGACY_PREFIX)
    response.headers["Location"] = url
    return SweepQueued(
        job_id=job.id,
        status_url=url,
        due_grants=due.grants,
        due_data_sources=due.data_sources,
    )


@routes.get(
    "/jobs/{job_id}",
    operation_id="get_job",
    summary="Read a queued job's state",
    tags=["jobs"],
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def read_job_state(job_id: JobId, admin: AdminUser, session: DbSession) -> JobOut:
    """A queued job's state, for whoever may queue it (the agency's admins): another agency's
    job, or one finished over a day ago, is not found."""
    return JobOut.of(await read_job(session, job_id, agency_id=admin.agency_id))
