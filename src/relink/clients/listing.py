"""Clients as the API lists them: those the access rule lets the reader see, by name."""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import UserScope, visible_clients
from relink.kit.search import name_contains
from relink.models import Client


async def list_clients(
    session: AsyncSession,
    *,
    scope: UserScope,
    q: str | None,
    limit: int,
    after: tuple[str, int] | None,
) -> list[tuple[int, str]]:
    """Up to ``limit + 1`` (id, name) of the visible clients by name, after (name, id) if
    given; ``q`` keeps those whose name contains it (any case)."""
    if not scope.user.is_active:
        return []
    query = visible_clients(scope).with_only_columns(Client.id, Client.name)
    if q and q.strip():
        query = query.where(name_contains(Client.name, q.strip()))
    if after is not None:
        name, last_id = after
        query = query.where(or_(Client.name > name, and_(Client.name == name, Client.id > last_id)))
    rows = await session.execute(query.order_by(Client.name, Client.id).limit(limit + 1))
    return [(client_id, name) for client_id, name in rows]
