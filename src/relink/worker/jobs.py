"""Every job of Relink, loaded by whatever runs jobs: the embedded runner and scheduler, and
Celery's workers in scaled mode. The one module of the worker that imports the domains; the
domains use only the worker's plumbing (``registry.job``, ``context``, ``enqueue``).
"""

from __future__ import annotations

from typing import Any

from relink.worker.context import JobContext
from relink.worker.registry import JOBS, Job, JobName


def load_jobs() -> None:
    """Import every module that registers jobs."""
    import relink.data_sources.removal_tasks
    import relink.data_sources.tasks
    import relink.grants.expiry_tasks
    import relink.grants.tasks
    import relink.notifications.email_tasks
    import relink.notifications.webhook_tasks
    import relink.signals.tasks
    import relink.worker.pending
    import relink.worker.sweep  # noqa: F401


def registered(name: str) -> Job:
    """The job called ``name`` (a ``JobName``, or its value as a queue or a row carried it)."""
    load_jobs()
    try:
        return JOBS[JobName(name)]
    except (KeyError, ValueError):
        raise LookupError(f"no job named {name!r}") from None


async def run_job(ctx: JobContext, name: str, kwargs: dict[str, Any]) -> Any:
    """Run one registered job by name (a ``JobName``, or its value as a queue carried it)."""
    return await registered(name).function(ctx, **kwargs)
