"""The agency's users as the API lists them for admins: by name, with what each may see."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.kit.search import name_contains
from relink.models import Client, Role, User, UserClientAccess


@dataclass(frozen=True)
class UserFilters:
    role: Role | None = None
    active: bool | None = None
    q: str | None = None


async def list_users(
    session: AsyncSession,
    *,
    agency_id: int,
    filters: UserFilters,
    limit: int,
    after: tuple[str, int] | None,
) -> list[User]:
    """Up to ``limit + 1`` of the agency's users by name, after (name, id) if given; ``q``
    keeps those whose name or e-mail contains it."""
    query = select(User).where(User.agency_id == agency_id)
    if filters.role is not None:
        query = query.where(User.role == filters.role)
    if filters.active is not None:
        query = query.where(User.is_active.is_(filters.active))
    if filters.q and filters.q.strip():
        text = filters.q.strip()
        query = query.where(or_(name_contains(User.name, text), name_contains(User.email, text)))
    if after is not None:
        name, last_id = after
        query = query.where(or_(User.name > name, and_(User.name == name, User.id > last_id)))
    return list(await session.scalars(query.order_by(User.name, User.id).limit(limit + 1)))


@dataclass(frozen=True)
class NamedClient:
    id: int
    name: str


async def clients_of(
    session: AsyncSession, *, agency_id: int, users: Collection[User]
) -> dict[int, list[NamedClient]]:
    """Each user's own clients by name: a limited staff user's chosen list, a client login's
    one client (admins and all-clients staff see every client and have none listed)."""
    ids = sorted(u.id for u in users)
    if not ids:
        return {}
    listed: dict[int, list[NamedClient]] = defaultdict(list)
    chosen = await session.execute(
        select(UserClientAccess.user_id, Client.id, Client.name)
        .join(Client, Client.id == UserClientAccess.client_id)
        .where(UserClientAccess.agency_id == agency_id, UserClientAccess.user_id.in_(ids))
        .order_by(Client.name, Client.id)
    )
    own = await session.execute(
        select(User.id, Client.id, Client.name)
        .join(Client, Client.id == User.client_id)
        .where(User.agency_id == agency_id, User.id.in_(ids))
    )
    for user_id, client_id, name in [*chosen, *own]:
        listed[user_id].append(NamedClient(client_id, name))
    return dict(listed)
