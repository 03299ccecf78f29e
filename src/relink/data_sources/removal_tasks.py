"""Jobs of the trash: revoke a grant nobody uses any more, and purge after the window."""

from __future__ import annotations

from relink.data_sources.removal import PurgeReport, purge_expired
from relink.grants.revoke import Outcome, RevokeResult, revoke_unused_grant
from relink.worker.context import JobContext
from relink.worker.registry import JobName, job


def _provider_not_told(result: RevokeResult) -> bool:
    return result.outcome is Outcome.FAILED


# Durable: kept as a row until the provider has been told (or nothing is left to tell it).
@job(JobName.REVOKE, retry_if=_provider_not_told)
async def revoke_job(ctx: JobContext, *, grant_id: int) -> RevokeResult:
    """Revoke one grant at its provider and in Relink, unless a data source still uses it."""
    return await revoke_unused_grant(ctx, grant_id=grant_id)


@job(JobName.PURGE_TRASH)
async def purge_trash_job(ctx: JobContext) -> PurgeReport:
    """Delete what has been in the trash longer than the retention window, a batch at a time."""
    total = PurgeReport()
    while True:
        # One transaction per batch: a huge trash never holds one long delete.
        async with ctx.database.transaction() as session:
            batch = await purge_expired(
                session,
                now=ctx.now(),
                retention_days=ctx.settings.trash_retention_days,
                max_batches=1,
            )
        if not batch.data_sources:
            return total
        total = PurgeReport(
            data_sources=total.data_sources + batch.data_sources,
            daily_metrics=total.daily_metrics + batch.daily_metrics,
            sync_runs=total.sync_runs + batch.sync_runs,
        )
