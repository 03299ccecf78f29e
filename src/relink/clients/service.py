"""Clients of an agency, always seen through the access rule."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import ensure_client_visible, scope_of, visible_clients
from relink.errors import InvalidInput
from relink.kit.pagination import clamp_limit
from relink.models import Client, User


async def create_client(session: AsyncSession, *, agency_id: int, name: str) -> Client:
    name = name.strip()
    if not name:
        raise InvalidInput("a client needs a name")
    client = Client(agency_id=agency_id, name=name)
    session.add(client)
    await session.flush()
    return client


async def list_clients(
    session: AsyncSession, *, user: User, limit: int | None = None, after_id: int | None = None
) -> list[Client]:
    """The clients ``user`` may see, by id."""
    query = visible_clients(scope_of(user)).order_by(Client.id).limit(clamp_limit(limit))
    if after_id is not None:
        query = query.where(Client.id > after_id)
    return list(await session.scalars(query))


async def get_client(session: AsyncSession, *, user: User, client_id: int) -> Client:
    """One visible client, or ``NotFound``."""
    await ensure_client_visible(session, user=user, client_id=client_id)
    client = await session.get(Client, client_id)
    assert client is not None
    return client
