"""Grants as the API lists them: the grants a user may see, their clients, their links.

The rule is the grants' own (``grants/service.py``): admins see every grant of the agency;
staff the grants serving a data source of a client they may see; a client login none. What a
grant is shown with (its data sources counted, grants/source_counts.py; its clients) is only
what the reader may see.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import UserScope, data_source_visible, ensure_staff_or_admin
from relink.errors import Forbidden
from relink.grants.service import get_grant
from relink.grants.source_counts import DISCONNECTED, live_and_visible
from relink.models import DataSource, Grant, ReconnectLink, Role
from relink.providers.taxonomy import AuthKind
from relink.status import GrantStatus


@dataclass(frozen=True)
class GrantFilters:
    status: GrantStatus | None = None
    provider: str | None = None
    auth_kind: AuthKind | None = None


@dataclass(frozen=True)
class GrantClient:
    client_id: int
    name: str
    data_sources: int
    disconnected: int


def grant_visible(scope: UserScope) -> ColumnElement[bool]:
    """A WHERE condition on ``Grant`` rows: a grant the scope's user may see."""
    user = scope.user
    in_agency = Grant.agency_id == user.agency_id
    if user.role is Role.ADMIN:
        return and_(in_agency)
    return and_(
        in_agency, Grant.id.in_(select(DataSource.grant_id).where(data_source_visible(scope)))
    )


async def list_grants(
    session: AsyncSession,
    *,
    scope: UserScope,
    filters: GrantFilters,
    limit: int,
    after_id: int | None,
) -> list[Grant]:
    """Up to ``limit + 1`` visible grants by id, after ``after_id`` if given."""
    ensure_staff_or_admin(scope.user, what="grant")
    query = select(Grant).where(grant_visible(scope))
    if filters.status is not None:
        query = query.where(Grant.status == filters.status)
    if filters.provider is not None:
        query = query.where(Grant.provider == filters.provider)
    if filters.auth_kind is not None:
        query = query.where(Grant.auth_kind == filters.auth_kind)
    if after_id is not None:
        query = query.where(Grant.id > after_id)
    return list(await session.scalars(query.order_by(Grant.id).limit(limit + 1)))


async def grant_clients(
    session: AsyncSession,
    *,
    scope: UserScope,
    grant_id: int,
    limit: int,
    after: tuple[str, int] | None,
) -> list[GrantClient]:
    """Up to ``limit + 1`` of the clients the grant serves that the reader may see, by name,
    after (name, id) if given; the grant must be visible (else ``NotFound``)."""
    grant = await get_grant(session, user=scope.user, grant_id=grant_id)
    name, client_id = DataSource.client_name, DataSource.client_id
    query = select(client_id, name, func.count(), DISCONNECTED).where(
        DataSource.grant_id == grant.id, *live_and_visible(scope.user)
    )
    if after is not None:
        query = query.where(or_(name > after[0], and_(name == after[0], client_id > after[1])))
    rows = await session.execute(
        query.group_by(client_id, name).order_by(name, client_id).limit(limit + 1)
    )
    return [GrantClient(cid, n, int(count), int(down or 0)) for cid, n, count, down in rows]


def ensure_admin(scope: UserScope, *, doing: str) -> None:
    """Reconnect links are an admin's to make and withdraw (``grants/links.py``)."""
    if scope.user.role is not Role.ADMIN:
        raise Forbidden(f"only an admin can {doing}")


async def reconnect_links(
    session: AsyncSession, *, scope: UserScope, grant_id: int, limit: int, before_id: int | None
) -> list[ReconnectLink]:
    """Up to ``limit + 1`` of the grant's reconnect links, newest first (admins)."""
    ensure_admin(scope, doing="see reconnect links")
    grant = await get_grant(session, user=scope.user, grant_id=grant_id)
    query = select(ReconnectLink).where(
        ReconnectLink.grant_id == grant.id, ReconnectLink.agency_id == grant.agency_id
    )
    if before_id is not None:
        query = query.where(ReconnectLink.id < before_id)
    return list(await session.scalars(query.order_by(ReconnectLink.id.desc()).limit(limit + 1)))
