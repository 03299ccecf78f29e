"""Data sources: creation, status transitions, and the scoped reads."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import scope_of, visible_data_sources
from relink.errors import InvalidInput, NotFound
from relink.kit.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from relink.models import Client, DataSource, Grant, SyncRun, User
from relink.models.base import utcnow
from relink.providers.taxonomy import ErrorClass
from relink.status import DataSourceStatus
from relink.status_writer import transition_many


async def create_data_source(
    session: AsyncSession,
    *,
    grant: Grant,
    client_id: int,
    external_account_id: str,
    external_account_name: str,
    account_timezone: str | None = None,
    complete_through: date | None = None,
) -> DataSource:
    client_name = await session.scalar(
        select(Client.name).where(Client.id == client_id, Client.agency_id == grant.agency_id)
    )
    if client_name is None:
        raise NotFound("client")
    source = DataSource(
        agency_id=grant.agency_id,
        client_id=client_id,
        client_name=client_name,
        grant_id=grant.id,
        provider=grant.provider,
        auth_kind=grant.auth_kind,
        external_account_id=external_account_id,
        external_account_name=external_account_name,
        account_timezone=account_timezone,
        complete_through=complete_through,
    )
    session.add(source)
    await session.flush()
    return source


async def transition(
    session: AsyncSession,
    *,
    source: DataSource,
    to: DataSourceStatus,
    actor: str,
    reason: ErrorClass | None = None,
    detail: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move one data source to ``to`` (``IllegalTransition`` on an illegal move, nothing
    written) and log the event: ``transition_many`` for one row a person acts on."""
    await transition_many(
        session,
        [source.id],
        to=to,
        error_class=reason,
        detail=detail,
        actor=actor,
        now=now or utcnow(),
    )


def _scoped(user: User) -> Select[DataSource]:
    return visible_data_sources(scope_of(user))


async def list_data_sources(
    session: AsyncSession,
    *,
    user: User,
    status: DataSourceStatus | None = None,
    client_id: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[DataSource]:
    """The data sources ``user`` may see, by id, one keyset page at a time."""
    size = clamp_limit(limit)
    query = _scoped(user).order_by(DataSource.id).limit(size + 1)
    if status is not None:
        query = query.where(DataSource.status == status)
    if client_id is not None:
        query = query.where(DataSource.client_id == client_id)
    if cursor:
        (after_id,) = decode_cursor(cursor, length=1)
        if not isinstance(after_id, int):
            raise InvalidInput("the page cursor is malformed: start again from the first page")
        query = query.where(DataSource.id > after_id)
    rows = list(await session.scalars(query))
    more = len(rows) > size
    rows = rows[:size]
    return Page(items=rows, next_cursor=encode_cursor([rows[-1].id]) if more else None)


async def get_data_source(session: AsyncSession, *, user: User, data_source_id: int) -> DataSource:
    """One visible data source, or ``NotFound``."""
    source = await session.scalar(_scoped(user).where(DataSource.id == data_source_id))
    if source is None:
        raise NotFound("data source")
    return source


async def list_sync_runs(
    session: AsyncSession, *, user: User, data_source_id: int, limit: int | None = None
) -> list[SyncRun]:
    """The newest import runs of one visible data source."""
    source = await get_data_source(session, user=user, data_source_id=data_source_id)
    query = (
        select(SyncRun)
        .where(SyncRun.data_source_id == source.id)
        .order_by(SyncRun.id.desc())
        .limit(clamp_limit(limit))
    )
    return list(await session.scalars(query))
