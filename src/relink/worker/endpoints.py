"""Operator actions over HTTP: run a sweep now."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from relink.web.deps import CurrentAdmin, Jobs
from relink.worker.sweep import sweep

router = APIRouter(prefix="/api/health", tags=["health"])


class SweepOut(BaseModel):
    imported: int
    days: int
    disconnected: int
    refreshed: dict[str, int]
    failures: dict[str, int]


@router.post("/sweep")
async def sweep_now(_admin: CurrentAdmin, jobs: Jobs) -> SweepOut:
    """Refresh due grants and import due data sources now (admins)."""
    report = await sweep(jobs)
    return SweepOut(
        imported=report.imported,
        days=report.days,
        disconnected=report.disconnected,
        refreshed=dict(report.refreshed),
        failures=dict(report.failures),
    )
