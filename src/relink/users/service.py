"""Users of an agency: creation, passwords, deactivation and which clients staff may see."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from relink.auth.sessions import end_all_sessions
from relink.errors import InvalidInput, RelinkError
from relink.models import Client, Role, User, UserClientAccess
from relink.notifications.fanout import subscribe_user


async def create_user(
    session: AsyncSession,
    *,
    agency_id: int,
    email: str,
    name: str,
    password: str,
    role: Role,
    all_clients: bool = False,
    client_ids: Iterable[int] = (),
    client_id: int | None = None,
    password_hash: str | None = None,
    now: datetime,
) -> User:
    """A new user; staff get all clients or the listed ones, a client user gets one client.

    ``password_hash`` lets a seeder hash one shared password once instead of per user.
    """
    email = email.strip().lower()
    if "@" not in email:
        raise InvalidInput(f"{email!r} is not an e-mail address")
    _check_password_length(password)
    taken = await session.scalar(select(func.count()).where(User.email == email))
    if taken:
        raise InvalidInput(f"a user with e-mail {email} exists already")
    if role is Role.CLIENT:
        if client_id is None:
            raise InvalidInput("a client user needs the client they belong to")
        await _ensure_agency_clients(session, agency_id=agency_id, client_ids=[client_id])
    elif client_id is not None:
        raise InvalidInput("only a client user belongs to one client")
    user = User(
        agency_id=agency_id,
        email=email,
        name=name.strip() or email,
        password_hash=password_hash or hash_password(password),
        role=role,
        all_clients=role is Role.STAFF and all_clients,
        client_id=client_id,
    )
    session.add(user)
    await session.flush()
    if role is Role.STAFF and not all_clients:
        await set_client_access(session, user=user, client_ids=client_ids, now=now)
    elif role is not Role.CLIENT:
        await subscribe_user(session, user=user, now=now)
    return user


async def set_client_access(
    session: AsyncSession, *, user: User, client_ids: Iterable[int], now: datetime
) -> None:
    """Replace a limited staff user's list of clients."""
    if user.role is not Role.STAFF:
        raise InvalidInput("only staff users have a list of clients")
    ids = sorted(set(client_ids))
    await _ensure_agency_clients(session, agency_id=user.agency_id, client_ids=ids)
    await session.execute(delete(UserClientAccess).where(UserClientAccess.user_id == user.id))
    session.add_all(
        UserClientAccess(user_id=user.id, client_id=cid, agency_id=user.agency_id) for cid in ids
    )
    await session.flush()
    # Newly granted access: told at once of what is already broken for those clients.
    await subscribe_user(session, user=user, now=now)


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same answer for either miss).

    A right password under an outdated hash (older argon2 parameters) is hashed again, now that
    the password is at hand. argon2 runs in a thread: it is slow on purpose, and must not stall
    every other request of the process while it works.
    """
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        # Spend the same time as a real check so a miss does not reveal which e-mails exist.
        await asyncio.to_thread(verify_password, _DUMMY_HASH, password)
        return None
    if not await asyncio.to_thread(verify_password, user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
        await session.flush()
    return user


async def set_password(
    session: AsyncSession,
    *,
    user: User,
    password: str,
    now: datetime,
    keep_session_id: int | None = None,
) -> int:
    """A new password; every session of the user ends but ``keep_session_id``.

    Whoever knew the old password may hold a session made with it: the change must shut them
    out. Returns how many sessions ended.
    """
    _check_password_length(password)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await session.flush()
    return await end_all_sessions(session, user_id=user.id, now=now, keep_id=keep_session_id)


async def change_own_password(
    session: AsyncSession,
    *,
    user: User,
    current_password: str,
    new_password: str,
    keep_session_id: int | None,
    now: datetime,
) -> int:
    """A signed-in user's own change: the current password first, then as ``set_password``."""
    if not await asyncio.to_thread(verify_password, user.password_hash, current_password):
        raise WrongPassword()
    return await set_password(
        session, user=user, password=new_password, keep_session_id=keep_session_id, now=now
    )


async def deactivate_user(session: AsyncSession, *, user: User, now: datetime) -> int:
    """The user can no longer sign in, and every session they hold ends now."""
    user.is_active = False
    await session.flush()
    return await end_all_sessions(session, user_id=user.id, now=now)


class WrongPassword(RelinkError):
    status_code = 403

    def __init__(self) -> None:
        super().__init__("the current password is not right")


def _check_password_length(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


async def _ensure_agency_clients(
    session: AsyncSession, *, agency_id: int, client_ids: list[int]
) -> None:
    if not client_ids:
        return
    found = set(
        await session.scalars(
            select(Client.id).where(Client.agency_id == agency_id, Client.id.in_(client_ids))
        )
    )
    missing = sorted(set(client_ids) - found)
    if missing:
        raise InvalidInput(f"no such client in this agency: {', '.join(map(str, missing))}")


_DUMMY_HASH = hash_password("relink-timing-equaliser")
