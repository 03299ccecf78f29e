"""Data-source jobs: take ids, reload, idempotent."""

from __future__ import annotations

from relink.data_sources.imports import ImportResult, import_data_source
from relink.worker.context import JobContext
from relink.worker.registry import job


@job("data_sources.import")
async def import_job(
    ctx: JobContext, *, data_source_id: int, trigger: str = "schedule"
) -> ImportResult:
    """Import one data source's missing days up to today."""
    return await import_data_source(ctx, data_source_id=data_source_id, trigger=trigger)
