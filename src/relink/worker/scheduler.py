"""The embedded scheduler: one asyncio task in the app process that sweeps on an interval."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from relink.worker.context import JobContext
from relink.worker.jobs import run_job
from relink.worker.registry import JobName
from relink.worker.sweep import sweep

# Jobs every tick runs after the sweep; Celery beat runs the same list in the scaled mode.
PERIODIC_JOBS = (
    JobName.EMAIL_COMPOSE_DUE,
    JobName.EMAIL_REMINDERS,
    JobName.WEBHOOKS_DELIVER_DUE,
    JobName.PURGE_TRASH,
    JobName.EXPIRY_WATCH,
)

log = structlog.get_logger(__name__)


class EmbeddedScheduler:
    """Sweeps every ``interval`` seconds until stopped; a failing sweep is logged, not fatal."""

    def __init__(self, ctx: JobContext, *, interval: float) -> None:
        self.ctx = ctx
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="relink-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                report = await sweep(self.ctx)
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
                try:
                    await run_job(self.ctx, name, {})
                except Exception:
                    log.exception("worker.job.crashed", job=name)
            await asyncio.sleep(self.interval)
