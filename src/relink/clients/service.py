"""Clients of an agency, always seen through the access rule."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import Scope, ensure_client_visible, visible_clients
from relink.errors import InvalidInput
from relink.kit.search import name_contains
from relink.models import Client, DataSource, User


async def create_client(session: AsyncSession, *, agency_id: int, name: str) -> Client:
    name = name.strip()
    if not name:
        raise InvalidInput("a client needs a name")
    client = Client(agency_id=agency_id, name=name)
    session.add(client)
    await session.flush()
    return client


async def get_client(session: AsyncSession, *, user: User, client_id: int) -> Client:
    """One visible client, or ``NotFound``."""
    await ensure_client_visible(session, user=user, client_id=client_id)
    client = await session.get(Client, client_id)
    assert client is not None
    return client


async def rename_client(session: AsyncSession, *, user: User, client_id: int, name: str) -> Client:
    """Rename a visible client; its data sources' copy of the name (their "by client" sort
    key) moves with it in the same transaction."""
    name = name.strip()
    if not name:
        raise InvalidInput("a client needs a name")
    client = await get_client(session, user=user, client_id=client_id)
    client.name = name
    await session.execute(
        update(DataSource)
        .where(DataSource.client_id == client.id)
        .values(client_name=name)
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return client


# The client filter's type-ahead shows this many matches; typing more narrows them.
MATCHES_LIMIT = 20


async def find_clients(
    session: AsyncSession, *, scope: Scope, text: str, limit: int = MATCHES_LIMIT
) -> list[tuple[int, str]]:
    """(id, name) of at most ``limit`` clients in ``scope`` whose name contains ``text`` (any
    case), by name: the type-ahead of the client filter. Empty text lists the first names."""
    query = visible_clients(scope).with_only_columns(Client.id, Client.name)
    if text.strip():
        query = query.where(name_contains(Client.name, text.strip()))
    rows = await session.execute(
        query.order_by(Client.name, Client.id).limit(min(limit, MATCHES_LIMIT))
    )
    return [(client_id, name) for client_id, name in rows]


async def visible_client_name(session: AsyncSession, *, scope: Scope, client_id: int) -> str | None:
    """The name of a client in ``scope``, or None (a foreign id names nothing)."""
    query = visible_clients(scope).with_only_columns(Client.name).where(Client.id == client_id)
    return await session.scalar(query)
