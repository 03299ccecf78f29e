"""Disconnect that loses nothing: a removed data source waits in the trash with all its rows.

Its imported data stays where it is for the retention window, so a restore brings back every
row; only the purge after the window deletes, in set-based batches. The grant is revoked at
the provider only once no live data source uses it any more (grants/revoke.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.config import get_settings
from relink.data_sources.actions import back_in_service
from relink.data_sources.service import get_data_source, transition
from relink.data_sources.staff import require_staff
from relink.errors import InvalidInput, RelinkError
from relink.events import service as events
from relink.incidents import service as incidents
from relink.models import Client, DailyMetric, DataSource, Grant, Incident, SyncRun, User
from relink.models.base import utcnow
from relink.models.incident import IncidentDataSource
from relink.providers.catalog import Catalog, default_catalog
from relink.providers.taxonomy import DATA_SOURCE_LEVEL, ErrorClass
from relink.status import DataSourceStatus
from relink.worker.context import JobContext
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName

log = structlog.get_logger(__name__)

# Removed data sources purged per statement batch: their metric rows (a year each at most)
# stay well under what one DELETE should hold.
PURGE_BATCH = 200
# The causes that belong to one data source, and the ones its grant shares with others.
_OWN_CAUSES = (*DATA_SOURCE_LEVEL, ErrorClass.DATA_ERROR)
_GRANT_CAUSES = (ErrorClass.AUTH_REVOKED, ErrorClass.PROVIDER_UNAVAILABLE)


class TrashExpired(RelinkError):
    status_code = 410


@dataclass(frozen=True)
class RemovalPreview:
    """What the confirmation names before anything happens."""

    data_source_id: int
    client_name: str
    provider: str
    provider_name: str
    external_account_id: str
    external_account_name: str
    days_of_data: int
    first_day: date | None
    last_day: date | None
    retention_days: int
    purge_on: date
    # True when this is the last data source of its grant: the sign-in is revoked too.
    revokes_grant: bool
    other_data_sources_on_grant: int


@dataclass(frozen=True)
class PurgeReport:
    data_sources: int = 0
    daily_metrics: int = 0
    sync_runs: int = 0


def purge_date(removed_at: datetime, *, retention_days: int) -> date:
    return (removed_at + timedelta(days=retention_days)).date()


async def removal_preview(
    session: AsyncSession,
    *,
    user: User,
    data_source_id: int,
    now: datetime | None = None,
    catalog: Catalog | None = None,
    retention_days: int | None = None,
) -> RemovalPreview:
    """Client, provider, account and how many days of data the Disconnect puts in the trash."""
    require_staff(user, "disconnect a data source")
    source = await get_data_source(session, user=user, data_source_id=data_source_id)
    catalog = catalog or default_catalog()
    retention = retention_days or get_settings().trash_retention_days
    client_name = await session.scalar(select(Client.name).where(Client.id == source.client_id))
    held = (
        await session.execute(
            select(func.count(), func.min(DailyMetric.day), func.max(DailyMetric.day)).where(
                DailyMetric.data_source_id == source.id
            )
        )
    ).one()
    others = await _live_others(session, source=source)
    removed_at = source.removed_at or now or utcnow()
    return RemovalPreview(
        data_source_id=source.id,
        client_name=client_name or "",
        provider=source.provider,
        provider_name=catalog.display_name(source.provider),
        external_account_id=source.external_account_id,
        external_account_name=source.external_account_name,
        days_of_data=int(held[0] or 0),
        first_day=held[1],
        last_day=held[2],
        retention_days=retention,
        purge_on=purge_date(removed_at, retention_days=retention),
        revokes_grant=others == 0,
        other_data_sources_on_grant=others,
    )


async def disconnect(
    session: AsyncSession,
    *,
    ctx: JobContext,
    user: User,
    data_source_id: int,
    confirm: str,
    now: datetime,
) -> DataSource:
    """Move one data source to the trash; its rows stay until the retention window ends."""
    require_staff(user, "disconnect a data source")
    source = await get_data_source(session, user=user, data_source_id=data_source_id)
    client_name = await session.scalar(select(Client.name).where(Client.id == source.client_id))
    assert client_name is not None
    if confirm.strip().casefold() != client_name.strip().casefold():
        raise InvalidInput(
            f"type the client's name, {client_name}, to confirm: its "
            f"{source.external_account_name} data goes to the trash"
        )
    # Lock the grant so two people removing its last two sources at once see each other.
    await session.get(Grant, source.grant_id, with_for_update=True)
    await transition(
        session,
        source=source,
        to=DataSourceStatus.REMOVED,
        actor=events.user_actor(user),
        detail="disconnected by a person; its data is kept in the trash",
    )
    source.next_sync_at = None
    keys = [incidents.data_source_key(source.id, c) for c in _OWN_CAUSES]
    last_one = await _live_others(session, source=source) == 0
    if last_one:
        keys += [incidents.grant_key(source.grant_id, c) for c in _GRANT_CAUSES]
        enqueue(session, JobName.REVOKE, grant_id=source.grant_id)
    await incidents.resolve(
        session, agency_id=source.agency_id, keys=keys, now=now, by=events.user_actor(user)
    )
    await session.flush()
    log.info(
        "data_source.removed",
        data_source_id=source.id,
        grant_id=source.grant_id,
        revokes_grant=last_one,
        retention_days=ctx.settings.trash_retention_days,
    )
    return source


async def restore(
    session: AsyncSession,
    *,
    user: User,
    data_source_id: int,
    now: datetime,
    retention_days: int | None = None,
) -> DataSource:
    """Take a data source out of the trash with every row it had."""
    require_staff(user, "restore a data source")
    source = await get_data_source(session, user=user, data_source_id=data_source_id)
    if source.status is not DataSourceStatus.REMOVED or source.removed_at is None:
        raise InvalidInput("this data source is not in the trash")
    retention = retention_days or get_settings().trash_retention_days
    purge_on = purge_date(source.removed_at, retention_days=retention)
    if now >= source.removed_at + timedelta(days=retention):
        raise TrashExpired(f"the trash kept this data source until {purge_on}; it is gone")
    await back_in_service(session, source=source, user=user, now=now, why="restored")
    await session.flush()
    log.info("data_source.restored", data_source_id=source.id, status=source.status.value)
    return source


async def purge_expired(
    session: AsyncSession,
    *,
    now: datetime,
    retention_days: int,
    batch_size: int = PURGE_BATCH,
    max_batches: int | None = None,
) -> PurgeReport:
    """Delete data sources removed before the window and their rows, a batch per statement."""
    cutoff = now - timedelta(days=retention_days)
    sources = metrics = runs = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        ids = list(
            await session.scalars(
                select(DataSource.id)
                .where(
                    DataSource.status == DataSourceStatus.REMOVED,
                    DataSource.removed_at < cutoff,
                )
                .order_by(DataSource.id)
                .limit(batch_size)
            )
        )
        if not ids:
            break
        batches += 1
        metrics += await _delete(session, DailyMetric, DailyMetric.data_source_id.in_(ids))
        runs += await _delete(session, SyncRun, SyncRun.data_source_id.in_(ids))
        await _delete(session, IncidentDataSource, IncidentDataSource.data_source_id.in_(ids))
        await _delete(session, Incident, Incident.data_source_id.in_(ids))
        sources += await _delete(session, DataSource, DataSource.id.in_(ids))
    if sources:
        log.info(
            "data_source.trash.purged", data_sources=sources, daily_metrics=metrics, sync_runs=runs
        )
    return PurgeReport(data_sources=sources, daily_metrics=metrics, sync_runs=runs)


async def _delete(session: AsyncSession, model: type, condition: object) -> int:
    result = await session.execute(
        delete(model).where(condition).execution_options(synchronize_session=False)  # type: ignore[arg-type]
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _live_others(session: AsyncSession, *, source: DataSource) -> int:
    """Data sources other than ``source`` still using its grant (anything not in the trash)."""
    count = await session.scalar(
        select(func.count()).where(
            DataSource.grant_id == source.grant_id,
            DataSource.id != source.id,
            DataSource.status != DataSourceStatus.REMOVED,
        )
    )
    return int(count or 0)
