"""The Data Sources page: its rows in one keyset query, and the actions on one row."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import data_source_visible, is_staff_or_admin, scope_of
from relink.data_sources.gaps import backfill_start, missing_since
from relink.data_sources.service import get_data_source, transition
from relink.errors import Forbidden, IllegalTransition, InvalidInput, NotFound
from relink.events import service as events
from relink.kit.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from relink.models import Client, DataSource, Grant, SyncTrigger, User
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.status import IMPORTABLE_STATUSES, DataSourceStatus, GrantStatus
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName

log = structlog.get_logger(__name__)

_DS = DataSourceStatus
# "Click the status column": what needs a person comes first, the trash last.
STATUS_RANK = {_DS.DISCONNECTED: 0, _DS.FAILING: 1, _DS.PAUSED: 2, _DS.CONNECTED: 3, _DS.REMOVED: 4}
# The same order as the database's computed `attention` column (see models/data_source.py).
_rank = DataSource.attention


_RowSelect = Select[DataSource, str, str | None, AuthKind]


class Sort(enum.StrEnum):
    STATUS = "status"
    CLIENT = "client"


@dataclass(frozen=True)
class Filters:
    status: DataSourceStatus | None = None
    provider: str | None = None
    client_id: int | None = None
    auth_kind: AuthKind | None = None
    q: str | None = None


@dataclass(frozen=True)
class Row:
    """One line of the Data Sources page."""

    source: DataSource
    client_name: str
    identity_name: str | None
    auth_kind: AuthKind
    missing_since: date | None


def require_staff(user: User, doing: str) -> None:
    """Client logins are read-only and never told about disconnects."""
    if not is_staff_or_admin(user):
        raise Forbidden(f"only agency staff and admins can {doing}")


def _rows_query(user: User) -> _RowSelect:
    return (
        select(DataSource, Client.name, Grant.identity_name, Grant.auth_kind)
        .join(Client, Client.id == DataSource.client_id)
        .join(Grant, Grant.id == DataSource.grant_id)
        .where(data_source_visible(scope_of(user)))
    )


def _filtered(query: _RowSelect, filters: Filters) -> _RowSelect:
    if filters.status is not None:
        query = query.where(DataSource.status == filters.status)
    else:
        # The trash is shown only when asked for.
        query = query.where(DataSource.status != DataSourceStatus.REMOVED)
    if filters.provider:
        query = query.where(DataSource.provider == filters.provider)
    if filters.client_id is not None:
        query = query.where(DataSource.client_id == filters.client_id)
    if filters.auth_kind is not None:
        query = query.where(Grant.auth_kind == filters.auth_kind)
    if filters.q and filters.q.strip():
        text = filters.q.strip()
        query = query.where(
            or_(
                Client.name.icontains(text, autoescape=True),
                DataSource.external_account_name.icontains(text, autoescape=True),
            )
        )
    return query


async def list_rows(
    session: AsyncSession,
    *,
    user: User,
    today: date,
    filters: Filters | None = None,
    sort: Sort = Sort.STATUS,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Row]:
    """The rows ``user`` may see, one keyset page at a time: one query, no OFFSET."""
    require_staff(user, "see the data sources page")
    size = clamp_limit(limit)
    query = _filtered(_rows_query(user), filters or Filters())
    first_key = _rank if sort is Sort.STATUS else Client.name
    query = query.order_by(first_key, DataSource.id).limit(size + 1)
    if cursor:
        after_key, after_id = decode_cursor(cursor, length=2)
        key_type = int if sort is Sort.STATUS else str
        if not isinstance(after_id, int) or not isinstance(after_key, key_type):
            raise InvalidInput("the page cursor is malformed: start again from the first page")
        query = query.where(
            or_(first_key > after_key, and_(first_key == after_key, DataSource.id > after_id))
        )
    rows = [_row(r, today=today) for r in (await session.execute(query)).all()]
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more:
        last = rows[-1]
        key = STATUS_RANK[last.source.status] if sort is Sort.STATUS else last.client_name
        next_cursor = encode_cursor([key, last.source.id])
    return Page(items=rows, next_cursor=next_cursor)


async def get_row(session: AsyncSession, *, user: User, data_source_id: int, today: date) -> Row:
    """One visible row (the trash included), or ``NotFound``."""
    require_staff(user, "see the data sources page")
    found = (
        await session.execute(_rows_query(user).where(DataSource.id == data_source_id))
    ).first()
    if found is None:
        raise NotFound("data source")
    return _row(found, today=today)


def _row(result: Any, *, today: date) -> Row:
    source, client_name, identity_name, auth_kind = result
    return Row(source, client_name, identity_name, auth_kind, missing_since(source, today=today))


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
        gap = backfill_start(source, today=now.date())
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
