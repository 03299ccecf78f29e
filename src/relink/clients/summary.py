"""The Data Sources page's summary (counts by status, broken sign-ins), cached per scope.

Counting 100k data sources by status is the one part of the page whose cost grows with the
agency, so each scope's summary is kept for ``ttl`` seconds. A summary remembers the agency's
status version it was counted at (status_versions.py), and a page serves it only while the
version it reads after its rows is no newer: once a status change has committed, in any
process, the very next page counts again, and the chips never contradict the rows under them.
The ``ttl`` bounds what no status change announces (a limited user's list of clients, the
trash's purge). A little older than that (up to ``STALE_FACTOR`` times) a summary is still
served while one refresh runs in the background, so no page waits for the count; older still,
the page counts afresh. ``ttl`` 0 counts on every request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import sees_whole_agency
from relink.clients.health import BrokenGrant, broken_grants, status_counts
from relink.db import Database
from relink.models import User
from relink.status import DataSourceStatus
from relink.status_versions import status_version

log = structlog.get_logger(__name__)

# How much older than its ttl a summary may be served while a fresh one is counted.
STALE_FACTOR = 3


@dataclass(frozen=True)
class Summary:
    counts: dict[DataSourceStatus, int]
    broken: list[BrokenGrant]
    counted_at: float
    # The agency's status version read before counting: every status change it counts in.
    version: int


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

    async def get(self, database: Database, *, user: User, reading: AsyncSession) -> Summary:
        """The user's scope's summary, counted afresh when too old or when a status of the
        agency changed since it was counted.

        ``reading`` is the page's session, asked after the page has read its rows: a status
        change those rows show has moved the version it reads.
        """
        key = scope_key(user)
        kept = self._kept.get(key)
        if kept is None and key not in self._refreshing:
            # Nothing to compare: a count started now sees every change committed so far.
            return await asyncio.shield(self._refresh(database, user=user, key=key))
        version = await status_version(reading, agency_id=user.agency_id)
        if kept is not None and kept.version >= version:
            age = self._clock() - kept.counted_at
            if age < self.ttl:
                return kept
            if age < self.ttl * STALE_FACTOR:
                self._refresh(database, user=user, key=key)
                return kept
        while True:
            # A count already running may have read the version before the change this page
            # saw: then one more, started after it (so it reads at least ``version``).
            summary = await asyncio.shield(self._refresh(database, user=user, key=key))
            if summary.version >= version:
                return summary

    def forget(self) -> None:
        """Drop every kept summary (the next page counts afresh)."""
        self._kept.clear()

    def _refresh(self, database: Database, *, user: User, key: Hashable) -> asyncio.Task[Summary]:
        """The scope's count running now, or a new one."""
        task = self._refreshing.get(key)
        if task is None:
            task = asyncio.create_task(self._count(database, user=user, key=key))
            task.add_done_callback(_log_failure)
            self._refreshing[key] = task
        return task

    async def _count(self, database: Database, *, user: User, key: Hashable) -> Summary:
        try:
            async with database.sessions() as session:
                # The version first: a change committed between it and the counts is in the
                # counts too, and only makes the next page count once more.
                version = await status_version(session, agency_id=user.agency_id)
                summary = Summary(
                    counts=await status_counts(session, user=user),
                    broken=await broken_grants(session, user=user),
                    counted_at=self._clock(),
                    version=version,
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
