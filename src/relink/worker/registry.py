"""The job registry: plain async functions that take ids, reload, and are idempotent.

Every job has a name in ``JobName``: registrations and enqueues use the member, never a string,
so a renamed job cannot leave a caller queueing a name nobody runs.
Domains register their jobs here with ``@job(name)``; this module imports no domain. The table
of every job, which the runners load, is ``relink.worker.jobs``.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar


class JobName(enum.StrEnum):
    """The name of every job; the value is what a queue carries (stable across releases)."""

    IMPORT = "data_sources.import"
    BACKFILL_GRANT = "data_sources.backfill_grant"
    PURGE_TRASH = "data_sources.purge_trash"
    REFRESH = "grants.refresh"
    REVOKE = "grants.revoke"
    EXPIRY_WATCH = "grants.expiry_watch"
    EMAIL_COMPOSE_DUE = "email.compose_due"
    EMAIL_REMINDERS = "email.reminders"
    EMAIL_DELIVER_OUTBOX = "email.deliver_outbox"
    WEBHOOKS_DELIVER_DUE = "webhooks.deliver_due"
    WEBHOOKS_DELIVER = "webhooks.deliver"
    SWEEP = "worker.sweep"


JobFunction = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=JobFunction)


@dataclass(frozen=True)
class Job:
    name: JobName
    function: JobFunction


JOBS: dict[JobName, Job] = {}


def job(name: JobName) -> Callable[[F], F]:
    """Register ``function(ctx, **ids)`` under ``name``; a name is registered once."""

    def register(function: F) -> F:
        if name in JOBS and JOBS[name].function is not function:
            raise RuntimeError(f"job {name!r} is registered twice")
        JOBS[name] = Job(name=name, function=function)
        return function

    return register
