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

import time
from collections.abc import Callable, Iterable
from datetime import datetime

from relink.auth.sessions import token_hash
from relink.db import Database
from relink.kit.user_keyed_cache import UserKeyedCache
from relink.notifications.service import BellSeat, bell_seat_for_token

# How long an answer may be served without a word from the broker.
TTL_SECONDS = 30.0
# Past this many sessions the cache starts afresh (a burst of sign-ins cannot grow it forever).
MAX_ENTRIES = 50_000


class BellCache:
    """Token hash → the session's user, role, expiry and unread count, forgotten by user."""

    def __init__(
        self,
        *,
        ttl_seconds: float = TTL_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seats = UserKeyedCache[BellSeat](
            ttl_seconds=ttl_seconds, max_entries=max_entries, clock=clock
        )

    async def seat(self, database: Database, *, token: str, now: datetime) -> BellSeat | None:
        """The live session of ``token`` with its user's unread count (None: signed out)."""
        key = token_hash(token)
        seat = self._seats.get(key)
        if seat is not None and seat.expires_at > now:
            return seat
        ticket = self._seats.ticket()
        async with database.engine.connect() as connection:
            seat = await bell_seat_for_token(connection, token=token, now=now)
        if seat is None:
            self._seats.drop(key)
        else:
            self._seats.put(ticket, key, user_id=seat.user_id, value=seat)
        return seat

    def forget(self, user_ids: Iterable[int]) -> None:
        """These users changed (a notification, a read, a session ended): ask again."""
        self._seats.forget(user_ids)

    def forget_all(self) -> None:
        """Changes may have been missed: everything is asked again."""
        self._seats.forget_all()

    def __len__(self) -> int:
        return len(self._seats)
