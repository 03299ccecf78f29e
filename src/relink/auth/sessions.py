"""Server-side sessions: the cookie carries a random token, the ``user_session`` row its hash.

Every request looks its token up (through auth/session_cache.py, which every ending below
tells), so a session ends for every copy of its cookie the moment its row is revoked: by
signing out (this session), "sign out everywhere", a password change or a deactivation (all of
the user's sessions).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, event, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from relink.models import Role, User, UserSession
from relink.notifications.live import queue_live_update

# A session unused for two weeks asks for the password again.
IDLE_LIFETIME = timedelta(days=14)
# However busy, a session asks again after thirty days: a stolen cookie does not live forever.
ABSOLUTE_LIFETIME = timedelta(days=30)
# Writing "last seen" on every request would make every page load a write; minutes are enough.
TOUCH_INTERVAL = timedelta(minutes=5)
USER_AGENT_CHARS = 200
ADDRESS_CHARS = 64


def token_hash(token: str) -> str:
    """What the ``user_session`` row keeps of a token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    """A new session: its row, and the token that goes into the cookie (never stored)."""

    row: UserSession
    token: str


@dataclass(frozen=True)
class Resolved:
    """A live session and its active user."""

    row: UserSession
    user: User


async def start_session(
    session: AsyncSession,
    *,
    user: User,
    now: datetime,
    user_agent: str | None = None,
    address: str | None = None,
) -> Started:
    """A fresh session for ``user``; the user's ended sessions are cleared out on the way."""
    await session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.revoked_at.is_not(None), UserSession.expires_at <= now),
        )
    )
    token = secrets.token_urlsafe(32)
    row = UserSession(
        agency_id=user.agency_id,
        user_id=user.id,
        token_hash=token_hash(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + IDLE_LIFETIME,
        user_agent=(user_agent or "")[:USER_AGENT_CHARS] or None,
        address=(address or "")[:ADDRESS_CHARS] or None,
    )
    session.add(row)
    await session.flush()
    return Started(row=row, token=token)


async def resolve_session(session: AsyncSession, *, token: str, now: datetime) -> Resolved | None:
    """The live session of ``token`` and its active user, or None; keeps "last seen" fresh."""
    found = (
        await session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(
                UserSession.token_hash == token_hash(token),
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
                User.is_active.is_(True),
            )
        )
    ).first()
    if found is None:
        return None
    row, user = found
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        # Not flushed here: written with the request's own writes or at its commit, so a
        # request does not take the database's write lock before it has to.
        row.last_seen_at = now
        row.expires_at = min(now + IDLE_LIFETIME, row.created_at + ABSOLUTE_LIFETIME)
    return Resolved(row=row, user=user)


def live_session_holder(token: str, now: datetime) -> Select[int, Role, datetime]:
    """(user id, role, expiry) of the live session of ``token`` as a Core query, for hot
    read-only endpoints (the bell's count) that add their own columns: no ORM objects, no "last
    seen" write, the same conditions as ``resolve_session``."""
    return (
        select(User.id, User.role, UserSession.expires_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == token_hash(token),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
            User.is_active.is_(True),
        )
    )


async def end_session(session: AsyncSession, *, token: str, now: datetime) -> bool:
    """Revoke the session of ``token`` (signing out); True when there was one to end."""
    ended = list(
        await session.scalars(
            update(UserSession)
            .where(UserSession.token_hash == token_hash(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(UserSession.user_id)
            .execution_options(synchronize_session=False)
        )
    )
    _sessions_changed(session, ended)
    return bool(ended)


async def end_user_session(
    session: AsyncSession, *, user: User, session_id: int, now: datetime
) -> bool:
    """Revoke one of ``user``'s own sessions by id; another user's id ends nothing."""
    result = await session.execute(
        update(UserSession)
        .where(
            UserSession.id == session_id,
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    _sessions_changed(session, [user.id])
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def end_all_sessions(
    session: AsyncSession, *, user_id: int, now: datetime, keep_id: int | None = None
) -> int:
    """Revoke every live session of the user except ``keep_id``; returns how many ended."""
    statement = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep_id is not None:
        statement = statement.where(UserSession.id != keep_id)
    result = await session.execute(
        statement.values(revoked_at=now).execution_options(synchronize_session=False)
    )
    _sessions_changed(session, [user_id])
    return int(result.rowcount)  # type: ignore[attr-defined]


def _sessions_changed(session: AsyncSession, user_ids: list[int]) -> None:
    # Whatever answers from memory for these users' sessions (the bell's count, in every
    # process) hears of it after the commit, like any other change of theirs.
    queue_live_update(session, user_ids=user_ids)


async def live_sessions(session: AsyncSession, *, user: User, now: datetime) -> list[UserSession]:
    """The user's sessions that still let someone in, newest first."""
    return list(
        await session.scalars(
            select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


@event.listens_for(Session, "before_flush")
def _announce_user_changes(session: Session, _context: object, _instances: object) -> None:
    # A changed user (deactivated, a new password, other clients) is announced after the
    # commit like any other change of theirs: whatever a process remembers of their sessions
    # (auth/session_cache.py) is forgotten, in every process. Here, beside the other session
    # announcements, because whatever writes users loads this module: the app, the CLI's user
    # commands (users/service.py) and every process that notifies.
    changed = [obj.id for obj in session.deleted if isinstance(obj, User)]
    changed += [
        obj.id for obj in session.dirty if isinstance(obj, User) and session.is_modified(obj)
    ]
    if changed:
        queue_live_update(session, user_ids=changed)
