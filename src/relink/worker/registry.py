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
    RESUME_PENDING = "worker.resume_pending"
    PROBE = "grants.probe"
    CHECK_GRANT = "grants.check"


# Jobs whose loss would lose work that nothing else redoes: each is also written as a row
# (``pending_job``) in the transaction that queues it, and the periodic resume runs it if the
# queued copy never finished. The others need no row: e-mails and webhook deliveries are rows
# already, a backfill is a data source due now, a refresh is a grant due by its clock.
DURABLE_JOBS: frozenset[JobName] = frozenset({JobName.REVOKE})


JobFunction = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=JobFunction)


@dataclass(frozen=True)
class Job:
    name: JobName
    function: JobFunction
    # For a durable job: whether its result means "not done, try again later" (its row stays).
    retry_if: Callable[[Any], bool] | None = None


JOBS: dict[JobName, Job] = {}


def job(name: JobName, *, retry_if: Callable[[Any], bool] | None = None) -> Callable[[F], F]:
    """Register ``function(ctx, **ids)`` under ``name``; a name is registered once.

    ``retry_if(result)`` tells a durable job's runner that the work is not done yet (the
    provider could not be asked, say): its row is kept and tried again later.
    """

    def register(function: F) -> F:
        if name in JOBS and JOBS[name].function is not function:
            raise RuntimeError(f"job {name!r} is registered twice")
        JOBS[name] = Job(name=name, function=function, retry_if=retry_if)
        return function

    return register
