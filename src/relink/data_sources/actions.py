"""The actions on one data source: pause, resume, sync now, and back in service."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.gaps import backfill_start
from relink.data_sources.service import get_data_source, transition
from relink.data_sources.staff import require_staff
from relink.errors import IllegalTransition, InvalidInput
from relink.events import service as events
from relink.models import DataSource, Grant, SyncTrigger, User
from relink.providers.taxonomy import ErrorClass
from relink.status import IMPORTABLE_STATUSES, DataSourceStatus, GrantStatus
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName

log = structlog.get_logger(__name__)


async def pause(
    session: AsyncSession, *, user: User, data_source_id: int, now: datetime
) -> DataSource:
    """Stop importing until resumed; nothing is deleted and nobody is alerted."""
    require_staff(user, "pause a data source")
    source = await get_data_source(session, user=user, data_source_id=data_source_id)
    if source.status not in IMPORTABLE_STATUSES:
        raise IllegalTransition("data source", source.status, DataSourceStatus.PAUSED)
    await transition(
        session,
        source=source,
        to=DataSourceStatus.PAUSED,
        actor=events.user_actor(user),
        detail="paused by a person",
    )
    source.status_detail = None
    log.info("data_source.paused", data_source_id=source.id)
    return source


async def resume(
    session: AsyncSession, *, user: User, data_source_id: int, now: datetime
) -> DataSource:
    """Back to connected when its grant works, else disconnected with the grant's reason."""
    require_staff(user, "resume a data source")
    source = await get_data_source(session, user=user, data_source_id=data_source_id)
    if source.status is not DataSourceStatus.PAUSED:
        raise IllegalTransition("data source", source.status, "resumed")
    await back_in_service(session, source=source, user=user, now=now, why="resumed")
    log.info("data_source.resumed", data_source_id=source.id, status=source.status.value)
    return source


async def back_in_service(
    session: AsyncSession, *, source: DataSource, user: User, now: datetime, why: str
) -> None:
    """Connected (and importing the gap) if its grant is active; else down for the grant's
    reason, waiting for a reconnect."""
    grant = await session.get(Grant, source.grant_id)
    assert grant is not None
    actor = events.user_actor(user)
    if grant.status is GrantStatus.ACTIVE:
        await transition(
            session, source=source, to=DataSourceStatus.CONNECTED, actor=actor, detail=why
        )
        source.status_detail = None
        source.consecutive_failures = 0
        source.next_sync_at = now
        gap = backfill_start(source, now=now)
        if gap is not None:
            source.backfill_from = gap
        enqueue(session, JobName.IMPORT, data_source_id=source.id, trigger=SyncTrigger.BACKFILL)
        return
    await transition(
        session,
        source=source,
        to=DataSourceStatus.DISCONNECTED,
        actor=actor,
        reason=grant.status_reason or ErrorClass.AUTH_REVOKED,
        detail=grant.status_detail or "its sign-in no longer works: reconnect it",
    )


async def sync_now(
    session: AsyncSession, *, user: User, data_source_id: int, now: datetime
) -> DataSource:
    """Try again: import now; incidents stay open until an import succeeds."""
    require_staff(user, "start an import")
    source = await get_data_source(session, user=user, data_source_id=data_source_id)
    if source.status not in IMPORTABLE_STATUSES:
        needed = {
            DataSourceStatus.PAUSED: "resume it first",
            DataSourceStatus.DISCONNECTED: "reconnect it first",
            DataSourceStatus.REMOVED: "restore it from the trash first",
        }[source.status]
        raise InvalidInput(f"this data source is {source.status.value}: {needed}")
    enqueue(session, JobName.IMPORT, data_source_id=source.id, trigger=SyncTrigger.MANUAL)
    log.info("data_source.sync.requested", data_source_id=source.id)
    return source
