"""The bell's poll answered from memory: whose session a token is, and that user's unread count,
kept per process until something about the user changes.

Two hundred bells polling every second would otherwise cost two hundred statements a second
for answers that almost never change. Every change that can move a count or end a session
already tells the live broker "these users changed" after its commit (in this process at
once, and through Redis in every process of the scaled mode): the cache forgets those users
then. What a process could still miss (a CLI command against the embedded SQLite database, a
Redis message lost while the listener reconnects, a row removed by a cascade) is bounded by
``TTL_SECONDS``; a lost Redis connection forgets everything.
"""

from __future__ import annotations

from datetime import datetime

from relink.auth.sessions import token_hash
from relink.db import Database
from relink.kit.user_keyed_cache import UserKeyedCache
from relink.notifications.service import BellSeat, bell_seat_for_token

# How long an answer may be served without a word from the broker.
TTL_SECONDS = 30.0


class BellCache(UserKeyedCache[BellSeat]):
    """Token hash → the session's user, role, expiry and unread count, forgotten by user."""

    TTL_SECONDS = TTL_SECONDS

    async def seat(self, database: Database, *, token: str, now: datetime) -> BellSeat | None:
        """The live session of ``token`` with its user's unread count (None: signed out)."""
        key = token_hash(token)
        seat = self.get(key)
        if seat is not None and seat.expires_at > now:
            return seat
        ticket = self.ticket()
        async with database.engine.connect() as connection:
            seat = await bell_seat_for_token(connection, token=token, now=now)
        if seat is None:
            self.drop(key)
        else:
            self.put(ticket, key, user_id=seat.user_id, value=seat)
        return seat
