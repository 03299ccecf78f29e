"""The ONE place that decides which clients a user may see; every scoped query joins through it."""

from __future__ import annotations

from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import NotFound
from relink.models import Client, Role, User, UserClientAccess


def visible_client_ids(user: User) -> Select[int]:
    """A subquery of the client ids ``user`` may see, always inside the user's agency."""
    in_agency = select(Client.id).where(Client.agency_id == user.agency_id)
    if not user.is_active:
        return in_agency.where(false())
    if user.role is Role.ADMIN or (user.role is Role.STAFF and user.all_clients):
        return in_agency
    if user.role is Role.STAFF:
        return in_agency.where(
            Client.id.in_(
                select(UserClientAccess.client_id).where(
                    UserClientAccess.user_id == user.id,
                    UserClientAccess.agency_id == user.agency_id,
                )
            )
        )
    return in_agency.where(Client.id == user.client_id)


async def ensure_client_visible(session: AsyncSession, *, user: User, client_id: int) -> None:
    """Raise ``NotFound`` (never Forbidden: existence must not leak) unless visible."""
    found = await session.scalar(
        select(Client.id).where(Client.id == client_id, Client.id.in_(visible_client_ids(user)))
    )
    if found is None:
        raise NotFound("client")


def is_staff_or_admin(user: User) -> bool:
    """Who may act (reconnect, sync, pause) and be told about incidents; client users never."""
    return user.is_active and user.role in (Role.ADMIN, Role.STAFF)
