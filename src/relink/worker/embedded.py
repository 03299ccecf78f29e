"""The embedded dispatcher: committed jobs run as tasks on the app's own event loop.

Each queue has its own limit of jobs at once, as each has its own processes in the scaled mode:
imports filling theirs leave a signal's check or a requested sweep free to start at once.
"""

from __future__ import annotations

import asyncio

import structlog

from relink.worker.context import JobContext
from relink.worker.enqueue import QueuedJob
from relink.worker.pending import run_queued
from relink.worker.queues import QUEUES, queue_for

log = structlog.get_logger(__name__)

# Jobs of one queue running at once in the embedded mode; more of that queue wait their turn.
EMBEDDED_CONCURRENCY = 20


class EmbeddedDispatcher:
    """Runs each committed job in the background; ``drain`` waits for them (tests, CLI)."""

    def __init__(self, ctx: JobContext, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.ctx = ctx
        self.loop = loop or asyncio.get_running_loop()
        self.limiters = {queue: asyncio.Semaphore(EMBEDDED_CONCURRENCY) for queue in QUEUES}
        self.tasks: set[asyncio.Task[None]] = set()

    def dispatch(self, job: QueuedJob) -> None:
        task = self.loop.create_task(self._run(job), name=f"job:{job.name}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, job: QueuedJob) -> None:
        async with self.limiters[queue_for(job.name)]:
            try:
                await run_queued(self.ctx, job)
            except Exception:
                log.exception("worker.job.failed", job=job.name)

    async def drain(self, *, name: str | None = None) -> None:
        """Wait until no job (or no job called ``name``) is queued or running."""
        while pending := [t for t in self.tasks if name is None or t.get_name() == f"job:{name}"]:
            await asyncio.gather(*pending, return_exceptions=True)
