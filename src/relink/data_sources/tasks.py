"""Data-source jobs: take ids, reload, idempotent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import or_, select, update

from relink.data_sources.backfill_requests import request_external_backfills
from relink.data_sources.import_mode import imported_by_relink
from relink.data_sources.imports import ImportResult, import_data_source, import_data_sources
from relink.models import DataSource, Grant, SyncTrigger
from relink.providers.taxonomy import ErrorClass
from relink.status import IMPORTABLE_STATUSES, GrantStatus
from relink.worker.context import JobContext
from relink.worker.registry import JobName, job

# Data sources a grant's backfill claims and imports together (one set-based batch).
BACKFILL_BATCH = 500
# Provider calls at once of a backfill (the sweep's own limit, ``imports.CONCURRENCY``).
BACKFILL_CONCURRENCY = 50
# A claimed data source is not due again for this long, so a sweep does not import it too.
BACKFILL_CLAIM_TTL = timedelta(minutes=10)
# A source whose import timed out, lost its answer or met a 5xx (the provider did not say no)
# is imported again once the walk is over, instead of waiting for the sweep's backoff: the
# first burst of a backfill is its slowest, and a gap must not stay open for one slow call.
# One more pass, not more: each failure counts towards `failing` (three in a row), which
# DESIGN.md reserves for an outage, not for a backfill retrying in a hurry; the sweep's backoff
# takes a source that fails twice.
BACKFILL_RETRY_PASSES = 1
# The pause before that pass: a passing stall of the provider is over, a worker slot not held.
BACKFILL_RETRY_PAUSE_SECONDS = 5.0


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
    batch by batch; returns how many imported. One job per grant, however many sources.

    A source of the gap whose import failed for a passing reason is imported again after the
    walk, before the job ends. The grant's external data sources are not imported: their
    missed days are asked of the platform's importers (``backfill_requests.py``)."""
    await request_external_backfills(ctx, grant_id=grant_id)
    imported, retry = await _walk(ctx, grant_id=grant_id)
    for _ in range(BACKFILL_RETRY_PASSES):
        if not retry:
            break
        await asyncio.sleep(BACKFILL_RETRY_PAUSE_SECONDS)
        again, retry = retry, []
        for start in range(0, len(again), BACKFILL_BATCH):
            more, failed = await _walk(
                ctx, grant_id=grant_id, only=again[start : start + BACKFILL_BATCH]
            )
            imported += more
            retry += failed
    # What failed again waits for the sweep's backoff (its status and incident say so).
    return imported


async def _walk(
    ctx: JobContext, *, grant_id: int, only: Sequence[int] | None = None
) -> tuple[int, list[int]]:
    """Claim and import the grant's due sources (those of ``only``, if given) in id order,
    once: a source that failed never fills a batch that should have held the sources after
    it. Returns how many imported, and the ids a passing failure stopped."""
    imported = 0
    stopped: list[int] = []
    after = 0
    while batch := await _claim(ctx, grant_id=grant_id, after=after, only=only):
        after = batch[-1]
        results = await import_data_sources(
            ctx, batch, trigger=SyncTrigger.BACKFILL, concurrency=BACKFILL_CONCURRENCY
        )
        imported += sum(1 for result in results if result.ok)
        stopped += [result.data_source_id for result in results if _passing_failure(result)]
    return imported, stopped


def _passing_failure(result: ImportResult) -> bool:
    """A timeout, a lost answer or a 5xx (of the data call or of the refresh it needed)."""
    applied = result.applied
    return (
        not result.ok
        and applied is not None
        and applied.error_class is ErrorClass.PROVIDER_UNAVAILABLE
    )


async def _claim(
    ctx: JobContext, *, grant_id: int, after: int, only: Sequence[int] | None
) -> list[int]:
    """The next batch of the grant's due sources after id ``after`` (of ``only`` if given),
    claimed so that a sweep leaves them alone meanwhile."""
    now = ctx.now()
    query = select(DataSource.id)
    if only is not None:
        query = query.where(DataSource.id.in_(only))
    async with ctx.database.transaction() as session:
        ids = list(
            await session.scalars(
                query.join(Grant, Grant.id == DataSource.grant_id)
                .where(
                    DataSource.grant_id == grant_id,
                    DataSource.id > after,
                    Grant.status == GrantStatus.ACTIVE,
                    DataSource.status.in_(IMPORTABLE_STATUSES),
                    imported_by_relink(ctx.catalog),
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
