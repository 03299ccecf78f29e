"""Which token a bearer request carries, and its user, answered from memory between checks in
the database: the session cache's guarantees (auth/session_cache.py) for scripts.

Checked in the database on every request, a token was one indexed read of it and its user
(a statement, and on the Data Sources list a unit of work, more than a remembered session): a
bearer request cost more than a cookie request. What this cache saves, as bearer over cookie
p50 in the same run (/work/notes/tokens_bearer_measure.py <database url> 400: in-process ASGI,
demo data, 400 alternating pairs; 7 December 2026, on a shared, loaded machine):

    SQLite       /api/v1/data-sources?limit=50  1.23 -> 0.93   unread count  1.23 -> 0.94
                 /api/me                         2.01 -> 0.94
    PostgreSQL   /api/v1/data-sources?limit=50  1.43 -> 0.91   unread count  1.17 -> 0.94
                 /api/me                         1.99 -> 0.73

A remembered token's request sends no statement for who is asking (the tests count them).

What can stop a token is announced by the live broker after its commit: a revocation
(``service.revoke_token``) and any change to its user (a deactivation, a new role: see
auth/sessions.py). Both are announced by user, so the cache forgets that user's tokens, at once
in this process and through Redis in every other. What a process could still miss (a CLI
``relink tokens revoke`` while the app runs, a Redis message lost during a reconnect) is bounded
by the session cache's ``TTL_SECONDS``. An expiry needs no word: an entry is used only until the
token expires, or until its "last used" is due to be written (``USE_WRITE_INTERVAL``), or from
another address; then the database is asked again, and the write made as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens.service import (
    USE_WRITE_INTERVAL,
    Bearer,
    Use,
    authenticate,
    kept_address,
)
from relink.api_tokens.values import TokenValue, secret_digest
from relink.auth import session_cache
from relink.errors import RelinkError
from relink.kit.user_keyed_cache import UserKeyedCache
from relink.models import ApiToken, TokenScope, User


@dataclass(frozen=True, slots=True)
class Admitted:
    """A token that lets this request in: its id and scope, its active user (in the request's
    unit of work), and its "last used" when one is due (only ever from the database)."""

    token_id: int
    scope: TokenScope
    user: User
    use: Use | None = None
    # The row as read, to set "last used" on (None when answered from memory).
    row: ApiToken | None = None


@dataclass(frozen=True, slots=True)
class _Known:
    token_id: int
    scope: TokenScope
    # The address "last used" holds: a request from another one asks the database (and writes).
    address: str | None
    # The user's row as read, never printed: it holds the password hash.
    user: Mapping[str, Any] = field(repr=False)
    # The token's expiry, or sooner when its "last used" is due to be written.
    use_until: datetime


def cache_key(value: TokenValue) -> str:
    """The public lookup and the secret's digest: only the holder of the right secret finds an
    entry (one stored after the database compared that secret), and no secret is kept."""
    return f"{value.lookup}:{secret_digest(value.secret)}"


class TokenCache(UserKeyedCache[_Known]):
    """Token lookup and secret digest → the token's id, scope, and its user's row; forgotten
    by user (a revocation or a change of theirs). What it saves: the module's figures."""

    TTL_SECONDS = session_cache.TTL_SECONDS
    # The user's row is kept and attached as the session cache does it (its helpers, reused).

    async def admit(
        self, session: AsyncSession, *, value: TokenValue, address: str | None, now: datetime
    ) -> Admitted:
        """The token of ``value`` and its active user, or the refusal that says why not."""
        recalled = self.recall(session, value=value, address=address, now=now)
        if recalled is not None:
            return recalled
        key = cache_key(value)
        ticket = self.ticket()
        try:
            bearer = await authenticate(session, value=value, address=address, now=now)
        except RelinkError:
            self.drop(key)
            raise
        known = _known(bearer)
        if known is not None:
            self.put(ticket, key, user_id=bearer.user.id, value=known)
        return Admitted(bearer.token.id, bearer.token.scope, bearer.user, bearer.use, bearer.token)

    def recall(
        self, session: AsyncSession, *, value: TokenValue, address: str | None, now: datetime
    ) -> Admitted | None:
        """From memory alone: the token and its user attached to ``session``, or None when the
        database must be asked (``admit``)."""
        known = self.get(cache_key(value))
        if known is None or now >= known.use_until or kept_address(address) != known.address:
            return None
        return Admitted(known.token_id, known.scope, session_cache.attach_user(session, known.user))


def _known(bearer: Bearer) -> _Known | None:
    token, user = bearer.token, bearer.user
    # What the row holds once this request has written its "last used" (if one was due).
    used_at = bearer.use.at if bearer.use is not None else token.last_used_at
    address = bearer.use.address if bearer.use is not None else token.last_used_address
    if used_at is None:
        return None
    use_until = used_at + USE_WRITE_INTERVAL
    if token.expires_at is not None:
        use_until = min(use_until, token.expires_at)
    return _Known(
        token_id=token.id,
        scope=token.scope,
        address=address,
        user={column: getattr(user, column) for column in session_cache.USER_COLUMNS},
        use_until=use_until,
    )
