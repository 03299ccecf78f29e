"""The job registry: plain async functions that take ids, reload, and are idempotent.

Domains register their jobs here with ``@job(name)``; this module imports no domain. The table
of every job, which the runners load, is ``relink.worker.jobs``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

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
