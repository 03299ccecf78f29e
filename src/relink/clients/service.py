"""Clients of an agency, always seen through the access rule."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import ensure_client_visible
from relink.errors import InvalidInput
from relink.models import Client, User


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
