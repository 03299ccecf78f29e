"""The expiry watch as a job the scheduler runs."""

from __future__ import annotations

from relink.grants.expiry import Expiring, watch
from relink.worker.context import JobContext
from relink.worker.registry import JobName, job


@job(JobName.EXPIRY_WATCH)
async def expiry_watch(ctx: JobContext) -> list[Expiring]:
    """Warn of every grant whose documented clock is about to end it."""
    async with ctx.database.transaction() as session:
        return await watch(
            session,
            catalog=ctx.catalog,
            now=ctx.now(),
            testing_apps=frozenset(ctx.settings.oauth_apps_in_testing),
        )
