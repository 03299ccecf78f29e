"""What the Settings pages read and change about people: e-mail preference and client access."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import scope_of
from relink.auth.access import visible_clients as visible_clients_query
from relink.errors import InvalidInput, NotFound
from relink.models import Client, EmailPreference, Role, User, UserClientAccess
from relink.notifications.fanout import subscribe_user
from relink.users.service import set_client_access


async def set_email_preference(session: AsyncSession, *, user: User, preference: str) -> User:
    """How (and whether) ``user`` is e-mailed about incidents."""
    try:
        user.email_preference = EmailPreference(preference)
    except ValueError:
        choices = ", ".join(p.value for p in EmailPreference)
        raise InvalidInput(f"choose one of {choices}") from None
    await session.flush()
    return user


@dataclass(frozen=True)
class UserAccess:
    """One user and what they can see, as the Users page lists it."""

    user: User
    # Names of the chosen clients of a limited staff user (or a client user's one client).
    client_names: list[str]

    @property
    def sees_all_clients(self) -> bool:
        return self.user.role is Role.ADMIN or (
            self.user.role is Role.STAFF and self.user.all_clients
        )


async def list_users(session: AsyncSession, *, agency_id: int) -> list[UserAccess]:
    """Every user of the agency, by name, with their client access."""
    users = list(
        await session.scalars(
            select(User).where(User.agency_id == agency_id).order_by(User.name, User.id)
        )
    )
    names: dict[int, list[str]] = defaultdict(list)
    rows = await session.execute(
        select(UserClientAccess.user_id, Client.name)
        .join(Client, Client.id == UserClientAccess.client_id)
        .where(UserClientAccess.agency_id == agency_id)
        .order_by(Client.name)
    )
    for user_id, name in rows:
        names[user_id].append(name)
    own = await session.execute(
        select(User.id, Client.name)
        .join(Client, Client.id == User.client_id)
        .where(User.agency_id == agency_id)
    )
    for user_id, name in own:
        names[user_id].append(name)
    return [UserAccess(user=u, client_names=names.get(u.id, [])) for u in users]


async def get_agency_user(session: AsyncSession, *, agency_id: int, user_id: int) -> User:
    """The agency's user, or ``NotFound`` (another agency's user does not exist here)."""
    user = await session.get(User, user_id)
    if user is None or user.agency_id != agency_id:
        raise NotFound("user")
    return user


async def chosen_client_ids(session: AsyncSession, *, user: User) -> set[int]:
    """The clients on a limited staff user's list."""
    return set(
        await session.scalars(
            select(UserClientAccess.client_id).where(UserClientAccess.user_id == user.id)
        )
    )


async def visible_clients(session: AsyncSession, *, user: User) -> list[Client]:
    """Every client ``user`` may see, by name (for pickers: not paginated)."""
    query = visible_clients_query(scope_of(user)).order_by(Client.name)
    return list(await session.scalars(query))


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(f"choose a role: {', '.join(r.value for r in Role)}") from None


async def set_staff_access(
    session: AsyncSession, *, user: User, all_clients: bool, client_ids: list[int], now: datetime
) -> None:
    """A staff user sees every client, or only the chosen ones (told at once of open incidents)."""
    if user.role is not Role.STAFF:
        raise InvalidInput("only staff users have a choice of clients; admins see them all")
    if all_clients:
        user.all_clients = True
        await session.execute(delete(UserClientAccess).where(UserClientAccess.user_id == user.id))
        await session.flush()
        await subscribe_user(session, user=user, now=now)
        return
    await ensure_clients(session, agency_id=user.agency_id, client_ids=client_ids)
    user.all_clients = False
    await set_client_access(session, user=user, client_ids=client_ids, now=now)


async def ensure_clients(session: AsyncSession, *, agency_id: int, client_ids: list[int]) -> None:
    """At least one client, all of this agency; checked before anything is written."""
    if not client_ids:
        raise InvalidInput("choose at least one client, or give access to all clients")
    found = set(
        await session.scalars(
            select(Client.id).where(Client.agency_id == agency_id, Client.id.in_(client_ids))
        )
    )
    if missing := sorted(set(client_ids) - found):
        raise InvalidInput(f"no such client in this agency: {', '.join(map(str, missing))}")
