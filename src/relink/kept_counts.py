"""Counts over an agency's data sources, kept per scope until a status changes.

Counting 100k data sources (by status for the Data Sources page's chips, by grant for the
grants list) is the part of a read whose cost grows with the agency, so each scope's count is
kept for ``ttl`` seconds. A count remembers the agency's status version it was counted at
(status_versions.py), and is served only while the version the reader reads after its rows is
no newer: once a status change has committed, in any process, the very next read counts again,
and the counts never contradict the rows beside them. The ``ttl`` bounds what no status change
announces (a limited user's list of clients, the trash's purge). A little older than that (up
to ``STALE_FACTOR`` times) a count is still served while one refresh runs in the background, so
no reader waits for it; older still, the read counts afresh. ``ttl`` 0 counts on every read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import sees_whole_agency
from relink.db import Database
from relink.models import User
from relink.status_versions import status_version

log = structlog.get_logger(__name__)

# How much older than its ttl a count may be served while a fresh one is counted.
STALE_FACTOR = 3

T = TypeVar("T")
Count = Callable[[AsyncSession, User], Awaitable[T]]


@dataclass(frozen=True)
class _Kept(Generic[T]):
    value: T
    counted_at: float
    # The agency's status version read before counting: every status change it counts in.
    version: int


def scope_key(user: User) -> Hashable:
    """Users who see the same data sources share one count: the whole agency, or theirs."""
    return ("agency", user.agency_id) if sees_whole_agency(user) else ("user", user.id)


class KeptCounts(Generic[T]):
    """Per-process counts by scope, made by ``count``; one count at a time per scope."""

    def __init__(
        self, ttl: float, count: Count[T], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._count_for = count
        self._clock = clock
        self._kept: dict[Hashable, _Kept[T]] = {}
        self._refreshing: dict[Hashable, asyncio.Task[_Kept[T]]] = {}

    async def get(self, database: Database, *, user: User, reading: AsyncSession) -> T:
        """The user's scope's count, counted afresh when too old or when a status of the
        agency changed since it was counted.

        ``reading`` is the reader's session, asked after it has read its rows: a status change
        those rows show has moved the version it reads.
        """
        key = scope_key(user)
        kept = self._kept.get(key)
        if kept is None and key not in self._refreshing:
            # Nothing to compare: a count started now sees every change committed so far.
            return (await asyncio.shield(self._refresh(database, user=user, key=key))).value
        version = await status_version(reading, agency_id=user.agency_id)
        if kept is not None and kept.version >= version:
            age = self._clock() - kept.counted_at
            if age < self.ttl:
                return kept.value
            if age < self.ttl * STALE_FACTOR:
                self._refresh(database, user=user, key=key)
                return kept.value
        while True:
            # A count already running may have read the version before the change this reader
            # saw: then one more, started after it (so it reads at least ``version``).
            fresh = await asyncio.shield(self._refresh(database, user=user, key=key))
            if fresh.version >= version:
                return fresh.value

    def forget(self) -> None:
        """Drop every kept count (the next read counts afresh)."""
        self._kept.clear()

    def _refresh(self, database: Database, *, user: User, key: Hashable) -> asyncio.Task[_Kept[T]]:
        """The scope's count running now, or a new one."""
        task = self._refreshing.get(key)
        if task is None:
            task = asyncio.create_task(self._count(database, user=user, key=key))
            task.add_done_callback(_log_failure)
            self._refreshing[key] = task
        return task

    async def _count(self, database: Database, *, user: User, key: Hashable) -> _Kept[T]:
        try:
            async with database.sessions() as session:
                # The version first: a change committed between it and the count is in the
                # count too, and only makes the next read count once more.
                version = await status_version(session, agency_id=user.agency_id)
                value = await self._count_for(session, user)
            kept = _Kept(value, counted_at=self._clock(), version=version)
            if self.ttl > 0:
                self._kept[key] = kept
            return kept
        finally:
            self._refreshing.pop(key, None)


def _log_failure(task: asyncio.Task[_Kept[T]]) -> None:
    """A background count that failed is logged (a reader waiting on it gets the error too)."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("kept_counts.count_failed", error=type(task.exception()).__name__)
