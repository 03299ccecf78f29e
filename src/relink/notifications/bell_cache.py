"""The bell's poll answered from memory: whose session a token is, and that user's unread count,
kept per process until something about the user changes.

Two hundred bells polling every second would otherwise cost two hundred statements a second
for answers that almost never change. Every change that can move a count or end a session
already tells the live broker "these users changed" after its commit (in this process at
once, and through Redis in every process of the scaled mode): the cache forgets those users
then. What a process could still miss (a CLI command against the embedded SQLite database, a
Redis message lost while the listener reconnects, a row removed by a cascade) is bounded by
``TTL_SECONDS``; a lost Redis connection forgets everything.

Only the count is served from here: pages and every other endpoint check their session in the
database, so no other answer outlives a revoked session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from relink.auth.sessions import token_hash
from relink.db import Database
from relink.notifications.service import BellSeat, bell_seat_for_token

# How long an answer may be served without a word from the broker.
TTL_SECONDS = 30.0
# Past this many sessions the cache starts afresh (a burst of sign-ins cannot grow it forever).
MAX_ENTRIES = 50_000


@dataclass(frozen=True, slots=True)
class _Entry:
    seat: BellSeat
    stored_at: float


class BellCache:
    """Token hash → the session's user, role, expiry and unread count, forgotten by user."""

    def __init__(
        self,
        *,
        ttl_seconds: float = TTL_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._hashes_of: dict[int, set[str]] = {}
        # Each forgetting takes the next number; a read started before a user's last one (or
        # before the last clear) must not be stored: it may have seen the rows before the
        # change committed.
        self._sequence = 0
        self._changed_at: dict[int, int] = {}
        self._cleared_at = 0

    async def seat(self, database: Database, *, token: str, now: datetime) -> BellSeat | None:
        """The live session of ``token`` with its user's unread count (None: signed out)."""
        key = token_hash(token)
        entry = self._entries.get(key)
        if entry is not None:
            if self._clock() - entry.stored_at < self._ttl and entry.seat.expires_at > now:
                return entry.seat
            self._drop(key, entry.seat.user_id)
        started = self._sequence
        async with database.engine.connect() as connection:
            seat = await bell_seat_for_token(connection, token=token, now=now)
        if seat is not None:
            self._store(started, key, seat)
        return seat

    def forget(self, user_ids: Iterable[int]) -> None:
        """These users changed (a notification, a read, a session ended): ask again."""
        self._sequence += 1
        for user_id in user_ids:
            self._changed_at[user_id] = self._sequence
            for key in self._hashes_of.pop(user_id, ()):
                self._entries.pop(key, None)

    def forget_all(self) -> None:
        """Changes may have been missed: everything is asked again."""
        self._sequence += 1
        self._cleared_at = self._sequence
        self._entries.clear()
        self._hashes_of.clear()
        self._changed_at.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _store(self, started: int, key: str, seat: BellSeat) -> None:
        if self._cleared_at > started or self._changed_at.get(seat.user_id, 0) > started:
            return
        if len(self._entries) >= self._max_entries:
            self.forget_all()
            return
        self._entries[key] = _Entry(seat=seat, stored_at=self._clock())
        self._hashes_of.setdefault(seat.user_id, set()).add(key)

    def _drop(self, key: str, user_id: int) -> None:
        self._entries.pop(key, None)
        keys = self._hashes_of.get(user_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._hashes_of[user_id]
