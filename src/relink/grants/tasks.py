"""Grant jobs: take ids, reload, idempotent."""

from __future__ import annotations

from relink.grants.refresh import RefreshResult, refresh_grant
from relink.worker.context import JobContext
from relink.worker.registry import JobName, job


@job(JobName.REFRESH)
async def refresh_job(
    ctx: JobContext, *, grant_id: int, replacing: int | None = None
) -> RefreshResult:
    """Refresh one grant's access token unless it is still fresh (or replace generation
    ``replacing``, see ``refresh_grant``)."""
    return await refresh_grant(ctx, grant_id=grant_id, replacing=replacing)
