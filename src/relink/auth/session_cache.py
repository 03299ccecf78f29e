"""Who a session token belongs to, answered from memory between checks in the database.

Every request of a signed-in person starts with this question; asked of the database it is a
statement, a transaction and an ORM load of the user: a third of a Data Sources page's time.
Whatever can end a session or change a user is announced by the live broker after its commit:
sign-outs and every other session end, and any flushed change to a user row (a deactivation, a
password, a preference). Both announcements live in auth/sessions.py, which whatever writes
users loads (the CLI's user commands too). The cache forgets those users then, at once in this
process and through Redis in every other. What a process could still miss (a CLI command
against the embedded SQLite database while the app runs, a Redis message lost during a
reconnect) is bounded by ``TTL_SECONDS``.

"Last seen" is still written every ``TOUCH_INTERVAL``: an entry is used only until its touch is
due, then the database is asked again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state

from relink.auth.sessions import TOUCH_INTERVAL, resolve_session, token_hash
from relink.kit.user_keyed_cache import UserKeyedCache
from relink.models import User

# How long an answer may be used without a word from the broker.
TTL_SECONDS = 5.0
USER_COLUMNS = tuple(attribute.key for attribute in inspect(User).column_attrs)
_NEW_USER = inspect(User).class_manager.new_instance


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session's id and its active user (in the request's unit of work)."""

    session_id: int
    user: User


@dataclass(frozen=True, slots=True)
class _Known:
    session_id: int
    # The user's row as read: each request gets an instance of its own built from it. Never
    # printed: it holds the password hash.
    user: Mapping[str, Any] = field(repr=False)
    # The session's expiry, or sooner when its "last seen" is due to be written.
    use_until: datetime


class SessionCache(UserKeyedCache[_Known]):
    """Token hash → the live session and its user's row, forgotten by user."""

    TTL_SECONDS = TTL_SECONDS

    async def resolve(self, session: AsyncSession, *, token: str, now: datetime) -> SignedIn | None:
        """The live session of ``token`` and its active user, or None."""
        recalled = self.recall(session, token=token, now=now)
        if recalled is not None:
            return recalled
        key = token_hash(token)
        ticket = self.ticket()
        resolved = await resolve_session(session, token=token, now=now)
        if resolved is None:
            self.drop(key)
            return None
        row, user = resolved.row, resolved.user
        remembered = _Known(
            session_id=row.id,
            user={column: getattr(user, column) for column in USER_COLUMNS},
            use_until=min(row.expires_at, row.last_seen_at + TOUCH_INTERVAL),
        )
        self.put(ticket, key, user_id=user.id, value=remembered)
        return SignedIn(row.id, user)

    def recall(self, session: AsyncSession, *, token: str, now: datetime) -> SignedIn | None:
        """From memory alone: the session and its user attached to ``session``, or None when
        the database must be asked (``resolve``)."""
        known = self.get(token_hash(token))
        if known is None or now >= known.use_until:
            return None
        return SignedIn(known.session_id, attach_user(session, known.user))


def copy_into(session: AsyncSession, signed_in: SignedIn) -> SignedIn:
    """``signed_in`` with its user attached to another unit of work (as read, unchanged)."""
    columns = {column: getattr(signed_in.user, column) for column in USER_COLUMNS}
    return SignedIn(signed_in.session_id, attach_user(session, columns))


def attach_user(session: AsyncSession, columns: Mapping[str, Any]) -> User:
    """The user as if loaded by this unit of work, without a statement: what the request
    changes on it is flushed as usual, and the cached row stays as it was read (its values are
    all immutable, so sharing them is safe)."""
    units = session.sync_session
    # Built as a load builds it (no constructor, no attribute events), then marked as a row
    # of the database: cheaper than User(**columns) and a merge, which copies it once more.
    user = _NEW_USER()
    user.__dict__.update(columns)
    make_transient_to_detached(user)
    key = instance_state(user).key
    already = units.identity_map.get(key) if key is not None else None
    if already is not None:
        return already
    units.add(user)
    return user
