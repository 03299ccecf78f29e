"""An admin changes a user's role (admin or staff) or which clients a staff user sees, or
deactivates a user: what the Users settings page does, callable from the API.

A client login stays a client login (its one client is what it is): a person who should be
agency staff gets a user of their own. An admin cannot change their own role nor deactivate
themselves, so the agency keeps the admin who is acting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import InvalidInput
from relink.models import Role, User, UserClientAccess
from relink.notifications.fanout import subscribe_user
from relink.users.preferences import ensure_clients, get_agency_user, set_staff_access
from relink.users.service import deactivate_user

# The roles a user can be moved between; a client login's is fixed.
AGENCY_ROLES = (Role.ADMIN, Role.STAFF)


async def change_access(
    session: AsyncSession,
    *,
    admin: User,
    user_id: int,
    role: Role | None,
    all_clients: bool | None,
    client_ids: Sequence[int] | None,
    now: datetime,
) -> User:
    """Move the agency's user to ``role`` and/or set a staff user's clients: every client
    (``all_clients``) or the chosen ``client_ids``. Everything is checked before anything is
    written; a user of another agency is ``NotFound``."""
    person = await get_agency_user(session, agency_id=admin.agency_id, user_id=user_id)
    target = role or person.role
    if target is not person.role:
        if person.role not in AGENCY_ROLES or target not in AGENCY_ROLES:
            raise InvalidInput(
                "a client login keeps its role: add a user of their own for a person who "
                "should be agency staff or admin"
            )
        if person.id == admin.id:
            raise InvalidInput("you cannot change your own role: ask another admin")
    choosing = all_clients is not None or client_ids is not None
    if target is not Role.STAFF:
        if choosing:
            raise InvalidInput(
                "only staff users have a choice of clients: admins see every client, "
                "a client login its own"
            )
    elif not choosing and person.role is not Role.STAFF:
        raise InvalidInput("say which clients the new staff user sees: all_clients or client_ids")
    elif not choosing:
        raise InvalidInput("nothing to change: give a role, all_clients or client_ids")
    elif all_clients and client_ids:
        raise InvalidInput("give all_clients true or a list of client_ids, not both")
    if target is Role.STAFF and not all_clients:
        # Checked first, so that a refusal writes nothing (the role change included).
        await ensure_clients(session, agency_id=admin.agency_id, client_ids=list(client_ids or []))
    person.role = target
    if target is Role.ADMIN:
        person.all_clients = False
        await session.execute(delete(UserClientAccess).where(UserClientAccess.user_id == person.id))
        await session.flush()
        await subscribe_user(session, user=person, now=now)
    else:
        await set_staff_access(
            session,
            user=person,
            all_clients=bool(all_clients),
            client_ids=list(client_ids or []),
            now=now,
        )
    return person


async def deactivate(session: AsyncSession, *, admin: User, user_id: int, now: datetime) -> User:
    """The agency's user can no longer sign in, and their sessions end now (again: nothing
    changes). An admin cannot deactivate themselves."""
    person = await get_agency_user(session, agency_id=admin.agency_id, user_id=user_id)
    if person.id == admin.id:
        raise InvalidInput("you cannot deactivate yourself: ask another admin")
    if person.is_active:
        await deactivate_user(session, user=person, now=now)
    return person
