"""A data source's sync runs as the API reads them: newest first, of a visible data source."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import UserScope, visible_data_sources
from relink.data_sources.staff import require_staff
from relink.errors import NotFound
from relink.models import DataSource, SyncOutcome, SyncRun, SyncTrigger


@dataclass(frozen=True)
class RunFilters:
    outcome: SyncOutcome | None = None
    trigger: SyncTrigger | None = None


async def list_runs(
    session: AsyncSession,
    *,
    scope: UserScope,
    data_source_id: int,
    filters: RunFilters,
    limit: int,
    before_id: int | None,
) -> list[SyncRun]:
    """Up to ``limit + 1`` runs of the data source, newest first, older than ``before_id`` if
    given. Staff and admins only, as the data source's page (its runs say why it failed); a
    data source outside the scope is ``NotFound`` like a missing one (the trash included)."""
    require_staff(scope.user, "see a data source's sync runs")
    visible = await session.scalar(
        visible_data_sources(scope)
        .with_only_columns(DataSource.id)
        .where(DataSource.id == data_source_id)
    )
    if visible is None or not scope.user.is_active:
        raise NotFound("data source")
    query = select(SyncRun).where(SyncRun.data_source_id == data_source_id)
    if filters.outcome is not None:
        query = query.where(SyncRun.outcome == filters.outcome)
    if filters.trigger is not None:
        query = query.where(SyncRun.trigger == filters.trigger)
    if before_id is not None:
        query = query.where(SyncRun.id < before_id)
    return list(await session.scalars(query.order_by(SyncRun.id.desc()).limit(limit + 1)))
