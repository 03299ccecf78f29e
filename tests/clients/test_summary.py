"""The Data Sources page's kept summary is served only while no status of the agency changed
since it was counted, a count already running included."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.clients import summary as summaries
from relink.clients.summary import SummaryCache
from relink.db import Database
from relink.status import DataSourceStatus
from relink.status_writer import transition_many
from tests.fixtures.demo import Demo, data_sources_of

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
# Long enough that only a status change can make the cache count again in these tests.
KEPT_SECONDS = 3600.0


async def _pause_all_of_the_shared_grant(session: AsyncSession, demo: Demo) -> None:
    sources = [s.id for s in await data_sources_of(session, demo.shared_grant_id)]
    await transition_many(session, sources, to=DataSourceStatus.PAUSED, actor="test", now=NOW)
    await session.commit()


async def test_a_kept_summary_is_counted_again_after_a_status_change(
    session: AsyncSession, database: Database, demo: Demo
) -> None:
    cache = SummaryCache(KEPT_SECONDS)
    async with database.reading() as reading:
        kept = await cache.get(database, user=demo.admin, reading=reading)

        await _pause_all_of_the_shared_grant(session, demo)
        fresh = await cache.get(database, user=demo.admin, reading=reading)

    assert DataSourceStatus.PAUSED not in kept.counts
    assert fresh.counts[DataSourceStatus.PAUSED] == 8


async def test_a_kept_summary_is_served_while_no_status_changed(
    database: Database, demo: Demo
) -> None:
    cache = SummaryCache(KEPT_SECONDS)
    async with database.reading() as reading:
        kept = await cache.get(database, user=demo.admin, reading=reading)
        again = await cache.get(database, user=demo.admin, reading=reading)

    assert again is kept


async def test_a_count_that_ran_before_a_change_is_not_served_to_a_page_that_saw_it(
    session: AsyncSession, database: Database, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a first page's count has read the statuses and is held before it ends
    counted, release = asyncio.Event(), asyncio.Event()
    real = summaries.broken_grants
    calls = 0

    async def held_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            counted.set()
            await release.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(summaries, "broken_grants", held_once)
    cache = SummaryCache(KEPT_SECONDS)
    async with database.reading() as first_reading, database.reading() as second_reading:
        first = asyncio.create_task(cache.get(database, user=demo.admin, reading=first_reading))
        await counted.wait()

        # when: a status change commits, and a second page that sees it asks while the first
        # count is still running
        await _pause_all_of_the_shared_grant(session, demo)
        second = asyncio.create_task(cache.get(database, user=demo.admin, reading=second_reading))
        release.set()
        old, new = await first, await second

    # then: the first page may have the old count; the second never does
    assert DataSourceStatus.PAUSED not in old.counts
    assert new.counts[DataSourceStatus.PAUSED] == 8
