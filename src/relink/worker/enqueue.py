"""Jobs queued inside a transaction are sent only after it commits, and dropped on rollback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from relink.worker.registry import JobName

_PENDING = "relink.pending_jobs"


@dataclass(frozen=True)
class QueuedJob:
    name: JobName
    kwargs: dict[str, Any] = field(default_factory=dict)


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
    """Queue ``name(**kwargs)`` to run once ``session`` commits."""
    sync_session = session.sync_session
    pending: list[QueuedJob] = sync_session.info.setdefault(_PENDING, [])
    pending.append(QueuedJob(name=name, kwargs=kwargs))


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    pending: list[QueuedJob] = session.info.pop(_PENDING, [])
    if pending and _dispatcher is not None:
        for queued in pending:
            _dispatcher.dispatch(queued)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
