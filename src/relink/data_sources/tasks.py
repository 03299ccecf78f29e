"""Data-source jobs: take ids, reload, idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select, update

from relink.data_sources.imports import ImportResult, import_data_source, import_data_sources
from relink.models import DataSource, Grant, SyncTrigger
from relink.status import IMPORTABLE_STATUSES, GrantStatus
from relink.worker.context import JobContext
from relink.worker.registry import JobName, job

# Data sources a grant's backfill claims and imports together (one set-based batch).
BACKFILL_BATCH = 500
# Provider calls at once of a backfill (the sweep's own limit, ``imports.CONCURRENCY``).
BACKFILL_CONCURRENCY = 50
# A claimed data source is not due again for this long, so a sweep does not import it too.
BACKFILL_CLAIM_TTL = timedelta(minutes=10)


@job(JobName.IMPORT)
async def import_job(
    ctx: JobContext, *, data_source_id: int, trigger: str = SyncTrigger.SCHEDULE
) -> ImportResult:
    """Import one data source's missing days up to today.

    ``trigger`` arrives as its value when a queue carried it; an unknown one is refused here.
    """
    return await import_data_source(
        ctx, data_source_id=data_source_id, trigger=SyncTrigger(trigger)
    )


@job(JobName.BACKFILL_GRANT)
async def backfill_grant_job(ctx: JobContext, *, grant_id: int) -> int:
    """Import every due data source of a grant (a reconnect made them due from their gap),
    batch by batch; returns how many imported. One job per grant, however many sources."""
    imported = 0
    # The job walks the grant's sources in id order, once: a source that failed stays due for
    # the sweep, and never fills a batch that should have held the sources after it.
    after = 0
    while True:
        batch = await _claim(ctx, grant_id=grant_id, after=after)
        if not batch:
            return imported
        after = batch[-1]
        results = await import_data_sources(
            ctx, batch, trigger=SyncTrigger.BACKFILL, concurrency=BACKFILL_CONCURRENCY
        )
        imported += sum(1 for result in results if result.ok)


async def _claim(ctx: JobContext, *, grant_id: int, after: int) -> list[int]:
    now = ctx.now()
    async with ctx.database.transaction() as session:
        ids = list(
            await session.scalars(
                select(DataSource.id)
                .join(Grant, Grant.id == DataSource.grant_id)
                .where(
                    DataSource.grant_id == grant_id,
                    DataSource.id > after,
                    Grant.status == GrantStatus.ACTIVE,
                    DataSource.status.in_(IMPORTABLE_STATUSES),
                    or_(
                        DataSource.next_sync_at.is_(None),
                        DataSource.next_sync_at <= now,
                        # Claimed by a copy of this job whose worker died: a redelivered copy
                        # carries on from the last complete day (each day is written once).
                        DataSource.backfill_from.is_not(None),
                    ),
                )
                .order_by(DataSource.id)
                .limit(BACKFILL_BATCH)
                .with_for_update(skip_locked=True, of=DataSource)
            )
        )
        if ids:
            await session.execute(
                update(DataSource)
                .where(DataSource.id.in_(ids))
                .values(next_sync_at=now + BACKFILL_CLAIM_TTL)
                .execution_options(synchronize_session=False)
            )
    return ids
