"""Choices that forms offer, read through the one access rule."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import UserScope, visible_clients
from relink.models import Client


async def client_picker(session: AsyncSession, scope: UserScope) -> list[Client]:
    """Every client the scope may see, by name (a picker: not paginated)."""
    return list(await session.scalars(visible_clients(scope).order_by(Client.name, Client.id)))
