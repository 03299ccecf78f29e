"""The Data Sources page's summary (counts by status, broken sign-ins), cached per scope.

Counting 100k data sources by status is the one part of the page whose cost grows with the
agency, and the chips need not be exact to the second: each scope's summary is kept for
``ttl`` seconds. A little older than that (up to ``STALE_FACTOR`` times) it is still served
while one refresh runs in the background, so no page waits for the count; older still, the
page counts afresh. ``ttl`` 0 counts on every request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import structlog

from relink.auth.access import sees_whole_agency
from relink.clients.health import BrokenGrant, broken_grants, status_counts
from relink.db import Database
from relink.models import User
from relink.status import DataSourceStatus

log = structlog.get_logger(__name__)

# How much older than its ttl a summary may be served while a fresh one is counted.
STALE_FACTOR = 3


@dataclass(frozen=True)
class Summary:
    counts: dict[DataSourceStatus, int]
    broken: list[BrokenGrant]
    counted_at: float


def scope_key(user: User) -> Hashable:
    """Users who see the same data sources share one summary: the whole agency, or theirs."""
    return ("agency", user.agency_id) if sees_whole_agency(user) else ("user", user.id)


class SummaryCache:
    """Per-process summaries by scope; one count at a time per scope."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._kept: dict[Hashable, Summary] = {}
        self._refreshing: dict[Hashable, asyncio.Task[Summary]] = {}

    async def get(self, database: Database, *, user: User) -> Summary:
        """The user's scope's summary, counted afresh only when too old."""
        key = scope_key(user)
        kept = self._kept.get(key)
        age = self._clock() - kept.counted_at if kept else None
        if kept is not None and age is not None and age < self.ttl:
            return kept
        task = self._refreshing.get(key)
        if task is None:
            task = asyncio.create_task(self._count(database, user=user, key=key))
            task.add_done_callback(_log_failure)
            self._refreshing[key] = task
        if kept is not None and age is not None and age < self.ttl * STALE_FACTOR:
            return kept
        return await asyncio.shield(task)

    def forget(self) -> None:
        """Drop every kept summary (the next page counts afresh)."""
        self._kept.clear()

    async def _count(self, database: Database, *, user: User, key: Hashable) -> Summary:
        try:
            async with database.sessions() as session:
                summary = Summary(
                    counts=await status_counts(session, user=user),
                    broken=await broken_grants(session, user=user),
                    counted_at=self._clock(),
                )
            if self.ttl > 0:
                self._kept[key] = summary
            return summary
        finally:
            self._refreshing.pop(key, None)


def _log_failure(task: asyncio.Task[Summary]) -> None:
    """A background count that failed is logged (a page waiting on it gets the error too)."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("data_sources.summary.count_failed", error=type(task.exception()).__name__)
