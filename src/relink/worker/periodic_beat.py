"""Celery beat that sends a periodic job only while none of that job waits: one pending is enough.

Beat sends every entry on its interval whatever the workers do. While the periodic queue's
process is busy (a long sweep) or stopped, sweeps would pile up behind it, and each would run
when it got its turn, one after another, long after anyone needed it. A sweep (or a probe, a
resume) that waits already will do the work the next one would: the next is not sent. One
running and one waiting is the most of each. A message that was lost is not in the queue, so
the next tick sends it again; if the queue cannot be read, the message is sent (a sweep too
many is better than none).
"""

from __future__ import annotations

import json
from typing import Any

import redis
import structlog
from celery.beat import ScheduleEntry, Scheduler

log = structlog.get_logger(__name__)

# Reading the queue must not hold the schedule up for long while Redis is slow.
REDIS_TIMEOUT_SECONDS = 2.0


def waiting_tasks(client: redis.Redis, queue: str) -> set[str]:
    """The names of the tasks whose messages wait in ``queue`` (not those being run).

    Kombu keeps a Redis queue as a list of JSON messages; messages handed to a worker move to
    its unacknowledged set, so what the list holds is what no worker has taken yet.
    """
    names = set()
    for raw in client.lrange(queue, 0, -1):
        headers = json.loads(raw).get("headers") or {}
        task = headers.get("task")
        if isinstance(task, str):
            names.add(task)
    return names


class CoalescingScheduler(Scheduler):  # type: ignore[misc]
    """Beat's in-memory scheduler, sending an entry only while its task does not wait yet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: redis.Redis | None = None

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        queue = (entry.options or {}).get("queue")
        if queue and self._waits(entry.task, queue):
            log.info("worker.periodic.coalesced", job=entry.task, queue=queue)
            return
        super().apply_entry(entry, producer=producer)

    def _waits(self, task: str, queue: str) -> bool:
        try:
            return task in waiting_tasks(self._redis(), queue)
        except (redis.RedisError, ValueError):
            log.warning("worker.periodic.queue_unread", job=task, queue=queue, exc_info=True)
            return False

    def _redis(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis.from_url(
                self.app.conf.broker_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
        return self._client
