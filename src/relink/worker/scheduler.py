"""The embedded scheduler: one asyncio task in the app process that sweeps on an interval."""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial

import structlog

from relink.worker.context import JobContext
from relink.worker.job_states import run_answering
from relink.worker.jobs import run_job
from relink.worker.queues import PERIODIC_JOBS
from relink.worker.registry import JobName
from relink.worker.sweep import sweep

__all__ = ["PERIODIC_JOBS", "EmbeddedScheduler"]

log = structlog.get_logger(__name__)

# On shutdown a sweep in progress may finish its transactions for this long; cancelling one in
# the middle of a database call leaves a connection to be torn down mid-statement.
STOP_GRACE_SECONDS = 15.0


class EmbeddedScheduler:
    """Sweeps every ``interval`` seconds until stopped; a failing sweep is logged, not fatal."""

    def __init__(self, ctx: JobContext, *, interval: float) -> None:
        self.ctx = ctx
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="relink-scheduler")

    async def stop(self) -> None:
        """Let the tick in progress end, then stop; cancel only what outlasts the grace."""
        if self._task is None:
            return
        self._stopping.set()
        done, _ = await asyncio.wait({self._task}, timeout=STOP_GRACE_SECONDS)
        if not done:
            log.warning("worker.scheduler.cancelled", grace_seconds=STOP_GRACE_SECONDS)
            self._task.cancel()
            await asyncio.wait({self._task})
        self._task = None

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                # It answers the admins' sweep requests queued before it, as any sweep does.
                report = await run_answering(self.ctx, JobName.SWEEP, partial(sweep, self.ctx))
                if (
                    report.imported
                    or report.failures
                    or report.interrupted_runs
                    or sum(report.refreshed.values())
                ):
                    log.info("worker.sweep.done", trigger="schedule", **report.summary())
            except Exception:
                log.exception("worker.sweep.crashed")
            for name in PERIODIC_JOBS:
                if self._stopping.is_set():
                    return
                try:
                    await run_job(self.ctx, name, {})
                except Exception:
                    log.exception("worker.job.crashed", job=name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval)
