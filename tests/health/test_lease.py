"""The refresh lease: one owner at a time, released only by its owner, and it expires."""

from __future__ import annotations

from datetime import timedelta

from relink.db import Database
from relink.kit.locks import LeaseLock
from relink.models import Grant
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo


def _lease(database: Database, grant_id: int) -> LeaseLock:
    return LeaseLock(
        database,
        id_column=Grant.id,
        owner_column=Grant.refresh_lock_owner,
        expires_column=Grant.refresh_lock_expires_at,
        row_id=grant_id,
        ttl=timedelta(seconds=60),
    )


async def test_only_one_holder_at_a_time(database: Database, demo: Demo, clock: Clock) -> None:
    first, second = _lease(database, demo.shared_grant_id), _lease(database, demo.shared_grant_id)

    assert await first.acquire(now=clock())
    assert not await second.acquire(now=clock())


async def test_only_the_owner_releases(database: Database, demo: Demo, clock: Clock) -> None:
    first, second = _lease(database, demo.shared_grant_id), _lease(database, demo.shared_grant_id)
    await first.acquire(now=clock())

    assert not await second.release()
    assert await first.release()
    assert await second.acquire(now=clock())


async def test_an_expired_lease_can_be_taken_over(
    database: Database, demo: Demo, clock: Clock
) -> None:
    first, second = _lease(database, demo.shared_grant_id), _lease(database, demo.shared_grant_id)
    await first.acquire(now=clock())
    clock.advance(seconds=61)

    assert await second.acquire(now=clock())
    assert not await first.release()
