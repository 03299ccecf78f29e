"""Live bell updates: after a commit, each touched user's streams hear "something changed".

The embedded default keeps an in-process broker; with RELINK_REDIS_URL set, every app process
publishes to and listens on one Redis channel, so a change made by a worker anywhere reaches
the browser connected to any process. The Redis listener survives a Redis restart: it
reconnects with backoff and then pokes every local stream (pokes may have been missed).

Given a ``render`` function, a broker renders what the streams show itself, for every poked
user at once (one query for all of them), and hands each stream its ready text: 500 streams of
one process cost one query per change, not one each. Pokes arriving while it renders are
gathered into the next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Protocol

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = structlog.get_logger(__name__)

_PENDING = "relink.live_user_ids"
CHANNEL = "relink:live"
# A stream that cannot keep up drops old updates: the newest one says everything anyway.
QUEUE_SIZE = 16
# Reconnecting to Redis: the first wait, doubled after each failure up to the last; jittered
# so a fleet of processes does not knock on a restarted Redis in the same instant.
RECONNECT_FIRST_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 10.0

# What a stream receives: the rendered text to send, or None ("render it yourself").
Update = str | None
# Renders the text of every named user's streams at once: user id → text.
Render = Callable[[list[int]], Awaitable[dict[int, str]]]


class Subscription:
    """One stream's updates; registered when created, so nothing between a snapshot and the
    first wait is missed."""

    def __init__(self, queues: set[asyncio.Queue[Update]]) -> None:
        self._queues = queues
        self._queue: asyncio.Queue[Update] = asyncio.Queue(maxsize=QUEUE_SIZE)
        queues.add(self._queue)

    def __aiter__(self) -> AsyncIterator[Update]:
        return self

    async def __anext__(self) -> Update:
        return await self._queue.get()

    def close(self) -> None:
        self._queues.discard(self._queue)


class Watcher(Protocol):
    """Something this process keeps about users (the bell's cache), told when they change."""

    def forget(self, user_ids: Iterable[int]) -> None: ...

    def forget_all(self) -> None: ...


class Broker(Protocol):
    def publish(self, user_ids: list[int]) -> None: ...

    def subscribe(self, user_id: int) -> Subscription: ...

    def watch(self, watcher: Watcher) -> None: ...


class LocalBroker:
    """Fan-out to the streams of this process; with ``render``, one rendering per batch."""

    def __init__(self, render: Render | None = None) -> None:
        self._queues: dict[int, set[asyncio.Queue[Update]]] = defaultdict(set)
        self._render = render
        self._dirty: set[int] = set()
        self._rendering: asyncio.Task[None] | None = None
        self._watchers: list[Watcher] = []

    def watch(self, watcher: Watcher) -> None:
        self._watchers.append(watcher)

    def forget(self, user_ids: list[int]) -> None:
        """Tell the watchers only (the streams hear of it by ``publish``)."""
        for watcher in self._watchers:
            watcher.forget(user_ids)

    def forget_all(self) -> None:
        for watcher in self._watchers:
            watcher.forget_all()

    def publish(self, user_ids: list[int]) -> None:
        self.forget(user_ids)
        listening = [u for u in user_ids if self._queues.get(u)]
        if self._render is None:
            for user_id in listening:
                self._deliver(user_id, None)
            return
        self._dirty.update(listening)
        if self._dirty and self._rendering is None:
            self._rendering = asyncio.get_running_loop().create_task(self._render_batches())

    def subscribe(self, user_id: int) -> Subscription:
        return Subscription(self._queues[user_id])

    def listening_user_ids(self) -> list[int]:
        return [user_id for user_id, queues in self._queues.items() if queues]

    async def _render_batches(self) -> None:
        assert self._render is not None
        try:
            while self._dirty:
                batch = sorted(self._dirty)
                self._dirty.clear()
                rendered: dict[int, str] = {}
                try:
                    rendered = await self._render(batch)
                except Exception:
                    # The streams render for themselves this once (None): never a lost update.
                    log.exception("live.render.failed", users=len(batch))
                for user_id in batch:
                    self._deliver(user_id, rendered.get(user_id))
        finally:
            self._rendering = None

    def _deliver(self, user_id: int, update: Update) -> None:
        for queue in list(self._queues.get(user_id, ())):
            if queue.full():
                # The oldest update is stale by now; the newest replaces it.
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(update)


class RedisBroker:
    """Publishes to Redis; one listener per process feeds the local streams."""

    def __init__(self, url: str, render: Render | None = None) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._local = LocalBroker(render)
        self._listener: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[object]] = set()

    def watch(self, watcher: Watcher) -> None:
        self._local.watch(watcher)

    def publish(self, user_ids: list[int]) -> None:
        # This process forgets at once (its next answer must not wait for the round trip);
        # every process, this one included, hears it again from Redis.
        self._local.forget(user_ids)
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(
            self._send(json.dumps(user_ids))
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, message: str) -> None:
        from redis.exceptions import RedisError

        try:
            await self._redis.publish(CHANNEL, message)
        except (RedisError, OSError) as exc:
            # Redis is away: the bell catches up on the next change, or on the reconnect.
            log.warning("live.redis.publish_failed", error=type(exc).__name__)

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name="relink-live-redis")

    async def _listen(self) -> None:
        """Listen for good: after a lost connection, reconnect with backoff and poke every
        local stream once (whatever was published meanwhile was missed)."""
        from redis.exceptions import RedisError

        wait = RECONNECT_FIRST_SECONDS
        lost = False
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                wait = RECONNECT_FIRST_SECONDS
                if lost:
                    log.info("live.redis.reconnected")
                    self._local.forget_all()
                    self._local.publish(self._local.listening_user_ids())
                    lost = False
                await self._relay(pubsub)
                lost = True  # the stream ended: the connection is gone
            except (RedisError, OSError) as exc:
                lost = True
                log.warning("live.redis.lost", error=type(exc).__name__, retry_in=round(wait, 2))
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(wait * random.uniform(1.0, 1.5))
            wait = min(wait * 2, RECONNECT_MAX_SECONDS)

    async def _relay(self, pubsub: object) -> None:
        async for message in pubsub.listen():  # type: ignore[attr-defined]
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
        """Send what is still being published, then stop listening."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
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


def queue_live_update(session: AsyncSession | Session, *, user_ids: Iterable[int]) -> None:
    """Tell these users' streams after ``session`` commits (nothing on rollback)."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    pending: set[int] = sync.info.setdefault(_PENDING, set())
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
