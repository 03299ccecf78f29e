"""The job registry: plain async functions that take ids, reload, and are idempotent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from relink.worker.context import JobContext

JobFunction = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=JobFunction)


@dataclass(frozen=True)
class Job:
    name: str
    function: JobFunction


JOBS: dict[str, Job] = {}


def job(name: str) -> Callable[[F], F]:
    """Register ``function(ctx, **ids)`` under ``name``; a name is registered once."""

    def register(function: F) -> F:
        if name in JOBS and JOBS[name].function is not function:
            raise RuntimeError(f"job {name!r} is registered twice")
        JOBS[name] = Job(name=name, function=function)
        return function

    return register


def load_jobs() -> None:
    """Import every module that registers jobs."""
    import relink.data_sources.removal_tasks
    import relink.data_sources.tasks
    import relink.grants.expiry_tasks
    import relink.grants.tasks
    import relink.notifications.email_tasks
    import relink.notifications.webhook_tasks
    import relink.worker.sweep  # noqa: F401


async def run_job(ctx: JobContext, name: str, kwargs: dict[str, Any]) -> Any:
    """Run one registered job by name."""
    load_jobs()
    try:
        registered = JOBS[name]
    except KeyError:
        raise LookupError(f"no job named {name!r}") from None
    return await registered.function(ctx, **kwargs)
