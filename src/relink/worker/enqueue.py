"""Jobs queued inside a transaction are sent only after it commits, and dropped on rollback.

A durable job (``registry.DURABLE_JOBS``) is also written as a ``pending_job`` row in that same
transaction: the dispatcher's copy may die with its process, the row does not.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from relink.models import PendingJob
from relink.models.base import utcnow
from relink.worker.registry import DURABLE_JOBS, JobName

_PENDING = "relink.pending_jobs"
# The dispatched copy of a durable job has this long to start before the periodic resume may
# run the row itself (a copy that starts later finds the row taken or gone, and does nothing).
DISPATCH_HEAD_START = timedelta(minutes=5)


@dataclass(frozen=True)
class QueuedJob:
    name: JobName
    kwargs: dict[str, Any] = field(default_factory=dict)
    # The ``pending_job`` row of a durable job; None for the others.
    pending_id: str | None = None


class Dispatcher(Protocol):
    """Where committed jobs go: the embedded runner or Celery."""

    def dispatch(self, job: QueuedJob) -> None: ...


_dispatcher: Dispatcher | None = None


def set_dispatcher(dispatcher: Dispatcher | None) -> None:
    """Install the process's dispatcher (the app, a worker, a test)."""
    global _dispatcher
    _dispatcher = dispatcher


def current_dispatcher() -> Dispatcher | None:
    """The process's dispatcher, if one is installed."""
    return _dispatcher


def enqueue(session: AsyncSession, name: JobName, **kwargs: Any) -> None:
    """Queue ``name(**kwargs)`` to run once ``session`` commits (with its row, if durable)."""
    pending_id = None
    if name in DURABLE_JOBS:
        pending_id = uuid.uuid4().hex
        session.add(
            PendingJob(
                id=pending_id,
                name=name.value,
                kwargs=kwargs,
                due_at=utcnow() + DISPATCH_HEAD_START,
            )
        )
    sync_session = session.sync_session
    pending: list[QueuedJob] = sync_session.info.setdefault(_PENDING, [])
    pending.append(QueuedJob(name=name, kwargs=kwargs, pending_id=pending_id))


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    pending: list[QueuedJob] = session.info.pop(_PENDING, [])
    if pending and _dispatcher is not None:
        for queued in pending:
            _dispatcher.dispatch(queued)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
