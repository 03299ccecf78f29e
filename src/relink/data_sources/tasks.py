"""Data-source jobs: take ids, reload, idempotent."""

from __future__ import annotations

from relink.data_sources.imports import ImportResult, import_data_source
from relink.models import SyncTrigger
from relink.worker.context import JobContext
from relink.worker.registry import JobName, job


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
