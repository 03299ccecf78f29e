"""Live updates reach every process: in-process broker by default, Redis pub/sub when set."""

from __future__ import annotations

import asyncio

import pytest

from relink.notifications.live import LocalBroker, RedisBroker
from tests.fixtures.shared_redis import REDIS_URL, require_redis


async def _next(stream: object, wait: float = 2.0) -> None:
    await asyncio.wait_for(stream.__anext__(), wait)  # type: ignore[attr-defined]


async def test_the_local_broker_pokes_only_the_named_users_streams() -> None:
    broker = LocalBroker()
    mine, theirs = broker.subscribe(1), broker.subscribe(2)

    broker.publish([1])

    await _next(mine)
    with pytest.raises(TimeoutError):
        await _next(theirs, wait=0.3)


async def test_a_poke_published_in_one_process_reaches_a_stream_in_another() -> None:
    await require_redis()
    publisher, listener = RedisBroker(REDIS_URL), RedisBroker(REDIS_URL)
    await listener.start()
    try:
        stream = listener.subscribe(7)
        await asyncio.sleep(0.3)  # the listener subscribes to the Redis channel

        publisher.publish([7])

        await _next(stream)
    finally:
        await listener.close()
        await asyncio.sleep(0.05)
        await publisher.close()
