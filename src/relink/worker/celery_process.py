"""One asyncio loop per Celery worker process, and the job context that lives on it.

Celery's prefork pool runs one task at a time in each child process, synchronously. The jobs
are coroutines, so each child keeps ONE event loop for its whole life and runs each task on it
with ``run_until_complete``. Not ``asyncio.run`` per task: the database pool and the HTTP
session are bound to the loop that opened them, and a loop per task would open (and leak) both
for every job. The loop, the context and the Redis clients are made in the child after the
fork (``worker_process_init``, or on first use in a pool without children), never inherited.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

import structlog
from celery.signals import worker_process_init, worker_process_shutdown, worker_shutdown

from relink.config import get_settings
from relink.db import Database
from relink.notifications.live import RedisBroker, set_broker
from relink.worker.context import JobContext, build_context
from relink.worker.enqueue import QueuedJob, set_dispatcher
from relink.worker.pending import run_queued
from relink.worker.registry import JobName

T = TypeVar("T")

log = structlog.get_logger(__name__)

# After a job, what it left running in the background (a bell update on its way to Redis, a
# token call's save) gets this long to finish before the process takes the next message.
SETTLE_SECONDS = 10.0


class ProcessRuntime:
    """The loop, context, dispatcher and live broker of one worker process."""

    def __init__(self) -> None:
        from relink.worker.celery_app import create_celery
        from relink.worker.celery_dispatch import CeleryDispatcher

        settings = get_settings()
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.ctx: JobContext = build_context(
            settings=settings, database=Database(settings.effective_database_url)
        )
        # Jobs a job queues go to Celery too; the bell updates it causes go through Redis.
        set_dispatcher(CeleryDispatcher(create_celery(settings)))
        self.broker = RedisBroker(settings.redis_url) if settings.redis_url else None
        set_broker(self.broker)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(self._settled(work))

    async def _settled(self, work: Coroutine[Any, Any, T]) -> T:
        try:
            return await work
        finally:
            current = asyncio.current_task()
            left = [t for t in asyncio.all_tasks() if t is not current]
            if left:
                await asyncio.wait(left, timeout=SETTLE_SECONDS)

    def close(self) -> None:
        async def close_all() -> None:
            await self.ctx.close()
            await self.ctx.database.dispose()
            if self.broker is not None:
                await self.broker.close()

        try:
            self.loop.run_until_complete(close_all())
        finally:
            set_dispatcher(None)
            set_broker(None)
            self.loop.close()
            asyncio.set_event_loop(None)


_runtime: ProcessRuntime | None = None


def runtime() -> ProcessRuntime:
    """This process's runtime, made on first use (and again in a forked child)."""
    global _runtime
    if _runtime is None or _runtime.pid != os.getpid():
        _runtime = ProcessRuntime()
    return _runtime


def run_in_process(name: JobName, kwargs: dict[str, Any], pending_id: str | None) -> None:
    """Run one job a Celery message carried, on this process's loop."""
    current = runtime()
    queued = QueuedJob(name=name, kwargs=kwargs, pending_id=pending_id)
    current.run(run_queued(current.ctx, queued))


def _start_child(**_: Any) -> None:
    runtime()


def stop_runtime(**_: Any) -> None:
    """Close this process's runtime, if it made one (at the end of a worker process)."""
    global _runtime
    if _runtime is not None and _runtime.pid == os.getpid():
        try:
            _runtime.close()
        except Exception:
            log.exception("worker.process.close_failed")
        _runtime = None


def connect_signals() -> None:
    """Make each worker process's runtime after the fork and close it at the end."""
    worker_process_init.connect(_start_child, weak=False)
    worker_process_shutdown.connect(stop_runtime, weak=False)
    worker_shutdown.connect(stop_runtime, weak=False)
