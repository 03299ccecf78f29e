"""Operator actions over HTTP: queue a sweep now.

A sweep talks to providers, and a provider may hang for minutes; no web request waits on one.
The sweep is queued as a job (sent once the request commits) and the answer comes at once.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel

from relink.dependencies import AdminUser, DbSession, Now
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName
from relink.worker.sweep import count_due

router = APIRouter(prefix="/api/health", tags=["health"])


class SweepQueued(BaseModel):
    status: Literal["queued"] = "queued"
    job: str = JobName.SWEEP
    # What the sweep will take for this agency, as of now: grants whose token refresh is due
    # and data sources whose import is due. Results show on the data sources and in the bell.
    due_grants: int
    due_data_sources: int


@router.post("/sweep", status_code=status.HTTP_202_ACCEPTED)
async def sweep_now(admin: AdminUser, session: DbSession, now: Now) -> SweepQueued:
    """Queue a sweep (refresh due grants, import due data sources) and answer at once (admins)."""
    due = await count_due(session, now=now, agency_id=admin.agency_id)
    enqueue(session, JobName.SWEEP)
    return SweepQueued(due_grants=due.grants, due_data_sources=due.data_sources)
