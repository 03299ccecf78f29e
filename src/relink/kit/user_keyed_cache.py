"""Answers kept per process under a key (a session token's hash), forgotten by the user they are
about as soon as that user changes.

The caches built on it (the bell's count, who a session is) hear of every change through the
live broker's watchers; what a process could still miss is bounded by the time to live, and a
lost broker connection forgets everything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    user_id: int
    stored_at: float


class UserKeyedCache(Generic[V]):
    """Key → (user id, value), fresh for ``ttl_seconds``, dropped when its user is forgotten.

    A read that started before a user was forgotten must not be stored: it may have seen the
    rows before the change committed. So a reader takes a ``ticket()`` before it reads and
    hands it to ``put``.
    """

    # How long an answer may be used without a word from the broker, and how many are kept
    # before the cache starts afresh (a burst of sign-ins cannot grow it forever).
    TTL_SECONDS: ClassVar[float] = 30.0
    MAX_ENTRIES: ClassVar[int] = 50_000

    def __init__(
        self,
        *,
        ttl_seconds: float | None = None,
        max_entries: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = self.TTL_SECONDS if ttl_seconds is None else ttl_seconds
        self._max_entries = self.MAX_ENTRIES if max_entries is None else max_entries
        self._clock = clock
        self._entries: dict[str, _Entry[V]] = {}
        self._keys_of: dict[int, set[str]] = {}
        # Each forgetting takes the next number (see ``ticket``).
        self._sequence = 0
        self._changed_at: dict[int, int] = {}
        self._cleared_at = 0

    def get(self, key: str) -> V | None:
        """The value under ``key`` if it is younger than the time to live."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() - entry.stored_at < self._ttl:
            return entry.value
        self.drop(key)
        return None

    def ticket(self) -> int:
        """Taken before reading what will be ``put``."""
        return self._sequence

    def put(self, ticket: int, key: str, *, user_id: int, value: V) -> None:
        """Keep ``value`` unless its user (or everyone) was forgotten since ``ticket``."""
        if self._cleared_at > ticket or self._changed_at.get(user_id, 0) > ticket:
            return
        if len(self._entries) >= self._max_entries:
            self.forget_all()
            return
        self.drop(key)
        self._entries[key] = _Entry(value=value, user_id=user_id, stored_at=self._clock())
        self._keys_of.setdefault(user_id, set()).add(key)

    def drop(self, key: str) -> None:
        """Forget one key (a session found ended or expired)."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        keys = self._keys_of.get(entry.user_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._keys_of[entry.user_id]

    def forget(self, user_ids: Iterable[int]) -> None:
        """These users changed: ask again."""
        self._sequence += 1
        for user_id in user_ids:
            self._changed_at[user_id] = self._sequence
            for key in self._keys_of.pop(user_id, ()):
                self._entries.pop(key, None)

    def forget_all(self) -> None:
        """Changes may have been missed: everything is asked again."""
        self._sequence += 1
        self._cleared_at = self._sequence
        self._entries.clear()
        self._keys_of.clear()
        self._changed_at.clear()

    def __len__(self) -> int:
        return len(self._entries)
