"""The Data Sources page's read model: its rows in one keyset query, filtered and sorted."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import data_source_visible, scope_of
from relink.data_sources.gaps import missing_since
from relink.data_sources.staff import require_staff
from relink.errors import InvalidInput, NotFound
from relink.kit.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from relink.models import Client, DataSource, Grant, User
from relink.providers.taxonomy import AuthKind
from relink.status import DataSourceStatus

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
