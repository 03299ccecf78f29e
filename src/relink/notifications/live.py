"""Live bell updates: after a commit, each touched user's streams hear "something changed".

The embedded default keeps an in-process broker; with RELINK_REDIS_URL set, every app process
publishes to and listens on one Redis channel, so a change made by a worker anywhere reaches
the browser connected to any process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from typing import Protocol

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = structlog.get_logger(__name__)

_PENDING = "relink.live_user_ids"
CHANNEL = "relink:live"
# A stream that cannot keep up drops old pokes: the next one refreshes the whole count anyway.
QUEUE_SIZE = 16


class Subscription:
    """One stream's pokes; registered when created, so nothing between a snapshot and the
    first wait is missed."""

    def __init__(self, queues: set[asyncio.Queue[None]]) -> None:
        self._queues = queues
        self._queue: asyncio.Queue[None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        queues.add(self._queue)

    def __aiter__(self) -> AsyncIterator[None]:
        return self

    async def __anext__(self) -> None:
        await self._queue.get()

    def close(self) -> None:
        self._queues.discard(self._queue)


class Broker(Protocol):
    def publish(self, user_ids: list[int]) -> None: ...

    def subscribe(self, user_id: int) -> Subscription: ...


class LocalBroker:
    """Fan-out to the streams of this process."""

    def __init__(self) -> None:
        self._queues: dict[int, set[asyncio.Queue[None]]] = defaultdict(set)

    def publish(self, user_ids: list[int]) -> None:
        for user_id in user_ids:
            for queue in list(self._queues.get(user_id, ())):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)

    def subscribe(self, user_id: int) -> Subscription:
        return Subscription(self._queues[user_id])


class RedisBroker:
    """Publishes to Redis; one listener per process feeds the local streams."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._local = LocalBroker()
        self._listener: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[object]] = set()

    def publish(self, user_ids: list[int]) -> None:
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(
            self._send(json.dumps(user_ids))
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, message: str) -> None:
        await self._redis.publish(CHANNEL, message)

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="relink-live-redis")

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(CHANNEL)
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            try:
                user_ids = [int(u) for u in json.loads(message["data"])]
            except (ValueError, TypeError):
                log.warning("live.redis.bad_message")
                continue
            self._local.publish(user_ids)

    def subscribe(self, user_id: int) -> Subscription:
        return self._local.subscribe(user_id)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()


_broker: Broker | None = None


def set_broker(broker: Broker | None) -> None:
    global _broker
    _broker = broker


def get_broker() -> Broker | None:
    return _broker


def queue_live_update(session: AsyncSession, *, user_ids: Iterable[int]) -> None:
    """Tell these users' streams after ``session`` commits (nothing on rollback)."""
    pending: set[int] = session.sync_session.info.setdefault(_PENDING, set())
    pending.update(user_ids)


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    user_ids: set[int] = session.info.pop(_PENDING, set())
    if user_ids and _broker is not None:
        try:
            _broker.publish(sorted(user_ids))
        except RuntimeError:
            # No running loop (a CLI command): nobody in this process is listening anyway.
            log.debug("live.publish.skipped")


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
